/**
 * Hostile `<encrypted>` input to the manager's decrypt path, both versions: >= 10,000 mutated
 * messages per version (XML text, key bytes, attributes, payload, random data). Every one must
 * be rejected with a typed ProtocolError (or, for an unchanged copy of an already decrypted
 * key exchange, decrypt as a duplicate), the store must be byte-for-byte unchanged, and the
 * sessions must keep working both ways afterwards.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { base64ToBytes, bytesToBase64 } from '../../../lib/core/bytes.js';
import { ProtocolError } from '../../../lib/core/errors.js';
import type { OmemoVersion } from '../../../omemo/fingerprint.js';
import { parseXml, serializeXml } from '../../../omemo/xml-codec.js';
import type { XmlElement } from '../../../omemo/xml-element.js';
import { ALICE, BOB, deliverAll, device, learn, plain, snapshot, text } from './manager-helpers.js';

const RUNS = 10_000;

function mapElement(element: XmlElement, name: string, f: (e: XmlElement) => XmlElement): XmlElement {
  const mapped = element.name === name ? f(element) : element;
  return { ...mapped, children: mapped.children.map((c) => mapElement(c, name, f)) };
}

const byteMutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), index: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant('replace' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant('set' as const), index: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

type ByteMutation = typeof byteMutation extends fc.Arbitrary<infer T> ? T : never;

function mutateBytes(bytes: Uint8Array, m: ByteMutation): Uint8Array {
  switch (m.kind) {
    case 'flip': {
      if (bytes.length === 0) return Uint8Array.of(1 << m.bit);
      const out = Uint8Array.from(bytes);
      out[m.index % out.length] = (out[m.index % out.length] as number) ^ (1 << m.bit);
      return out;
    }
    case 'truncate':
      return bytes.slice(0, bytes.length === 0 ? 0 : m.index % bytes.length);
    case 'append':
      return Uint8Array.from([...bytes, ...m.extra]);
    case 'replace':
      return m.bytes;
    case 'set': {
      if (bytes.length === 0) return Uint8Array.of(m.value);
      const out = Uint8Array.from(bytes);
      out[m.index % out.length] = m.value;
      return out;
    }
  }
}

const mutation = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('key-bytes' as const), which: fc.nat(), m: byteMutation }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('payload-bytes' as const), element: fc.constantFrom('payload', 'iv'), m: byteMutation }) },
  { weight: 2, arbitrary: fc.record({
    kind: fc.constant('attribute' as const),
    element: fc.constantFrom('header', 'key', 'keys', 'encrypted'),
    name: fc.constantFrom('sid', 'rid', 'prekey', 'kex', 'jid', 'xmlns', 'extra'),
    value: fc.oneof(fc.constantFrom('true', 'false', '1', '0', '', '2147483648', '-1', 'urn:xmpp:omemo:2', 'eu.siacs.conversations.axolotl', 'bob@b.example', 'alice@a.example'), fc.string({ maxLength: 12 }), fc.nat().map(String)),
  }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('text' as const), index: fc.nat(), remove: fc.integer({ min: 0, max: 20 }), insert: fc.string({ maxLength: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), s: fc.string({ maxLength: 400 }) }) },
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function apply(xml: string, m: Mutation): string {
  switch (m.kind) {
    case 'text': {
      const i = m.index % (xml.length + 1);
      return xml.slice(0, i) + m.insert + xml.slice(i + m.remove);
    }
    case 'random':
      return m.s;
    case 'key-bytes': {
      let n = 0;
      const keys = (e: XmlElement): number => (e.name === 'key' ? 1 : 0) + e.children.reduce((s, c) => s + keys(c), 0);
      const root = parseXml(xml);
      const target = m.which % Math.max(1, keys(root));
      return serializeXml(mapElement(root, 'key', (e) => (n++ === target ? { ...e, text: bytesToBase64(mutateBytes(base64ToBytes(e.text) as Uint8Array, m.m)) } : e)));
    }
    case 'payload-bytes':
      return serializeXml(mapElement(parseXml(xml), m.element, (e) => ({ ...e, text: bytesToBase64(mutateBytes(base64ToBytes(e.text) as Uint8Array, m.m)) })));
    case 'attribute':
      return serializeXml(mapElement(parseXml(xml), m.element, (e) => ({ ...e, attrs: { ...e.attrs, [m.name]: m.value } })));
  }
}

for (const version of ['0.3', '2'] as const satisfies readonly OmemoVersion[]) {
  describe(`OmemoSessionManager decrypt fuzz (${version})`, function () {
    this.timeout(120_000);

    it(`${RUNS} mutated <encrypted> messages: typed errors only, store unchanged, sessions intact`, async () => {
      const a = (await device(ALICE, `fz-a-${version}`)).manager;
      const bDevice = await device(BOB, `fz-b-${version}`);
      const b = bDevice.manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      const kex = await a.encrypt(version, [BOB], text('key exchange'));
      await deliverAll([a, b], b, (await b.decrypt(ALICE, kex.element)).toSend);
      const normal = await a.encrypt(version, [BOB], text('normal'));
      await b.decrypt(ALICE, normal.element);
      const pending = await a.encrypt(version, [BOB], text('pending'));
      const bases = [serializeXml(kex.element), serializeXml(normal.element), serializeXml(pending.element)];
      const before = await snapshot(bDevice.store);
      let rejected = 0;
      let duplicates = 0;
      await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 1 }), mutation, async (baseIndex, m) => {
        let input: string;
        try {
          input = apply(bases[baseIndex] as string, m);
        } catch {
          return; // the mutation itself could not be built (e.g. unparsable base after an edit)
        }
        try {
          const r = await b.decrypt(ALICE, input);
          // Only an unchanged key-exchange copy (or an equivalent spelling of it) may decrypt.
          expect(r.duplicate, 'a mutated message decrypted').to.equal(true);
          expect(plain(r)).to.equal('key exchange');
          duplicates++;
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          rejected++;
        }
      }), { numRuns: RUNS, seed: version === '0.3' ? 3 : 2 });
      expect(rejected + duplicates).to.be.greaterThan(RUNS * 0.9);
      const after = await snapshot(bDevice.store);
      expect(after).to.deep.equal(before);
      expect(b.drainOutgoing()).to.deep.equal([]);
      // The sessions still work: the message held back decrypts, and both directions go on.
      expect(plain(await b.decrypt(ALICE, pending.element))).to.equal('pending');
      expect(plain(await a.decrypt(BOB, (await b.encrypt(version, [ALICE], text('reply'))).element))).to.equal('reply');
      expect(plain(await b.decrypt(ALICE, (await a.encrypt(version, [BOB], text('again'))).element))).to.equal('again');
    });
  });
}

describe('OmemoSessionManager processBundle fuzz', () => {
  it('mutated bundles (both versions): typed errors or a verified bundle, nothing else', async () => {
    const a = (await device(ALICE, 'fzb-a')).manager;
    const b = (await device(BOB, 'fzb-b')).manager;
    const bases = { '0.3': serializeXml(b.bundleElement('0.3')), '2': serializeXml(b.bundleElement('2')) } as const;
    let accepted = 0;
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('0.3' as const, '2' as const),
      fc.oneof(
        fc.record({ kind: fc.constant('text' as const), index: fc.nat(), remove: fc.integer({ min: 0, max: 20 }), insert: fc.string({ maxLength: 20 }) }),
        fc.record({ kind: fc.constant('bytes' as const), element: fc.constantFrom('signedPreKeyPublic', 'signedPreKeySignature', 'identityKey', 'preKeyPublic', 'spk', 'spks', 'ik', 'pk'), m: byteMutation }),
        fc.record({ kind: fc.constant('random' as const), s: fc.string({ maxLength: 300 }) }),
      ),
      async (version, m) => {
        let input: XmlElement;
        try {
          const xml = m.kind === 'random' ? m.s : m.kind === 'text'
            ? bases[version].slice(0, m.index % bases[version].length) + m.insert + bases[version].slice((m.index % bases[version].length) + m.remove)
            : serializeXml(mapElement(parseXml(bases[version]), m.element, (e) => ({ ...e, text: bytesToBase64(mutateBytes(base64ToBytes(e.text) as Uint8Array, m.m)) })));
          input = parseXml(xml);
        } catch {
          return;
        }
        try {
          await a.processBundle(version, BOB, b.deviceId, input);
          accepted++;
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
        }
      },
    ), { numRuns: 3000, seed: 5 });
    // Whatever was accepted verified; a session built from the stored bundle works.
    await learn('2', a, [b]);
    await learn('2', b, [a]);
    expect(plain(await b.decrypt(ALICE, (await a.encrypt('2', [BOB], text('after bundle fuzz'))).element))).to.equal('after bundle fuzz');
    expect(accepted).to.be.greaterThan(0);
  });
});
