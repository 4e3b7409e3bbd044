import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToBase64, bytesToHex, hexToBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  decodeOtrMessage,
  encodeOtrMessage,
  hasValidInstanceTags,
  otrHeaderLength,
  type OtrMessageHeader,
} from '../../../otr/encoded-message.js';
import { OTR_MESSAGE_TYPE, type OtrMessageType } from '../../../otr/message-types.js';

/** The Data Message example of the OTR v3 spec, "Fragmentation" (joined into one line). */
const SPEC_DATA_MESSAGE =
  '?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA1g5IjD1ZGLDVQEyCgCyn9hbrL3KAbGDdzE2ZkMyTKl7XfkSxh8YJnudstiB74i4BzT0W2haClg6dMary/jo' +
  '9sMudwmUdlnKpIGEKXWdvJKT+hQ26h9nzMgEditLB8vjPEWAJ6gBXvZrY6ZQrx3gb4v0UaSMOMiR5sB7Eaulb2Yc6RmRnnlxgUUC2alosg4WIeFN951PLjSc' +
  'ajVba6dqlDi+q1H5tPvI5SWMN7PCBWIJ41+WvF+5IAZzQZYgNaVLbAAAAAAAAAAEAAAAHwNiIi5Ms+4PsY/L2ipkTtquknfx6HodLvk3RAAAAAA==.';

const TYPES = Object.values(OTR_MESSAGE_TYPE);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    return (error as MalformedMessageError).code;
  }
  throw new Error('expected a MalformedMessageError');
}

const headerArb: fc.Arbitrary<OtrMessageHeader> = fc.oneof(
  fc.record({
    version: fc.constant(3 as const),
    type: fc.constantFrom(...TYPES),
    senderInstanceTag: fc.nat({ max: 0xffffffff }),
    receiverInstanceTag: fc.nat({ max: 0xffffffff }),
  }),
  fc.record({
    version: fc.constant(2 as const),
    type: fc.constantFrom(...TYPES),
    senderInstanceTag: fc.constant(0),
    receiverInstanceTag: fc.constant(0),
  }),
);

