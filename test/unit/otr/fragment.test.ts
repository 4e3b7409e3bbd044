import { expect } from 'chai';
import fc from 'fast-check';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  FragmentReassembler,
  fragmentDestination,
  fragmentMessage,
  parseFragment,
  V2_FRAGMENT_OVERHEAD,
  V3_FRAGMENT_OVERHEAD,
  type FragmentResult,
  type ParsedFragment,
} from '../../../otr/fragment.js';

/** The spec's example fragments ("Fragmentation"), joined into single lines. */
const SPEC_FRAGMENTS = [
  '?OTR|5a73a599|27e31597,00001,00003,?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA1g5IjD1ZGLDVQEyCgCyn9hbrL3KAbGDdzE2ZkMyTKl7XfkSxh8YJnudstiB74i4BzT0W2haClg6dMary/jo9sMudwmUdlnKpIGEKXWdvJKT+hQ26h9nzMgEditLB8v,',
  '?OTR|5a73a599|27e31597,00002,00003,jPEWAJ6gBXvZrY6ZQrx3gb4v0UaSMOMiR5sB7Eaulb2Yc6RmRnnlxgUUC2alosg4WIeFN951PLjScajVba6dqlDi+q1H5tPvI5SWMN7PCBWIJ41+WvF+5IAZzQZYgNaVLbAAAAAAAAAAEAAAAHwNiIi5Ms+4PsY/L2i,',
  '?OTR|5a73a599|27e31597,00003,00003,pkTtquknfx6HodLvk3RAAAAAA==.,',
];

const base64Message = (length: number): string => `?OTR:${'A'.repeat(Math.max(0, length - 6))}.`;
const fragmentOf = (over: Partial<ParsedFragment>): ParsedFragment => ({ version: 3, senderInstanceTag: 0x100, receiverInstanceTag: 0x200, k: 1, n: 1, piece: 'x', ...over });

