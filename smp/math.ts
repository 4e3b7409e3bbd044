/**
 * The Socialist Millionaires' Protocol of OTR v3, as pure functions: the hash, the three
 * zero-knowledge proofs and the five computation steps (OTR v3 spec, "The Socialist
 * Millionaires' Protocol (SMP)" and its "Receiving a type 2..5 TLV" / "User requests to
 * begin SMP" sections; libotr sm.c `otrl_sm_step1`..`otrl_sm_step5`).
 *
 * Notation as in the spec: g1 = 2 generates the subgroup of prime order q = (p-1)/2 of the
 * 1536-bit MODP group; Alice (initiator) holds a2, a3, x; Bob (responder) b2, b3, y. Random
 * exponents are 1536 bits (192 bytes), drawn in the same order as libotr draws them. Every
 * modular exponentiation goes through the injected `ModpGroup` (OpenSSL); BigInt is used only
 * for mod-q arithmetic, multiplication mod p and inverses.
 *
 * Received values are checked before use and a failed check is reported as
 * `{ ok: false, reason }`, never thrown. Checks (libotr `check_group_elem`/`check_expon`,
 * plus one of our own): group elements in [2, p-2] AND of order q (x^q = 1; stricter than
 * libotr, which checks only the range: every honestly generated SMP value is a power of
 * g1 and lies in the order-q subgroup, so this never rejects an honest peer, while it
 * closes the Legendre-symbol leak of elements outside it); D exponents in [1, q); hash
 * values c below 2^256 (a SHA-256 output; larger ones could never verify).
 */
import { bigIntToBytes, bytesToBigInt, concatBytes } from '../lib/core/bytes.js';
import { sha256 } from '../lib/core/crypto/hash.js';
import { mod, modInverse } from '../lib/core/crypto/modexp.js';
import { isInModpRange, type ModpGroup } from '../lib/core/crypto/modp-group.js';
import type { RandomSource } from '../lib/core/random.js';
import type { Smp1Message, Smp2Message, Smp3Message, Smp4Message } from './messages.js';

/** Byte length of SMP's random exponents: 1536 bits, as the spec and libotr draw them. */
export const SMP_EXPONENT_BYTES = 192;

/** Version bytes of the SMP hash, one per proof (spec, "SMP Hash function"). */
export const SMP_HASH_VERSION = {
  /** c2 of message 1 (knowledge of a2). */
  smp1G2: 1,
  /** c3 of message 1 (knowledge of a3). */
  smp1G3: 2,
  /** c2 of message 2 (knowledge of b2). */
  smp2G2: 3,
  /** c3 of message 2 (knowledge of b3). */
  smp2G3: 4,
  /** cP of message 2 (Pb, Qb well formed). */
  smp2PQ: 5,
  /** cP of message 3 (Pa, Qa well formed). */
  smp3PQ: 6,
  /** cR of message 3 (Ra well formed). */
  smp3R: 7,
  /** cR of message 4 (Rb well formed). */
  smp4R: 8,
} as const;

/** Outcome of checking received values: the computed value, or why the peer is "cheating". */
export type SmpCheck<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const HASH_LIMIT = 1n << 256n;

/**
 * The SMP hash: SHA-256(version byte || MPI(first) [|| MPI(second)]) as an integer (spec,
 * "SMP Hash function"; MPIs are minimal big-endian with a 4-byte length, libotr
 * `otrl_sm_hash`).
 */
export function smpHash(version: number, first: bigint, second?: bigint): bigint {
  if (!Number.isInteger(version) || version < 0 || version > 255) throw new RangeError('smpHash: version must be a byte');
  const parts = [Uint8Array.of(version), mpi(first)];
  if (second !== undefined) parts.push(mpi(second));
  return bytesToBigInt(sha256(concatBytes(...parts)));
}

/** A random 1536-bit exponent (192 bytes from `random`, libotr `randomExponent`). */
export function randomSmpExponent(group: ModpGroup, random: RandomSource): bigint {
  return group.randomExponent(random, SMP_EXPONENT_BYTES);
}

/** True for a valid received group element: 2 <= x <= p-2 and x^q = 1 (see module doc). */
export function isSmpGroupElement(group: ModpGroup, x: bigint): boolean {
  if (!isInModpRange(x)) return false;
  // x^q = 1 computed as x^(q-1) · x = 1: OpenSSL refuses to output 1 from its DH routine
  // (ModExp then falls back to BigInt, ~15x slower), and x^(q-1) is never 1 for 1 < x < p-1
  // (the only orders are q and 2q there, neither divides q-1).
  return group.mul(group.pow(x, group.q - 1n), x) === 1n;
}

