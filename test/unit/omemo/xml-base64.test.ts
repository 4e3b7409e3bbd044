import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToBase64 } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { parseBase64 } from '../../../omemo/versions/xml-fields.js';
import { xmlElement } from '../../../omemo/xml-element.js';
import { MUTATION_RUNS, decodeOrTypedError, mutatedStrings } from './wire-mutations.js';

const parse = (text: string, length?: number): Uint8Array => parseBase64(xmlElement('key', {}, [], text), 'key', length);

describe('omemo/versions/xml-fields parseBase64 (xs:base64Binary, canonical)', () => {
  it('accepts canonical base64 with optional XML whitespace, nothing else', () => {
    expect(parse('AAEC')).to.deep.equal(Uint8Array.of(0, 1, 2));
    expect(parse(' AA\nE\tC\r ')).to.deep.equal(Uint8Array.of(0, 1, 2));
    expect(parse('AA==')).to.deep.equal(Uint8Array.of(0));
    for (const bad of ['', ' ', 'AB==', 'AAB=', 'AA', 'AA=', 'A===', 'AA==AA==', 'AA-_', 'AA\u00a0EC', '====']) {
      expect(() => parse(bad), JSON.stringify(bad)).to.throw(MalformedMessageError);
    }
    expect(() => parse('AAEC', 4)).to.throw(MalformedMessageError);
    expect(() => parseBase64(xmlElement('key', {}, [xmlElement('x')]), 'key')).to.throw(MalformedMessageError);
  });

  it('round-trips random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }).filter((b) => b.length > 0), (bytes) => {
      expect(parse(bytesToBase64(bytes), bytes.length)).to.deep.equal(bytes);
    }), { numRuns: 1000 });
  });

  it(`${MUTATION_RUNS} random mutations -> typed error or the one canonical spelling`, () => {
    const samples = ['BQjygjoOpK+BTPWLCPLtVP2YnXm+ZNFXWCumhHKGK7hz', 'AA==', 'AAE=', '/+/+', 'MwhAEiEF1jn3WqYoEZFF2RKQypS03cdJABC6q3u7rmx3'];
    fc.assert(fc.property(mutatedStrings(samples), (text) => {
      const bytes = decodeOrTypedError(() => parse(text));
      if (bytes !== undefined) expect(bytesToBase64(bytes)).to.equal(text.replace(/[ \t\r\n]/g, ''));
    }), { numRuns: MUTATION_RUNS });
  });
});
