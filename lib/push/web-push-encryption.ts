/**
 * Message encryption for Web Push (RFC 8291) in the `aes128gcm` content coding (RFC 8188),
 * with node:crypto only. Pure functions over Uint8Array; the ephemeral key and salt are
 * injectable for known-answer tests (RFC 8291 Appendix A).
 */
import { createECDH, hkdfSync } from 'node:crypto';
import { aesGcmEncrypt } from '../core/crypto/aes.js';
import { concatBytes, utf8ToBytes, wipe } from '../core/bytes.js';
import type { RandomSource } from '../core/random.js';
import { systemRandom } from '../core/random.js';

/** The user agent's subscription keys (PushSubscription `p256dh` and `auth`). */
export interface WebPushSubscriptionKeys {
  /** Uncompressed P-256 point, 65 bytes (RFC 8291 §3.2 `ua_public`). */
  readonly p256dh: Uint8Array;
  /** 16-byte authentication secret (RFC 8291 §3.2). */
  readonly auth: Uint8Array;
}

/** Fixed values for tests; production code leaves them out. */
export interface WebPushEncryptionFixture {
  /** 32-byte application server ephemeral private key (`as_private`). */
  readonly asPrivateKey: Uint8Array;
  /** 16-byte salt. */
  readonly salt: Uint8Array;
}

/** RFC 8188 §2: the record size we announce; one record is always enough for a push. */
const RECORD_SIZE = 4096;
/** RFC 8291 §4: a push message is at most 4096 bytes of content coding, so 3993 of plaintext. */
export const WEB_PUSH_MAX_PLAINTEXT = RECORD_SIZE - 16 - 1 - 86;

const enc = (s: string): Uint8Array => utf8ToBytes(s);

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}

/**
 * Encrypts `plaintext` for the subscription (RFC 8291 §3.4, RFC 8188 §2): returns the whole
 * request body, header (salt, rs, idlen, keyid = as_public) followed by the single record.
 */
export function encryptWebPush(
  plaintext: Uint8Array,
  keys: WebPushSubscriptionKeys,
  options: { readonly random?: RandomSource; readonly fixture?: WebPushEncryptionFixture } = {},
): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('encryptWebPush: plaintext must be a Uint8Array');
  if (plaintext.length > WEB_PUSH_MAX_PLAINTEXT) throw new RangeError(`encryptWebPush: plaintext longer than ${WEB_PUSH_MAX_PLAINTEXT} bytes`);
  if (keys.p256dh.length !== 65 || keys.p256dh[0] !== 0x04) throw new RangeError('encryptWebPush: p256dh must be a 65-byte uncompressed P-256 point');
  if (keys.auth.length !== 16) throw new RangeError('encryptWebPush: auth must be 16 bytes');
  const random = options.random ?? systemRandom;
  const ecdh = createECDH('prime256v1');
  if (options.fixture) ecdh.setPrivateKey(options.fixture.asPrivateKey);
  else ecdh.generateKeys();
  const asPublic = new Uint8Array(ecdh.getPublicKey());
  const salt = options.fixture?.salt ?? random(16);
  if (salt.length !== 16) throw new RangeError('encryptWebPush: salt must be 16 bytes');
  let ecdhSecret: Uint8Array;
  try {
    ecdhSecret = new Uint8Array(ecdh.computeSecret(keys.p256dh));
  } catch (error) {
    throw new RangeError('encryptWebPush: p256dh is not a point on P-256', { cause: error });
  }
  // §3.3/3.4: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" || 0x00 || ua_public || as_public, 32)
  const keyInfo = concatBytes(enc('WebPush: info\0'), keys.p256dh, asPublic);
  const ikm = hkdf(ecdhSecret, keys.auth, keyInfo, 32);
  // RFC 8188 §2.2/2.3: CEK and NONCE from PRK = HMAC(salt, IKM)
  const cek = hkdf(ikm, salt, enc('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(ikm, salt, enc('Content-Encoding: nonce\0'), 12);
  // RFC 8188 §2: the last (only) record ends with the delimiter 0x02, no further padding.
  const padded = concatBytes(plaintext, Uint8Array.of(2));
  const { ciphertext, tag } = aesGcmEncrypt(cek, nonce, padded);
  const header = new Uint8Array(16 + 4 + 1 + asPublic.length);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, RECORD_SIZE);
  header[20] = asPublic.length;
  header.set(asPublic, 21);
  const body = concatBytes(header, ciphertext, tag);
  wipe(ecdhSecret, ikm, cek, nonce, padded, ciphertext);
  return body;
}
