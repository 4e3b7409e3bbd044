import { expect } from 'chai';
import fc from 'fast-check';
import { bigIntToBytes, bytesToHex, concatBytes, hexToBytes } from '../../../lib/core/bytes.js';
import { dsaSign, dsaVerify, generateDsaKey, isValidDsaPublicKey, type DsaPrivateKey, type DsaPublicKey } from '../../../lib/core/crypto/dsa.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { sha1 } from '../../../lib/core/crypto/hash.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { OtrReader, OtrWriter } from '../../../otr/codec.js';
import {
  decodeOtrSignature, encodeOtrPublicKey, encodeOtrSignature, formatFingerprint, otrFingerprint, parseFingerprint,
  readOtrPublicKey,
} from '../../../otr/public-key.js';

const hex = (text: string): bigint => BigInt('0x' + text.replace(/\s+/g, ''));

/** RFC 6979 A.2.1's 1024-bit DSA key (public part). */
const KEY: DsaPublicKey = {
  p: hex(`86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED88
          73ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779`),
  q: hex('996F967F6C8E388D9E28D01E205FBA957A5698B1'),
  g: hex(`07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD
          87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD`),
  y: hex(`5DF5E01DED31D0297E274E1691C192FE5868FEF9E19A84776454B100CF16F65392195A38B90523E2542EE61871C0440CB87C322FC4B4D2EC5E1E7EC766E1BE8D
          4CE935437DC11C3C8FD426338933EBFE739CB3465F4D3668C5E473508253B1E682F65CBDC4FAE93C2EA212390E54905A86E2223170B44EAA7DA5DD9FFCFB7F3B`),
};

function mpi(value: bigint): string {
  const bytes = bigIntToBytes(value);
  return bytes.length.toString(16).padStart(8, '0') + bytesToHex(bytes);
}

function read(bytes: Uint8Array): DsaPublicKey {
  const reader = new OtrReader(bytes);
  const key = readOtrPublicKey(reader);
  reader.end();
  return key;
}

function expectMalformed(fn: () => unknown, code?: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    if (code) expect((error as MalformedMessageError).code).to.equal(code);
    return;
  }
  expect.fail('expected a MalformedMessageError');
}

