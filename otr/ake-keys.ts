/**
 * Key derivation of the AKE (OTR v3 spec, "Computing AES keys, MAC keys, and the secure
 * session id"): from the D-H shared secret s, secbytes = MPI(s) (minimal length) and
 * h2(b) = SHA-256(b || secbytes) give the secure session id, the AES keys c and c' and the
 * SHA256-HMAC keys m1, m2, m1', m2'.
 */
import { wipe } from '../lib/core/bytes.js';
import { sha256 } from '../lib/core/crypto/hash.js';
import { isInModpRange, type ModpGroup } from '../lib/core/crypto/modp-group.js';
import { VerificationError } from '../lib/core/errors.js';
import { OtrWriter } from './codec.js';

/** The seven values the AKE derives from s. Wipe them with `wipeAkeKeys` when done. */
export interface AkeKeys {
  /** Secure session id: first 64 bits of h2(0x00). */
  readonly ssid: Uint8Array;
  /** AES-128 key c: first 128 bits of h2(0x01) (Reveal Signature Message). */
  readonly c: Uint8Array;
  /** AES-128 key c': second 128 bits of h2(0x01) (Signature Message). */
  readonly cPrime: Uint8Array;
  /** SHA256-HMAC key m1 = h2(0x02): MACs M_B. */
  readonly m1: Uint8Array;
  /** SHA256-HMAC key m2 = h2(0x03): MACs the Reveal Signature's encrypted signature. */
  readonly m2: Uint8Array;
  /** SHA256-HMAC key m1' = h2(0x04): MACs M_A. */
  readonly m1Prime: Uint8Array;
  /** SHA256-HMAC key m2' = h2(0x05): MACs the Signature Message's encrypted signature. */
  readonly m2Prime: Uint8Array;
}

/**
 * secbytes: s written as a minimum-length MPI (4-byte big-endian length, then the value),
 * the input of h1 and h2 (spec, "Computing AES keys, MAC keys, and the secure session id").
 */
export function otrSecbytes(sharedSecret: bigint): Uint8Array {
  if (sharedSecret < 0n) throw new RangeError('otrSecbytes: sharedSecret must be non-negative');
  return new OtrWriter().mpi(sharedSecret).finish();
}

/** h2(b) = SHA-256(b || secbytes): 32 bytes. */
export function otrH2(b: number, secbytes: Uint8Array): Uint8Array {
  if (!Number.isInteger(b) || b < 0 || b > 0xff) throw new RangeError('otrH2: b must be a byte');
  return sha256(Uint8Array.of(b), secbytes);
}

/**
 * The D-H shared secret s = theirPublic^ourPrivate mod p, after the spec's range check of the
 * peer's value (2 <= g^y <= p-2; "Verifies that Alice's g^y is a legal value"). Throws
 * VerificationError `otr.ake.bad-dh-public` for a value out of range.
 */
export function computeAkeSharedSecret(group: ModpGroup, ourPrivateKey: bigint, theirPublicKey: bigint): bigint {
  if (!isInModpRange(theirPublicKey)) {
    throw new VerificationError('otr.ake.bad-dh-public', 'D-H public value is not in [2, p-2]');
  }
  return group.pow(theirPublicKey, ourPrivateKey);
}

/** Derives ssid, c, c', m1, m2, m1', m2' from s exactly as the spec lists them. */
export function deriveAkeKeys(sharedSecret: bigint): AkeKeys {
  const secbytes = otrSecbytes(sharedSecret);
  const h0 = otrH2(0x00, secbytes);
  const h1 = otrH2(0x01, secbytes);
  const keys: AkeKeys = {
    ssid: h0.slice(0, 8),
    c: h1.slice(0, 16),
    cPrime: h1.slice(16, 32),
    m1: otrH2(0x02, secbytes),
    m2: otrH2(0x03, secbytes),
    m1Prime: otrH2(0x04, secbytes),
    m2Prime: otrH2(0x05, secbytes),
  };
  wipe(secbytes, h0, h1);
  return keys;
}

/** Zeroes every key in `keys` (the ssid too: copy it first if it is still needed). */
export function wipeAkeKeys(keys: AkeKeys): void {
  wipe(keys.ssid, keys.c, keys.cPrime, keys.m1, keys.m2, keys.m1Prime, keys.m2Prime);
}
