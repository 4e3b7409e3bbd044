/**
 * Modular exponentiation for prime moduli, the operation that decides OTR's speed.
 *
 * Measured here (docs/BENCHMARKS.md): 1536-bit modulus, 320-bit exponent: OpenSSL through
 * node:crypto 0.2 ms, libgcrypt 0.6 ms, native BigInt 1.5 ms, bn.js 25 ms. node:crypto has
 * no public modexp, but a Diffie-Hellman object computes `base^exponent mod p` in
 * `computeSecret` when the exponent is set as its private key, with OpenSSL's constant-time
 * Montgomery ladder (BN_FLG_CONSTTIME). Creating the object does not test p for primality
 * (that check is lazy), so one object per modulus is cached and reused.
 */
import { createDiffieHellman, type DiffieHellman } from 'node:crypto';
import { bigIntToBytes, bytesToBigInt } from '../bytes.js';

const MAX_CACHED_MODULI = 32;
const SMALL_MODULUS_LIMIT = 1n << 256n;

/** Computes `base^exponent mod modulus` for an odd prime modulus. Stateless apart from a cache. */
export class ModExp {
  readonly #engines = new Map<bigint, { dh: DiffieHellman; byteLength: number }>();

  /**
   * `base^exponent mod modulus`. `modulus` must be an odd prime (OTR's MODP group, a DSA p):
   * exponents of `modulus` or more are reduced mod `modulus - 1` (Fermat). Throws RangeError
   * for a negative base or exponent or an even modulus.
   */
  modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
    if (modulus < 5n || (modulus & 1n) === 0n) throw new RangeError('modPow: modulus must be an odd prime');
    if (base < 0n || exponent < 0n) throw new RangeError('modPow: base and exponent must be non-negative');
    let b = base % modulus;
    let e = exponent;
    if (b === 0n) return e === 0n ? 1n : 0n;
    if (e >= modulus) e %= modulus - 1n;
    if (e === 0n || b === 1n) return 1n;
    // OpenSSL refuses 1 and p-1 as a peer "public key"; their powers are trivial anyway.
    if (b === modulus - 1n) return (e & 1n) === 0n ? 1n : b;
    // Small moduli gain nothing from OpenSSL (and it refuses some): plain BigInt.
    if (modulus < SMALL_MODULUS_LIMIT) return modPowBigInt(b, e, modulus);
    const engine = this.#engine(modulus);
    engine.dh.setPrivateKey(bigIntToBytes(e));
    try {
      return bytesToBigInt(engine.dh.computeSecret(bigIntToBytes(b, engine.byteLength)));
    } catch {
      // OpenSSL 3 refuses to output 1 as a "shared secret" (an element whose order divides
      // the exponent). Such results are legitimate here (order checks, SMP), so compute them
      // in BigInt; it only happens for inputs that are degenerate on purpose.
      return modPowBigInt(b, e, modulus);
    }
  }

  #engine(modulus: bigint): { dh: DiffieHellman; byteLength: number } {
    let engine = this.#engines.get(modulus);
    if (!engine) {
      if (this.#engines.size >= MAX_CACHED_MODULI) {
        const oldest = this.#engines.keys().next().value as bigint;
        this.#engines.delete(oldest);
      }
      const modulusBytes = bigIntToBytes(modulus);
      engine = { dh: createDiffieHellman(modulusBytes, Uint8Array.of(2)), byteLength: modulusBytes.length };
      this.#engines.set(modulus, engine);
    }
    return engine;
  }
}

/** Square-and-multiply over native BigInt: the reference the fast engine is tested against. */
export function modPowBigInt(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (modulus === 1n) return 0n;
  let result = 1n;
  let b = ((base % modulus) + modulus) % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Modular inverse by the extended Euclidean algorithm; throws RangeError if none exists. */
export function modInverse(value: bigint, modulus: bigint): bigint {
  let a = ((value % modulus) + modulus) % modulus;
  let m = modulus;
  let x0 = 0n;
  let x1 = 1n;
  if (a === 0n) throw new RangeError('modInverse: value is not invertible');
  while (a > 1n) {
    if (m === 0n) throw new RangeError('modInverse: value is not invertible');
    const q = a / m;
    [a, m] = [m, a % m];
    [x0, x1] = [x1 - q * x0, x0];
  }
  if (a !== 1n) throw new RangeError('modInverse: value is not invertible');
  return ((x1 % modulus) + modulus) % modulus;
}

/** Non-negative `value mod modulus`. */
export function mod(value: bigint, modulus: bigint): bigint {
  const r = value % modulus;
  return r < 0n ? r + modulus : r;
}
