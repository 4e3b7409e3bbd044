import { expect } from 'chai';
import fc from 'fast-check';
import {
  buildWhitespaceTag,
  findWhitespaceTag,
  WHITESPACE_TAG_BASE,
  WHITESPACE_TAG_V1,
  WHITESPACE_TAG_V2,
  WHITESPACE_TAG_V3,
} from '../../../otr/whitespace-tag.js';
import type { OtrVersion } from '../../../otr/message-types.js';

const bytes = (text: string): string => Buffer.from(text, 'latin1').toString('hex');

describe('otr/whitespace-tag', () => {
  it('has the spec\'s bytes', () => {
    expect(bytes(WHITESPACE_TAG_BASE)).to.equal('2009202009090909' + '2009200920092020');
    expect(bytes(WHITESPACE_TAG_V1)).to.equal('2009200920200920');
    expect(bytes(WHITESPACE_TAG_V2)).to.equal('2020090920200920');
    expect(bytes(WHITESPACE_TAG_V3)).to.equal('2020090920200909');
  });

  it('builds base + v2 + v3 tags', () => {
    expect(buildWhitespaceTag([3, 2])).to.equal(WHITESPACE_TAG_BASE + WHITESPACE_TAG_V2 + WHITESPACE_TAG_V3);
    expect(buildWhitespaceTag([3])).to.equal(WHITESPACE_TAG_BASE + WHITESPACE_TAG_V3);
    expect(() => buildWhitespaceTag([])).to.throw(RangeError);
    expect(() => buildWhitespaceTag([1 as OtrVersion])).to.throw(RangeError);
  });

  it('detects and strips a tag anywhere', () => {
    const match = findWhitespaceTag(`Hello${buildWhitespaceTag([2, 3])} world`);
    expect(match).to.not.equal(undefined);
    expect([...(match?.versions ?? [])].sort()).to.deep.equal([2, 3]);
    expect(match?.start).to.equal(5);
    expect(match?.end).to.equal(5 + 32);
    expect(match?.strippedText).to.equal('Hello world');
    expect(findWhitespaceTag('Hello world')).to.equal(undefined);
  });

  it('skips unknown 8-character groups and stops at the first non-whitespace group (libotr)', () => {
    const unknown = '\t\t\t\t\t\t\t\t';
    const match = findWhitespaceTag(`a${WHITESPACE_TAG_BASE}${WHITESPACE_TAG_V1}${unknown}${WHITESPACE_TAG_V3}   xb`);
    expect([...(match?.versions ?? [])].sort()).to.deep.equal([1, 3]);
    expect(match?.strippedText).to.equal('a   xb');
    const baseOnly = findWhitespaceTag(`${WHITESPACE_TAG_BASE}text`);
    expect(baseOnly?.versions.size).to.equal(0);
    expect(baseOnly?.strippedText).to.equal('text');
  });

  it('round-trips and never throws (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.subarray([2, 3] as OtrVersion[], { minLength: 1 }), fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (versions, before, after) => {
        fc.pre(!before.includes(WHITESPACE_TAG_BASE) && !/^[ \t]/.test(after) && !/[ \t]$/.test(before));
        const match = findWhitespaceTag(before + buildWhitespaceTag(versions) + after);
        expect([...(match?.versions ?? [])].sort()).to.deep.equal([...versions].sort());
        expect(match?.strippedText).to.equal(before + after);
      }),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: fc.constantFrom(' ', '\t', 'a') }), (text) => {
        const match = findWhitespaceTag(text);
        if (match === undefined) return;
        expect(match.strippedText.length).to.equal(text.length - (match.end - match.start));
        expect((match.end - match.start - 16) % 8).to.equal(0);
      }),
      { numRuns: 10_000 },
    );
  });
});
