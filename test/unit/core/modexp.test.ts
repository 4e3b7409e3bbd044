import { expect } from 'chai';
import { ModExp, modInverse, modPowBigInt } from '../../../lib/core/crypto/modexp.js';
import { MODP_1536_ORDER, MODP_1536_PRIME, ModpGroup } from '../../../lib/core/crypto/modp-group.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { bytesToBigInt } from '../../../lib/core/bytes.js';

describe('core/crypto/modexp', () => {
  const engine = new ModExp();
  const random = deterministicRandom('modexp-test');
  const p = MODP_1536_PRIME;

  it('matches the BigInt reference on random bases and exponents (1536-bit group)', () => {
    for (let i = 0; i < 20; i++) {
      const base = bytesToBigInt(random(192)) % p;
      const exponent = bytesToBigInt(random(i % 2 ? 40 : 192));
      expect(engine.modPow(base, exponent, p)).to.equal(modPowBigInt(base, exponent, p));
    }
  });

  it('handles the edge bases and exponents OpenSSL refuses', () => {
    expect(engine.modPow(0n, 5n, p)).to.equal(0n);
    expect(engine.modPow(0n, 0n, p)).to.equal(1n);
    expect(engine.modPow(1n, 12345n, p)).to.equal(1n);
    expect(engine.modPow(p - 1n, 2n, p)).to.equal(1n);
    expect(engine.modPow(p - 1n, 3n, p)).to.equal(p - 1n);
    expect(engine.modPow(7n, 0n, p)).to.equal(1n);
    expect(engine.modPow(p + 3n, 2n, p)).to.equal(9n);
    expect(engine.modPow(3n, p + 5n, p)).to.equal(modPowBigInt(3n, p + 5n, p));
  });

  it('works for another prime modulus (small and 1024-bit DSA-sized)', () => {
    expect(engine.modPow(3n, 100n, 101n)).to.equal(modPowBigInt(3n, 100n, 101n));
    const q = MODP_1536_ORDER; // prime, and of a different size than p
    expect(engine.modPow(5n, 1234567n, q)).to.equal(modPowBigInt(5n, 1234567n, q));
  });

  it('the generator has order q', () => {
    const group = new ModpGroup(engine);
    expect(group.powG(group.q)).to.equal(1n);
    expect(group.powG(1n)).to.equal(2n);
  });

  it('computes modular inverses and refuses non-invertible values', () => {
    const q = MODP_1536_ORDER;
    for (let i = 0; i < 10; i++) {
      const v = bytesToBigInt(random(190)) % q;
      expect((v * modInverse(v, q)) % q).to.equal(1n);
    }
    expect(() => modInverse(0n, q)).to.throw(RangeError);
    expect(() => modInverse(6n, 9n)).to.throw(RangeError);
  });

  it('rejects an even modulus and negative inputs', () => {
    expect(() => engine.modPow(2n, 3n, 100n)).to.throw(RangeError);
    expect(() => engine.modPow(-2n, 3n, p)).to.throw(RangeError);
  });
});
