import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  VERSION_BYTE, decodePreKeySignalMessage, decodeSignalMessage, encodePreKeySignalMessage, encodeSignalMessage,
  encodeSignalMessageBody,
} from '../../../omemo/versions/v03/protobuf.js';
import { SAMPLES_03, sampleKeys } from './wire-samples.js';
import { MUTATION_RUNS, decodeOrTypedError, mutatedBytes } from './wire-mutations.js';

const KEY_A = new Uint8Array(32).fill(1);
const KEY_B = new Uint8Array(32).fill(2);
const MAC = hexToBytes('0102030405060708');

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    return (error as MalformedMessageError).code;
  }
  throw new Error('expected a MalformedMessageError');
}

function signal(counter = 1, previousCounter = 0, ciphertext = hexToBytes('aabb')): Uint8Array {
  return encodeSignalMessage(encodeSignalMessageBody({ ratchetKey: KEY_A, counter, previousCounter, ciphertext }), MAC);
}

describe('omemo/versions/v03/protobuf', () => {
  it('encodes a SignalMessage like libsignal: 0x33 || {1 ratchetKey(0x05||key), 2 counter, 3 previousCounter, 4 ciphertext} || MAC(8)', () => {
    expect(bytesToHex(signal(1, 0))).to.equal(
      `33` + `0a21` + `05${'01'.repeat(32)}` + `1001` + `1800` + `2202aabb` + `0102030405060708`);
    // multi-byte varints
    expect(bytesToHex(signal(300, 0xffffffff, new Uint8Array(0))).slice(2 + 70, 2 + 70 + 22)).to.equal('10ac0218ffffffff0f2200');
  });

  it('encodes a PreKeySignalMessage in field-number order, registrationId only when given', () => {
    const inner = signal();
    const withoutRegistration = encodePreKeySignalMessage({ preKeyId: 64, signedPreKeyId: 1, baseKey: KEY_B, identityKey: KEY_A, message: inner });
    expect(bytesToHex(withoutRegistration)).to.equal(
      `33` + `0840` + `1221` + `05${'02'.repeat(32)}` + `1a21` + `05${'01'.repeat(32)}` + `22${inner.length.toString(16)}${bytesToHex(inner)}` + `3001`);
    const withRegistration = encodePreKeySignalMessage({ registrationId: 5, preKeyId: 64, signedPreKeyId: 1, baseKey: KEY_B, identityKey: KEY_A, message: inner });
    expect(bytesToHex(withRegistration).endsWith('28053001')).to.equal(true);
    expect(decodePreKeySignalMessage(withRegistration).registrationId).to.equal(5);
    expect(decodePreKeySignalMessage(withoutRegistration).registrationId).to.equal(undefined);
  });

  it('decodes python-oldmemo messages and re-encodes them to identical bytes', () => {
    let kex = 0;
    let plain = 0;
    for (const xml of [SAMPLES_03.kex, SAMPLES_03.empty, SAMPLES_03.followup]) {
      for (const { data, kex: isKex } of sampleKeys(xml)) {
        let inner = data;
        if (isKex) {
          kex++;
          const pre = decodePreKeySignalMessage(data);
          expect(encodePreKeySignalMessage(pre)).to.deep.equal(data);
          inner = pre.message;
        } else plain++;
        const decoded = decodeSignalMessage(inner);
        expect(decoded.versionedBody[0]).to.equal(VERSION_BYTE);
        expect(decoded.mac.length).to.equal(8);
        expect(encodeSignalMessage(encodeSignalMessageBody(decoded.message), decoded.mac)).to.deep.equal(inner);
      }
    }
    expect(kex).to.be.greaterThan(0);
    expect(plain).to.be.greaterThan(0);
  });

  it('rejects wrong version bytes, unknown/duplicate/out-of-order/missing fields, bad keys and bad varints', () => {
    const good = signal();
    const body = good.subarray(1, good.length - 8);
    const wrap = (protobuf: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(0x33), protobuf, MAC);
    expect(code(() => decodeSignalMessage(concatBytes(Uint8Array.of(0x32), good.subarray(1))))).to.equal('omemo.v03.bad-version');
    expect(code(() => decodeSignalMessage(new Uint8Array(5)))).to.equal('omemo.v03.truncated');
    expect(code(() => decodeSignalMessage(new Uint8Array(5000).fill(0x33)))).to.equal('omemo.v03.oversized');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body, hexToBytes('2801')))))).to.equal('omemo.protobuf.unknown-field');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body, hexToBytes('2200')))))).to.equal('omemo.protobuf.duplicate-field');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(hexToBytes('1001'), body.subarray(0, 35), body.subarray(37)))))).to.equal('omemo.protobuf.field-order');
    expect(code(() => decodeSignalMessage(wrap(body.subarray(0, 35 + 2 + 2))))).to.equal('omemo.protobuf.missing-field');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(hexToBytes('0a20'), KEY_A, body.subarray(35)))))).to.equal('omemo.bad-public-key');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(hexToBytes('0a2106'), KEY_A, body.subarray(35)))))).to.equal('omemo.bad-public-key');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body.subarray(0, 35), hexToBytes('1081'))))))
      .to.be.oneOf(['omemo.protobuf.truncated', 'omemo.protobuf.non-canonical']);
    expect(code(() => decodeSignalMessage(concatBytes(Uint8Array.of(0x33), body.subarray(0, 35), hexToBytes('10ff'))))).to.equal('omemo.protobuf.truncated');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body.subarray(0, 35), hexToBytes('108100'), body.subarray(37)))))).to.equal('omemo.protobuf.non-canonical');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body.subarray(0, 35), hexToBytes('10ffffffff1f'), body.subarray(37)))))).to.equal('omemo.protobuf.varint-overflow');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body.subarray(0, 35), hexToBytes('1280'), body.subarray(37)))))).to.be.oneOf(['omemo.protobuf.wire-type']);
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body.subarray(0, 35), hexToBytes('1d01020304'), body.subarray(37)))))).to.equal('omemo.protobuf.wire-type');
    expect(code(() => decodeSignalMessage(wrap(concatBytes(body.subarray(0, 35 + 4), hexToBytes('2205aabb')))))).to.equal('omemo.protobuf.truncated');
    // PreKeySignalMessage: required preKeyId/signedPreKeyId, valid inner message
    const pre = encodePreKeySignalMessage({ preKeyId: 1, signedPreKeyId: 2, baseKey: KEY_B, identityKey: KEY_A, message: good });
    expect(code(() => decodePreKeySignalMessage(pre.subarray(0, pre.length - 2)))).to.equal('omemo.protobuf.missing-field');
    expect(code(() => decodePreKeySignalMessage(concatBytes(Uint8Array.of(0x33), pre.subarray(3))))).to.equal('omemo.protobuf.missing-field');
    const badInner = encodePreKeySignalMessage({ preKeyId: 1, signedPreKeyId: 2, baseKey: KEY_B, identityKey: KEY_A, message: hexToBytes('3400000000000000000000') });
    expect(code(() => decodePreKeySignalMessage(badInner))).to.equal('omemo.v03.bad-version');
    expect(code(() => decodePreKeySignalMessage(new Uint8Array(0)))).to.equal('omemo.v03.truncated');
  });

  it('throws RangeError for caller bugs when encoding', () => {
    expect(() => encodeSignalMessageBody({ ratchetKey: new Uint8Array(33), counter: 0, previousCounter: 0, ciphertext: new Uint8Array(0) })).to.throw(RangeError);
    expect(() => encodeSignalMessageBody({ ratchetKey: KEY_A, counter: -1, previousCounter: 0, ciphertext: new Uint8Array(0) })).to.throw(RangeError);
    expect(() => encodeSignalMessageBody({ ratchetKey: KEY_A, counter: 2 ** 32, previousCounter: 0, ciphertext: new Uint8Array(0) })).to.throw(RangeError);
    expect(() => encodeSignalMessage(new Uint8Array(3), new Uint8Array(7))).to.throw(RangeError);
    expect(() => encodePreKeySignalMessage({ preKeyId: 1.5, signedPreKeyId: 0, baseKey: KEY_A, identityKey: KEY_A, message: good() })).to.throw(RangeError);
    function good(): Uint8Array {
      return signal();
    }
  });

  it('round-trips random messages', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), u32, u32, fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.option(u32, { nil: undefined }), u32, u32,
      (key, counter, previousCounter, ciphertext, mac, registrationId, preKeyId, signedPreKeyId) => {
        const body = encodeSignalMessageBody({ ratchetKey: key, counter, previousCounter, ciphertext });
        const wire = encodeSignalMessage(body, mac);
        const decoded = decodeSignalMessage(wire);
        expect(decoded.message).to.deep.equal({ ratchetKey: key, counter, previousCounter, ciphertext });
        expect(decoded.versionedBody).to.deep.equal(body);
        const pre = { registrationId, preKeyId, signedPreKeyId, baseKey: key, identityKey: key, message: wire };
        expect(decodePreKeySignalMessage(encodePreKeySignalMessage(pre))).to.deep.equal(pre);
      }), { numRuns: 500 });
  });

  const signalSamples = [signal(), signal(70000, 3, new Uint8Array(48)), ...sampleKeys(SAMPLES_03.empty).map((k) => k.data)];
  const preKeySamples = sampleKeys(SAMPLES_03.kex).map((k) => k.data);

  it(`SignalMessage: ${MUTATION_RUNS} random mutations -> typed error or a canonical message`, () => {
    fc.assert(fc.property(mutatedBytes(signalSamples), (bytes) => {
      const decoded = decodeOrTypedError(() => decodeSignalMessage(bytes));
      if (decoded !== undefined) expect(encodeSignalMessage(encodeSignalMessageBody(decoded.message), decoded.mac)).to.deep.equal(bytes);
    }), { numRuns: MUTATION_RUNS });
  });

  it(`PreKeySignalMessage: ${MUTATION_RUNS} random mutations -> typed error or a canonical message`, () => {
    fc.assert(fc.property(mutatedBytes(preKeySamples), (bytes) => {
      const decoded = decodeOrTypedError(() => decodePreKeySignalMessage(bytes));
      if (decoded !== undefined) expect(encodePreKeySignalMessage(decoded)).to.deep.equal(bytes);
    }), { numRuns: MUTATION_RUNS });
  });
});
