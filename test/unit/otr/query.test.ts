import { expect } from 'chai';
import fc from 'fast-check';
import { buildQueryMessage, buildQueryVersionString, LIBOTR_QUERY_EXPLANATION, parseQueryVersions, selectOtrVersion } from '../../../otr/query.js';
import type { OtrVersion } from '../../../otr/message-types.js';

const versionsOf = (text: string): number[] | undefined => {
  const set = parseQueryVersions(text);
  return set === undefined ? undefined : [...set].sort();
};

describe('otr/query', () => {
  it('builds the version string as libotr does', () => {
    expect(buildQueryVersionString([2, 3])).to.equal('?OTRv23?');
    expect(buildQueryVersionString([3, 2])).to.equal('?OTRv23?');
    expect(buildQueryVersionString([3])).to.equal('?OTRv3?');
    expect(buildQueryVersionString([2])).to.equal('?OTRv2?');
    expect(() => buildQueryVersionString([])).to.throw(RangeError);
    expect(() => buildQueryVersionString([1 as OtrVersion])).to.throw(RangeError);
  });

  it('adds libotr\'s explanatory text with the account name', () => {
    expect(buildQueryMessage([3])).to.equal('?OTRv3?');
    const text = buildQueryMessage([2, 3], { accountName: 'alice@example.org' });
    expect(text).to.equal(`?OTRv23?\n${LIBOTR_QUERY_EXPLANATION.replace('%s', 'alice@example.org')}`);
    expect(text).to.contain('<b>alice@example.org</b> has requested an <a href="https://otr.cypherpunks.ca/">Off-the-Record private conversation</a>.');
    expect(buildQueryMessage([3], { accountName: 'a@b/<x>&"' })).to.contain('<b>a@b/&lt;x&gt;&amp;&quot;</b>');
    expect(buildQueryMessage([3], { accountName: '$&' })).to.contain('<b>$&amp;</b>');
  });

  it('parses every variant from the spec', () => {
    expect(versionsOf('?OTR?')).to.deep.equal([1]);
    expect(versionsOf('?OTRv2?')).to.deep.equal([2]);
    expect(versionsOf('?OTRv23?')).to.deep.equal([2, 3]);
    expect(versionsOf('?OTRv32?')).to.deep.equal([2, 3]);
    expect(versionsOf('?OTR?v2?')).to.deep.equal([1, 2]);
    expect(versionsOf('?OTRv24x?')).to.deep.equal([2]);
    expect(versionsOf('?OTR?v24x?')).to.deep.equal([1, 2]);
    expect(versionsOf('?OTR?v?')).to.deep.equal([1]);
    expect(versionsOf('?OTRv?')).to.deep.equal([]);
    expect(versionsOf('?OTRv3')).to.deep.equal([3]); // unterminated: libotr reads to the end
    expect(versionsOf('?OTRv2?3?')).to.deep.equal([2]); // the list stops at the first "?"
  });

  it('finds the query anywhere, but only at the first "?OTR"', () => {
    expect(versionsOf('Hi there ?OTRv3?\n<b>bob</b> has requested...')).to.deep.equal([3]);
    expect(versionsOf('?OTR:AAMD. then ?OTRv3?')).to.equal(undefined);
    expect(versionsOf('no query')).to.equal(undefined);
    expect(versionsOf('?OTR Error: x')).to.equal(undefined);
  });

  it('selects the highest common version, never 1', () => {
    expect(selectOtrVersion(new Set([1, 2, 3]), new Set([2, 3]))).to.equal(3);
    expect(selectOtrVersion(new Set([1, 2, 3]), new Set([2]))).to.equal(2);
    expect(selectOtrVersion(new Set([2]), new Set([3]))).to.equal(undefined);
    expect(selectOtrVersion(new Set([1]), new Set([2, 3]))).to.equal(undefined);
  });

  it('round-trips version sets and never throws on junk (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.subarray([2, 3] as OtrVersion[], { minLength: 1 }), fc.option(fc.string({ maxLength: 30 })), fc.string({ maxLength: 20 }), (versions, accountName, prefix) => {
        fc.pre(!prefix.includes('?OTR') && !prefix.endsWith('?OT') && !prefix.endsWith('?O') && !prefix.endsWith('?'));
        const text = prefix + buildQueryMessage(versions, accountName === null ? {} : { accountName });
        expect(versionsOf(text)).to.deep.equal([...versions].sort());
      }),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom('?', 'O', 'T', 'R', 'v', '1', '2', '3', '4', 'x', ' ') }), (text) => {
        const versions = parseQueryVersions(text);
        if (versions !== undefined) for (const v of versions) expect([1, 2, 3]).to.include(v);
      }),
      { numRuns: 10_000 },
    );
  });
});
