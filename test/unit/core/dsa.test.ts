import { expect } from 'chai';
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import {
  bitLength, dsaSign, dsaVerify, generateDsaKey, isValidDsaPublicKey, parseDsaPkcs8, parseDsaSpki,
  type DsaPrivateKey, type DsaPublicKey,
} from '../../../lib/core/crypto/dsa.js';
import { ModExp, modPowBigInt } from '../../../lib/core/crypto/modexp.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { bigIntToBytes, bytesToBigInt } from '../../../lib/core/bytes.js';
import type { RandomSource } from '../../../lib/core/random.js';

const hex = (text: string): bigint => BigInt('0x' + text.replace(/\s+/g, ''));

/** RFC 6979 A.2.1: DSA, 1024-bit p, 160-bit q. */
const RFC6979_KEY: DsaPrivateKey = {
  p: hex(`86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447
          E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED88
          73ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C
          881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779`),
  q: hex('996F967F6C8E388D9E28D01E205FBA957A5698B1'),
  g: hex(`07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D
          89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD
          87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA4
          17BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD`),
  x: hex('411602CB19A6CCC34494D79D98EF1E7ED5AF25F7'),
  y: hex(`5DF5E01DED31D0297E274E1691C192FE5868FEF9E19A84776454B100CF16F653
          92195A38B90523E2542EE61871C0440CB87C322FC4B4D2EC5E1E7EC766E1BE8D
          4CE935437DC11C3C8FD426338933EBFE739CB3465F4D3668C5E473508253B1E6
          82F65CBDC4FAE93C2EA212390E54905A86E2223170B44EAA7DA5DD9FFCFB7F3B`),
};

/** A RandomSource that returns the given bytes once, then fails the test if asked again. */
function fixedNonce(k: bigint, length: number): RandomSource {
  let used = false;
  return (n: number) => {
    expect(used, 'nonce drawn twice').to.equal(false);
    expect(n).to.equal(length);
    used = true;
    return bigIntToBytes(k, length);
  };
}

const sha = (algorithm: string, text: string): Uint8Array => new Uint8Array(createHash(algorithm).update(text).digest());

