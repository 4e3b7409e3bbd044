/**
 * Hostile-input properties of everything that handles messages before decryption: the
 * classifier, the encoded-message decoder, fragment parsing and reassembly, TLVs. Every
 * input gives a typed result or a typed error, never a crash, and the reassembler's memory
 * stays within its bounds under floods.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { classifyIncoming, type IncomingMessage } from '../../../otr/classify.js';
import { decodeOtrMessage, encodeOtrMessage } from '../../../otr/encoded-message.js';
import { FragmentReassembler, fragmentMessage, parseFragment, type ParsedFragment } from '../../../otr/fragment.js';
import { OTR_MESSAGE_TYPE } from '../../../otr/message-types.js';
import { buildQueryMessage } from '../../../otr/query.js';
import { decodeMessageWithTlvs, decodeTlvs } from '../../../otr/tlv.js';
import { buildWhitespaceTag } from '../../../otr/whitespace-tag.js';

const KINDS = ['plaintext', 'query', 'error', 'fragment', 'encoded', 'malformed'];

function checkResult(result: IncomingMessage): void {
  expect(KINDS).to.include(result.kind);
  if (result.kind === 'malformed') {
    expect(result.error).to.be.instanceOf(MalformedMessageError);
    expect(result.error.code).to.match(/^otr\./);
  }
  if (result.kind === 'fragment') {
    expect(result.k).to.be.within(0, 65535);
    expect(result.n).to.be.within(0, 65535);
    expect(result.senderInstanceTag).to.be.within(0, 0xffffffff);
    expect(result.piece.length).to.be.greaterThan(0);
    expect(result.piece).to.not.contain(',');
  }
}

const encoded = fc.tuple(
  fc.constantFrom(2 as const, 3 as const),
  fc.constantFrom(...Object.values(OTR_MESSAGE_TYPE)),
  fc.uint8Array({ maxLength: 64 }),
).map(([version, type, body]) => encodeOtrMessage({ version, type, senderInstanceTag: version === 3 ? 0x100 : 0, receiverInstanceTag: 0 }, body));

/** Mutations of real OTR texts: truncation, bit flips, insertions, duplications. */
const mutatedOtrText = fc.tuple(
  fc.oneof(encoded, fc.constant(buildQueryMessage([2, 3], { accountName: 'a@b' })), fc.constant(`hi${buildWhitespaceTag([2, 3])}`), fc.constant('?OTR Error: x'),
    encoded.chain((m) => fc.integer({ min: 40, max: 80 }).map((l) => fragmentMessage(m, { version: 3, maxFragmentLength: l, senderInstanceTag: 0x100 })[0] ?? m))),
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 6 })), { maxLength: 4 }),
).map(([text, mutations]) => {
  let out = text;
  for (const [position, kind, junk] of mutations) {
    const at = position % (out.length + 1);
    if (kind === 0) out = out.slice(0, at);
    else if (kind === 1) out = out.slice(0, at) + String.fromCharCode((out.charCodeAt(at) || 0x41) ^ (1 << (position % 8))) + out.slice(at + 1);
    else if (kind === 2) out = out.slice(0, at) + junk + out.slice(at);
    else out = out.slice(0, at) + out.slice(at, at + 8).repeat(3) + out.slice(at);
  }
  return out;
});

