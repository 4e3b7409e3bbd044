import { expect } from 'chai';
import fc from 'fast-check';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { parseXml, serializeXml } from '../../../omemo/xml-codec.js';
import { xmlElement, xmlEquals } from '../../../omemo/xml-element.js';
import type { XmlElement } from '../../../omemo/xml-element.js';
import { SAMPLES_03, SAMPLES_2 } from './wire-samples.js';
import { MUTATION_RUNS, decodeOrTypedError, mutatedStrings } from './wire-mutations.js';

function code(input: string, limits?: Parameters<typeof parseXml>[1]): string {
  try {
    parseXml(input, limits);
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    return (error as MalformedMessageError).code;
  }
  throw new Error(`expected rejection of ${input}`);
}

describe('omemo/xml-codec (strict XML subset)', () => {
  it('parses elements, attributes in both quote styles, entities and character references', () => {
    const e = parseXml(`<?xml version='1.0'?>\n<a xmlns="ns" x='1' y="&lt;&amp;&quot;&apos;&#65;&#x42;">\n  <b>t&gt;ext</b><c /></a>\n`);
    expect(e).to.deep.equal(xmlElement('a', { xmlns: 'ns', x: '1', y: `<&"'AB` }, [xmlElement('b', {}, [], 't>ext'), xmlElement('c')]));
  });

  it('parses every python-omemo sample and serializes to an equivalent document', () => {
    for (const s of [SAMPLES_03, SAMPLES_2]) {
      for (const xml of Object.values(s)) {
        const e = parseXml(xml);
        expect(xmlEquals(parseXml(serializeXml(e)), e)).to.equal(true);
      }
    }
  });

  it('rejects DOCTYPE, comments, CDATA, PIs, prefixes, unknown entities, mixed content, duplicates, trailing data', () => {
    expect(code('<!DOCTYPE a [<!ENTITY x "y">]><a/>')).to.equal('omemo.xml.unsupported');
    expect(code('<!-- c --><a/>')).to.equal('omemo.xml.unsupported');
    expect(code('<?xml version="1.0"?><?pi?><a/>')).to.equal('omemo.xml.unsupported');
    expect(code('<a><!-- c --></a>')).to.equal('omemo.xml.unsupported');
    expect(code('<a><![CDATA[x]]></a>')).to.equal('omemo.xml.unsupported');
    expect(code('<a><?pi x?></a>')).to.equal('omemo.xml.unsupported');
    expect(code('<p:a xmlns:p="x"/>')).to.equal('omemo.xml.bad-name');
    expect(code('<a xmlns:p="x"/>')).to.equal('omemo.xml.bad-name');
    expect(code('<a>&nbsp;</a>')).to.equal('omemo.xml.bad-entity');
    expect(code('<a>&#0;</a>')).to.equal('omemo.xml.bad-entity');
    expect(code('<a>&#xD800;</a>')).to.equal('omemo.xml.bad-entity');
    expect(code('<a>a & b</a>')).to.equal('omemo.xml.bad-entity');
    expect(code('<a>x<b/></a>')).to.equal('omemo.xml.mixed-content');
    expect(code('<a x="1" x="2"/>')).to.equal('omemo.xml.duplicate-attribute');
    expect(code('<a x="1"y="2"/>')).to.equal('omemo.xml.unexpected');
    expect(code('<a x=1/>')).to.equal('omemo.xml.unexpected');
    expect(code('<a x="<"/>')).to.equal('omemo.xml.bad-char');
    expect(code('<a/><b/>')).to.equal('omemo.xml.trailing');
    expect(code('<a></b>')).to.equal('omemo.xml.mismatched-tag');
    expect(code('<a>')).to.equal('omemo.xml.truncated');
    expect(code('<a x="1')).to.equal('omemo.xml.truncated');
    expect(code('<a>\u0001</a>')).to.equal('omemo.xml.bad-char');
    expect(code('')).to.equal('omemo.xml.unexpected');
    expect(code('<a/>', { maxLength: 3, maxDepth: 4, maxElements: 4 })).to.equal('omemo.xml.oversized');
    expect(code('<a><a><a/></a></a>', { maxLength: 100, maxDepth: 2, maxElements: 10 })).to.equal('omemo.xml.too-deep');
    expect(code('<a><b/><b/><b/></a>', { maxLength: 100, maxDepth: 4, maxElements: 3 })).to.equal('omemo.xml.too-many-elements');
    expect(code('<a>'.repeat(100_000))).to.equal('omemo.xml.oversized');
    expect(code('<a>'.repeat(1000))).to.equal('omemo.xml.too-deep');
  });

  it('serializer escapes everything it must and refuses what it cannot write', () => {
    const e = xmlElement('a', { v: `<&>"'\t\n\r` }, [], `<&>"'`);
    expect(serializeXml(e)).to.equal(`<a v="&lt;&amp;&gt;&quot;'&#9;&#10;&#13;">&lt;&amp;&gt;"'</a>`);
    expect(parseXml(serializeXml(e))).to.deep.equal(e);
    expect(() => serializeXml(xmlElement('a b'))).to.throw(TypeError);
    expect(() => serializeXml(xmlElement('a', { 'x y': '1' }))).to.throw(TypeError);
    expect(() => serializeXml(xmlElement('a', {}, [], '\u0000'))).to.throw(TypeError);
    expect(() => xmlElement('a', {}, [xmlElement('b')], 'text')).to.throw(TypeError);
    expect(xmlElement('a', { x: undefined, y: '1' }).attrs).to.deep.equal({ y: '1' });
  });

  const nameArb = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9._-]{0,8}$/);
  const textArb = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !/[^\t\n\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(s));
  const leafArb = fc.tuple(nameArb, fc.dictionary(nameArb, textArb, { maxKeys: 3 }), textArb)
    .map(([name, attrs, text]) => xmlElement(name, attrs, [], text));
  const elementArb: fc.Arbitrary<XmlElement> = fc.letrec<{ el: XmlElement }>((tie) => ({
    el: fc.oneof({ maxDepth: 4 }, leafArb, fc.tuple(nameArb, fc.dictionary(nameArb, textArb, { maxKeys: 3 }), fc.array(tie('el'), { minLength: 1, maxLength: 3 }))
      .map(([name, attrs, children]) => xmlElement(name, attrs, children))),
  })).el;

  it('round-trips random element trees exactly', () => {
    fc.assert(fc.property(elementArb, (e) => {
      // Whitespace-only text next to nothing else survives; parse(serialize(e)) must equal e.
      expect(parseXml(serializeXml(e))).to.deep.equal(e);
    }), { numRuns: 2000 });
  });

  it(`${MUTATION_RUNS} random mutations of real stanzas -> typed error or a parse that re-serializes stably`, () => {
    const samples = [SAMPLES_03.kex, SAMPLES_03.devicelist, SAMPLES_2.kex, SAMPLES_2.empty, SAMPLES_2.devicelist, `<a x="&amp;&#65;">&lt;</a>`];
    fc.assert(fc.property(mutatedStrings(samples), (text) => {
      const parsed = decodeOrTypedError(() => parseXml(text));
      if (parsed !== undefined) expect(xmlEquals(parseXml(serializeXml(parsed)), parsed)).to.equal(true);
    }), { numRuns: MUTATION_RUNS });
  });
});