/** True for a valid received exponent (libotr `check_expon`): 1 <= x < q. */
export function isSmpExponent(group: ModpGroup, x: bigint): boolean {
  return x >= 1n && x < group.q;
}

/** A proof of knowledge of a discrete logarithm: c = h(g1^r), D = r - x c mod q. */
export interface KnowLogProof {
  readonly c: bigint;
  readonly d: bigint;
}

/** Proves knowledge of `exponent` with g1^exponent public (libotr `otrl_sm_proof_know_log`). */
export function proveKnowLog(group: ModpGroup, random: RandomSource, exponent: bigint, version: number): KnowLogProof {
  const r = randomSmpExponent(group, random);
  const c = smpHash(version, group.powG(r));
  return { c, d: mod(r - mod(exponent * c, group.q), group.q) };
}

/** Checks c = h(g1^D · value^c) (libotr `otrl_sm_check_know_log`). */
export function checkKnowLog(group: ModpGroup, proof: KnowLogProof, value: bigint, version: number): boolean {
  if (proof.c >= HASH_LIMIT) return false;
  return smpHash(version, group.mul(group.powG(proof.d), group.pow(value, proof.c))) === proof.c;
}

/**
 * A proof that P = g3^r and Q = g1^r · g2^secret use the same r:
 * c = h(g3^r1, g1^r1 · g2^r2), D1 = r1 - r c, D2 = r2 - secret c (mod q).
 */
export interface EqualCoordsProof {
  readonly c: bigint;
  readonly d1: bigint;
  readonly d2: bigint;
}

/** Generates an `EqualCoordsProof` (libotr `otrl_sm_proof_equal_coords`; r1 drawn before r2). */
export function proveEqualCoords(
  group: ModpGroup,
  random: RandomSource,
  g2: bigint,
  g3: bigint,
  r: bigint,
  secret: bigint,
  version: number,
): EqualCoordsProof {
  const r1 = randomSmpExponent(group, random);
  const r2 = randomSmpExponent(group, random);
  const c = smpHash(version, group.pow(g3, r1), group.mul(group.powG(r1), group.pow(g2, r2)));
  return { c, d1: mod(r1 - mod(r * c, group.q), group.q), d2: mod(r2 - mod(secret * c, group.q), group.q) };
}

/** Checks c = h(g3^D1 · P^c, g1^D1 · g2^D2 · Q^c) (libotr `otrl_sm_check_equal_coords`). */
export function checkEqualCoords(
  group: ModpGroup,
  proof: EqualCoordsProof,
  p: bigint,
  q: bigint,
  g2: bigint,
  g3: bigint,
  version: number,
): boolean {
  if (proof.c >= HASH_LIMIT) return false;
  const first = group.mul(group.pow(g3, proof.d1), group.pow(p, proof.c));
  const second = group.mul(group.mul(group.powG(proof.d1), group.pow(g2, proof.d2)), group.pow(q, proof.c));
  return smpHash(version, first, second) === proof.c;
}

/** A proof that R = (Qa/Qb)^x3 with g1^x3 public: c = h(g1^r, (Qa/Qb)^r), D = r - x3 c. */
export type EqualLogsProof = KnowLogProof;

/** Generates an `EqualLogsProof` (libotr `otrl_sm_proof_equal_logs`). */
export function proveEqualLogs(group: ModpGroup, random: RandomSource, qab: bigint, x3: bigint, version: number): EqualLogsProof {
  const r = randomSmpExponent(group, random);
  const c = smpHash(version, group.powG(r), group.pow(qab, r));
  return { c, d: mod(r - mod(x3 * c, group.q), group.q) };
}

/**
 * Checks c = h(g1^D · g3o^c, (Qa/Qb)^D · R^c), g3o being the peer's g3 half (libotr
 * `otrl_sm_check_equal_logs`).
 */
export function checkEqualLogs(group: ModpGroup, proof: EqualLogsProof, r: bigint, qab: bigint, g3o: bigint, version: number): boolean {
  if (proof.c >= HASH_LIMIT) return false;
  const first = group.mul(group.powG(proof.d), group.pow(g3o, proof.c));
  const second = group.mul(group.pow(qab, proof.d), group.pow(r, proof.c));
  return smpHash(version, first, second) === proof.c;
}

/** What Alice keeps after sending message 1. */
export interface AliceAfterSmp1 {
  readonly x: bigint;
  readonly a2: bigint;
  readonly a3: bigint;
}

