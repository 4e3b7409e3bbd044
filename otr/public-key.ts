/**
 * OTR long-term public keys, signatures and fingerprints (OTR v3 spec, "Public keys,
 * signatures, and fingerprints"):
 *
 *   OTR public key = SHORT pubkey type (0x0000 = DSA) || MPI p || MPI q || MPI g || MPI y
 *   DSA signature  = r || s, each as many bytes as q, big-endian, zero-padded
 *   fingerprint    = SHA-1 of the public key encoding WITHOUT the 2-byte type (what libotr's
 *                    otrl_privkey_fingerprint hashes; proved by test/interop/libotr-keys.test.ts)
 */
import { bigIntToBytes, bytesToBigInt, bytesToHex, hexToBytes } from '../lib/core/bytes.js';
import { bitLength, isValidDsaPublicKey, type DsaPublicKey, type DsaSignature } from '../lib/core/crypto/dsa.js';
import { sha1 } from '../lib/core/crypto/hash.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import { OtrWriter, type OtrReader } from './codec.js';

/** Public key type of DSA, the only one OTR v3 defines. */
export const OTR_PUBKEY_TYPE_DSA = 0x0000;

/** Largest p (and g, y) we read: 3072 bits. libotr keys are 1024 bits. */
const MAX_P_BYTES = 384;
/** Largest q we read: 256 bits. libotr keys have a 160-bit q. */
const MAX_Q_BYTES = 32;

/** Length of an OTR fingerprint (SHA-1). */
export const OTR_FINGERPRINT_BYTES = 20;

/** The MPIs of the key, without the type: the part that is hashed into the fingerprint. */
function encodeKeyMpis(key: DsaPublicKey): Uint8Array {
  return new OtrWriter().mpi(key.p).mpi(key.q).mpi(key.g).mpi(key.y).finish();
}

/**
 * Encodes a DSA public key the OTR way: SHORT 0x0000 then MPIs p, q, g, y, each minimal
 * (no leading zero bytes), exactly as libotr writes them.
 */
export function encodeOtrPublicKey(key: DsaPublicKey): Uint8Array {
  return new OtrWriter().short(OTR_PUBKEY_TYPE_DSA).raw(encodeKeyMpis(key)).finish();
}

/** Reads one MPI of at most `maxBytes`, rejecting non-minimal encodings (leading zero byte). */
function readMinimalMpi(reader: OtrReader, maxBytes: number, what: string): bigint {
  const length = reader.int();
  if (length > maxBytes) throw new MalformedMessageError('otr.oversized', `public key ${what} of ${length} bytes exceeds ${maxBytes}`);
  const bytes = reader.fixed(length, `public key ${what}`);
  // A leading zero would make our re-encoding (for M_A/M_B and the fingerprint) differ from
  // the peer's bytes; no implementation writes one, so it is malformed.
  if (bytes[0] === 0) throw new MalformedMessageError('otr.non-minimal-mpi', `public key ${what} has a leading zero byte`);
  return bytesToBigInt(bytes);
}

/**
 * Reads an OTR public key from `reader` (leaving it after y). Throws MalformedMessageError:
 * 'otr.unknown-pubkey-type' for a type other than DSA, 'otr.oversized' for an MPI over its
 * bound, 'otr.non-minimal-mpi', 'otr.bad-public-key' if the numbers fail
 * `isValidDsaPublicKey`, and the reader's 'otr.truncated'.
 */
export function readOtrPublicKey(reader: OtrReader): DsaPublicKey {
  const type = reader.short();
  if (type !== OTR_PUBKEY_TYPE_DSA) throw new MalformedMessageError('otr.unknown-pubkey-type', `unknown public key type ${type}`);
  const p = readMinimalMpi(reader, MAX_P_BYTES, 'p');
  const q = readMinimalMpi(reader, MAX_Q_BYTES, 'q');
  const g = readMinimalMpi(reader, MAX_P_BYTES, 'g');
  const y = readMinimalMpi(reader, MAX_P_BYTES, 'y');
  const key: DsaPublicKey = { p, q, g, y };
  if (!isValidDsaPublicKey(key)) throw new MalformedMessageError('otr.bad-public-key', 'DSA public key parameters out of range');
  return key;
}

/**
 * The key's OTR fingerprint: SHA-1 over MPI p || MPI q || MPI g || MPI y (the encoding
 * without the 2-byte type, as libotr computes it). 20 bytes.
 */
export function otrFingerprint(key: DsaPublicKey): Uint8Array {
  return sha1(encodeKeyMpis(key));
}

/**
 * libotr's human-readable form (otrl_privkey_hash_to_human): five groups of eight upper-case
 * hex digits separated by single spaces.
 */
export function formatFingerprint(fingerprint: Uint8Array): string {
  if (fingerprint.length !== OTR_FINGERPRINT_BYTES) throw new RangeError('formatFingerprint: fingerprint must be 20 bytes');
  const hex = bytesToHex(fingerprint).toUpperCase();
  return hex.match(/.{8}/g)?.join(' ') ?? '';
}

/**
 * Parses a fingerprint typed or pasted by a user: 40 hex digits in either case, with any
 * spaces (libotr's human form, or the plain lower-case form of otr.fingerprints). Returns
 * undefined for anything else, since this is user input, not a peer message.
 */
export function parseFingerprint(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || text.length > 200) return undefined;
  const compact = text.trim().replace(/ +/g, '');
  if (!/^[0-9a-fA-F]{40}$/.test(compact)) return undefined;
  return hexToBytes(compact);
}

/** Byte length of each half of a signature: the byte length of q (20 for libotr's keys). */
function signatureHalfBytes(q: bigint): number {
  if (q <= 0n) throw new RangeError('signature: q must be positive');
  return Math.ceil(bitLength(q) / 8);
}

/** Encodes a DSA signature as OTR does: r || s, each zero-padded to the byte length of q. */
export function encodeOtrSignature(signature: DsaSignature, q: bigint): Uint8Array {
  const half = signatureHalfBytes(q);
  if (signature.r < 0n || signature.s < 0n || signature.r >= q || signature.s >= q) {
    throw new RangeError('encodeOtrSignature: r and s must be in [0, q)');
  }
  const out = new Uint8Array(2 * half);
  out.set(bigIntToBytes(signature.r, half), 0);
  out.set(bigIntToBytes(signature.s, half), half);
  return out;
}

/**
 * Decodes r || s for a key with subgroup order q. The length must be exactly twice q's byte
 * length ('otr.bad-signature-length' otherwise). Range checks of r and s belong to
 * `dsaVerify`, which rejects out-of-range values by returning false.
 */
export function decodeOtrSignature(bytes: Uint8Array, q: bigint): DsaSignature {
  const half = signatureHalfBytes(q);
  if (bytes.length !== 2 * half) {
    throw new MalformedMessageError('otr.bad-signature-length', `signature of ${bytes.length} bytes, expected ${2 * half}`);
  }
  return { r: bytesToBigInt(bytes.subarray(0, half)), s: bytesToBigInt(bytes.subarray(half)) };
}
