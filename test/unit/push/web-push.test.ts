/**
 * Web Push encryption (RFC 8291) and VAPID (RFC 8292) of lib/push: the RFC 8291 Appendix A
 * known answer, and decryption by an independent receiver written here from node:crypto
 * primitives only (ECDH P-256, HMAC-SHA-256 as HKDF per RFC 5869, AES-128-GCM).
 */
import { expect } from 'chai';
import { createECDH, createPublicKey, verify } from 'node:crypto';
import fc from 'fast-check';
import { encryptWebPush, WEB_PUSH_MAX_PLAINTEXT } from '../../../lib/push/web-push-encryption.js';
import { buildPushRequest } from '../../../lib/push/push-services.js';
import { loadEs256Key } from '../../../lib/push/jwt-es256.js';
import { decryptAes128gcm } from './web-push-receiver.js';

const b64u = (s: string): Buffer => Buffer.from(s, 'base64url');

// RFC 8291 Appendix A.
const A = {
  plaintext: 'When I grow up, I want to be a watermelon',
  asPrivate: 'yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw',
  asPublic: 'BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8',
  uaPrivate: 'q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94',
  uaPublic: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  auth: 'BTBZMqHH6r4Tts7J_aSIgg',
  salt: 'DGv6ra1nlYgDCS1FRnbzlw',
  body:
    'DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_' +
    'yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN',
};

function uaKeys(): { priv: Buffer; p256dh: Uint8Array } {
  const e = createECDH('prime256v1');
  e.generateKeys();
  return { priv: e.getPrivateKey(), p256dh: new Uint8Array(e.getPublicKey()) };
}

describe('push: Web Push message encryption (RFC 8291)', () => {
  it('reproduces the RFC 8291 Appendix A example byte for byte', () => {
    const body = encryptWebPush(
      new TextEncoder().encode(A.plaintext),
      { p256dh: b64u(A.uaPublic), auth: b64u(A.auth) },
      { fixture: { asPrivateKey: b64u(A.asPrivate), salt: b64u(A.salt) } },
    );
    expect(Buffer.from(body).toString('base64url')).to.equal(A.body);
    expect(Buffer.from(body.subarray(21, 86)).toString('base64url')).to.equal(A.asPublic);
  });

  it('the independent receiver decrypts the RFC example with the UA private key', () => {
    expect(decryptAes128gcm(b64u(A.body), b64u(A.uaPrivate), b64u(A.auth)).toString()).to.equal(A.plaintext);
  });

  it('random payloads with fresh keys round-trip through the independent receiver', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (plaintext) => {
        const ua = uaKeys();
        const auth = new Uint8Array(16).fill(7);
        const body = encryptWebPush(plaintext, { p256dh: ua.p256dh, auth });
        expect(decryptAes128gcm(Buffer.from(body), ua.priv, Buffer.from(auth)).equals(Buffer.from(plaintext))).to.equal(true);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses bad keys and oversized payloads with RangeError', () => {
    const ua = uaKeys();
    const auth = new Uint8Array(16);
    expect(() => encryptWebPush(new Uint8Array(1), { p256dh: ua.p256dh.subarray(1), auth })).to.throw(RangeError);
    expect(() => encryptWebPush(new Uint8Array(1), { p256dh: ua.p256dh, auth: auth.subarray(1) })).to.throw(RangeError);
    const offCurve = new Uint8Array(65);
    offCurve[0] = 4;
    expect(() => encryptWebPush(new Uint8Array(1), { p256dh: offCurve, auth })).to.throw(RangeError);
    expect(() => encryptWebPush(new Uint8Array(WEB_PUSH_MAX_PLAINTEXT + 1), { p256dh: ua.p256dh, auth })).to.throw(RangeError);
  });
});

describe('push: Web Push request with VAPID (RFC 8030, RFC 8292)', () => {
  it('signs an ES256 JWT for the endpoint origin that verifies with the k parameter, and carries only counts', () => {
    const ua = uaKeys();
    const auth = new Uint8Array(16).fill(1);
    const vapidKey = loadEs256Key(A.asPrivate); // any P-256 scalar serves as a VAPID key
    expect(Buffer.from(vapidKey.publicKey).toString('base64url')).to.equal(A.asPublic);
    const now = 1_800_000_000;
    const req = buildPushRequest(
      { service: 'webpush', endpoint: 'https://push.example.net:8443/wpush/abc?x=1', p256dh: ua.p256dh, auth },
      { node: 'n1', unread: 3, important: true, encrypted: undefined },
      { webpush: { vapidKey, subject: 'mailto:ops@example.org' } },
      { now: () => now },
    );
    expect(req.http2).to.equal(false);
    expect(req.headers['content-encoding']).to.equal('aes128gcm');
    expect(req.headers['ttl']).to.equal('3600');
    expect(req.headers['urgency']).to.equal('high');
    const m = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(req.headers['authorization'] ?? '');
    if (!m) throw new Error('no vapid authorization');
    const [h, c, s] = (m[1] as string).split('.') as [string, string, string];
    expect(JSON.parse(b64u(h).toString())).to.deep.equal({ typ: 'JWT', alg: 'ES256' });
    const claims = JSON.parse(b64u(c).toString()) as { aud: string; exp: number; sub: string };
    expect(claims).to.deep.equal({ aud: 'https://push.example.net:8443', exp: now + 12 * 3600, sub: 'mailto:ops@example.org' });
    const k = b64u(m[2] as string);
    const pub = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: k.subarray(1, 33).toString('base64url'), y: k.subarray(33).toString('base64url') },
      format: 'jwk',
    });
    expect(verify('sha256', Buffer.from(`${h}.${c}`), { key: pub, dsaEncoding: 'ieee-p1363' }, b64u(s))).to.equal(true);
    const payload = JSON.parse(decryptAes128gcm(Buffer.from(req.body), ua.priv, Buffer.from(auth)).toString()) as Record<string, string>;
    expect(payload).to.deep.equal({ node: 'n1', important: '1', unread: '3' });
  });
});
