/**
 * XEdDSA over Curve25519 (Signal, "The XEdDSA and VXEdDSA Signature Schemes", revision 1,
 * https://signal.org/docs/specifications/xeddsa/), and the Montgomery <-> Edwards conversions
 * OMEMO needs.
 *
 * OMEMO 0.3 identity keys are X25519 keys that also sign the signed prekey (XEP-0384 0.3.0
 * section 4.3, signedPreKeySignature). libsignal keeps the Edwards sign bit of the signer's key in bit 7 of
 * signature[63] (that bit is always 0 in a valid Ed25519 signature, since s < 2^253); we honour
 * it on verification and sign with pure XEdDSA (sign bit 0), which every implementation accepts.
 *
 * @noble/curves supplies the Edwards arithmetic that node:crypto lacks; verification itself runs
 * through OpenSSL's Ed25519 after the (cheap) Montgomery -> Edwards key conversion, because an
 * XEdDSA signature is an ordinary Ed25519 signature under the converted key (XEdDSA section
 * 2.4 checks R == sB - hA with h = SHA-512(R || A || M), the RFC 8032 equation).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bigIntToBytes, wipe } from '../../lib/core/bytes.js';
import { sha512 } from '../../lib/core/crypto/hash.js';
import { VerificationError } from '../../lib/core/errors.js';
import type { RandomSource } from '../../lib/core/random.js';
import { Ed25519PublicKey, KEY_LENGTH, SIGNATURE_LENGTH, X25519PrivateKey } from './curve25519.js';
import type { X25519PublicKey } from './curve25519.js';

const Point = ed25519.Point;
const Fp = Point.Fp;
/** The field prime p = 2^255 - 19. */
const P = Fp.ORDER;
/** The group order q = 2^252 + 27742317777372353535851937790883648493. */
const Q = Point.Fn.ORDER;

/** Length of XEdDSA's random nonce Z (XEdDSA section 2.3: 64 bytes). */
export const XEDDSA_NONCE_LENGTH = 64;

/** hash1 prefix of XEdDSA section 2.5: the 32-byte little-endian encoding of 2^256 - 1 - 1. */
const HASH1_PREFIX = (() => {
  const prefix = new Uint8Array(32).fill(0xff);
  prefix[0] = 0xfe;
  return prefix;
})();

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

function bigIntToLittleEndian(value: bigint, length: number): Uint8Array {
  return bigIntToBytes(value, length).reverse();
}

/** Clamps 32 private bytes into an X25519 scalar (RFC 7748 section 5, decodeScalar25519). */
function clampScalar(bytes: Uint8Array): bigint {
  const copy = Uint8Array.from(bytes);
  copy[0] = (copy[0] ?? 0) & 248;
  copy[31] = ((copy[31] ?? 0) & 127) | 64;
  const k = littleEndianToBigInt(copy);
  wipe(copy);
  return k;
}

function privateBytesOf(privateKey: X25519PrivateKey | Uint8Array): Uint8Array {
  if (privateKey instanceof X25519PrivateKey) return privateKey.bytes;
  if (!(privateKey instanceof Uint8Array) || privateKey.length !== KEY_LENGTH) {
    throw new RangeError('xeddsa: private key must be 32 bytes');
  }
  return Uint8Array.from(privateKey);
}

/**
 * calculate_key_pair (XEdDSA section 2.3): from an X25519 private key k, the Edwards key pair
 * (A, a) whose public key has sign bit 0: E = kB; a = -k mod q if E's sign bit is 1, else k.
 * `aBytes` is what hash1 consumes: like libsignal and libxeddsa (priv_force_sign), the clamped
 * k itself (not reduced mod q) when no negation is needed, so signatures match theirs byte for
 * byte given the same nonce.
 */
function calculateKeyPair(privateBytes: Uint8Array): { a: bigint; aBytes: Uint8Array; publicKey: Uint8Array } {
  const clamped = clampScalar(privateBytes);
  const k = clamped % Q;
  const e = Point.BASE.multiply(k).toBytes();
  const signBit = ((e[31] ?? 0) & 0x80) !== 0;
  const a = signBit ? (Q - k) % Q : k;
  e[31] = (e[31] ?? 0) & 0x7f;
  return { a, aBytes: bigIntToLittleEndian(signBit ? a : clamped, 32), publicKey: e };
}

/**
 * The Ed25519 public key (sign bit 0) that XEdDSA signatures by this X25519 private key verify
 * under (XEdDSA section 2.3, calculate_key_pair).
 */
export function x25519PrivateToEd25519Public(privateKey: X25519PrivateKey | Uint8Array): Uint8Array {
  const bytes = privateBytesOf(privateKey);
  try {
    return calculateKeyPair(bytes).publicKey;
  } finally {
    wipe(bytes);
  }
}

/**
 * XEdDSA sign (XEdDSA section 2.3) with explicit 64-byte nonce material Z. Exposed for
 * known-answer tests; production code uses {@link xeddsaSign}, which draws Z from the injected
 * random source. The result has sign bit 0 in signature[63] bit 7.
 */
