/**
 * Compact JWS with ES256 (RFC 7515, RFC 7518 §3.4), the signature of VAPID (RFC 8292 §2) and of
 * APNs provider tokens. node:crypto signs with `dsaEncoding: 'ieee-p1363'`, the raw r||s form.
 */
import { createECDH, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const b64url = (data: Uint8Array | string): string => Buffer.from(data).toString('base64url');

/** A P-256 signing key with its public point. */
export interface Es256Key {
  readonly privateKey: KeyObject;
  /** Uncompressed public point, 65 bytes (as VAPID's `k` parameter carries it, RFC 8292 §3.2). */
  readonly publicKey: Uint8Array;
}

/**
 * Loads an ES256 key from a PEM (PKCS#8 or SEC1, as Apple's .p8 files) or from a base64url
 * 32-byte private scalar (the usual VAPID "private key" format).
 */
export function loadEs256Key(material: string): Es256Key {
  if (typeof material !== 'string' || material === '') throw new TypeError('ES256 key: expected PEM or base64url text');
  let privateKey: KeyObject;
  if (material.includes('-----BEGIN')) {
    privateKey = createPrivateKey(material);
  } else {
    const d = Buffer.from(material.trim(), 'base64url');
    if (d.length !== 32) throw new RangeError('ES256 key: a raw private key is 32 bytes of base64url');
    // Derive the public point from the scalar, then import the key as a JWK (RFC 7518 §6.2).
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const pub = ecdh.getPublicKey();
    privateKey = createPrivateKey({
      key: { kty: 'EC', crv: 'P-256', d: b64url(d), x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)) },
      format: 'jwk',
    });
    d.fill(0);
  }
  const details = privateKey.asymmetricKeyDetails;
  if (privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
    throw new RangeError('ES256 key: not a P-256 key');
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const x = Buffer.from(String(jwk.x), 'base64url');
  const y = Buffer.from(String(jwk.y), 'base64url');
  return { privateKey, publicKey: new Uint8Array(Buffer.concat([Buffer.of(4), x, y])) };
}

/** Signs `{header}.{claims}` with ES256; returns the compact JWS. */
export function signEs256Jwt(key: Es256Key, header: Record<string, string>, claims: Record<string, string | number>): string {
  const input = `${b64url(JSON.stringify({ ...header, alg: 'ES256' }))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}
