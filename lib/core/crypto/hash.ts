/**
 * Hashes and MACs over node:crypto (OpenSSL). Measured here, OpenSSL's SHA-1/SHA-256 on
 * short inputs cost ~1-2 us a call, several times less than pure-JS hashing; see
 * docs/DECISIONS.md.
 */
import { createHash, createHmac } from 'node:crypto';

/** SHA-1 (FIPS 180-4). OTR uses it for fingerprints, MAC keys and HMAC-SHA1. */
export function sha1(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** SHA-256 (FIPS 180-4). */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** SHA-512 (FIPS 180-4). */
export function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** HMAC-SHA1 (RFC 2104). */
export function hmacSha1(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const mac = createHmac('sha1', key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/** HMAC-SHA256 (RFC 2104). */
export function hmacSha256(key: Uint8Array, ...parts: readonly Uint8Array[]): Uint8Array {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/**
 * HKDF-SHA256 (RFC 5869) with an explicit salt (a missing salt is HashLen zero bytes,
 * RFC 5869 section 2.2). `length` at most 255 * 32.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 255 * 32) throw new RangeError('hkdfSha256: length must be 0..8160');
  const prk = hmacSha256(salt && salt.length > 0 ? salt : new Uint8Array(32), ikm);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let offset = 0, counter = 1; offset < length; counter++) {
    previous = hmacSha256(prk, previous, info, Uint8Array.of(counter));
    out.set(previous.subarray(0, Math.min(32, length - offset)), offset);
    offset += 32;
  }
  prk.fill(0);
  return out;
}
