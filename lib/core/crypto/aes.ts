/**
 * AES modes over node:crypto (OpenSSL, AES-NI). AES-128-CTR on 10 KB takes ~8 us here
 * against ~520 us for aes-js, which is why aes-js is not used (docs/DECISIONS.md).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

function checkLength(name: string, value: Uint8Array, lengths: readonly number[]): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (!lengths.includes(value.length)) throw new RangeError(`${name} must be ${lengths.join(' or ')} bytes, got ${value.length}`);
}

/**
 * AES-CTR with a 16-byte initial counter block, big-endian increment of the whole block
 * (NIST SP 800-38A). Encryption and decryption are the same operation.
 */
export function aesCtr(key: Uint8Array, initialCounter: Uint8Array, data: Uint8Array): Uint8Array {
  checkLength('aesCtr key', key, [16, 24, 32]);
  checkLength('aesCtr initialCounter', initialCounter, [16]);
  const cipher = createCipheriv(`aes-${key.length * 8}-ctr`, key, initialCounter);
  const out = cipher.update(data);
  cipher.final();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** AES-256-CBC with PKCS#7 padding (OMEMO message keys). */
export function aes256CbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkLength('aes256Cbc key', key, [32]);
  checkLength('aes256Cbc iv', iv, [16]);
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final()]));
}

/**
 * AES-256-CBC decryption with PKCS#7 padding. Returns `undefined` on bad padding or a length
 * that is not a multiple of 16, so callers can map it to their own typed error.
 */
export function aes256CbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array | undefined {
  checkLength('aes256Cbc key', key, [32]);
  checkLength('aes256Cbc iv', iv, [16]);
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, iv);
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    return undefined;
  }
}

/** AES-GCM (128 or 256-bit key) encryption; returns ciphertext and the 16-byte tag apart. */
export function aesGcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  associatedData?: Uint8Array,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  checkLength('aesGcm key', key, [16, 32]);
  if (iv.length < 12) throw new RangeError('aesGcm iv must be at least 12 bytes');
  const cipher = createCipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
  if (associatedData) cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext: new Uint8Array(ciphertext), tag: new Uint8Array(cipher.getAuthTag()) };
}

/** AES-GCM decryption; `undefined` when the tag does not verify. */
export function aesGcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  associatedData?: Uint8Array,
): Uint8Array | undefined {
  checkLength('aesGcm key', key, [16, 32]);
  if (iv.length < 12) throw new RangeError('aesGcm iv must be at least 12 bytes');
  if (tag.length !== 16) return undefined;
  try {
    const decipher = createDecipheriv(key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    if (associatedData) decipher.setAAD(associatedData);
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
  } catch {
    return undefined;
  }
}