describe('core/crypto/dsa', () => {
  it('RFC 6979 A.2.1 key: y = g^x mod p and the key passes the sanity checks', () => {
    expect(modPowBigInt(RFC6979_KEY.g, RFC6979_KEY.x, RFC6979_KEY.p)).to.equal(RFC6979_KEY.y);
    expect(isValidDsaPublicKey(RFC6979_KEY)).to.equal(true);
  });

  it('RFC 6979 A.2.1, SHA-1 "sample" with its fixed k gives the published r, s', () => {
    const k = hex('7BDB6B0FF756E1BB5D53583EF979082F9AD5BD5B');
    const signature = dsaSign(RFC6979_KEY, sha('sha1', 'sample'), fixedNonce(k, 20));
    expect(signature.r).to.equal(hex('2E1A0C2562B2912CAAF89186FB0F42001585DA55'));
    expect(signature.s).to.equal(hex('29EFB6B0AFF2D7A68EB70CA313022253B9A88DF5'));
    expect(dsaVerify(RFC6979_KEY, sha('sha1', 'sample'), signature)).to.equal(true);
  });

  it('RFC 6979 A.2.1, SHA-256 "sample": its h is the leftmost 160 bits (FIPS); signing those gives the published r, s', () => {
    const k = hex('519BA0546D0C39202A7D34D7DFA5E760B318BCFB');
    const h = sha('sha256', 'sample').subarray(0, 20);
    const signature = dsaSign(RFC6979_KEY, h, fixedNonce(k, 20));
    expect(signature.r).to.equal(hex('81F2F5850BE5BC123C43F71A3033E9384611C545'));
    expect(signature.s).to.equal(hex('4CDD914B65EB6C66A8AAAD27299BEE6B035F5E89'));
  });

  it('OTR rule: a 32-byte digest is taken mod q (not truncated): same signature as digest mod q', () => {
    const k = hex('519BA0546D0C39202A7D34D7DFA5E760B318BCFB');
    const digest = sha('sha256', 'sample');
    const full = dsaSign(RFC6979_KEY, digest, fixedNonce(k, 20));
    const reduced = dsaSign(RFC6979_KEY, bigIntToBytes(bytesToBigInt(digest) % RFC6979_KEY.q, 20), fixedNonce(k, 20));
    expect(full).to.deep.equal(reduced);
    // And it differs from FIPS truncation, which the previous test pinned.
    expect(full.s).to.not.equal(hex('4CDD914B65EB6C66A8AAAD27299BEE6B035F5E89'));
    expect(dsaVerify(RFC6979_KEY, digest, full)).to.equal(true);
    expect(dsaVerify(RFC6979_KEY, digest.subarray(0, 20), full)).to.equal(false);
  });

  it('rejects signatures with r or s out of (0, q) without throwing', () => {
    const digest = sha('sha256', 'x');
    const good = dsaSign(RFC6979_KEY, digest, deterministicRandom('dsa-range'));
    const q = RFC6979_KEY.q;
    for (const bad of [
      { r: 0n, s: good.s }, { r: good.r, s: 0n }, { r: q, s: good.s }, { r: good.r, s: q },
      { r: good.r + q, s: good.s }, { r: good.r, s: good.s + q }, { r: -1n, s: good.s },
    ]) {
      expect(dsaVerify(RFC6979_KEY, digest, bad)).to.equal(false);
    }
    expect(dsaVerify(RFC6979_KEY, digest, good)).to.equal(true);
    expect(dsaVerify(RFC6979_KEY, digest, { r: good.r, s: good.s === 1n ? 2n : good.s - 1n })).to.equal(false);
  });

  it('redraws k that is 0 or >= q (no modulo bias), consuming exactly q-sized draws', () => {
    const draws = [bigIntToBytes(0n, 20), bigIntToBytes(RFC6979_KEY.q, 20), bigIntToBytes((1n << 160n) - 1n, 20),
      bigIntToBytes(hex('7BDB6B0FF756E1BB5D53583EF979082F9AD5BD5B'), 20)];
    let calls = 0;
    const random: RandomSource = (n) => {
      expect(n).to.equal(20);
      const next = draws[calls++];
      if (!next) throw new Error('too many draws');
      return next;
    };
    const signature = dsaSign(RFC6979_KEY, sha('sha1', 'sample'), random);
    expect(calls).to.equal(4);
    expect(signature.r).to.equal(hex('2E1A0C2562B2912CAAF89186FB0F42001585DA55'));
  });

  it('a random source that never yields a usable k is a RangeError, not a hang', () => {
    expect(() => dsaSign(RFC6979_KEY, new Uint8Array(32), (n) => new Uint8Array(n))).to.throw(RangeError);
  });

  describe('generated keys', () => {
    let key: DsaPrivateKey;
    before(() => {
      key = generateDsaKey();
    });

    it('have libotr sizes (1024-bit p, 160-bit q) and consistent numbers', () => {
      expect(bitLength(key.p)).to.equal(1024);
      expect(bitLength(key.q)).to.equal(160);
      expect(isValidDsaPublicKey(key)).to.equal(true);
      expect(new ModExp().modPow(key.g, key.q, key.p)).to.equal(1n);
      expect(new ModExp().modPow(key.g, key.x, key.p)).to.equal(key.y);
      expect(key.x > 0n && key.x < key.q).to.equal(true);
    });

    it('sign and verify with the default and an explicit engine; tampering fails', () => {
      const random = deterministicRandom('dsa-generated');
      const engine = new ModExp();
      for (let i = 0; i < 10; i++) {
        const digest = random(32);
        const signature = dsaSign(key, digest, random, i % 2 ? engine : undefined);
        expect(dsaVerify(key, digest, signature, i % 2 ? undefined : engine)).to.equal(true);
        const other = Uint8Array.from(digest);
        other[i] = (other[i] as number) ^ 1;
        expect(dsaVerify(key, other, signature)).to.equal(false);
        const otherKey: DsaPublicKey = { ...key, y: key.y === 2n ? 3n : key.y - 1n };
        expect(dsaVerify(otherKey, digest, signature)).to.equal(false);
      }
    });

    it('OpenSSL and we verify each other\'s SHA-1 DSA signatures (20-byte digests: FIPS and OTR rules agree)', () => {
      // For a 160-bit digest FIPS truncation is the identity, so OpenSSL is an independent
      // check of the r, s formula in both directions.
      const random = deterministicRandom('dsa-openssl');
      const publicKey = createPublicKey({ key: Buffer.from(spkiOf(key)), format: 'der', type: 'spki' });
      const privateKey = createPrivateKey({ key: Buffer.from(pkcs8Of(key)), format: 'der', type: 'pkcs8' });
      for (let i = 0; i < 5; i++) {
        const message = random(50);
        const digest = new Uint8Array(createHash('sha1').update(message).digest());
        const { r, s } = dsaSign(key, digest, random);
        expect(cryptoVerify('sha1', message, publicKey, derSequence([derInteger(r), derInteger(s)]))).to.equal(true);
        const theirs = parseDerSignature(new Uint8Array(cryptoSign('sha1', message, privateKey)));
        expect(dsaVerify(key, digest, theirs)).to.equal(true);
      }
    });

    it('parseDsaPkcs8 / parseDsaSpki read what OpenSSL exports', () => {
      const pkcs8 = createPrivateKey({ key: Buffer.from(pkcs8Of(key)), format: 'der', type: 'pkcs8' })
        .export({ format: 'der', type: 'pkcs8' });
      expect(parseDsaPkcs8(new Uint8Array(pkcs8))).to.deep.equal(key);
      expect(parseDsaSpki(spkiOf(key))).to.deep.equal({ p: key.p, q: key.q, g: key.g, y: key.y });
    });

    it('the DER readers reject truncated, trailing and mutated input with RangeError', () => {
      const der = pkcs8Of(key);
      expect(() => parseDsaPkcs8(der.subarray(0, der.length - 1))).to.throw(RangeError);
      expect(() => parseDsaPkcs8(Uint8Array.of(...der, 0))).to.throw(RangeError);
      const random = deterministicRandom('der-mutations');
      for (let i = 0; i < 200; i++) {
        const mutated = Uint8Array.from(der);
        const at = Number(bytesToBigInt(random(2)) % BigInt(der.length));
        mutated[at] = (mutated[at] as number) ^ ((random(1)[0] as number) | 1);
        try {
          const parsed = parseDsaPkcs8(mutated);
          expect(isValidDsaPublicKey(parsed)).to.equal(true);
        } catch (error) {
          expect(error).to.be.instanceOf(RangeError);
        }
      }
    });
  });

  it('isValidDsaPublicKey rejects bad sizes and ranges', () => {
    const k = RFC6979_KEY;
    expect(isValidDsaPublicKey({ ...k, g: 1n })).to.equal(false);
    expect(isValidDsaPublicKey({ ...k, g: k.p })).to.equal(false);
    expect(isValidDsaPublicKey({ ...k, y: 1n })).to.equal(false);
    expect(isValidDsaPublicKey({ ...k, y: k.p })).to.equal(false);
    expect(isValidDsaPublicKey({ ...k, y: 0n })).to.equal(false);
    expect(isValidDsaPublicKey({ ...k, q: k.q + 2n })).to.equal(false); // does not divide p-1
    expect(isValidDsaPublicKey({ ...k, q: 2n })).to.equal(false);
    expect(isValidDsaPublicKey({ ...k, p: k.p + 1n })).to.equal(false); // even
    expect(isValidDsaPublicKey({ ...k, p: (1n << 512n) + 1n, g: 2n, y: 3n })).to.equal(false); // too small
    expect(isValidDsaPublicKey({ ...k, p: (1n << 3072n) + 1n })).to.equal(false); // too big
    expect(isValidDsaPublicKey({ p: 1, q: 2, g: 3, y: 4 } as unknown as DsaPublicKey)).to.equal(false);
    expect(() => dsaVerify({ ...k, g: 1n }, new Uint8Array(32), { r: 1n, s: 1n })).to.throw(RangeError);
    // A hostile key whose q is not prime (q = 3 * 0x5555...5557 divides p - 1 for this p): a
    // non-invertible s is a failed verification, not an exception.
    const compositeQ = 3n * ((1n << 159n) / 3n | 1n);
    const p = compositeQ * 2n * ((1n << 865n) + 1n) + 1n;
    const hostile = { p, q: compositeQ, g: 2n, y: 3n };
    expect(isValidDsaPublicKey(hostile)).to.equal(true);
    expect(dsaVerify(hostile, new Uint8Array(32), { r: 1n, s: 3n })).to.equal(false);
    expect(() => dsaSign({ ...k, x: 0n }, new Uint8Array(32), deterministicRandom('x'))).to.throw(RangeError);
    expect(() => dsaSign({ ...k, x: k.q }, new Uint8Array(32), deterministicRandom('x'))).to.throw(RangeError);
  });
});

