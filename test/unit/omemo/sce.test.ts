import { expect } from 'chai';
import fc from 'fast-check';
import { utf8ToBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  RPAD_MAX_LENGTH, SCE_NAMESPACE, createSceEnvelope, decodeSceEnvelope, encodeSceEnvelope, parseSceEnvelope, randomRpad,
  serializeSceEnvelope,
} from '../../../omemo/sce.js';
import { parseXml, serializeXml } from '../../../omemo/xml-codec.js';
import { xmlElement } from '../../../omemo/xml-element.js';
import { MUTATION_RUNS, decodeOrTypedError, mutatedBytes } from './wire-mutations.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    return (error as MalformedMessageError).code;
  }
  throw new Error('expected a MalformedMessageError');
}

const BODY = xmlElement('body', { xmlns: 'jabber:client' }, [], 'hello <world> & you');
// XEP-0420 example 1 shape (and what python-omemo's selftest sends), with single quotes.
const EXAMPLE = `<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>Have you seen that new movie?</body></content><rpad>C1DHN9HK-9A25tSmwK4hU!Jji9%GKYK^syIlHJT9TnI4</rpad><time stamp='2004-01-25T06:05:00+01:00'/><to jid='juliet@capulet.lit'/><from jid='romeo@montague.lit'/></envelope>`;
const sce = (inner: string): string => `<envelope xmlns='${SCE_NAMESPACE}'>${inner}</envelope>`;
const parse = (text: string): ReturnType<typeof parseSceEnvelope> => parseSceEnvelope(utf8ToBytes(text));