describe('otr plaintext side: hostile input', () => {
  it('classifyIncoming never throws on random text (20,000 cases)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (text) => checkResult(classifyIncoming(text))), { numRuns: 10_000 });
    fc.assert(
      fc.property(fc.string({ maxLength: 120, unit: fc.constantFrom('?', 'O', 'T', 'R', ':', '|', ',', 'v', '2', '3', '0', 'A', '=', '.', ' ', '\t', 'E', 'r') }), (text) =>
        checkResult(classifyIncoming(text)),
      ),
      { numRuns: 10_000 },
    );
  });

  it('classifyIncoming never throws on mutated OTR messages (10,000 cases)', () => {
    fc.assert(fc.property(mutatedOtrText, fc.boolean(), (text, reassembled) => checkResult(classifyIncoming(text, { reassembled }))), { numRuns: 10_000 });
  });

  it('huge inputs are bounded before decoding', () => {
    const huge = `?OTR:${'QUFB'.repeat(2 * 1024 * 1024)}.`;
    const result = classifyIncoming(huge);
    expect(result.kind).to.equal('malformed');
    if (result.kind === 'malformed') expect(result.error.code).to.equal('otr.oversized');
    expect(() => decodeOtrMessage(huge)).to.throw(MalformedMessageError);
    // huge k/n and tags in fragment headers are typed errors, not numbers out of range
    for (const text of ['?OTR|ffffffffff|0,1,1,a,', '?OTR,99999999999,1,a,', '?OTR,1,70000,a,', `?OTR,1,1,${'a'.repeat(100_000)}`]) {
      const r = classifyIncoming(text);
      expect(r.kind, text.slice(0, 40)).to.equal('malformed');
    }
  });

  it('decodeTlvs and decodeMessageWithTlvs on random bytes: typed errors only (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const lenient = decodeMessageWithTlvs(bytes);
        for (const tlv of lenient.tlvs) expect(tlv.value.length).to.be.at.most(0xffff);
        try {
          decodeTlvs(bytes);
        } catch (error) {
          expect(error).to.be.instanceOf(MalformedMessageError);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  describe('FragmentReassembler under floods', () => {
    const fragmentArb: fc.Arbitrary<ParsedFragment> = fc.record({
      version: fc.constantFrom(2 as const, 3 as const),
      senderInstanceTag: fc.constantFrom(0x100, 0x101),
      receiverInstanceTag: fc.constantFrom(0, 0x200),
      k: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(65535), fc.nat({ max: 65535 })),
      n: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(65535), fc.nat({ max: 65535 })),
      piece: fc.string({ minLength: 1, maxLength: 300 }),
    });

    it('random fragment floods: results typed, buffered length never above the limit (10,000 floods)', () => {
      fc.assert(
        fc.property(fc.array(fragmentArb, { maxLength: 30 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 50 }), (flood, maxBufferedLength, maxPieces) => {
          const r = new FragmentReassembler({ maxBufferedLength, maxPieces });
          for (const fragment of flood) {
            const result = r.accept(fragment);
            expect(['incomplete', 'complete', 'discarded']).to.include(result.kind);
            if (result.kind === 'complete') expect(result.message.length).to.be.at.most(maxBufferedLength);
            expect(r.bufferedLength).to.be.at.most(maxBufferedLength);
            expect(r.position.n).to.be.at.most(maxPieces);
          }
        }),
        { numRuns: 10_000 },
      );
    });

    it('a long in-order flood of many pieces stays within the limit and is dropped', () => {
      const r = new FragmentReassembler({ maxBufferedLength: 64 * 1024 });
      const piece = 'A'.repeat(1000);
      let dropped = false;
      for (let k = 1; k <= 9000; k += 1) {
        const result = r.accept({ version: 3, senderInstanceTag: 0x100, receiverInstanceTag: 0, k, n: 9000, piece });
        expect(r.bufferedLength).to.be.at.most(64 * 1024);
        if (result.kind === 'discarded') {
          expect(result.reason).to.equal('too-large');
          dropped = true;
          break;
        }
      }
      expect(dropped).to.equal(true);
      // and n above maxPieces is refused up front
      expect(new FragmentReassembler().accept({ version: 2, senderInstanceTag: 0, receiverInstanceTag: 0, k: 1, n: 65535, piece: 'x' })).to.deep.equal({ kind: 'discarded', reason: 'too-many-pieces' });
    });

    it('interleaved streams from two senders: per-sender reassemblers each complete (2,000 cases)', () => {
      fc.assert(
        fc.property(
          fc.string({ minLength: 80, maxLength: 300, unit: fc.constantFrom('A', 'b', '0', '+', '/', '=') }),
          fc.string({ minLength: 80, maxLength: 300, unit: fc.constantFrom('C', 'd', '9', '+', '/', '=') }),
          fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
          (a, b, order) => {
            const fa = fragmentMessage(`?OTR:${a}.`, { version: 3, maxFragmentLength: 60, senderInstanceTag: 0x100, receiverInstanceTag: 0x300 });
            const fb = fragmentMessage(`?OTR:${b}.`, { version: 3, maxFragmentLength: 60, senderInstanceTag: 0x200, receiverInstanceTag: 0x300 });
            const perSender = new Map<number, FragmentReassembler>();
            const completed: string[] = [];
            let i = 0;
            while (fa.length > 0 || fb.length > 0) {
              const takeA = fb.length === 0 || (fa.length > 0 && (order[i++ % order.length] ?? true));
              const text = (takeA ? fa : fb).shift() ?? '';
              const classified = classifyIncoming(text);
              expect(classified.kind).to.equal('fragment');
              if (classified.kind !== 'fragment') return;
              const reassembler = perSender.get(classified.senderInstanceTag) ?? new FragmentReassembler();
              perSender.set(classified.senderInstanceTag, reassembler);
              const result = reassembler.accept(classified);
              if (result.kind === 'complete') completed.push(result.message);
              expect(result.kind).to.not.equal('discarded');
            }
            expect(completed.sort()).to.deep.equal([`?OTR:${a}.`, `?OTR:${b}.`].sort());
          },
        ),
        { numRuns: 2_000 },
      );
    });

    it('one reassembler fed two interleaved senders never mixes their pieces (5,000 cases)', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3 })), { maxLength: 20 }), (steps) => {
          const r = new FragmentReassembler();
          for (const [first, k] of steps) {
            const sender = first ? 0x100 : 0x200;
            const result = r.accept({ version: 3, senderInstanceTag: sender, receiverInstanceTag: 0, k, n: 3, piece: first ? 'a' : 'b' });
            if (result.kind === 'complete') expect(result.message === 'aaa' || result.message === 'bbb').to.equal(true);
          }
        }),
        { numRuns: 5_000 },
      );
    });

    it('parseFragment on random headers: a fragment or otr.bad-fragment (10,000 cases)', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom('?', 'O', 'T', 'R', '|', ',', '0', '1', '9', 'f', 'x', '-', '+', ' ') }), (tail) => {
          for (const text of [`?OTR|${tail}`, `?OTR,${tail}`]) {
            try {
              const parsed = parseFragment(text);
              expect(parsed.piece.length).to.be.greaterThan(0);
            } catch (error) {
              expect(error).to.be.instanceOf(MalformedMessageError).with.property('code', 'otr.bad-fragment');
            }
          }
        }),
        { numRuns: 10_000 },
      );
    });
  });
});
