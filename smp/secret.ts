/**
 * The secret SMP compares (OTR v3 spec, "Secret information"): SHA-256 of version byte 1, the
 * initiator's fingerprint (20 bytes), the responder's fingerprint (20 bytes), the secure
 * session id (8 bytes for v3) and the user's secret. libotr (message.c `init_respond_smp`)
 * writes the initiator's fingerprint first on both sides, so both derive the same value.
 */
import { bytesToBigInt, concatBytes, utf8ToBytes, wipe } from '../lib/core/bytes.js';
import { sha256 } from '../lib/core/crypto/hash.js';

/** The SMP version byte hashed into the secret ("The version described here is 1"). */
export const SMP_SECRET_VERSION = 1;
/** OTR fingerprints are SHA-1 digests: 20 bytes. */
export const SMP_FINGERPRINT_BYTES = 20;
/** OTR v3's secure session id: the first 64 bits of h2(0x00). */
export const SMP_SSID_BYTES = 8;

/** Inputs of `deriveSmpSecret`. */
export interface SmpSecretInput {
  /** Fingerprint of the party that sent SMP message 1. */
  readonly initiatorFingerprint: Uint8Array;
  /** Fingerprint of the party that answers it. */
  readonly responderFingerprint: Uint8Array;
  /** The conversation's secure session id (8 bytes). */
  readonly ssid: Uint8Array;
  /** The user's secret: a string is UTF-8 encoded, bytes are used as given. */
  readonly userSecret: string | Uint8Array;
}

/**
 * The SMP secret x (or y) as an integer: SHA-256(0x01 || initiator fp || responder fp ||
 * ssid || user secret), read big-endian (libotr scans the digest as an unsigned MPI).
 * Throws TypeError/RangeError for a wrong type or length (caller bug).
 */
export function deriveSmpSecret(input: SmpSecretInput): bigint {
  checkBytes(input.initiatorFingerprint, SMP_FINGERPRINT_BYTES, 'initiatorFingerprint');
  checkBytes(input.responderFingerprint, SMP_FINGERPRINT_BYTES, 'responderFingerprint');
  checkBytes(input.ssid, SMP_SSID_BYTES, 'ssid');
  const userSecret = encodeUserSecret(input.userSecret);
  const preimage = concatBytes(
    Uint8Array.of(SMP_SECRET_VERSION),
    input.initiatorFingerprint,
    input.responderFingerprint,
    input.ssid,
    userSecret,
  );
  const digest = sha256(preimage);
  const secret = bytesToBigInt(digest);
  wipe(preimage, digest);
  if (typeof input.userSecret === 'string') wipe(userSecret);
  return secret;
}

function encodeUserSecret(secret: string | Uint8Array): Uint8Array {
  if (typeof secret === 'string') return utf8ToBytes(secret);
  if (secret instanceof Uint8Array) return secret;
  throw new TypeError('deriveSmpSecret: userSecret must be a string or a Uint8Array');
}

function checkBytes(value: Uint8Array, length: number, name: string): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`deriveSmpSecret: ${name} must be a Uint8Array`);
  if (value.length !== length) throw new RangeError(`deriveSmpSecret: ${name} must be ${length} bytes`);
}