describe('omemo/sce (XEP-0420 envelopes)', () => {
  it('parses the XEP-0420 example', () => {
    const envelope = parse(EXAMPLE);
    expect(envelope.content).to.deep.equal([xmlElement('body', { xmlns: 'jabber:client' }, [], 'Have you seen that new movie?')]);
    expect(envelope.rpad).to.equal('C1DHN9HK-9A25tSmwK4hU!Jji9%GKYK^syIlHJT9TnI4');
    expect(envelope.time).to.equal('2004-01-25T06:05:00+01:00');
    expect(envelope.to).to.equal('juliet@capulet.lit');
    expect(envelope.from).to.equal('romeo@montague.lit');
  });

  it('creates envelopes with rpad, time, from and to that parse back', () => {
    const element = createSceEnvelope({ content: [BODY], from: 'a@x', to: 'b@y', time: new Date('2026-11-24T10:00:00.123Z') }, deterministicRandom('sce'));
    const envelope = parseSceEnvelope(serializeSceEnvelope(element));
    expect(envelope.content).to.deep.equal([BODY]);
    expect(envelope).to.include({ from: 'a@x', to: 'b@y', time: '2026-11-24T10:00:00.123Z' });
    expect(envelope.rpad).to.be.a('string');
    const noTime = parseSceEnvelope(serializeSceEnvelope(createSceEnvelope({ content: [BODY], from: 'a@x', to: 'b@y' }, deterministicRandom('t'))));
    expect(noTime.time).to.equal(undefined);
  });

  it('rpad has a random length below RPAD_MAX_LENGTH and takes more than one value', () => {
    const random = deterministicRandom('rpad');
    const lengths = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const rpad = randomRpad(random);
      expect(rpad.length).to.be.lessThan(RPAD_MAX_LENGTH);
      expect(rpad).to.match(/^[A-Za-z0-9+/]*$/);
      lengths.add(rpad.length);
    }
    expect(lengths.size).to.be.greaterThan(50);
  });

  it('rejects what XEP-0420 forbids and what is ambiguous', () => {
    expect(code(() => parse(sce('<rpad/>')))).to.equal('omemo.sce.missing-content');
    expect(code(() => parse(sce('<content/><content/>')))).to.equal('omemo.sce.duplicate-element');
    expect(code(() => parse(sce('<content><body>no namespace</body></content>')))).to.equal('omemo.sce.bad-content');
    expect(code(() => parse(sce(`<content><x xmlns='${SCE_NAMESPACE}'/></content>`)))).to.equal('omemo.sce.bad-content');
    expect(code(() => parse(sce('<content/><time stamp="yesterday"/>')))).to.equal('omemo.sce.bad-time');
    expect(code(() => parse(sce('<content/><time stamp="2004-13-25T06:05:00Z"/>')))).to.equal('omemo.sce.bad-time');
    expect(code(() => parse(sce('<content/><time/>')))).to.equal('omemo.sce.bad-affix');
    expect(code(() => parse(sce('<content/><from jid=""/>')))).to.equal('omemo.sce.bad-affix');
    expect(code(() => parse(sce('<content/><to jid="a" x="y"/>')))).to.equal('omemo.sce.bad-affix');
    expect(code(() => parse(sce('<content/><from jid="a">x</from>')))).to.equal('omemo.sce.bad-affix');
    expect(code(() => parse(sce('<content/><rpad><b/></rpad>')))).to.equal('omemo.sce.bad-affix');
    expect(code(() => parse(sce('<content/><unknown/>')))).to.equal('omemo.sce.unexpected-element');
    expect(code(() => parse(sce(`<content/><foo xmlns='urn:other'/>`)))).to.equal('omemo.sce.unexpected-element');
    expect(code(() => parse(`<envelope xmlns='urn:xmpp:sce:0'><content/></envelope>`))).to.equal('omemo.sce.not-envelope');
    expect(code(() => parse(`<envelope xmlns='${SCE_NAMESPACE}' a='b'><content/></envelope>`))).to.equal('omemo.sce.unexpected-attribute');
    expect(code(() => parseSceEnvelope(Uint8Array.of(0x3c, 0xff, 0x3e)))).to.equal('omemo.sce.bad-utf8');
    expect(code(() => parseSceEnvelope(new Uint8Array(200_000)))).to.equal('omemo.sce.oversized');
    expect(code(() => parse(`${sce('<content/>')}<!-- x -->`))).to.equal('omemo.xml.trailing');
    expect(() => encodeSceEnvelope({ content: [xmlElement('body')] })).to.throw(RangeError);
    expect(() => encodeSceEnvelope({ content: [], time: 'now' })).to.throw(RangeError);
  });

  it('accepts long rpads (XEP-0420: longer paddings MUST NOT be rejected)', () => {
    expect(parse(sce(`<content/><rpad>${'x'.repeat(60_000)}</rpad>`)).rpad?.length).to.equal(60_000);
  });

  it('round-trips random envelopes', () => {
    const text = fc.string({ maxLength: 40 }).filter((s) => !/[^\t\n\u0020-\uD7FF\uE000-\uFFFD]/.test(s));
    fc.assert(fc.property(text, fc.option(text, { nil: undefined }), text, text, (body, rpad, from, to) => {
      const envelope = { content: [xmlElement('body', { xmlns: 'jabber:client' }, [], body)], rpad, from: from || undefined, to: to || undefined, time: undefined };
      expect(parseSceEnvelope(serializeSceEnvelope(encodeSceEnvelope(envelope)))).to.deep.equal(envelope);
    }), { numRuns: 1000 });
  });

  it(`${MUTATION_RUNS} random mutations -> typed error or a stable decode`, () => {
    const created = serializeXml(createSceEnvelope({ content: [BODY, xmlElement('x', { xmlns: 'urn:y', a: '1' }, [xmlElement('z')])], from: 'a@x', to: 'b@y', time: new Date(0) }, deterministicRandom('m')));
    const samples = [EXAMPLE, created].map((s) => utf8ToBytes(s));
    fc.assert(fc.property(mutatedBytes(samples), (bytes) => {
      const decoded = decodeOrTypedError(() => parseSceEnvelope(bytes));
      if (decoded !== undefined) expect(decodeSceEnvelope(parseXml(serializeXml(encodeSceEnvelope(decoded))))).to.deep.equal(decoded);
    }), { numRuns: MUTATION_RUNS });
  });
});
