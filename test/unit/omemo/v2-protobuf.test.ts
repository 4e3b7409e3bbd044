import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  decodeOmemoAuthenticatedMessage, decodeOmemoKeyExchange, decodeOmemoMessage, encodeOmemoAuthenticatedMessage,
  encodeOmemoKeyExchange, encodeOmemoMessage,
} from '../../../omemo/versions/v2/protobuf.js';
import { SAMPLES_2, sampleKeys } from './wire-samples.js';
import { MUTATION_RUNS, decodeOrTypedError, mutatedBytes } from './wire-mutations.js';

const KEY_A = new Uint8Array(32).fill(1);
const KEY_B = new Uint8Array(32).fill(2);
const MAC16 = new Uint8Array(16).fill(0xcc);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    return (error as MalformedMessageError).code;
  }
  throw new Error('expected a MalformedMessageError');
}

const message = (n = 0, pn = 0, ciphertext = hexToBytes('aabb')): Uint8Array => encodeOmemoMessage({ n, pn, dhPub: KEY_A, ciphertext });

describe('omemo/versions/v2/protobuf', () => {
  it('encodes the three messages like python-protobuf (XEP-0384 section 4.5 schema)', () => {
    expect(bytesToHex(message(0, 300))).to.equal(`0800` + `10ac02` + `1a20${'01'.repeat(32)}` + `2202aabb`);
    const auth = encodeOmemoAuthenticatedMessage({ mac: MAC16, message: message() });
    expect(bytesToHex(auth)).to.equal(`0a10${'cc'.repeat(16)}12${message().length.toString(16)}${bytesToHex(message())}`);
    const kex = encodeOmemoKeyExchange({ pkId: 1, spkId: 2, ik: KEY_A, ek: KEY_B, message: auth });
    expect(bytesToHex(kex)).to.equal(`0801` + `1002` + `1a20${'01'.repeat(32)}` + `2220${'02'.repeat(32)}` + `2a${auth.length.toString(16)}${bytesToHex(auth)}`);
  });

  it('decodes python-twomemo messages and re-encodes them to identical bytes', () => {
    let kex = 0;
    for (const xml of [SAMPLES_2.kex, SAMPLES_2.empty, SAMPLES_2.followup]) {
      for (const { data, kex: isKex } of sampleKeys(xml)) {
        let authenticated = data;
        if (isKex) {
          kex++;
          const ke = decodeOmemoKeyExchange(data);
          expect(encodeOmemoKeyExchange(ke)).to.deep.equal(data);
          authenticated = ke.message;
        }
        const am = decodeOmemoAuthenticatedMessage(authenticated);
        expect(encodeOmemoAuthenticatedMessage(am)).to.deep.equal(authenticated);
        expect(encodeOmemoMessage(decodeOmemoMessage(am.message))).to.deep.equal(am.message);
      }
    }
    expect(kex).to.be.greaterThan(0);
  });

  it('rejects unknown/duplicate/out-of-order/missing fields, wrong lengths and bad varints', () => {
    const m = message();
    expect(code(() => decodeOmemoMessage(concatBytes(m, hexToBytes('2800'))))).to.equal('omemo.protobuf.unknown-field');
    expect(code(() => decodeOmemoMessage(concatBytes(m, hexToBytes('2200'))))).to.equal('omemo.protobuf.duplicate-field');
    expect(code(() => decodeOmemoMessage(concatBytes(m.subarray(2, 4), m.subarray(0, 2), m.subarray(4))))).to.equal('omemo.protobuf.field-order');
    expect(code(() => decodeOmemoMessage(m.subarray(0, m.length - 4)))).to.equal('omemo.protobuf.missing-field');
    expect(code(() => decodeOmemoMessage(m.subarray(2)))).to.equal('omemo.protobuf.missing-field');
    expect(code(() => decodeOmemoMessage(concatBytes(m.subarray(0, 4), hexToBytes('1a21'), KEY_A, hexToBytes('00'), m.subarray(38))))).to.equal('omemo.protobuf.bad-length');
    expect(code(() => decodeOmemoMessage(concatBytes(hexToBytes('08'))))).to.equal('omemo.protobuf.truncated');
    expect(code(() => decodeOmemoMessage(concatBytes(hexToBytes('088000'), m.subarray(2))))).to.equal('omemo.protobuf.non-canonical');
    expect(code(() => decodeOmemoMessage(concatBytes(hexToBytes('0880808080808080808001'), m.subarray(2))))).to.equal('omemo.protobuf.varint-overflow');
    expect(code(() => decodeOmemoMessage(concatBytes(hexToBytes('0a00'), m.subarray(2))))).to.equal('omemo.protobuf.wire-type');
    expect(code(() => decodeOmemoMessage(new Uint8Array(5000)))).to.equal('omemo.v2.oversized');
    const auth = encodeOmemoAuthenticatedMessage({ mac: MAC16, message: m });
    expect(code(() => decodeOmemoAuthenticatedMessage(concatBytes(hexToBytes('0a0f'), MAC16.subarray(1), auth.subarray(18))))).to.equal('omemo.protobuf.bad-length');
    expect(code(() => decodeOmemoAuthenticatedMessage(auth.subarray(0, 18)))).to.equal('omemo.protobuf.missing-field');
    expect(code(() => decodeOmemoAuthenticatedMessage(encodeOmemoAuthenticatedMessage({ mac: MAC16, message: hexToBytes('0801') })))).to.equal('omemo.protobuf.missing-field');
    const kex = encodeOmemoKeyExchange({ pkId: 1, spkId: 2, ik: KEY_A, ek: KEY_B, message: auth });
    expect(code(() => decodeOmemoKeyExchange(kex.subarray(2)))).to.equal('omemo.protobuf.missing-field');
    expect(code(() => decodeOmemoKeyExchange(encodeOmemoKeyExchange({ pkId: 1, spkId: 2, ik: KEY_A, ek: KEY_B, message: m })))).to.be.oneOf(['omemo.protobuf.wire-type', 'omemo.protobuf.unknown-field']);
    expect(code(() => decodeOmemoKeyExchange(new Uint8Array(0)))).to.equal('omemo.protobuf.missing-field');
  });

  it('throws RangeError for caller bugs when encoding', () => {
    expect(() => encodeOmemoMessage({ n: 0, pn: 0, dhPub: new Uint8Array(33), ciphertext: new Uint8Array(0) })).to.throw(RangeError);
    expect(() => encodeOmemoMessage({ n: 2 ** 32, pn: 0, dhPub: KEY_A, ciphertext: new Uint8Array(0) })).to.throw(RangeError);
    expect(() => encodeOmemoAuthenticatedMessage({ mac: new Uint8Array(32), message: message() })).to.throw(RangeError);
    expect(() => encodeOmemoKeyExchange({ pkId: -1, spkId: 0, ik: KEY_A, ek: KEY_A, message: message() })).to.throw(RangeError);
    expect(() => encodeOmemoKeyExchange({ pkId: 1, spkId: 0, ik: KEY_A, ek: new Uint8Array(31), message: message() })).to.throw(RangeError);
  });

  it('round-trips random messages', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(fc.property(u32, u32, key, fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), u32, u32, key, key,
      (n, pn, dhPub, ciphertext, mac, pkId, spkId, ik, ek) => {
        const m = { n, pn, dhPub, ciphertext };
        const wire = encodeOmemoMessage(m);
        expect(decodeOmemoMessage(wire)).to.deep.equal(m);
        const auth = encodeOmemoAuthenticatedMessage({ mac, message: wire });
        expect(decodeOmemoAuthenticatedMessage(auth)).to.deep.equal({ mac, message: wire });
        const ke = { pkId, spkId, ik, ek, message: auth };
        expect(decodeOmemoKeyExchange(encodeOmemoKeyExchange(ke))).to.deep.equal(ke);
      }), { numRuns: 500 });
  });

  const keys = [SAMPLES_2.kex, SAMPLES_2.empty, SAMPLES_2.followup].flatMap(sampleKeys);
  const kexSamples = keys.filter((k) => k.kex).map((k) => k.data);
  const authSamples = [...keys.filter((k) => !k.kex).map((k) => k.data), ...kexSamples.map((d) => decodeOmemoKeyExchange(d).message)];
  const messageSamples = [message(), message(70000, 2 ** 31, new Uint8Array(48)), ...authSamples.map((a) => decodeOmemoAuthenticatedMessage(a).message)];

  it(`OMEMOMessage: ${MUTATION_RUNS} random mutations -> typed error or a canonical message`, () => {
    fc.assert(fc.property(mutatedBytes(messageSamples), (bytes) => {
      const decoded = decodeOrTypedError(() => decodeOmemoMessage(bytes));
      if (decoded !== undefined) expect(encodeOmemoMessage(decoded)).to.deep.equal(bytes);
    }), { numRuns: MUTATION_RUNS });
  });

  it(`OMEMOAuthenticatedMessage: ${MUTATION_RUNS} random mutations -> typed error or a canonical message`, () => {
    fc.assert(fc.property(mutatedBytes(authSamples), (bytes) => {
      const decoded = decodeOrTypedError(() => decodeOmemoAuthenticatedMessage(bytes));
      if (decoded !== undefined) expect(encodeOmemoAuthenticatedMessage(decoded)).to.deep.equal(bytes);
    }), { numRuns: MUTATION_RUNS });
  });

  it(`OMEMOKeyExchange: ${MUTATION_RUNS} random mutations -> typed error or a canonical message`, () => {
    fc.assert(fc.property(mutatedBytes(kexSamples), (bytes) => {
      const decoded = decodeOrTypedError(() => decodeOmemoKeyExchange(bytes));
      if (decoded !== undefined) expect(encodeOmemoKeyExchange(decoded)).to.deep.equal(bytes);
    }), { numRuns: MUTATION_RUNS });
  });
});
