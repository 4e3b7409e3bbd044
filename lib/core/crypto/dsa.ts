/**
 * DSA as OTR uses it for long-term identity keys (OTR v3 spec, "Public keys, signatures, and
 * fingerprints"): libotr keys have a 1024-bit p and a 160-bit q, and what OTR signs is a
 * 32-byte SHA-256 MAC, longer than q.
 *
 * The OTR rule, matching libotr over libgcrypt (proved by test/interop/libotr-keys.test.ts):
 * the digest is read as a big-endian integer and used as-is in `s = k^-1 (h + x r) mod q`,
 * so it is in effect TAKEN MODULO q. FIPS 186 would instead keep the leftmost 160 bits;
 * doing that here would make every signature fail against libotr.
 *
 * Key generation uses OpenSSL (node:crypto) and reads the numbers back out of the DER with a
 * minimal bounds-checked reader for exactly the PKCS#8 / SPKI DSA structures.
 */
import { generateKeyPairSync } from 'node:crypto';
import { bytesToBigInt } from '../bytes.js';
import type { RandomSource } from '../random.js';
import { ModExp, mod, modInverse } from './modexp.js';

/** A DSA public key (domain parameters p, q, g and public value y = g^x mod p). */
export interface DsaPublicKey {
  readonly p: bigint;
  readonly q: bigint;
  readonly g: bigint;
  readonly y: bigint;
}

/** A DSA private key: the public key plus the secret exponent x (0 < x < q). */
export interface DsaPrivateKey extends DsaPublicKey {
  readonly x: bigint;
}

/** A DSA signature (r, s), both in [1, q-1] when valid. */
export interface DsaSignature {
  readonly r: bigint;
  readonly s: bigint;
}

/** Bit length of libotr's DSA modulus p. */
export const DSA_P_BITS = 1024;
/** Bit length of libotr's DSA subgroup order q. */
export const DSA_Q_BITS = 160;

/** Smallest p (in bits) that `isValidDsaPublicKey` accepts (libotr's size). */
export const DSA_MIN_P_BITS = 1024;
/** Largest p (in bits) that `isValidDsaPublicKey` accepts (FIPS 186-3's largest DSA size). */
export const DSA_MAX_P_BITS = 3072;
/** The q sizes FIPS 186-3 allows (libotr only ever makes 160). */
const ALLOWED_Q_BITS: readonly number[] = [160, 224, 256];

let defaultEngine: ModExp | undefined;

/** A module-private ModExp created on first use: it only caches per-modulus OpenSSL objects. */
function engineOrDefault(engine: ModExp | undefined): ModExp {
  if (engine) return engine;
  defaultEngine ??= new ModExp();
  return defaultEngine;
}

/** Number of bits in a non-negative bigint (0 has 0 bits). */
export function bitLength(value: bigint): number {
  return value === 0n ? 0 : value.toString(2).length;
}

/**
 * Generates a fresh DSA key with a 1024-bit p and a 160-bit q, like libotr's
 * `otrl_privkey_generate`. Takes some tens of milliseconds (prime generation in OpenSSL).
 */
export function generateDsaKey(): DsaPrivateKey {
  const { privateKey } = generateKeyPairSync('dsa', { modulusLength: DSA_P_BITS, divisorLength: DSA_Q_BITS });
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const key = parseDsaPkcs8(new Uint8Array(der.buffer, der.byteOffset, der.byteLength));
  der.fill(0);
  return key;
}

/**
 * Digest as an integer mod q: the OTR/libgcrypt rule (not FIPS leftmost-bits truncation).
 */
function digestToInteger(digest: Uint8Array, q: bigint): bigint {
  return mod(bytesToBigInt(digest), q);
}

/**
 * Draws k uniformly from [1, q-1]: random bytes of q's length, masked to q's bit length,
 * redrawn while 0 or >= q (no modulo bias; at most ~2 draws on average).
 */
function randomNonce(q: bigint, random: RandomSource): bigint {
  const bits = bitLength(q);
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const candidate = bytesToBigInt(random(bytes)) & mask;
    if (candidate > 0n && candidate < q) return candidate;
  }
  // Only a broken RandomSource (e.g. all zeros) gets here.
  throw new RangeError('dsaSign: random source does not produce usable nonces');
}