describe('otr/fragment', () => {
  describe('fragmentMessage', () => {
    it('writes libotr\'s v3 format: %08x tags, %05hu k and n', () => {
      const fragments = fragmentMessage('?OTR:AAMDabcdefghijklmnopqrstuvwxyz0123456789.', { version: 3, maxFragmentLength: V3_FRAGMENT_OVERHEAD + 8, senderInstanceTag: 0x100, receiverInstanceTag: 0x12345678 });
      expect(fragments).to.deep.equal([
        '?OTR|00000100|12345678,00001,00006,?OTR:AAM,',
        '?OTR|00000100|12345678,00002,00006,Dabcdefg,',
        '?OTR|00000100|12345678,00003,00006,hijklmno,',
        '?OTR|00000100|12345678,00004,00006,pqrstuvw,',
        '?OTR|00000100|12345678,00005,00006,xyz01234,',
        '?OTR|00000100|12345678,00006,00006,56789.,',
      ]);
      for (const f of fragments) expect(f.length).to.be.at.most(V3_FRAGMENT_OVERHEAD + 8);
    });

    it('writes libotr\'s v2 format without tags', () => {
      expect(fragmentMessage('?OTR:AAIDxyz0123456789abcdef.', { version: 2, maxFragmentLength: V2_FRAGMENT_OVERHEAD + 7 })).to.deep.equal([
        '?OTR,00001,00005,?OTR:AA,',
        '?OTR,00002,00005,IDxyz01,',
        '?OTR,00003,00005,2345678,',
        '?OTR,00004,00005,9abcdef,',
        '?OTR,00005,00005,.,',
      ]);
    });

    it('leaves a message that fits unchanged, even one with commas', () => {
      expect(fragmentMessage('?OTRv3?\nHowever, hi', { version: 3, maxFragmentLength: 100 })).to.deep.equal(['?OTRv3?\nHowever, hi']);
    });

    it('throws for caller bugs', () => {
      expect(() => fragmentMessage(base64Message(100), { version: 3, maxFragmentLength: V3_FRAGMENT_OVERHEAD })).to.throw(RangeError);
      expect(() => fragmentMessage(base64Message(70000), { version: 2, maxFragmentLength: V2_FRAGMENT_OVERHEAD + 1 })).to.throw(RangeError);
      expect(() => fragmentMessage('?OTR:a,b.'.repeat(10), { version: 2, maxFragmentLength: 30 })).to.throw(TypeError);
      expect(() => fragmentMessage('?OTR:é.'.repeat(10), { version: 2, maxFragmentLength: 30 })).to.throw(TypeError);
      expect(() => fragmentMessage(base64Message(100), { version: 3, maxFragmentLength: 50, senderInstanceTag: -1 })).to.throw(RangeError);
    });

    it('allows exactly 65535 fragments', () => {
      const fragments = fragmentMessage('A'.repeat(65535), { version: 2, maxFragmentLength: V2_FRAGMENT_OVERHEAD + 1 });
      expect(fragments.length).to.equal(65535);
      expect(fragments[65534]).to.equal('?OTR,65535,65535,A,');
    });
  });

  describe('parseFragment', () => {
    it('parses the spec\'s example', () => {
      const parsed = SPEC_FRAGMENTS.map(parseFragment);
      expect(parsed[0]).to.include({ version: 3, senderInstanceTag: 0x5a73a599, receiverInstanceTag: 0x27e31597, k: 1, n: 3 });
      expect(parsed[2]?.piece).to.equal('pkTtquknfx6HodLvk3RAAAAAA==.');
    });

    it('accepts leading zeros, short numbers, text around the fragment', () => {
      expect(parseFragment('?OTR|100|0,1,2,ab,')).to.deep.equal({ version: 3, senderInstanceTag: 0x100, receiverInstanceTag: 0, k: 1, n: 2, piece: 'ab' });
      expect(parseFragment('<p>?OTR,0000002,02,ab,</p>')).to.deep.equal({ version: 2, senderInstanceTag: 0, receiverInstanceTag: 0, k: 2, n: 2, piece: 'ab' });
    });

    it('rejects malformed headers with otr.bad-fragment', () => {
      for (const text of ['?OTR|100|0,1,2,,', '?OTR|100|0,1,2,ab', '?OTR|100,1,2,ab,', '?OTR|123456789|0,1,2,ab,', '?OTR,1,65536,ab,', '?OTR,+1,2,ab,', '?OTR, 1,2,ab,', '?OTR|0x100|0,1,2,a,', '?OTR,1,2,', 'no marker']) {
        expect(() => parseFragment(text), text).to.throw(MalformedMessageError).with.property('code', 'otr.bad-fragment');
      }
    });

    it('prefers "?OTR|" anywhere over "?OTR,"', () => {
      expect(parseFragment('?OTR,1,2,a, ?OTR|100|0,1,1,b,')).to.include({ version: 3, piece: 'b' });
    });
  });

  describe('fragmentDestination', () => {
    it('routes by the spec\'s instance tag rules', () => {
      expect(fragmentDestination(fragmentOf({ receiverInstanceTag: 0x200 }), 0x200)).to.equal('ours');
      expect(fragmentDestination(fragmentOf({ receiverInstanceTag: 0 }), 0x200)).to.equal('ours');
      expect(fragmentDestination(fragmentOf({ receiverInstanceTag: 0x300 }), 0x200)).to.equal('other-instance');
      expect(fragmentDestination(fragmentOf({ senderInstanceTag: 0xff, receiverInstanceTag: 0 }), 0x200)).to.equal('invalid-sender');
      expect(fragmentDestination(fragmentOf({ version: 2, senderInstanceTag: 0, receiverInstanceTag: 0 }), 0x200)).to.equal('ours');
    });
  });

  describe('FragmentReassembler', () => {
    it('reassembles the spec\'s example', () => {
      const reassembler = new FragmentReassembler();
      const results = SPEC_FRAGMENTS.map((f) => reassembler.accept(parseFragment(f)));
      expect(results[0]).to.deep.equal({ kind: 'incomplete' });
      expect(results[1]).to.deep.equal({ kind: 'incomplete' });
      expect(results[2]?.kind).to.equal('complete');
      expect((results[2] as { message: string }).message).to.match(/^\?OTR:AAMDJ\+MV.*AAAAAA==\.$/);
      expect(reassembler.bufferedLength).to.equal(0);
    });

    it('follows the spec\'s rules', () => {
      const r = new FragmentReassembler();
      expect(r.accept(fragmentOf({ k: 1, n: 1, piece: 'whole' }))).to.deep.equal({ kind: 'complete', message: 'whole' });
      expect(r.accept(fragmentOf({ k: 1, n: 3, piece: 'a' }))).to.deep.equal({ kind: 'incomplete' });
      // illegal fragments are ignored without touching what is stored (spec, libotr)
      expect(r.accept(fragmentOf({ k: 0, n: 3 }))).to.deep.equal({ kind: 'discarded', reason: 'illegal' });
      expect(r.accept(fragmentOf({ k: 4, n: 3 }))).to.deep.equal({ kind: 'discarded', reason: 'illegal' });
      expect(r.accept(fragmentOf({ k: 1, n: 0 }))).to.deep.equal({ kind: 'discarded', reason: 'illegal' });
      expect(r.position).to.deep.equal({ k: 1, n: 3 });
      expect(r.accept(fragmentOf({ k: 2, n: 3, piece: 'b' }))).to.deep.equal({ kind: 'incomplete' });
      // a repeated fragment forgets everything
      expect(r.accept(fragmentOf({ k: 2, n: 3, piece: 'b' }))).to.deep.equal({ kind: 'discarded', reason: 'out-of-order' });
      expect(r.position).to.deep.equal({ k: 0, n: 0 });
      expect(r.accept(fragmentOf({ k: 3, n: 3, piece: 'c' }))).to.deep.equal({ kind: 'discarded', reason: 'out-of-order' });
      // k == 1 starts over
      r.accept(fragmentOf({ k: 1, n: 2, piece: 'x' }));
      expect(r.accept(fragmentOf({ k: 1, n: 2, piece: 'y' }))).to.deep.equal({ kind: 'incomplete' });
      expect(r.accept(fragmentOf({ k: 2, n: 2, piece: 'z' }))).to.deep.equal({ kind: 'complete', message: 'yz' });
      // a different n forgets everything
      r.accept(fragmentOf({ k: 1, n: 3, piece: 'x' }));
      expect(r.accept(fragmentOf({ k: 2, n: 4, piece: 'y' }))).to.deep.equal({ kind: 'discarded', reason: 'out-of-order' });
      // a different sender or version in the middle of a message forgets everything
      r.accept(fragmentOf({ k: 1, n: 2, piece: 'x' }));
      expect(r.accept(fragmentOf({ k: 2, n: 2, senderInstanceTag: 0x101 }))).to.deep.equal({ kind: 'discarded', reason: 'out-of-order' });
      r.accept(fragmentOf({ k: 1, n: 2, piece: 'x' }));
      r.reset();
      expect(r.accept(fragmentOf({ k: 2, n: 2 }))).to.deep.equal({ kind: 'discarded', reason: 'out-of-order' });
    });

    it('bounds memory', () => {
      const r = new FragmentReassembler({ maxBufferedLength: 10, maxPieces: 4 });
      expect(r.accept(fragmentOf({ k: 1, n: 5, piece: 'a' }))).to.deep.equal({ kind: 'discarded', reason: 'too-many-pieces' });
      expect(r.accept(fragmentOf({ k: 1, n: 3, piece: '12345678901' }))).to.deep.equal({ kind: 'discarded', reason: 'too-large' });
      r.accept(fragmentOf({ k: 1, n: 3, piece: '123456' }));
      expect(r.bufferedLength).to.equal(6);
      expect(r.accept(fragmentOf({ k: 2, n: 3, piece: '12345' }))).to.deep.equal({ kind: 'discarded', reason: 'too-large' });
      expect(r.bufferedLength).to.equal(0);
      r.accept(fragmentOf({ k: 1, n: 2, piece: '123456' }));
      expect(r.accept(fragmentOf({ k: 2, n: 2, piece: '1234' }))).to.deep.equal({ kind: 'complete', message: '1234561234' });
      expect(() => new FragmentReassembler({ maxPieces: 70000 })).to.throw(RangeError);
      expect(() => new FragmentReassembler({ maxBufferedLength: 0 })).to.throw(RangeError);
    });

    it('round-trips fragmentMessage for both versions (10,000 cases)', () => {
      fc.assert(
        fc.property(
          fc.string({ minLength: 1, maxLength: 400, unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=.?:') }),
          fc.constantFrom(2 as const, 3 as const),
          fc.integer({ min: 1, max: 120 }),
          fc.integer({ min: 0x100, max: 0xffffffff }),
          fc.nat({ max: 0xffffffff }),
          (message, version, room, senderInstanceTag, receiverInstanceTag) => {
            const maxFragmentLength = (version === 3 ? V3_FRAGMENT_OVERHEAD : V2_FRAGMENT_OVERHEAD) + room;
            const fragments = fragmentMessage(message, { version, maxFragmentLength, senderInstanceTag, receiverInstanceTag });
            if (message.length <= maxFragmentLength) {
              expect(fragments).to.deep.equal([message]);
              return;
            }
            const r = new FragmentReassembler();
            let last: FragmentResult | undefined;
            for (const fragment of fragments) {
              expect(fragment.length).to.be.at.most(maxFragmentLength);
              const parsed = parseFragment(fragment);
              expect(parsed.version).to.equal(version);
              if (version === 3) expect(parsed).to.include({ senderInstanceTag, receiverInstanceTag });
              last = r.accept(parsed);
            }
            expect(last).to.deep.equal({ kind: 'complete', message });
          },
        ),
        { numRuns: 10_000 },
      );
    });
  });
});