export function xeddsaSignWithNonce(privateKey: X25519PrivateKey | Uint8Array, message: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== XEDDSA_NONCE_LENGTH) throw new RangeError('xeddsaSignWithNonce: nonce must be 64 bytes');
  const bytes = privateBytesOf(privateKey);
  const { a, aBytes, publicKey } = calculateKeyPair(bytes);
  wipe(bytes);
  // r = hash1(a || M || Z) (mod q)
  const rHash = sha512(HASH1_PREFIX, aBytes, message, nonce);
  const r = littleEndianToBigInt(rHash) % Q;
  wipe(aBytes, rHash);
  // r = 0 has probability 2^-252; noble refuses the zero scalar, and so do we.
  if (r === 0n) throw new RangeError('xeddsaSignWithNonce: degenerate nonce');
  const rPoint = Point.BASE.multiply(r).toBytes();
  // h = hash(R || A || M) (mod q); s = r + h*a (mod q)
  const h = littleEndianToBigInt(sha512(rPoint, publicKey, message)) % Q;
  const s = (r + h * a) % Q;
  const signature = new Uint8Array(SIGNATURE_LENGTH);
  signature.set(rPoint, 0);
  signature.set(bigIntToLittleEndian(s, 32), 32);
  return signature;
}

/** XEdDSA sign (XEdDSA section 2.3) with 64 bytes of nonce material from `random`. */
export function xeddsaSign(privateKey: X25519PrivateKey | Uint8Array, message: Uint8Array, random: RandomSource): Uint8Array {
  const nonce = random(XEDDSA_NONCE_LENGTH);
  try {
    return xeddsaSignWithNonce(privateKey, message, nonce);
  } finally {
    wipe(nonce);
  }
}

/**
 * Montgomery u -> Edwards y (XEdDSA section 2.2, convert_mont): y = (u - 1) / (u + 1) mod p,
 * encoded little-endian with the given sign bit in bit 255. Throws VerificationError
 * `omemo.xeddsa-bad-key` for u >= p (XEdDSA section 2.4 rejects those) and for u = p - 1, whose
 * u + 1 has no inverse.
 */
export function montgomeryToEdwards(montgomeryPublicKey: Uint8Array, signBit: 0 | 1): Uint8Array {
  if (montgomeryPublicKey.length !== KEY_LENGTH) throw new RangeError('montgomeryToEdwards: key must be 32 bytes');
  const u = littleEndianToBigInt(montgomeryPublicKey);
  if (u >= P) throw new VerificationError('omemo.xeddsa-bad-key', 'Montgomery u-coordinate out of range');
  const denominator = Fp.add(u, 1n);
  if (Fp.is0(denominator)) throw new VerificationError('omemo.xeddsa-bad-key', 'Montgomery u-coordinate has no Edwards image');
  const y = Fp.mul(Fp.sub(u, 1n), Fp.inv(denominator));
  const out = bigIntToLittleEndian(y, 32);
  out[31] = ((out[31] ?? 0) & 0x7f) | (signBit << 7);
  return out;
}

/**
 * Edwards -> Montgomery (RFC 7748 section 4.1 birational map): u = (1 + y) / (1 - y). The point
 * must decode (RFC 8032 section 5.1.3) and must not be of small order; otherwise
 * VerificationError `omemo.ed25519-bad-key`. omemo:2 identity keys are Ed25519 and go through
 * this for X3DH's Diffie-Hellman steps.
 */
export function edwardsToMontgomery(edwardsPublicKey: Uint8Array): Uint8Array {
  if (edwardsPublicKey.length !== KEY_LENGTH) throw new RangeError('edwardsToMontgomery: key must be 32 bytes');
  let point;
  try {
    point = Point.fromBytes(edwardsPublicKey);
  } catch (cause) {
    throw new VerificationError('omemo.ed25519-bad-key', 'Ed25519 public key does not decode', { cause });
  }
  if (point.isSmallOrder()) throw new VerificationError('omemo.ed25519-bad-key', 'Ed25519 public key of small order');
  const y = point.y;
  const u = Fp.mul(Fp.add(1n, y), Fp.inv(Fp.sub(1n, y)));
  return bigIntToLittleEndian(u, 32);
}

/**
 * Ed25519 seed -> X25519 private key (libsodium crypto_sign_ed25519_sk_to_curve25519): the
 * clamped first half of SHA-512(seed), i.e. the Ed25519 secret scalar (RFC 8032 section
 * 5.1.5). omemo:2 identity keys are Ed25519 seeds; X3DH uses this for DH1/DH2.
 */
export function ed25519SeedToX25519Private(seed: Uint8Array): Uint8Array {
  if (seed.length !== KEY_LENGTH) throw new RangeError('ed25519SeedToX25519Private: seed must be 32 bytes');
  const digest = sha512(seed);
  const out = digest.slice(0, 32);
  wipe(digest);
  out[0] = (out[0] ?? 0) & 248;
  out[31] = ((out[31] ?? 0) & 127) | 64;
  return out;
}

/**
 * XEdDSA verify (XEdDSA section 2.4) over a Montgomery public key, honouring libsignal's sign
 * bit: take bit 7 of signature[63] as the Edwards sign of the signer's key, clear it, convert
 * u -> (y, sign) and verify as Ed25519 with OpenSSL (which also rejects s >= q and points that
 * do not decode). Returns false on any failure; never throws for hostile input.
 */
export function xeddsaVerify(publicKey: X25519PublicKey | Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const u = publicKey instanceof Uint8Array ? publicKey : publicKey.bytes;
  if (u.length !== KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
  const signBit = (((signature[63] ?? 0) & 0x80) >> 7) as 0 | 1;
  let edwards: Uint8Array;
  try {
    edwards = montgomeryToEdwards(u, signBit);
  } catch {
    return false;
  }
  const cleared = Uint8Array.from(signature);
  cleared[63] = (cleared[63] ?? 0) & 0x7f;
  return Ed25519PublicKey.fromBytes(edwards).verify(message, cleared);
}