/** Step 1, Alice ("User requests to begin SMP"): message 1 and her exponents. */
export function smpStep1(group: ModpGroup, random: RandomSource, x: bigint): { message: Smp1Message; alice: AliceAfterSmp1 } {
  const a2 = randomSmpExponent(group, random);
  const a3 = randomSmpExponent(group, random);
  const g2a = group.powG(a2);
  const p2 = proveKnowLog(group, random, a2, SMP_HASH_VERSION.smp1G2);
  const g3a = group.powG(a3);
  const p3 = proveKnowLog(group, random, a3, SMP_HASH_VERSION.smp1G3);
  return { message: { g2a, c2: p2.c, d2: p2.d, g3a, c3: p3.c, d3: p3.d }, alice: { x, a2, a3 } };
}

/** What Bob keeps after verifying message 1, while the user types the secret. */
export interface BobAfterSmp1 {
  /** Alice's g3a ("g3o" in libotr), needed to verify her Ra proof. */
  readonly g3a: bigint;
  readonly b2: bigint;
  readonly b3: bigint;
  readonly g2: bigint;
  readonly g3: bigint;
}

/**
 * Step 2a, Bob receives message 1: checks g2a, g3a, D2, D3 and both proofs, then draws b2, b3
 * and computes g2 = g2a^b2, g3 = g3a^b3 (libotr `otrl_sm_step2a`, which does this before the
 * user enters the secret).
 */
export function smpStep2a(group: ModpGroup, random: RandomSource, m: Smp1Message): SmpCheck<BobAfterSmp1> {
  if (!isSmpGroupElement(group, m.g2a) || !isSmpGroupElement(group, m.g3a)) return fail('SMP message 1: g2a or g3a is not a valid group element');
  if (!isSmpExponent(group, m.d2) || !isSmpExponent(group, m.d3)) return fail('SMP message 1: D2 or D3 is out of range');
  if (!checkKnowLog(group, { c: m.c2, d: m.d2 }, m.g2a, SMP_HASH_VERSION.smp1G2)) return fail('SMP message 1: proof for g2a does not verify');
  if (!checkKnowLog(group, { c: m.c3, d: m.d3 }, m.g3a, SMP_HASH_VERSION.smp1G3)) return fail('SMP message 1: proof for g3a does not verify');
  const b2 = randomSmpExponent(group, random);
  const b3 = randomSmpExponent(group, random);
  return { ok: true, value: { g3a: m.g3a, b2, b3, g2: group.pow(m.g2a, b2), g3: group.pow(m.g3a, b3) } };
}

/** What Bob keeps after sending message 2. */
export interface BobAfterSmp2 {
  readonly g3a: bigint;
  readonly b3: bigint;
  readonly g2: bigint;
  readonly g3: bigint;
  readonly pb: bigint;
  readonly qb: bigint;
}

/** Step 2b, Bob with his secret y: message 2 (libotr `otrl_sm_step2b`). */
export function smpStep2b(group: ModpGroup, random: RandomSource, bob: BobAfterSmp1, y: bigint): { message: Smp2Message; bob: BobAfterSmp2 } {
  const g2b = group.powG(bob.b2);
  const p2 = proveKnowLog(group, random, bob.b2, SMP_HASH_VERSION.smp2G2);
  const g3b = group.powG(bob.b3);
  const p3 = proveKnowLog(group, random, bob.b3, SMP_HASH_VERSION.smp2G3);
  const r4 = randomSmpExponent(group, random);
  const pb = group.pow(bob.g3, r4);
  const qb = group.mul(group.powG(r4), group.pow(bob.g2, y));
  const pq = proveEqualCoords(group, random, bob.g2, bob.g3, r4, y, SMP_HASH_VERSION.smp2PQ);
  return {
    message: { g2b, c2: p2.c, d2: p2.d, g3b, c3: p3.c, d3: p3.d, pb, qb, cp: pq.c, d5: pq.d1, d6: pq.d2 },
    bob: { g3a: bob.g3a, b3: bob.b3, g2: bob.g2, g3: bob.g3, pb, qb },
  };
}

/** What Alice keeps after sending message 3. */
export interface AliceAfterSmp3 {
  /** Bob's g3b ("g3o"), needed to verify his Rb proof. */
  readonly g3b: bigint;
  readonly a3: bigint;
  /** Pa / Pb. */
  readonly pab: bigint;
  /** Qa / Qb. */
  readonly qab: bigint;
}

