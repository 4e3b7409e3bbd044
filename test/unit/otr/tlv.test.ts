import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { decodeMessageWithTlvs, decodeTlvs, encodeMessageWithTlvs, encodeTlvs, TLV_TYPE, type Tlv } from '../../../otr/tlv.js';

const tlvArb: fc.Arbitrary<Tlv> = fc.record({ type: fc.nat({ max: 0xffff }), value: fc.uint8Array({ maxLength: 40 }) });
const messageArb = fc.uint8Array({ maxLength: 40 }).map((bytes) => bytes.map((b) => (b === 0 ? 1 : b)));

describe('otr/tlv', () => {
  it('has libotr\'s type numbers (tlv.h)', () => {
    expect(TLV_TYPE).to.deep.equal({ padding: 0, disconnected: 1, smp1: 2, smp2: 3, smp3: 4, smp4: 5, smpAbort: 6, smp1WithQuestion: 7, extraSymmetricKey: 8 });
  });

  it('encodes SHORT type, SHORT length, value', () => {
    const bytes = encodeTlvs([{ type: TLV_TYPE.disconnected, value: new Uint8Array(0) }, { type: 0x0102, value: Uint8Array.of(9, 8, 7) }]);
    expect(bytesToHex(bytes)).to.equal('00010000' + '01020003090807');
    expect(decodeTlvs(bytes)).to.deep.equal([{ type: 1, value: new Uint8Array(0) }, { type: 0x0102, value: Uint8Array.of(9, 8, 7) }]);
  });

  it('strict decodeTlvs rejects truncation', () => {
    for (const hex of ['00', '000100', '0001000200', '00010002aa', '000100000002']) {
      expect(() => decodeTlvs(hexToBytes(hex))).to.throw(MalformedMessageError).with.property('code', 'otr.truncated');
    }
    expect(decodeTlvs(new Uint8Array(0))).to.deep.equal([]);
  });

  it('builds the data-message plaintext: message, NUL, TLVs only when there are TLVs', () => {
    expect(bytesToHex(encodeMessageWithTlvs(utf8ToBytes('hi'), []))).to.equal('6869');
    expect(bytesToHex(encodeMessageWithTlvs(utf8ToBytes('hi'), [{ type: 1, value: new Uint8Array(0) }]))).to.equal('68690000010000');
    expect(bytesToHex(encodeMessageWithTlvs(new Uint8Array(0), [{ type: 6, value: new Uint8Array(0) }]))).to.equal('0000060000');
    expect(() => encodeMessageWithTlvs(Uint8Array.of(1, 0, 2), [])).to.throw(TypeError);
  });

  it('splits at the first NUL and parses the TLVs leniently, like otrl_tlv_parse', () => {
    expect(decodeMessageWithTlvs(utf8ToBytes('plain'))).to.deep.equal({ message: utf8ToBytes('plain'), tlvs: [], ignoredTrailingBytes: 0 });
    expect(decodeMessageWithTlvs(hexToBytes('6869000001000000020002aabb'))).to.deep.equal({
      message: utf8ToBytes('hi'),
      tlvs: [{ type: 1, value: new Uint8Array(0) }, { type: 2, value: Uint8Array.of(0xaa, 0xbb) }],
      ignoredTrailingBytes: 0,
    });
    // A truncated trailing TLV, or fewer than 4 leftover bytes, are dropped (libotr tlv.c).
    expect(decodeMessageWithTlvs(hexToBytes('68690000010000000300050102'))).to.deep.equal({
      message: utf8ToBytes('hi'),
      tlvs: [{ type: 1, value: new Uint8Array(0) }],
      ignoredTrailingBytes: 6,
    });
    expect(decodeMessageWithTlvs(hexToBytes('686900000100000003'))).to.deep.equal({
      message: utf8ToBytes('hi'),
      tlvs: [{ type: 1, value: new Uint8Array(0) }],
      ignoredTrailingBytes: 2,
    });
    expect(decodeMessageWithTlvs(hexToBytes('00'))).to.deep.equal({ message: new Uint8Array(0), tlvs: [], ignoredTrailingBytes: 0 });
  });

  it('TLV values do not alias the plaintext (it may be wiped)', () => {
    const plaintext = hexToBytes('0000010002aabb');
    const { tlvs } = decodeMessageWithTlvs(plaintext);
    plaintext.fill(0);
    expect(bytesToHex(tlvs[0]?.value ?? new Uint8Array(0))).to.equal('aabb');
  });

  it('throws RangeError for unencodable TLVs', () => {
    expect(() => encodeTlvs([{ type: 0x10000, value: new Uint8Array(0) }])).to.throw(RangeError);
    expect(() => encodeTlvs([{ type: -1, value: new Uint8Array(0) }])).to.throw(RangeError);
    expect(() => encodeTlvs([{ type: 0, value: new Uint8Array(0x10000) }])).to.throw(RangeError);
    expect(encodeTlvs([{ type: 0xffff, value: new Uint8Array(0xffff) }]).length).to.equal(0xffff + 4);
  });

  it('round-trips TLV lists and message+TLVs (10,000 cases each)', () => {
    fc.assert(
      fc.property(fc.array(tlvArb, { maxLength: 6 }), (tlvs) => {
        expect(decodeTlvs(encodeTlvs(tlvs))).to.deep.equal(tlvs);
      }),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(messageArb, fc.array(tlvArb, { maxLength: 6 }), (message, tlvs) => {
        expect(decodeMessageWithTlvs(encodeMessageWithTlvs(message, tlvs))).to.deep.equal({ message, tlvs, ignoredTrailingBytes: 0 });
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws on arbitrary plaintext; strict decode is consistent with lenient (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        const lenient = decodeMessageWithTlvs(bytes);
        const nul = bytes.indexOf(0);
        expect(lenient.message.length).to.equal(nul < 0 ? bytes.length : nul);
        if (nul < 0) return;
        const after = bytes.subarray(nul + 1);
        // The lenient parse re-encodes to a prefix of what it read.
        const reencoded = encodeTlvs(lenient.tlvs);
        expect(reencoded.length + lenient.ignoredTrailingBytes).to.equal(after.length);
        expect(bytesToHex(reencoded)).to.equal(bytesToHex(after.subarray(0, reencoded.length)));
        if (lenient.ignoredTrailingBytes === 0) expect(decodeTlvs(after)).to.deep.equal(lenient.tlvs);
        else expect(() => decodeTlvs(after)).to.throw(MalformedMessageError);
      }),
      { numRuns: 10_000 },
    );
  });
});
