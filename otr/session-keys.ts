/**
 * Per key-pair session keys of the data phase (OTR v3 spec, "Computing AES keys, MAC keys,
 * and the secure session id" and "Extra symmetric key"): from one of our D-H key pairs and
 * one of the peer's D-H public keys, secbytes = MPI(s), then
 * - sendbyte/recvbyte = 0x01/0x02 if our public key is numerically greater ("high" end),
 *   else 0x02/0x01 ("low" end);
 * - AES keys = first 16 bytes of h1(b) = SHA-1(b || secbytes);
 * - MAC keys = SHA-1 of the 16-byte AES keys (20 bytes);
 * - extra symmetric key = h2(0xFF) = SHA-256(0xFF || secbytes), all 32 bytes.
 */
import { wipe } from '../lib/core/bytes.js';
import { sha1, sha256 } from '../lib/core/crypto/hash.js';
import { isInModpRange, type ModpGroup } from '../lib/core/crypto/modp-group.js';
import { VerificationError } from '../lib/core/errors.js';
import { otrSecbytes } from './ake-keys.js';

/** Bytes in an AES-128 key. */
export const SESSION_AES_KEY_BYTES = 16;
/** Bytes in a SHA1-HMAC key (and in a revealed MAC key). */
export const SESSION_MAC_KEY_BYTES = 20;
/** Bytes in the extra symmetric key. */
export const EXTRA_SYMMETRIC_KEY_BYTES = 32;

/** The four keys of one (our key pair, their public key) pairing, plus the extra key. */
export interface SessionKeys {
  /** Encrypts what we send. */
  readonly sendingAesKey: Uint8Array;
  /** MACs what we send: SHA-1(sendingAesKey). */
  readonly sendingMacKey: Uint8Array;
  /** Decrypts what we receive. */
  readonly receivingAesKey: Uint8Array;
  /** Verifies what we receive: SHA-1(receivingAesKey). */
  readonly receivingMacKey: Uint8Array;
  /** h2(0xFF): the extra symmetric key (spec, "Extra symmetric key"). */
  readonly extraSymmetricKey: Uint8Array;
}

/**
 * Derives the session keys from the shared secret s and both public values. Whether we are
 * the "high" end is decided by comparing the public keys as numbers (public values, so a
 * variable-time comparison leaks nothing).
 */
export function deriveSessionKeysFromSecret(sharedSecret: bigint, ourPublicKey: bigint, theirPublicKey: bigint): SessionKeys {
  const secbytes = otrSecbytes(sharedSecret);
  const high = ourPublicKey > theirPublicKey;
  const sendByte = high ? 0x01 : 0x02;
  const receiveByte = high ? 0x02 : 0x01;
  const h1Send = sha1(Uint8Array.of(sendByte), secbytes);
  const h1Receive = sha1(Uint8Array.of(receiveByte), secbytes);
  const sendingAesKey = h1Send.slice(0, SESSION_AES_KEY_BYTES);
  const receivingAesKey = h1Receive.slice(0, SESSION_AES_KEY_BYTES);
  const keys: SessionKeys = {
    sendingAesKey,
    sendingMacKey: sha1(sendingAesKey),
    receivingAesKey,
    receivingMacKey: sha1(receivingAesKey),
    extraSymmetricKey: sha256(Uint8Array.of(0xff), secbytes),
  };
  wipe(secbytes, h1Send, h1Receive);
  return keys;
}

/**
 * Computes s = theirPublicKey^ourPrivateKey mod p and derives the session keys. Throws
 * `VerificationError` `otr.data.bad-dh-public` when the peer's value is not in [2, p-2].
 */
export function deriveSessionKeys(group: ModpGroup, ourPrivateKey: bigint, ourPublicKey: bigint, theirPublicKey: bigint): SessionKeys {
  if (!isInModpRange(theirPublicKey)) {
    throw new VerificationError('otr.data.bad-dh-public', 'D-H public value is not in [2, p-2]');
  }
  return deriveSessionKeysFromSecret(group.pow(theirPublicKey, ourPrivateKey), ourPublicKey, theirPublicKey);
}

/** Zeroes every key in `keys`. */
export function wipeSessionKeys(keys: SessionKeys): void {
  wipe(keys.sendingAesKey, keys.sendingMacKey, keys.receivingAesKey, keys.receivingMacKey, keys.extraSymmetricKey);
}
