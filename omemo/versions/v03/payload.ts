/**
 * OMEMO 0.3 payload encryption (XEP-0384 0.3.0 section 4.4 as deployed by Conversations):
 * AES-128-GCM with a random 16-byte key and a 12-byte IV. `<payload>` holds the ciphertext
 * WITHOUT the tag; the ratchet carries key(16) || tag(16). An empty ("key transport") message
 * has no payload and the ratchet carries 16 random bytes.
 */
import { concatBytes } from '../../../lib/core/bytes.js';
import { aesGcmDecrypt, aesGcmEncrypt } from '../../../lib/core/crypto/aes.js';
import { MalformedMessageError, VerificationError } from '../../../lib/core/errors.js';
import type { RandomSource } from '../../../lib/core/random.js';

/** AES-128 key length. */
export const PAYLOAD_KEY_LENGTH = 16;
/** GCM tag length. */
export const PAYLOAD_TAG_LENGTH = 16;
/** IV length we send (GCM's native 96 bits). */
export const PAYLOAD_IV_LENGTH = 12;
/** Older clients (Conversations before 2.x) sent 16-byte IVs; accepted on receive. */
export const LEGACY_PAYLOAD_IV_LENGTH = 16;
/** Bound on an incoming payload ciphertext (the stanza limit of servers is far below this). */
export const MAX_PAYLOAD_LENGTH = 1 << 20;

/** An encrypted payload: what goes in `<iv>`/`<payload>` and what the ratchet must carry. */
export interface EncryptedPayload03 {
  /** key(16) || tag(16): the plaintext of the ratchet message for every recipient. */
  readonly keyMaterial: Uint8Array;
  readonly iv: Uint8Array;
  /** GCM ciphertext without the tag (`<payload>`). */
  readonly payload: Uint8Array;
}

/** An empty (key transport) message: `<iv>` only, 16 random bytes through the ratchet. */
export interface EmptyPayload03 {
  readonly keyMaterial: Uint8Array;
  readonly iv: Uint8Array;
}

/**
 * Encrypts `plaintext` (the message body bytes) under a fresh random key and IV. RangeError for
 * an empty plaintext: its GCM ciphertext is empty, and a message without `<payload>` is a key
 * transport message to every 0.3 client (python-oldmemo's `ContentImpl.empty`); use
 * {@link emptyPayload03} for that.
 */
export function encryptPayload03(plaintext: Uint8Array, random: RandomSource): EncryptedPayload03 {
  if (plaintext.length === 0) throw new RangeError('encryptPayload03: empty plaintext (use emptyPayload03)');
  const key = random(PAYLOAD_KEY_LENGTH);
  const iv = random(PAYLOAD_IV_LENGTH);
  const { ciphertext, tag } = aesGcmEncrypt(key, iv, plaintext);
  const keyMaterial = concatBytes(key, tag);
  key.fill(0);
  return { keyMaterial, iv, payload: ciphertext };
}

/** Key material and IV of a key-transport (empty) message, as python-oldmemo makes them. */
export function emptyPayload03(random: RandomSource): EmptyPayload03 {
  return { keyMaterial: random(PAYLOAD_KEY_LENGTH), iv: random(PAYLOAD_IV_LENGTH) };
}

/**
 * Decrypts `<payload>` with the key material the ratchet returned. Accepts key(16) || tag(16)
 * (current) and, for very old clients, a bare 16-byte key with the tag appended to the payload.
 * MalformedMessageError for bad lengths, VerificationError `omemo.v03.payload-auth` when the
 * GCM tag does not verify.
 */
export function decryptPayload03(keyMaterial: Uint8Array, iv: Uint8Array, payload: Uint8Array): Uint8Array {
  if (iv.length !== PAYLOAD_IV_LENGTH && iv.length !== LEGACY_PAYLOAD_IV_LENGTH) {
    throw new MalformedMessageError('omemo.v03.bad-iv', 'IV must be 12 or 16 bytes');
  }
  if (payload.length > MAX_PAYLOAD_LENGTH) throw new MalformedMessageError('omemo.v03.oversized', 'Payload too long');
  let key: Uint8Array;
  let tag: Uint8Array;
  let ciphertext: Uint8Array;
  if (keyMaterial.length === PAYLOAD_KEY_LENGTH + PAYLOAD_TAG_LENGTH) {
    key = keyMaterial.subarray(0, PAYLOAD_KEY_LENGTH);
    tag = keyMaterial.subarray(PAYLOAD_KEY_LENGTH);
    ciphertext = payload;
  } else if (keyMaterial.length === PAYLOAD_KEY_LENGTH) {
    if (payload.length < PAYLOAD_TAG_LENGTH) throw new MalformedMessageError('omemo.v03.truncated', 'Payload shorter than the tag');
    key = keyMaterial;
    tag = payload.subarray(payload.length - PAYLOAD_TAG_LENGTH);
    ciphertext = payload.subarray(0, payload.length - PAYLOAD_TAG_LENGTH);
  } else {
    throw new MalformedMessageError('omemo.v03.bad-key-material', 'Key material must be 16 or 32 bytes');
  }
  const plaintext = aesGcmDecrypt(key, iv, ciphertext, tag);
  if (plaintext === undefined) throw new VerificationError('omemo.v03.payload-auth', 'Payload authentication failed');
  return plaintext;
}