// --- small DER writers, test-only, to hand our numbers to OpenSSL -------------------------------

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  if (length < 0x100) return [0x81, length];
  return [0x82, length >> 8, length & 0xff];
}
function derTlv(tag: number, content: Uint8Array): Uint8Array {
  return Uint8Array.of(tag, ...derLength(content.length), ...content);
}
function derInteger(value: bigint): Uint8Array {
  let bytes = bigIntToBytes(value);
  if (bytes.length === 0 || ((bytes[0] as number) & 0x80) !== 0) bytes = Uint8Array.of(0, ...bytes);
  return derTlv(0x02, bytes);
}
function derSequence(items: Uint8Array[]): Uint8Array {
  return derTlv(0x30, Uint8Array.from(items.flatMap((item) => [...item])));
}
const ID_DSA = derTlv(0x06, Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01));
function algorithmOf(key: DsaPublicKey): Uint8Array {
  return derSequence([ID_DSA, derSequence([derInteger(key.p), derInteger(key.q), derInteger(key.g)])]);
}
function spkiOf(key: DsaPublicKey): Uint8Array {
  return derSequence([algorithmOf(key), derTlv(0x03, Uint8Array.of(0, ...derInteger(key.y)))]);
}
function pkcs8Of(key: DsaPrivateKey): Uint8Array {
  return derSequence([derInteger(0n), algorithmOf(key), derTlv(0x04, derInteger(key.x))]);
}

function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } {
  // SEQUENCE { INTEGER r, INTEGER s } with short lengths (r, s < 2^160).
  expect(der[0]).to.equal(0x30);
  let offset = 2;
  const next = (): bigint => {
    expect(der[offset]).to.equal(0x02);
    const length = der[offset + 1] as number;
    const value = bytesToBigInt(der.subarray(offset + 2, offset + 2 + length));
    offset += 2 + length;
    return value;
  };
  const r = next();
  return { r, s: next() };
}