describe('otr/encoded-message', () => {
  it('encodes a v3 header: SHORT version, BYTE type, INT sender tag, INT receiver tag', () => {
    const text = encodeOtrMessage(
      { version: 3, type: OTR_MESSAGE_TYPE.dhKey, senderInstanceTag: 0x12345678, receiverInstanceTag: 0x100 },
      Uint8Array.of(0xaa, 0xbb),
    );
    expect(text).to.equal(`?OTR:${bytesToBase64(hexToBytes('00030a1234567800000100aabb'))}.`);
  });

  it('encodes a v2 header without instance tags', () => {
    const text = encodeOtrMessage({ version: 2, type: OTR_MESSAGE_TYPE.dhCommit, senderInstanceTag: 0, receiverInstanceTag: 0 }, Uint8Array.of(1));
    expect(text).to.equal(`?OTR:${bytesToBase64(hexToBytes('00020201'))}.`);
    expect(otrHeaderLength(2)).to.equal(3);
    expect(otrHeaderLength(3)).to.equal(11);
  });

  it('decodes the spec\'s example Data Message', () => {
    const decoded = decodeOtrMessage(SPEC_DATA_MESSAGE);
    expect(decoded.version).to.equal(3);
    expect(decoded.type).to.equal(OTR_MESSAGE_TYPE.data);
    expect(decoded.senderInstanceTag).to.equal(0x27e31599);
    expect(decoded.receiverInstanceTag).to.equal(0x27e31597);
    expect(decoded.body.length).to.equal(259 - 11);
    expect(bytesToHex(decoded.body.subarray(0, 5))).to.equal('0000000001');
    expect(encodeOtrMessage(decoded, decoded.body)).to.equal(SPEC_DATA_MESSAGE);
  });

  it('ignores text after the terminating "." like libotr', () => {
    expect(decodeOtrMessage(`${SPEC_DATA_MESSAGE} trailing words`).body.length).to.equal(248);
  });

  it('rejects with typed codes', () => {
    expect(codeOf(() => decodeOtrMessage('hello'))).to.equal('otr.not-encoded');
    expect(codeOf(() => decodeOtrMessage('?OTR:AAMD'))).to.equal('otr.unterminated');
    expect(codeOf(() => decodeOtrMessage('?OTR:AA$D.'))).to.equal('otr.bad-base64');
    expect(codeOf(() => decodeOtrMessage('?OTR:AAM.'))).to.equal('otr.bad-base64'); // missing padding
    expect(codeOf(() => decodeOtrMessage('?OTR:AAM D.'))).to.equal('otr.bad-base64'); // whitespace
    expect(codeOf(() => decodeOtrMessage('?OTR:.'))).to.equal('otr.truncated');
    expect(codeOf(() => decodeOtrMessage('?OTR:AA==.'))).to.equal('otr.truncated');
    expect(codeOf(() => decodeOtrMessage(`?OTR:${bytesToBase64(hexToBytes('000303000001'))}.`))).to.equal('otr.truncated');
    expect(codeOf(() => decodeOtrMessage(`?OTR:${bytesToBase64(hexToBytes('000103'))}.`))).to.equal('otr.unsupported-version');
    expect(codeOf(() => decodeOtrMessage(`?OTR:${bytesToBase64(hexToBytes('000403'))}.`))).to.equal('otr.unsupported-version');
    expect(codeOf(() => decodeOtrMessage(`?OTR:${bytesToBase64(hexToBytes('000304'))}.`))).to.equal('otr.unknown-message-type');
    expect(codeOf(() => decodeOtrMessage(SPEC_DATA_MESSAGE, { maxLength: 100 }))).to.equal('otr.oversized');
  });

  it('bounds the input length before decoding (default 4 MiB)', () => {
    const huge = `?OTR:${'A'.repeat(4 * 1024 * 1024)}.`;
    expect(codeOf(() => decodeOtrMessage(huge))).to.equal('otr.oversized');
  });

  it('throws RangeError for caller bugs', () => {
    const body = new Uint8Array(0);
    expect(() => encodeOtrMessage({ version: 2, type: 3, senderInstanceTag: 0x100, receiverInstanceTag: 0 }, body)).to.throw(RangeError);
    expect(() => encodeOtrMessage({ version: 3, type: 3, senderInstanceTag: 2 ** 32, receiverInstanceTag: 0 }, body)).to.throw(RangeError);
    expect(() => encodeOtrMessage({ version: 4 as 3, type: 3, senderInstanceTag: 0, receiverInstanceTag: 0 }, body)).to.throw(RangeError);
    expect(() => encodeOtrMessage({ version: 3, type: 7 as OtrMessageType, senderInstanceTag: 0, receiverInstanceTag: 0 }, body)).to.throw(RangeError);
  });

  it('checks instance tags per the spec ("Instance Tags")', () => {
    const header = (senderInstanceTag: number, receiverInstanceTag: number): OtrMessageHeader => ({ version: 3, type: 3, senderInstanceTag, receiverInstanceTag });
    expect(hasValidInstanceTags(header(0x100, 0))).to.equal(true);
    expect(hasValidInstanceTags(header(0x100, 0x100))).to.equal(true);
    expect(hasValidInstanceTags(header(0xff, 0x100))).to.equal(false);
    expect(hasValidInstanceTags(header(0x100, 0xff))).to.equal(false);
    expect(hasValidInstanceTags(header(0x100, 1))).to.equal(false);
    expect(hasValidInstanceTags({ version: 2, type: 3, senderInstanceTag: 0, receiverInstanceTag: 0 })).to.equal(true);
  });

  it('round-trips any header and body (10,000 cases)', () => {
    fc.assert(
      fc.property(headerArb, fc.uint8Array({ maxLength: 300 }), (header, body) => {
        const decoded = decodeOtrMessage(encodeOtrMessage(header, body));
        expect(decoded).to.deep.equal({ ...header, body });
      }),
      { numRuns: 10_000 },
    );
  });

  it('turns any mutation into a result or a MalformedMessageError (10,000 cases)', () => {
    const mutated = fc
      .tuple(headerArb, fc.uint8Array({ maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 4 }), fc.string({ maxLength: 8 }))
      .map(([header, body, position, mutation, junk]) => {
        const text = encodeOtrMessage(header, body);
        const at = position % (text.length + 1);
        switch (mutation) {
          case 0: return text.slice(0, at); // truncate
          case 1: return text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ (1 << (position % 7))) + text.slice(at + 1); // flip a bit
          case 2: return text.slice(0, at) + junk + text.slice(at); // insert junk
          case 3: return text.slice(0, at) + text.slice(at + 1); // drop a character
          default: return `?OTR:${junk}.`;
        }
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.string({ maxLength: 200 }).map((s) => `?OTR:${s}`)), (text) => {
        try {
          const decoded = decodeOtrMessage(text);
          expect(decoded.version === 2 || decoded.version === 3).to.equal(true);
          expect(TYPES).to.include(decoded.type);
        } catch (error) {
          expect(error).to.be.instanceOf(MalformedMessageError);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