/** Step 3, Alice receives message 2: checks everything, then message 3 (libotr `otrl_sm_step3`). */
export function smpStep3(
  group: ModpGroup,
  random: RandomSource,
  alice: AliceAfterSmp1,
  m: Smp2Message,
): SmpCheck<{ message: Smp3Message; alice: AliceAfterSmp3 }> {
  for (const element of [m.g2b, m.g3b, m.pb, m.qb]) {
    if (!isSmpGroupElement(group, element)) return fail('SMP message 2: g2b, g3b, Pb or Qb is not a valid group element');
  }
  for (const exponent of [m.d2, m.d3, m.d5, m.d6]) {
    if (!isSmpExponent(group, exponent)) return fail('SMP message 2: D2, D3, D5 or D6 is out of range');
  }
  if (!checkKnowLog(group, { c: m.c2, d: m.d2 }, m.g2b, SMP_HASH_VERSION.smp2G2)) return fail('SMP message 2: proof for g2b does not verify');
  if (!checkKnowLog(group, { c: m.c3, d: m.d3 }, m.g3b, SMP_HASH_VERSION.smp2G3)) return fail('SMP message 2: proof for g3b does not verify');
  const g2 = group.pow(m.g2b, alice.a2);
  const g3 = group.pow(m.g3b, alice.a3);
  if (!checkEqualCoords(group, { c: m.cp, d1: m.d5, d2: m.d6 }, m.pb, m.qb, g2, g3, SMP_HASH_VERSION.smp2PQ)) {
    return fail('SMP message 2: proof for Pb, Qb does not verify');
  }
  const r4 = randomSmpExponent(group, random);
  const pa = group.pow(g3, r4);
  const qa = group.mul(group.powG(r4), group.pow(g2, alice.x));
  const pq = proveEqualCoords(group, random, g2, g3, r4, alice.x, SMP_HASH_VERSION.smp3PQ);
  const pab = group.mul(pa, modInverse(m.pb, group.p));
  const qab = group.mul(qa, modInverse(m.qb, group.p));
  const ra = group.pow(qab, alice.a3);
  const r = proveEqualLogs(group, random, qab, alice.a3, SMP_HASH_VERSION.smp3R);
  return {
    ok: true,
    value: {
      message: { pa, qa, cp: pq.c, d5: pq.d1, d6: pq.d2, ra, cr: r.c, d7: r.d },
      alice: { g3b: m.g3b, a3: alice.a3, pab, qab },
    },
  };
}

/**
 * Step 4, Bob receives message 3: checks everything, then message 4 and the result
 * (Pa/Pb = Ra^b3 exactly when x = y; libotr `otrl_sm_step4`).
 */
export function smpStep4(
  group: ModpGroup,
  random: RandomSource,
  bob: BobAfterSmp2,
  m: Smp3Message,
): SmpCheck<{ message: Smp4Message; secretsMatch: boolean }> {
  for (const element of [m.pa, m.qa, m.ra]) {
    if (!isSmpGroupElement(group, element)) return fail('SMP message 3: Pa, Qa or Ra is not a valid group element');
  }
  for (const exponent of [m.d5, m.d6, m.d7]) {
    if (!isSmpExponent(group, exponent)) return fail('SMP message 3: D5, D6 or D7 is out of range');
  }
  if (!checkEqualCoords(group, { c: m.cp, d1: m.d5, d2: m.d6 }, m.pa, m.qa, bob.g2, bob.g3, SMP_HASH_VERSION.smp3PQ)) {
    return fail('SMP message 3: proof for Pa, Qa does not verify');
  }
  const pab = group.mul(m.pa, modInverse(bob.pb, group.p));
  const qab = group.mul(m.qa, modInverse(bob.qb, group.p));
  if (!checkEqualLogs(group, { c: m.cr, d: m.d7 }, m.ra, qab, bob.g3a, SMP_HASH_VERSION.smp3R)) {
    return fail('SMP message 3: proof for Ra does not verify');
  }
  const rb = group.pow(qab, bob.b3);
  const r = proveEqualLogs(group, random, qab, bob.b3, SMP_HASH_VERSION.smp4R);
  const rab = group.pow(m.ra, bob.b3);
  return { ok: true, value: { message: { rb, cr: r.c, d7: r.d }, secretsMatch: rab === pab } };
}

/** Step 5, Alice receives message 4: checks it and compares Rb^a3 with Pa/Pb (libotr `otrl_sm_step5`). */
export function smpStep5(group: ModpGroup, alice: AliceAfterSmp3, m: Smp4Message): SmpCheck<{ secretsMatch: boolean }> {
  if (!isSmpGroupElement(group, m.rb)) return fail('SMP message 4: Rb is not a valid group element');
  if (!isSmpExponent(group, m.d7)) return fail('SMP message 4: D7 is out of range');
  if (!checkEqualLogs(group, { c: m.cr, d: m.d7 }, m.rb, alice.qab, alice.g3b, SMP_HASH_VERSION.smp4R)) {
    return fail('SMP message 4: proof for Rb does not verify');
  }
  const rab = group.pow(m.rb, alice.a3);
  return { ok: true, value: { secretsMatch: rab === alice.pab } };
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function mpi(value: bigint): Uint8Array {
  const bytes = bigIntToBytes(value);
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}
