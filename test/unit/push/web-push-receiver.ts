/**
 * An independent Web Push receiver (the user agent's side of RFC 8291 §3.4 and RFC 8188 §2),
 * written from node:crypto primitives only (ECDH P-256, HMAC-SHA-256 as HKDF per RFC 5869,
 * AES-128-GCM), sharing no code with lib/push. Used by the unit and interop tests.
 */
import { expect } from 'chai';
import { createDecipheriv, createECDH, createHmac } from 'node:crypto';

/** HKDF (RFC 5869) from HMAC, written independently of the library's use of hkdfSync. */
function hkdf(salt: Buffer, ikm: Buffer, info: Buffer, length: number): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const okm = createHmac('sha256', prk).update(Buffer.concat([info, Buffer.of(1)])).digest(); // one block suffices (<= 32)
  return okm.subarray(0, length);
}

/** The user agent's side (RFC 8291 §3.4 + RFC 8188 §2), independent of lib/. */
/** Decrypts an `aes128gcm` Web Push body with the subscription's private key and auth secret. */
export function decryptAes128gcm(body: Buffer, uaPrivate: Buffer, auth: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] as number;
  const asPublic = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  expect(rs).to.be.at.least(18);
  expect(record.length).to.be.at.most(rs);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(uaPrivate);
  const uaPublic = ecdh.getPublicKey();
  const secret = ecdh.computeSecret(asPublic);
  const ikm = hkdf(auth, secret, Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]), 32);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  expect(padded[end], 'last-record delimiter').to.equal(2);
  return padded.subarray(0, end);
}

