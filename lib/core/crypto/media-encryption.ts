/**
 * The file encryption of XEP-0454 (OMEMO Media Sharing) section 3: AES-256-GCM with a fresh
 * random 32-byte key and 12-byte IV per file, the 16-byte authentication tag appended to the
 * ciphertext. Files from older clients used a 16-byte IV; {@link decryptMedia} accepts both
 * (GCM hashes a non-96-bit IV into the initial counter, NIST SP 800-38D section 7.1).
 *
 * Pure functions over `Uint8Array` (node:crypto / OpenSSL underneath). Decryption is all or
 * nothing: a payload whose tag does not verify yields a typed error and no plaintext at all.
 */
import { aesGcmDecrypt, aesGcmEncrypt } from './aes.js';
import { concatBytes } from '../bytes.js';
import { MalformedMessageError, VerificationError } from '../errors.js';
import type { RandomSource } from '../random.js';

/** AES-256 key length in bytes (XEP-0454 section 3). */
export const MEDIA_KEY_LENGTH = 32;
/** IV length every sender must use (XEP-0454 section 3). */
export const MEDIA_IV_LENGTH = 12;
/** IV length of files shared by older clients, still accepted when receiving. */
export const LEGACY_MEDIA_IV_LENGTH = 16;
/** GCM tag length, appended to the ciphertext. */
export const MEDIA_TAG_LENGTH = 16;

/** The secret of one shared file: what the `aesgcm://` URL fragment carries. */
export interface MediaKey {
  /** 12 bytes (16 for legacy files). */
  readonly iv: Uint8Array;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

function checkMediaKey(mediaKey: MediaKey, ivLengths: readonly number[]): void {
  if (mediaKey === null || typeof mediaKey !== 'object') throw new TypeError('mediaKey must be { iv, key }');
  const { iv, key } = mediaKey;
  if (!(iv instanceof Uint8Array)) throw new TypeError('mediaKey.iv must be a Uint8Array');
  if (!(key instanceof Uint8Array)) throw new TypeError('mediaKey.key must be a Uint8Array');
  if (!ivLengths.includes(iv.length)) throw new RangeError(`mediaKey.iv must be ${ivLengths.join(' or ')} bytes, got ${iv.length}`);
  if (key.length !== MEDIA_KEY_LENGTH) throw new RangeError(`mediaKey.key must be ${MEDIA_KEY_LENGTH} bytes, got ${key.length}`);
}

/** A fresh key and 12-byte IV from `random` (the system CSPRNG in production). */
export function generateMediaKey(random: RandomSource): MediaKey {
  const iv = random(MEDIA_IV_LENGTH);
  const key = random(MEDIA_KEY_LENGTH);
  if (iv.length !== MEDIA_IV_LENGTH || key.length !== MEDIA_KEY_LENGTH) throw new RangeError('generateMediaKey: the random source returned the wrong length');
  return { iv, key };
}

/**
 * Encrypts a file: `ciphertext || tag` (XEP-0454 section 3), `plaintext.length + 16` bytes.
 * Only the 12-byte IV is accepted here: new files never use the legacy length.
 */
export function encryptMedia(plaintext: Uint8Array, mediaKey: MediaKey): Uint8Array {
  if (!(plaintext instanceof Uint8Array)) throw new TypeError('encryptMedia: plaintext must be a Uint8Array');
  checkMediaKey(mediaKey, [MEDIA_IV_LENGTH]);
  const { ciphertext, tag } = aesGcmEncrypt(mediaKey.key, mediaKey.iv, plaintext);
  return concatBytes(ciphertext, tag);
}

/**
 * Decrypts `ciphertext || tag`. Throws MalformedMessageError `media.truncated` when the payload
 * is shorter than a tag, and VerificationError `media.auth-failed` when the tag does not verify
 * (tampered, truncated or wrong key): no partial plaintext is ever returned.
 */
export function decryptMedia(payload: Uint8Array, mediaKey: MediaKey): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError('decryptMedia: payload must be a Uint8Array');
  checkMediaKey(mediaKey, [MEDIA_IV_LENGTH, LEGACY_MEDIA_IV_LENGTH]);
  if (payload.length < MEDIA_TAG_LENGTH) throw new MalformedMessageError('media.truncated', 'the encrypted file is shorter than its authentication tag');
  const split = payload.length - MEDIA_TAG_LENGTH;
  const plaintext = aesGcmDecrypt(mediaKey.key, mediaKey.iv, payload.subarray(0, split), payload.subarray(split));
  if (plaintext === undefined) throw new VerificationError('media.auth-failed', 'the encrypted file failed authentication (tampered, truncated or wrong key)');
  return plaintext;
}
