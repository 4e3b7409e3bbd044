/**
 * Byte helpers. `Uint8Array` is the only byte type in this library; Node's `Buffer` is a
 * subclass and is accepted wherever a `Uint8Array` is, but never required.
 */

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Index of the first `value` byte in `bytes`, or -1 (memchr through Buffer: fast on long messages). */
export function indexOfByte(bytes: Uint8Array, value: number): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(value);
}

/** Lower-case hex of `bytes`. */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hex (even length, [0-9a-fA-F] only). Throws TypeError on anything else. */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError('hexToBytes: hex must be an even-length string of hex digits');
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** UTF-8 encoding of `text`. */
export function utf8ToBytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/**
 * UTF-8 decoding of `bytes`. Invalid sequences become U+FFFD (the WHATWG decoder's
 * replacement behaviour): peers send arbitrary bytes and we must never throw on them.
 */
export function bytesToUtf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Standard base64 (with padding) of `bytes`. */
export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Strict base64 decoding: standard alphabet, padding required, no whitespace, canonical (the
 * unused bits of the last character are zero). Returns `undefined` for anything else,
 * because Node's decoder silently skips bad characters and hostile input must not decode to
 * something the sender did not write. Checked by re-encoding: the only strings that survive
 * are the ones `bytesToBase64` would have written, and that is several times faster on long
 * messages than a validating regular expression.
 */
export function base64ToBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(text, 'base64');
  if (decoded.toString('base64') !== text) return undefined;
  return new Uint8Array(decoded);
}

/** Overwrites `bytes` with zeros. JavaScript cannot guarantee no copies remain (SECURITY.md). */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const bytes of arrays) bytes?.fill(0);
}

/** Byte-wise equality that does not stop at the first difference (for MACs and secrets). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Big-endian unsigned integer of `bytes` (empty array is 0). */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt('0x' + bytesToHex(bytes));
}

/**
 * Minimal big-endian bytes of a non-negative integer (0 is the empty array), or exactly
 * `length` bytes, left-padded, when `length` is given. Throws RangeError if it does not fit.
 */
export function bigIntToBytes(value: bigint, length?: number): Uint8Array {
  if (value < 0n) throw new RangeError('bigIntToBytes: value must be non-negative');
  let hex = value === 0n ? '' : value.toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  // the digits come from toString(16): no need for hexToBytes' validation
  if (length === undefined) return new Uint8Array(Buffer.from(hex, 'hex'));
  if (hex.length / 2 > length) throw new RangeError(`bigIntToBytes: value does not fit in ${length} bytes`);
  return new Uint8Array(Buffer.from(hex.padStart(length * 2, '0'), 'hex'));
}
