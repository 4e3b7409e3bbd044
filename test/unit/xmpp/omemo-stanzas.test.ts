/**
 * The OMEMO stanza layer: element model conversion (bounded), carbons accepted only from our
 * own account (XEP-0280 section 11), version selection, PEP requests and events, the message
 * hygiene, XEP-0115 caps.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { xml } from '@xmpp/xml';
import {
  buildOmemoMessage, capsVer, configureRequest, discoFeatures, isPreconditionNotMet, publishRequest, readIncomingOmemo, readPepEvent,
  replaceFallbackBody, toLtx, toXmlElement, OMEMO_FALLBACK_BODY,
} from '../../../lib/xmpp/omemo-stanzas.js';
import { parseXml, serializeXml } from '../../../omemo/xml-codec.js';
import { parseStanza } from './loopback.js';

const OWN = 'alice@example.org';
const enc03 = (): ReturnType<typeof xml> => xml('encrypted', { xmlns: 'eu.siacs.conversations.axolotl' }, xml('header', { sid: '1' }, xml('iv', {}, 'AAAA')));

function carbon(kind: 'sent' | 'received', outerFrom: string, inner: ReturnType<typeof xml>): ReturnType<typeof xml> {
  return xml('message', { from: outerFrom, to: `${OWN}/desk`, type: 'chat' },
    xml(kind, { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, inner)));
}

describe('xmpp: OMEMO stanzas', () => {
  it('converts elements both ways without changing the serialization (whitespace between children dropped)', () => {
    const text = "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='7'><keys jid='b@x'><key rid='9' kex='true'>AQID</key></keys></header><payload>BAUG</payload></encrypted>";
    const model = parseXml(text);
    const ltx = toLtx(model);
    expect(toXmlElement(ltx)).to.deep.equal(model);
    const parsed = parseStanza(`<message>${text.replace(/></g, '>\n  <')}</message>`).getChild('encrypted', 'urn:xmpp:omemo:2');
    expect(serializeXml(toXmlElement(parsed as NonNullable<typeof parsed>))).to.equal(serializeXml(model));
  });

  it('refuses to convert hostile nesting (bounded)', () => {
    let el = xml('a');
    for (let i = 0; i < 40; i++) el = xml('a', {}, el);
    expect(() => toXmlElement(el)).to.throw(RangeError);
  });

  it('reads direct messages and carbons from our own account; a carbon from anyone else is ignored as a forgery', () => {
    const direct = readIncomingOmemo(xml('message', { from: 'bob@example.org/pc', to: `${OWN}/desk`, type: 'chat', id: 'x' }, enc03()), OWN);
    expect(direct).to.include({ senderJid: 'bob@example.org', toJid: OWN, carbon: undefined, version: '0.3', id: 'x' });
    const inner = xml('message', { from: `${OWN}/phone`, to: 'bob@example.org', type: 'chat' }, enc03());
    const sent = readIncomingOmemo(carbon('sent', OWN, inner), OWN);
    expect(sent).to.include({ senderJid: OWN, toJid: 'bob@example.org', carbon: 'sent' });
    expect(readIncomingOmemo(carbon('sent', 'mallory@example.org', inner), OWN)).to.equal(undefined);
    expect(readIncomingOmemo(carbon('received', 'bob@example.org', inner), OWN)).to.equal(undefined);
    expect(readIncomingOmemo(xml('message', { from: 'room@muc/bob', type: 'groupchat' }, enc03()), OWN)).to.equal(undefined);
    expect(readIncomingOmemo(xml('message', { from: 'bob@example.org', type: 'error' }, enc03()), OWN)).to.equal(undefined);
    expect(readIncomingOmemo(xml('message', { from: 'bob@example.org', type: 'chat' }, xml('body', {}, 'hi')), OWN)).to.equal(undefined);
  });

  it('prefers omemo:2 when a stanza carries both versions', () => {
    const both = xml('message', { from: 'bob@example.org/pc', type: 'chat' }, enc03(), xml('encrypted', { xmlns: 'urn:xmpp:omemo:2' }));
    expect(readIncomingOmemo(both, OWN)?.version).to.equal('2');
  });

  it('never throws on arbitrary message shapes', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('sent', 'received', 'forwarded', 'message', 'encrypted', 'body'), { maxLength: 6 }), fc.option(fc.string()), (names, from) => {
      let el = xml(names[0] ?? 'x', { xmlns: 'urn:xmpp:carbons:2' });
      for (const n of names.slice(1)) el = xml(n, { xmlns: n === 'forwarded' ? 'urn:xmpp:forward:0' : n === 'encrypted' ? 'urn:xmpp:omemo:2' : 'urn:xmpp:carbons:2' }, el);
      const message = xml('message', from === null ? {} : { from }, el);
      readIncomingOmemo(message, OWN);
    }));
  });

  it('builds the message with EME, the store hint and the fallback body; empty messages have no body', () => {
    const m = buildOmemoMessage('bob@example.org', 'id1', '2', parseXml("<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/></encrypted>"));
    expect(m.attrs).to.include({ to: 'bob@example.org', type: 'chat', id: 'id1' });
    expect(m.getChild('encryption', 'urn:xmpp:eme:0')?.attrs).to.include({ name: 'OMEMO', namespace: 'urn:xmpp:omemo:2' });
    expect(m.getChild('store', 'urn:xmpp:hints')).to.not.equal(undefined);
    expect(m.getChildText('body')).to.equal(OMEMO_FALLBACK_BODY);
    expect(buildOmemoMessage('b@x', 'i', '0.3', parseXml("<encrypted xmlns='eu.siacs.conversations.axolotl'/>"), false).getChild('body')).to.equal(undefined);
    replaceFallbackBody(m, 'plain');
    expect(m.getChildText('body')).to.equal('plain');
  });

  it('publishes with open access (and max items for the omemo:2 bundles node); reconfigures with the same options', () => {
    const fields = (el: ReturnType<typeof xml>): Record<string, string> => Object.fromEntries(
      (el.getChildren('field')).map((f) => [f.attrs.var as string, f.getChildText('value') as string]));
    const p = publishRequest('urn:xmpp:omemo:2:bundles', '42', xml('bundle'));
    expect(p.getChild('publish')?.getChild('item')?.attrs.id).to.equal('42');
    expect(fields(p.getChild('publish-options')?.getChild('x') as ReturnType<typeof xml>)).to.include({ 'pubsub#access_model': 'open', 'pubsub#max_items': 'max' });
    const c = configureRequest('eu.siacs.conversations.axolotl.devicelist');
    const f = fields(c.getChild('configure')?.getChild('x') as ReturnType<typeof xml>);
    expect(f).to.deep.equal({ FORM_TYPE: 'http://jabber.org/protocol/pubsub#node_config', 'pubsub#access_model': 'open' });
  });

  it('recognizes precondition-not-met only with the pubsub#errors element', () => {
    const element = xml('error', { type: 'cancel' }, xml('conflict', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }), xml('precondition-not-met', { xmlns: 'http://jabber.org/protocol/pubsub#errors' }));
    expect(isPreconditionNotMet({ condition: 'conflict', element })).to.equal(true);
    expect(isPreconditionNotMet({ condition: 'conflict', element: xml('error', {}, xml('conflict', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })) })).to.equal(false);
    expect(isPreconditionNotMet(new Error('x'))).to.equal(false);
  });

  it('reads PEP events (the publisher is the bare from; none means our own account)', () => {
    const ev = readPepEvent(xml('message', { from: 'bob@example.org', type: 'headline' },
      xml('event', { xmlns: 'http://jabber.org/protocol/pubsub#event' }, xml('items', { node: 'urn:xmpp:omemo:2:devices' }, xml('item', { id: 'current' })))));
    expect(ev).to.include({ from: 'bob@example.org', node: 'urn:xmpp:omemo:2:devices' });
    expect(readPepEvent(xml('message', {}, xml('event', { xmlns: 'http://jabber.org/protocol/pubsub#event' }, xml('items', { node: 'n' }))))?.from).to.equal('');
    expect(readPepEvent(xml('message', { from: 'b@x' }, xml('body', {}, 'x')))).to.equal(undefined);
  });

  it('advertises the +notify features; the caps hash follows XEP-0115 section 5.1', () => {
    const features = discoFeatures();
    expect(features).to.include.members(['eu.siacs.conversations.axolotl.devicelist+notify', 'urn:xmpp:omemo:2:devices+notify', 'http://jabber.org/protocol/caps']);
    // XEP-0115 section 5.2's example (Exodus 0.9.1).
    const exodus = ['http://jabber.org/protocol/caps', 'http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'http://jabber.org/protocol/muc'];
    expect(capsVer(exodus, { category: 'client', type: 'pc', name: 'Exodus 0.9.1' })).to.equal('QgayPKawpkPSDYmwT/WM94uAlu0=');
    expect(capsVer([...features].reverse())).to.equal(capsVer(features));
  });
});