/**
 * Signs `digest` (any length; OTR passes a 32-byte MAC) with the OTR rule h = digest mod q.
 * k is drawn from `random`; r = (g^k mod p) mod q, s = k^-1 (h + x r) mod q, redrawing k in
 * the negligible case r = 0 or s = 0. Throws RangeError for a key that is not usable.
 */
export function dsaSign(key: DsaPrivateKey, digest: Uint8Array, random: RandomSource, engine?: ModExp): DsaSignature {
  if (!(digest instanceof Uint8Array)) throw new TypeError('dsaSign: digest must be a Uint8Array');
  if (!isValidDsaPublicKey(key) || key.x <= 0n || key.x >= key.q) throw new RangeError('dsaSign: invalid DSA private key');
  const modExp = engineOrDefault(engine);
  const h = digestToInteger(digest, key.q);
  for (;;) {
    const k = randomNonce(key.q, random);
    const r = mod(modExp.modPow(key.g, k, key.p), key.q);
    if (r === 0n) continue;
    const s = mod(modInverse(k, key.q) * (h + key.x * r), key.q);
    if (s === 0n) continue;
    return { r, s };
  }
}

/**
 * Verifies a DSA signature over `digest` with the OTR rule h = digest mod q. Returns false
 * (never throws) for a signature out of range (0 < r < q and 0 < s < q are checked first)
 * or one that does not verify. Throws RangeError only if `key` itself fails
 * `isValidDsaPublicKey`, which callers check on receipt.
 */
export function dsaVerify(key: DsaPublicKey, digest: Uint8Array, signature: DsaSignature, engine?: ModExp): boolean {
  if (!(digest instanceof Uint8Array)) throw new TypeError('dsaVerify: digest must be a Uint8Array');
  if (!isValidDsaPublicKey(key)) throw new RangeError('dsaVerify: invalid DSA public key');
  const { r, s } = signature;
  if (typeof r !== 'bigint' || typeof s !== 'bigint') return false;
  if (r <= 0n || r >= key.q || s <= 0n || s >= key.q) return false;
  const modExp = engineOrDefault(engine);
  const h = digestToInteger(digest, key.q);
  let w: bigint;
  try {
    w = modInverse(s, key.q); // invertible whenever q is prime, as in every genuine key
  } catch {
    return false; // a hostile key whose q is not prime
  }
  const u1 = mod(h * w, key.q);
  const u2 = mod(r * w, key.q);
  const v = mod(mod(modExp.modPow(key.g, u1, key.p) * modExp.modPow(key.y, u2, key.p), key.p), key.q);
  return v === r;
}

/**
 * Cheap sanity checks of a DSA public key received from a peer or read from a file: p of
 * 1024..3072 bits and odd, q of 160, 224 or 256 bits and odd, q divides p-1, 1 < g < p,
 * 1 < y < p. It does not prove p and q prime or g of order q (exponentiations and primality
 * tests would cost more than the AKE; a bad group only hurts the key's own owner).
 */
export function isValidDsaPublicKey(key: DsaPublicKey): boolean {
  if (typeof key !== 'object' || key === null) return false;
  const { p, q, g, y } = key;
  if (typeof p !== 'bigint' || typeof q !== 'bigint' || typeof g !== 'bigint' || typeof y !== 'bigint') return false;
  const pBits = bitLength(p);
  if (pBits < DSA_MIN_P_BITS || pBits > DSA_MAX_P_BITS || (p & 1n) === 0n) return false;
  if (!ALLOWED_Q_BITS.includes(bitLength(q)) || (q & 1n) === 0n) return false;
  if ((p - 1n) % q !== 0n) return false;
  if (g <= 1n || g >= p) return false;
  if (y <= 1n || y >= p) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Minimal DER reader: exactly enough for PKCS#8 PrivateKeyInfo and SPKI with DSA parameters.

/** OID 1.2.840.10040.4.1 (id-dsa), DER-encoded content bytes. */
const ID_DSA = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01);
const MAX_DER_BYTES = 8192;