describe('otr/public-key', () => {
  it('encodes SHORT 0x0000 || MPI p || MPI q || MPI g || MPI y byte for byte', () => {
    // g has a leading zero nibble (0x07...): the MPI is minimal, 128 bytes, no 0x00 prefix.
    const expected = '0000' + mpi(KEY.p) + mpi(KEY.q) + mpi(KEY.g) + mpi(KEY.y);
    expect(bytesToHex(encodeOtrPublicKey(KEY))).to.equal(expected);
    expect(encodeOtrPublicKey(KEY).length).to.equal(2 + 4 * 4 + 128 + 20 + 128 + 128);
    expect(read(encodeOtrPublicKey(KEY))).to.deep.equal(KEY);
  });

  it('leaves the reader right after y (a key embedded in a larger message)', () => {
    const reader = new OtrReader(concatBytes(encodeOtrPublicKey(KEY), hexToBytes('01020304')));
    expect(readOtrPublicKey(reader)).to.deep.equal(KEY);
    expect(reader.int()).to.equal(0x01020304);
    reader.end();
  });

  it('fingerprint = SHA-1 of the encoding without the 2-byte type, human form 5x8 upper hex', () => {
    const fingerprint = otrFingerprint(KEY);
    expect(fingerprint).to.deep.equal(sha1(encodeOtrPublicKey(KEY).subarray(2)));
    const human = formatFingerprint(fingerprint);
    expect(human).to.match(/^[0-9A-F]{8}( [0-9A-F]{8}){4}$/);
    expect(human.replace(/ /g, '').toLowerCase()).to.equal(bytesToHex(fingerprint));
    expect(parseFingerprint(human)).to.deep.equal(fingerprint);
    expect(parseFingerprint(bytesToHex(fingerprint))).to.deep.equal(fingerprint);
    expect(parseFingerprint(` ${human.toLowerCase()} `)).to.deep.equal(fingerprint);
  });

  it('parseFingerprint returns undefined for anything but 40 hex digits', () => {
    for (const bad of ['', 'abc', '0'.repeat(39), '0'.repeat(41), 'g'.repeat(40), '0'.repeat(38) + '\n0', 'x'.repeat(1000)]) {
      expect(parseFingerprint(bad)).to.equal(undefined);
    }
    expect(() => formatFingerprint(new Uint8Array(19))).to.throw(RangeError);
  });

  it('rejects unknown key types, oversized, non-minimal and out-of-range values', () => {
    const body = (p: bigint, q: bigint, g: bigint, y: bigint): string => mpi(p) + mpi(q) + mpi(g) + mpi(y);
    expectMalformed(() => read(hexToBytes('0001' + body(KEY.p, KEY.q, KEY.g, KEY.y))), 'otr.unknown-pubkey-type');
    expectMalformed(() => read(hexToBytes('0000' + body(KEY.p, KEY.q, 1n, KEY.y))), 'otr.bad-public-key');
    expectMalformed(() => read(hexToBytes('0000' + body(KEY.p, KEY.q, KEY.g, KEY.p))), 'otr.bad-public-key');
    expectMalformed(() => read(hexToBytes('0000' + body(KEY.p, KEY.q + 2n, KEY.g, KEY.y))), 'otr.bad-public-key');
    expectMalformed(() => read(hexToBytes('0000' + body(KEY.p, (1n << 264n) + 1n, KEY.g, KEY.y))), 'otr.oversized');
    expectMalformed(() => read(hexToBytes('0000' + body(1n << 3100n, KEY.q, KEY.g, KEY.y))), 'otr.oversized');
    expectMalformed(() => read(hexToBytes('0000' + mpi(KEY.p) + '0000001500' + bytesToHex(bigIntToBytes(KEY.q)) + mpi(KEY.g) + mpi(KEY.y))), 'otr.non-minimal-mpi');
    expectMalformed(() => read(hexToBytes('0000' + 'ffffffff')), 'otr.oversized');
    const good = encodeOtrPublicKey(KEY);
    for (let cut = 0; cut < good.length; cut += 7) expectMalformed(() => read(good.subarray(0, cut)));
  });

  describe('signatures', () => {
    let key: DsaPrivateKey;
    before(() => {
      key = generateDsaKey();
    });

    it('encode as r || s padded to q\'s byte length (20 + 20) and decode back', () => {
      const encoded = encodeOtrSignature({ r: 1n, s: 0x0102n }, KEY.q);
      expect(bytesToHex(encoded)).to.equal('00'.repeat(19) + '01' + '00'.repeat(18) + '0102');
      expect(decodeOtrSignature(encoded, KEY.q)).to.deep.equal({ r: 1n, s: 0x0102n });
      const signature = dsaSign(key, new Uint8Array(32).fill(9), deterministicRandom('sig'));
      const bytes = encodeOtrSignature(signature, key.q);
      expect(bytes.length).to.equal(40);
      expect(dsaVerify(key, new Uint8Array(32).fill(9), decodeOtrSignature(bytes, key.q))).to.equal(true);
    });

    it('decoding requires the exact length; encoding refuses values >= q', () => {
      expectMalformed(() => decodeOtrSignature(new Uint8Array(39), KEY.q), 'otr.bad-signature-length');
      expectMalformed(() => decodeOtrSignature(new Uint8Array(41), KEY.q), 'otr.bad-signature-length');
      expectMalformed(() => decodeOtrSignature(new Uint8Array(0), KEY.q), 'otr.bad-signature-length');
      expect(() => encodeOtrSignature({ r: KEY.q, s: 1n }, KEY.q)).to.throw(RangeError);
    });

    it('property: mutated signatures never verify, never crash', () => {
      const digest = new Uint8Array(32).fill(3);
      const bytes = encodeOtrSignature(dsaSign(key, digest, deterministicRandom('prop')), key.q);
      fc.assert(fc.property(fc.integer({ min: 0, max: 39 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const mutated = Uint8Array.from(bytes);
        mutated[at] = (mutated[at] as number) ^ xor;
        expect(dsaVerify(key, digest, decodeOtrSignature(mutated, key.q))).to.equal(false);
      }), { numRuns: 200 });
    });
  });

  it('property: mutated public key encodings give a typed error or a different valid key, never a crash', () => {
    const good = encodeOtrPublicKey(KEY);
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat({ max: good.length }), { nil: undefined }),
      (edits, cut) => {
        let bytes = Uint8Array.from(good);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        if (cut !== undefined) bytes = bytes.subarray(0, cut);
        try {
          const key = read(bytes);
          expect(isValidDsaPublicKey(key)).to.equal(true);
          expect(encodeOtrPublicKey(key)).to.deep.equal(bytes); // canonical: re-encodes to the same bytes
        } catch (error) {
          expect(error).to.be.instanceOf(MalformedMessageError);
        }
      },
    ), { numRuns: 2000 });
  });

  it('writer helpers agree with OtrWriter', () => {
    expect(encodeOtrPublicKey(KEY)).to.deep.equal(new OtrWriter().short(0).mpi(KEY.p).mpi(KEY.q).mpi(KEY.g).mpi(KEY.y).finish());
  });
});
