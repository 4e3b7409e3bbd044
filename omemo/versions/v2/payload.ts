/**
 * omemo:2 payload encryption (XEP-0384 section 4.4, "Message Encryption"): a random 32-byte key
 * -> HKDF-SHA256(salt = 32 zero bytes, info "OMEMO Payload") -> 80 bytes = encryption key(32) ||
 * authentication key(32) || IV(16); AES-256-CBC with PKCS#7; HMAC-SHA256 over the ciphertext,
 * truncated to 16 bytes. The ratchet carries key(32) || mac(16). An empty message has no
 * `<payload>` and the ratchet carries 32 zero bytes (python-twomemo's make_empty).
 */
import { concatBytes, constantTimeEqual, wipe } from '../../../lib/core/bytes.js';
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../../../lib/core/crypto/aes.js';
import { hmacSha256 } from '../../../lib/core/crypto/hash.js';
import { MalformedMessageError, VerificationError } from '../../../lib/core/errors.js';
import type { RandomSource } from '../../../lib/core/random.js';
import { OMEMO_2_INFO, hkdf } from '../../kdf.js';

/** Length of the random payload key. */
export const PAYLOAD_KEY_LENGTH = 32;
/** Length of the truncated payload HMAC. */
export const PAYLOAD_MAC_LENGTH = 16;
/** Bound on an incoming payload ciphertext. */
export const MAX_PAYLOAD_LENGTH = 1 << 20;

/** An encrypted payload: `<payload>` bytes and what the ratchet must carry. */
export interface EncryptedPayload2 {
  /** key(32) || mac(16): the plaintext of the ratchet message for every recipient. */
  readonly keyMaterial: Uint8Array;
  readonly payload: Uint8Array;
}

const ZERO_SALT = new Uint8Array(32);

function deriveKeys(key: Uint8Array): { encryptionKey: Uint8Array; authenticationKey: Uint8Array; iv: Uint8Array; okm: Uint8Array } {
  const okm = hkdf(key, ZERO_SALT, OMEMO_2_INFO.payload, 80);
  return { encryptionKey: okm.subarray(0, 32), authenticationKey: okm.subarray(32, 64), iv: okm.subarray(64, 80), okm };
}

/** Encrypts `plaintext` (the serialized SCE envelope) under a fresh random key. */
export function encryptPayload2(plaintext: Uint8Array, random: RandomSource): EncryptedPayload2 {
  const key = random(PAYLOAD_KEY_LENGTH);
  const keys = deriveKeys(key);
  const payload = aes256CbcEncrypt(keys.encryptionKey, keys.iv, plaintext);
  const mac = hmacSha256(keys.authenticationKey, payload).subarray(0, PAYLOAD_MAC_LENGTH);
  const keyMaterial = concatBytes(key, mac);
  wipe(key, keys.okm);
  return { keyMaterial, payload };
}

/** The ratchet plaintext of an empty message: 32 zero bytes. */
export function emptyKeyMaterial2(): Uint8Array {
  return new Uint8Array(PAYLOAD_KEY_LENGTH);
}

/**
 * Decrypts `<payload>` with key(32) || mac(16) from the ratchet. MalformedMessageError for bad
 * lengths or padding, VerificationError `omemo.v2.payload-auth` for a wrong MAC.
 */
export function decryptPayload2(keyMaterial: Uint8Array, payload: Uint8Array): Uint8Array {
  if (keyMaterial.length !== PAYLOAD_KEY_LENGTH + PAYLOAD_MAC_LENGTH) {
    throw new MalformedMessageError('omemo.v2.bad-key-material', 'Key material must be 48 bytes');
  }
  if (payload.length > MAX_PAYLOAD_LENGTH) throw new MalformedMessageError('omemo.v2.oversized', 'Payload too long');
  if (payload.length === 0 || payload.length % 16 !== 0) {
    throw new MalformedMessageError('omemo.v2.bad-payload-length', 'Payload is not whole AES blocks');
  }
  const keys = deriveKeys(keyMaterial.subarray(0, PAYLOAD_KEY_LENGTH));
  try {
    const mac = hmacSha256(keys.authenticationKey, payload).subarray(0, PAYLOAD_MAC_LENGTH);
    if (!constantTimeEqual(mac, keyMaterial.subarray(PAYLOAD_KEY_LENGTH))) {
      throw new VerificationError('omemo.v2.payload-auth', 'Payload authentication failed');
    }
    const plaintext = aes256CbcDecrypt(keys.encryptionKey, keys.iv, payload);
    if (plaintext === undefined) throw new MalformedMessageError('omemo.v2.bad-padding', 'Bad payload padding');
    return plaintext;
  } finally {
    wipe(keys.okm);
  }
}