class DerReader {
  #offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#offset === this.bytes.length;
  }

  /** Reads one TLV with the expected tag; returns its content bytes. */
  element(tag: number, what: string): Uint8Array {
    const bytes = this.bytes;
    if (this.#offset + 2 > bytes.length) throw new RangeError(`DER: truncated ${what}`);
    if (bytes[this.#offset] !== tag) throw new RangeError(`DER: expected ${what}`);
    let length = bytes[this.#offset + 1] as number;
    let header = 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 2 || this.#offset + 2 + count > bytes.length) throw new RangeError(`DER: bad length of ${what}`);
      length = 0;
      for (let i = 0; i < count; i++) length = (length << 8) | (bytes[this.#offset + 2 + i] as number);
      header += count;
    }
    const start = this.#offset + header;
    if (start + length > bytes.length) throw new RangeError(`DER: truncated ${what}`);
    this.#offset = start + length;
    return bytes.subarray(start, start + length);
  }

  /** A non-negative INTEGER. */
  integer(what: string): bigint {
    const content = this.element(0x02, what);
    if (content.length === 0 || ((content[0] as number) & 0x80) !== 0) throw new RangeError(`DER: ${what} is not a non-negative INTEGER`);
    return bytesToBigInt(content);
  }

  end(what: string): void {
    if (!this.done) throw new RangeError(`DER: trailing bytes in ${what}`);
  }
}

function readDsaAlgorithm(reader: DerReader): { p: bigint; q: bigint; g: bigint } {
  const algorithm = new DerReader(reader.element(0x30, 'AlgorithmIdentifier'));
  const oid = algorithm.element(0x06, 'algorithm OID');
  if (oid.length !== ID_DSA.length || !oid.every((b, i) => b === ID_DSA[i])) throw new RangeError('DER: not a DSA key');
  const params = new DerReader(algorithm.element(0x30, 'Dss-Parms'));
  const p = params.integer('p');
  const q = params.integer('q');
  const g = params.integer('g');
  params.end('Dss-Parms');
  algorithm.end('AlgorithmIdentifier');
  return { p, q, g };
}

/**
 * Reads a DSA private key from PKCS#8 DER (as node:crypto exports it) and derives y = g^x mod p.
 * Throws RangeError on anything else.
 */
export function parseDsaPkcs8(der: Uint8Array, engine?: ModExp): DsaPrivateKey {
  if (der.length > MAX_DER_BYTES) throw new RangeError('DER: too long');
  const outer = new DerReader(der);
  const info = new DerReader(outer.element(0x30, 'PrivateKeyInfo'));
  outer.end('PKCS#8');
  if (info.integer('version') !== 0n) throw new RangeError('DER: unsupported PKCS#8 version');
  const { p, q, g } = readDsaAlgorithm(info);
  const privateKey = new DerReader(info.element(0x04, 'privateKey'));
  const x = privateKey.integer('x');
  privateKey.end('privateKey');
  // Optional attributes ([0]) are not produced by OpenSSL for DSA; anything else is rejected.
  info.end('PrivateKeyInfo');
  const y = engineOrDefault(engine).modPow(g, x, p);
  const key = { p, q, g, y, x };
  if (!isValidDsaPublicKey(key) || x <= 0n || x >= q) throw new RangeError('DER: DSA key out of range');
  return key;
}

/** Reads a DSA public key from SubjectPublicKeyInfo DER. Throws RangeError on anything else. */
export function parseDsaSpki(der: Uint8Array): DsaPublicKey {
  if (der.length > MAX_DER_BYTES) throw new RangeError('DER: too long');
  const outer = new DerReader(der);
  const spki = new DerReader(outer.element(0x30, 'SubjectPublicKeyInfo'));
  outer.end('SPKI');
  const { p, q, g } = readDsaAlgorithm(spki);
  const bitString = spki.element(0x03, 'subjectPublicKey');
  spki.end('SubjectPublicKeyInfo');
  if (bitString[0] !== 0) throw new RangeError('DER: subjectPublicKey has unused bits');
  const yReader = new DerReader(bitString.subarray(1));
  const y = yReader.integer('y');
  yReader.end('subjectPublicKey');
  const key = { p, q, g, y };
  if (!isValidDsaPublicKey(key)) throw new RangeError('DER: DSA key out of range');
  return key;
}
