/** Stanza builders and readers (XEP-0364 body, XEP-0380, XEP-0334, XEP-0280), queues and the outbox. */
import { expect } from 'chai';
import { xml, type Element } from '@xmpp/xml';
import { bareJid, buildChatMessage, isFullJid, normalizeJid, readIncomingChat, replaceBody } from '../../../lib/xmpp/otr-stanzas.js';
import { Outbox } from '../../../lib/xmpp/outbox.js';
import { PeerQueue } from '../../../lib/xmpp/peer-queue.js';
import { parseStanza } from './loopback.js';

describe('xmpp/otr-stanzas', () => {
  it('an OTR body gets EME, the three XEP-0334 hints and carbons-private; plaintext gets none unless noStore', () => {
    const otr = buildChatMessage('bob@example.org/phone', '?OTR:AAMD.', { id: 'x1' }).toString();
    expect(otr).to.equal(
      '<message to="bob@example.org/phone" type="chat" id="x1"><body>?OTR:AAMD.</body>' +
        '<encryption xmlns="urn:xmpp:eme:0" namespace="urn:xmpp:otr:0" name="OTR"/>' +
        '<no-store xmlns="urn:xmpp:hints"/><no-permanent-store xmlns="urn:xmpp:hints"/><no-copy xmlns="urn:xmpp:hints"/>' +
        '<private xmlns="urn:xmpp:carbons:2"/></message>',
    );
    expect(buildChatMessage('bob@example.org', 'hi <b>&', { id: 'x2' }).toString()).to.equal(
      '<message to="bob@example.org" type="chat" id="x2"><body>hi &lt;b&gt;&amp;</body></message>',
    );
    const ephemeral = buildChatMessage('bob@example.org', 'hi', { id: 'x3', noStore: true }).toString();
    expect(ephemeral).to.include('<no-store xmlns="urn:xmpp:hints"/>').and.not.include('urn:xmpp:eme:0');
    expect(() => buildChatMessage('', 'x', { id: 'a' })).to.throw(TypeError);
    expect(() => buildChatMessage('a@b', 'x', { id: '' })).to.throw(TypeError);
  });

  it('reads chat bodies, bounces and leaves everything else alone', () => {
    const read = (s: string): ReturnType<typeof readIncomingChat> => readIncomingChat(parseStanza(s));
    expect(read("<message from='a@b/c' id='1'><body>x</body></message>")).to.deep.equal({ kind: 'chat', from: 'a@b/c', body: 'x', id: '1', delayed: false });
    expect(read("<message from='a@b/c' type='chat'><body>x</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>")).to.include({ delayed: true });
    expect(read("<message from='a@b/c' type='groupchat'><body>x</body></message>").kind).to.equal('other');
    expect(read("<message type='chat'><body>x</body></message>").kind).to.equal('other');
    expect(read("<message from='a@b/c' type='chat'><thread>t</thread></message>").kind).to.equal('other');
    expect(read("<presence from='a@b/c'/>").kind).to.equal('other');
    expect(read("<message from='a@b/c' type='error' id='9'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>")).to.deep.equal({
      kind: 'bounce', from: 'a@b/c', id: '9', condition: 'item-not-found',
    });
  });

  it('replaces the body (and drops alternative bodies)', () => {
    const stanza = parseStanza("<message from='a@b/c'><body>?OTR:x.</body><body xml:lang='de'>y</body></message>");
    replaceBody(stanza, 'plain');
    expect(stanza.getChildren('body').map((b: Element) => b.text())).to.deep.equal(['plain']);
  });

  it('JIDs: bare part case-folded, resource kept', () => {
    expect(bareJid('Bob@Example.ORG/Phone')).to.equal('bob@example.org');
    expect(normalizeJid('Bob@Example.ORG/Phone')).to.equal('bob@example.org/Phone');
    expect(isFullJid('bob@example.org/x')).to.equal(true);
    expect(isFullJid('bob@example.org')).to.equal(false);
    expect(isFullJid('bob@example.org/')).to.equal(false);
  });
});

describe('xmpp/peer-queue', () => {
  it('runs one key in order, keys independently, survives a failing task', async () => {
    const queue = new PeerQueue();
    const order: string[] = [];
    const slow = (label: string, ms: number) => () => new Promise<void>((r) => setTimeout(() => (order.push(label), r()), ms));
    const a1 = queue.run('a', slow('a1', 30));
    const a2 = queue.run('a', () => {
      throw new Error('boom');
    });
    const a3 = queue.run('a', slow('a3', 1));
    const b1 = queue.run('b', slow('b1', 1));
    await Promise.allSettled([a1, a2, a3, b1]);
    expect(order).to.deep.equal(['b1', 'a1', 'a3']);
    expect(await a2.then(() => 'ok', (e: Error) => e.message)).to.equal('boom');
    await queue.idle();
    expect(queue.busyKeys).to.equal(0);
  });
});

describe('xmpp/outbox', () => {
  it('writes in order while online, keeps stanzas while offline, puts failed ones first', async () => {
    let online = false;
    const written: string[] = [];
    let failNext = false;
    const outbox = new Outbox({
      isOnline: () => online,
      write: async (element) => {
        if (failNext) {
          failNext = false;
          throw new Error('socket gone');
        }
        written.push(element.attrs.id ?? '');
      },
    });
    const el = (id: string): Element => xml('message', { id });
    const m1 = el('m1');
    await outbox.push(m1);
    await outbox.push(el('m2'));
    expect(written).to.deep.equal([]);
    expect(outbox.size).to.equal(2);
    online = true;
    failNext = true;
    await outbox.flush(); // the first write fails: nothing lost
    expect(written).to.deep.equal([]);
    await outbox.flush();
    expect(written).to.deep.equal(['m1', 'm2']);
    // Stream management gives up on m1 (unacknowledged) and on a stanza that is not ours.
    online = false;
    expect(outbox.requeueFailed(m1)).to.equal(true);
    expect(outbox.requeueFailed(el('not-ours'))).to.equal(false);
    await outbox.push(el('m3'));
    online = true;
    await outbox.flush();
    expect(written).to.deep.equal(['m1', 'm2', 'm1', 'm3']);
    expect(outbox.size).to.equal(0);
  });
});
