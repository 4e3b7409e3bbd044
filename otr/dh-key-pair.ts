/**
 * OTR's Diffie-Hellman key pairs (OTR v3 spec, "Authenticated Key Exchange" and "Exchanging
 * data"): a private exponent x drawn from 320 random bits, as libotr draws it (40 bytes,
 * `otrl_dh_gen_keypair`), and the public value g^x in the 1536-bit MODP group. The AKE uses
 * one; the data-message layer makes a new one at every key rotation.
 */
import { bytesToBigInt, wipe } from '../lib/core/bytes.js';
import { isInModpRange, type ModpGroup } from '../lib/core/crypto/modp-group.js';
import type { RandomSource } from '../lib/core/random.js';

/** Bytes of randomness in a private exponent: 320 bits (the spec says "at least 320 bits"). */
export const OTR_DH_PRIVATE_KEY_BYTES = 40;

/** A DH key pair: `publicKey` = g^`privateKey` mod p. */
export interface OtrDhKeyPair {
  /** The private exponent x (320 bits). */
  readonly privateKey: bigint;
  /** g^x mod p, always in [2, p-2]. */
  readonly publicKey: bigint;
}

/**
 * Draws a fresh key pair from `random`. A draw whose public value falls outside [2, p-2]
 * (x = 0 or another degenerate value, probability ~2^-320) is discarded and redrawn, so a
 * peer applying the spec's range check never rejects our key.
 */
export function generateOtrDhKeyPair(group: ModpGroup, random: RandomSource): OtrDhKeyPair {
  for (;;) {
    const bytes = random(OTR_DH_PRIVATE_KEY_BYTES);
    if (bytes.length !== OTR_DH_PRIVATE_KEY_BYTES) throw new RangeError('generateOtrDhKeyPair: random source returned the wrong length');
    const privateKey = bytesToBigInt(bytes);
    wipe(bytes);
    const publicKey = group.powG(privateKey);
    if (isInModpRange(publicKey)) return { privateKey, publicKey };
  }
}
