import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { concatBytes, hexToBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { mod } from '../../../lib/core/crypto/modexp.js';
import {
  checkEqualCoords,
  checkEqualLogs,
  checkKnowLog,
  isSmpExponent,
  isSmpGroupElement,
  proveEqualCoords,
  proveEqualLogs,
  proveKnowLog,
  randomSmpExponent,
  smpHash,
  smpStep1,
  smpStep2a,
  smpStep2b,
  smpStep3,
  smpStep4,
  smpStep5,
  SMP_HASH_VERSION,
} from '../../../smp/index.js';
import { group } from './smp-helpers.js';

const { p, q } = group;
const sha256Int = (...parts: Uint8Array[]): bigint => BigInt('0x' + createHash('sha256').update(concatBytes(...parts)).digest('hex'));

interface OtrJsBigInt {
  str2bigInt(s: string, base: number): unknown;
  bigInt2str(x: unknown, base: number): string;
}
const requireCjs = createRequire(import.meta.url);
const otrjsHelpers = requireCjs('otr/lib/helpers.js') as { smpHash(version: number, a: unknown, b?: unknown): unknown };
const otrjsBigInt = requireCjs('otr/vendor/bigint.js') as OtrJsBigInt;

describe('smp/math', () => {
  describe('smpHash', () => {
    it('is SHA-256(version byte || MPI || MPI) as an integer (spec, "SMP Hash function")', () => {
      expect(smpHash(1, 0x0102n)).to.equal(sha256Int(hexToBytes('01' + '00000002' + '0102')));
      expect(smpHash(7, 0x05n, 0xabcdefn)).to.equal(sha256Int(hexToBytes('07' + '00000001' + '05' + '00000003' + 'abcdef')));
      // Zero is the empty MPI.
      expect(smpHash(8, 0n)).to.equal(sha256Int(hexToBytes('08' + '00000000')));
    });

    it('agrees with otr.js\'s HLP.smpHash on 1536-bit values', () => {
      const random = deterministicRandom('hash');
      for (let i = 0; i < 5; i++) {
        const a = group.powG(randomSmpExponent(group, random));
        const b = group.powG(randomSmpExponent(group, random));
        const theirs = otrjsHelpers.smpHash(5, otrjsBigInt.str2bigInt(a.toString(16), 16), otrjsBigInt.str2bigInt(b.toString(16), 16));
        expect(BigInt('0x' + otrjsBigInt.bigInt2str(theirs, 16))).to.equal(smpHash(5, a, b));
      }
    });

    it('refuses a version that is not a byte', () => {
      expect(() => smpHash(256, 1n)).to.throw(RangeError);
      expect(() => smpHash(-1, 1n)).to.throw(RangeError);
    });
  });

  describe('received-value checks', () => {
    it('group elements: 2 <= x <= p-2 and of order q', () => {
      for (const bad of [0n, 1n, p - 1n, p, p + 1n, p - 2n /* -2: not a square */, p - 4n /* -(2^2) */]) {
        expect(isSmpGroupElement(group, bad), bad.toString(16).slice(0, 8)).to.equal(false);
      }
      const v = group.powG(12345n);
      expect(isSmpGroupElement(group, 2n)).to.equal(true);
      expect(isSmpGroupElement(group, 4n)).to.equal(true);
      expect(isSmpGroupElement(group, v)).to.equal(true);
      expect(isSmpGroupElement(group, p - v)).to.equal(false);
    });

    it('exponents: 1 <= x < q (libotr check_expon)', () => {
      expect(isSmpExponent(group, 0n)).to.equal(false);
      expect(isSmpExponent(group, 1n)).to.equal(true);
      expect(isSmpExponent(group, q - 1n)).to.equal(true);
      expect(isSmpExponent(group, q)).to.equal(false);
      expect(isSmpExponent(group, p)).to.equal(false);
    });
  });

  describe('proofs: generated ones verify, any altered value does not', () => {
    const random = deterministicRandom('proofs');
    const x = randomSmpExponent(group, random);
    const gx = group.powG(x);

    it('knowledge of a discrete log (versions 1..4)', () => {
      const proof = proveKnowLog(group, random, x, 1);
      expect(proof.d < q).to.equal(true);
      expect(checkKnowLog(group, proof, gx, 1)).to.equal(true);
      expect(checkKnowLog(group, proof, gx, 2), 'version').to.equal(false);
      expect(checkKnowLog(group, { ...proof, c: proof.c + 1n }, gx, 1), 'c').to.equal(false);
      expect(checkKnowLog(group, { ...proof, c: proof.c + (1n << 256n) }, gx, 1), 'c beyond a hash').to.equal(false);
      expect(checkKnowLog(group, { ...proof, d: mod(proof.d + 1n, q) }, gx, 1), 'D').to.equal(false);
      expect(checkKnowLog(group, proof, group.mul(gx, 2n), 1), 'value').to.equal(false);
      expect(checkKnowLog(group, proveKnowLog(group, random, x + 1n, 1), gx, 1), 'wrong exponent').to.equal(false);
    });

    it('equal coordinates (P = g3^r, Q = g1^r g2^secret; versions 5, 6)', () => {
      const g2 = group.powG(randomSmpExponent(group, random));
      const g3 = group.powG(randomSmpExponent(group, random));
      const r = randomSmpExponent(group, random);
      const secret = 0xdeadbeefn;
      const P = group.pow(g3, r);
      const Q = group.mul(group.powG(r), group.pow(g2, secret));
      const proof = proveEqualCoords(group, random, g2, g3, r, secret, 5);
      expect(checkEqualCoords(group, proof, P, Q, g2, g3, 5)).to.equal(true);
      expect(checkEqualCoords(group, proof, P, Q, g2, g3, 6), 'version').to.equal(false);
      expect(checkEqualCoords(group, { ...proof, c: proof.c ^ 1n }, P, Q, g2, g3, 5), 'c').to.equal(false);
      expect(checkEqualCoords(group, { ...proof, d1: mod(proof.d1 + 1n, q) }, P, Q, g2, g3, 5), 'D1').to.equal(false);
      expect(checkEqualCoords(group, { ...proof, d2: mod(proof.d2 + 1n, q) }, P, Q, g2, g3, 5), 'D2').to.equal(false);
      expect(checkEqualCoords(group, proof, group.mul(P, 4n), Q, g2, g3, 5), 'P').to.equal(false);
      expect(checkEqualCoords(group, proof, P, group.mul(Q, 4n), g2, g3, 5), 'Q').to.equal(false);
      expect(checkEqualCoords(group, proof, P, Q, group.mul(g2, 4n), g3, 5), 'g2').to.equal(false);
      expect(checkEqualCoords(group, proof, P, Q, g2, group.mul(g3, 4n), 5), 'g3').to.equal(false);
      // Q made with another secret than the proof's.
      const Qother = group.mul(group.powG(r), group.pow(g2, secret + 1n));
      expect(checkEqualCoords(group, proof, P, Qother, g2, g3, 5), 'secret').to.equal(false);
    });

    it('equal logs (R = (Qa/Qb)^x3 with g1^x3 public; versions 7, 8)', () => {
      const qab = group.powG(randomSmpExponent(group, random));
      const R = group.pow(qab, x);
      const proof = proveEqualLogs(group, random, qab, x, 7);
      expect(checkEqualLogs(group, proof, R, qab, gx, 7)).to.equal(true);
      expect(checkEqualLogs(group, proof, R, qab, gx, 8), 'version').to.equal(false);
      expect(checkEqualLogs(group, { ...proof, c: proof.c ^ 2n }, R, qab, gx, 7), 'c').to.equal(false);
      expect(checkEqualLogs(group, { ...proof, d: mod(proof.d - 1n, q) }, R, qab, gx, 7), 'D').to.equal(false);
      expect(checkEqualLogs(group, proof, group.mul(R, 4n), qab, gx, 7), 'R').to.equal(false);
      expect(checkEqualLogs(group, proof, R, group.mul(qab, 4n), gx, 7), 'Qa/Qb').to.equal(false);
      expect(checkEqualLogs(group, proof, R, qab, group.mul(gx, 4n), 7), 'g3o').to.equal(false);
    });
  });

  describe('the five steps', () => {
    const random = deterministicRandom('steps');
    const x = 0x1234n;
    const one = smpStep1(group, random, x);
    const a = smpStep2a(group, random, one.message);
    if (!a.ok) throw new Error(a.reason);
    const two = smpStep2b(group, random, a.value, x);
    const three = smpStep3(group, random, one.alice, two.message);
    if (!three.ok) throw new Error(three.reason);
    const four = smpStep4(group, random, two.bob, three.value.message);
    if (!four.ok) throw new Error(four.reason);
    const five = smpStep5(group, three.value.alice, four.value.message);

    it('compute the same g2, g3 on both sides and agree on the result', () => {
      expect(group.pow(two.message.g2b, one.alice.a2)).to.equal(a.value.g2);
      expect(group.pow(two.message.g3b, one.alice.a3)).to.equal(a.value.g3);
      expect(four.value.secretsMatch).to.equal(true);
      expect(five).to.deep.equal({ ok: true, value: { secretsMatch: true } });
      expect(one.message.c2).to.equal(smpHash(SMP_HASH_VERSION.smp1G2, group.mul(group.powG(one.message.d2), group.pow(one.message.g2a, one.message.c2))));
    });

    it('detect different secrets (Pa/Pb != Rab) without any proof failing', () => {
      const twoOther = smpStep2b(group, random, a.value, x + 1n);
      const threeOther = smpStep3(group, random, one.alice, twoOther.message);
      if (!threeOther.ok) throw new Error(threeOther.reason);
      const fourOther = smpStep4(group, random, twoOther.bob, threeOther.value.message);
      if (!fourOther.ok) throw new Error(fourOther.reason);
      expect(fourOther.value.secretsMatch).to.equal(false);
      expect(smpStep5(group, threeOther.value.alice, fourOther.value.message)).to.deep.equal({ ok: true, value: { secretsMatch: false } });
    });

    it('reject every altered field of every message', () => {
      const alter = <T extends object>(m: T, key: keyof T): T => ({ ...m, [key]: (m[key] as bigint) === 2n ? 4n : 2n });
      for (const key of Object.keys(one.message) as (keyof typeof one.message)[]) {
        expect(smpStep2a(group, random, alter(one.message, key)).ok, `smp1.${key}`).to.equal(false);
      }
      for (const key of Object.keys(two.message) as (keyof typeof two.message)[]) {
        expect(smpStep3(group, random, one.alice, alter(two.message, key)).ok, `smp2.${key}`).to.equal(false);
      }
      for (const key of Object.keys(three.value.message) as (keyof typeof three.value.message)[]) {
        expect(smpStep4(group, random, two.bob, alter(three.value.message, key)).ok, `smp3.${key}`).to.equal(false);
      }
      for (const key of Object.keys(four.value.message) as (keyof typeof four.value.message)[]) {
        expect(smpStep5(group, three.value.alice, alter(four.value.message, key)).ok, `smp4.${key}`).to.equal(false);
      }
    });

    it('reject a replayed proof of the other party (hash versions differ)', () => {
      // Bob's message 2 halves replayed as Alice's message 1: c2/c3 were made with versions 3, 4.
      const replay = { g2a: two.message.g2b, c2: two.message.c2, d2: two.message.d2, g3a: two.message.g3b, c3: two.message.c3, d3: two.message.d3 };
      expect(smpStep2a(group, random, replay).ok).to.equal(false);
    });
  });
});
