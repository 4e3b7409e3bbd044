/**
 * MAM catch-up (XEP-0313) of the OMEMO plugin through a real Prosody 0.12 (pep, mam, carbons;
 * the second suite adds mod_offline): a device that was offline while a contact started a
 * session (first contact: key exchange) in OMEMO 0.3 and omemo:2 catches up from the archive,
 * each message exactly once and in order, the prekey of each version consumed once; it then
 * answers and the contact decrypts. A second catch-up (also after a restart, also replaying
 * the whole archive) brings nothing new and no error. A second device of an account reads its
 * own sent message from the archive. With offline storage also delivering, nothing is shown
 * twice. Assertions are on the stanzas the server really sent.
 */
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOmemo, until, type OmemoClient } from './omemo-xmpp/omemo-clients.js';
import { MemoryStore } from '../../lib/core/store/store.js';
import { MamError } from '../../lib/xmpp/mam.js';
import { parseStanza } from '../unit/xmpp/loopback.js';

const NS_MAM = 'urn:xmpp:mam:2';

/** The MAM result messages the server sent a connection (parsed from the raw log). */
function mamResults(client: OmemoClient): ReturnType<typeof parseStanza>[] {
  return client.raw.filter((r) => r.includes(NS_MAM)).map(parseStanza).filter((s) => s.getChild('result', NS_MAM) !== undefined);
}

/** Whether a MAM result holds a message from alice. */
function fromAlice(result: ReturnType<typeof parseStanza>): boolean {
  return result.getChild('result', NS_MAM)?.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message')?.attrs.from?.startsWith('alice@localhost/') === true;
}

/** A round trip on the connection: everything it sent before was processed by the server. */
async function ping(client: OmemoClient): Promise<void> {
  await client.xmpp.iqCaller.get(xml('ping', { xmlns: 'urn:xmpp:ping' }), 'localhost');
}

describe('interop: OMEMO MAM catch-up over Prosody (pep, mam, carbons)', function () {
  this.timeout(90_000);
  const prosody = useProsody({ accounts: ['alice', 'bob', 'carol', 'dave', 'erin'], modules: ['pep', 'mam', 'carbons'] });
  const open: OmemoClient[] = [];

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.stop()));
  });

  async function connect(user: string, resource: string, store = new MemoryStore(), options: Parameters<typeof connectOmemo>[3] = {}): Promise<OmemoClient> {
    const c = await connectOmemo(prosody.server, prosody.server.account(user), resource, { store, ...options });
    open.push(c);
    return c;
  }

  async function disconnect(client: OmemoClient): Promise<void> {
    open.splice(open.indexOf(client), 1);
    await client.stop();
  }

  it('after being offline: first-contact messages in 0.3 and omemo:2 arrive once each, in order, one prekey used per version; the reply decrypts; catching up again brings nothing new', async () => {
    const bobStore = new MemoryStore();
    const bobFirst = await connect('bob', 'pc', bobStore);
    const bobDevice = bobFirst.omemo.deviceId;
    await disconnect(bobFirst);

    const alice = await connect('alice', 'desk');
    const plan = [['0.3', 'one'], ['0.3', 'two'], ['2', 'three'], ['2', 'four'], ['0.3', 'five'], ['2', 'six']] as const;
    for (const [version, text] of plan) {
      const sent = await alice.omemo.send('bob@localhost', text, { version });
      expect(sent.recipients).to.deep.include({ jid: 'bob@localhost', deviceId: bobDevice, keyExchange: true });
    }
    await ping(alice);

    const bob = await connect('bob', 'pc', bobStore, { mam: { auto: true, pageSize: 4 } });
    expect(bob.omemo.deviceId).to.equal(bobDevice);
    const result = await bob.omemo.caughtUp();
    expect(result).to.include({ messages: 6, duplicates: 0, errors: 0, complete: true });
    expect(bob.messages.map((m) => [m.version, m.text])).to.deep.equal(plan.map(([v, t]) => [v, t]));
    for (const m of bob.messages) {
      expect(m).to.include({ from: 'alice@localhost', to: 'bob@localhost', peer: 'alice@localhost', senderDeviceId: alice.omemo.deviceId, keyExchange: true, carbon: undefined });
      expect(m.archived?.archiveId).to.be.a('string');
      expect(Date.parse(m.archived?.stamp ?? '')).to.be.closeTo(Date.now(), 120_000);
    }
    expect(new Set(bob.messages.map((m) => m.archived?.archiveId)).size).to.equal(6);
    // One prekey per version, though every message carried the key exchange.
    const used = bob.managerEvents.filter((e) => e.kind === 'pre-key-used');
    expect(used.map((e) => e.kind === 'pre-key-used' && e.version).sort()).to.deep.equal(['0.3', '2']);
    expect(bob.errors).to.deep.equal([]);

    // On the wire: six archived OMEMO messages came as MAM results (page size 4: two pages), ciphertext only.
    const results = mamResults(bob);
    const withOmemo = results.filter((r) => r.toString().includes('<encrypted') && fromAlice(r));
    expect(withOmemo).to.have.length(6);
    for (const r of withOmemo) {
      expect(r.attrs.from === undefined || r.attrs.from === 'bob@localhost').to.equal(true);
      expect(r.getChild('result', NS_MAM)?.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp).to.be.a('string');
      for (const [, text] of plan) expect(r.toString()).to.not.include(`>${text}<`);
    }
    expect(bob.sentIqs.filter((q) => q.includes(NS_MAM)).length).to.be.at.least(2);

    // bob answered each key exchange on his own (key-exchange completion) and now replies; alice decrypts.
    await until(() => ['0.3', '2'].every((v) => alice.empties.some((e) => e.from === 'bob@localhost' && e.version === v)), 'key-exchange completions');
    await bob.omemo.send('alice@localhost', 'back 0.3', { version: '0.3' });
    await bob.omemo.send('alice@localhost', 'back 2', { version: '2' });
    await until(() => alice.messages.length === 2, 'replies');
    expect(alice.messages.map((m) => [m.version, m.text, m.keyExchange])).to.deep.equal([['0.3', 'back 0.3', false], ['2', 'back 2', false]]);

    // Catching up again: only bob's own archived messages are new, nothing to show.
    const again = await bob.omemo.catchUp();
    expect(again).to.include({ messages: 0, errors: 0, complete: true });
    expect(bob.messages).to.have.length(6);

    // After a restart (no memory of what was seen): the persisted cursor still means nothing new.
    await disconnect(bob);
    const bobAgain = await connect('bob', 'pc', bobStore, { mam: { auto: true } });
    expect(await bobAgain.omemo.caughtUp()).to.include({ messages: 0, errors: 0 });
    // Replaying the whole archive: every key-exchange message is recognised, no prekey is used twice, no error.
    const replay = await bobAgain.omemo.catchUp({ since: new Date(Date.now() - 3_600_000) });
    expect(replay).to.include({ messages: 0, errors: 0 });
    expect(replay.duplicates).to.be.at.least(6);
    expect(bobAgain.duplicates.filter((d) => d.from === 'alice@localhost').map((d) => d.reason)).to.deep.equal(Array(6).fill('key-exchange-replay'));
    expect(bobAgain.managerEvents.filter((e) => e.kind === 'pre-key-used')).to.deep.equal([]);
    expect(bobAgain.errors).to.deep.equal([]);
    // The sessions survived all that, both ways.
    await alice.omemo.send('bob@localhost', 'still fine', { version: '0.3' });
    await alice.omemo.send('bob@localhost', 'still fine 2', { version: '2' });
    await until(() => bobAgain.messages.length === 2, 'live messages after the replay');
    expect(bobAgain.messages.map((m) => [m.text, m.archived, m.keyExchange])).to.deep.equal([['still fine', undefined, false], ['still fine 2', undefined, false]]);
    await bobAgain.omemo.send('alice@localhost', 'and back', { version: '2' });
    await until(() => alice.messages.some((m) => m.text === 'and back'), 'reply after the replay');
    await ping(alice);

    // Once more from scratch: the later messages carry no key exchange; their replay is a ratchet duplicate, not an error.
    await disconnect(bobAgain);
    const bobThird = await connect('bob', 'pc', bobStore, { mam: {} });
    const third = await bobThird.omemo.catchUp({ since: new Date(Date.now() - 3_600_000) });
    expect(third).to.include({ messages: 0, errors: 0 });
    const reasons = bobThird.duplicates.filter((d) => d.from === 'alice@localhost').map((d) => d.reason);
    expect(reasons).to.deep.equal([...Array(6).fill('key-exchange-replay'), 'ratchet-duplicate', 'ratchet-duplicate']);
    expect(bobThird.errors).to.deep.equal([]);
    expect(bobThird.messages).to.deep.equal([]);
  });

  it('two contacts picked the same one-time prekey while the device was offline: both key exchanges decrypt, then the prekey is deleted and the bundle republished', async () => {
    // One prekey per version in the bundle: both contacts must pick it.
    const erinStore = new MemoryStore();
    const erinFirst = await connect('erin', 'pc', erinStore, { preKeyCount: 1 });
    const erinDevice = erinFirst.omemo.deviceId;
    const published03 = erinFirst.omemo.manager.bundle('0.3').preKeys.map((p) => p.id);
    const published2 = erinFirst.omemo.manager.bundle('2').preKeys.map((p) => p.id);
    expect(published03).to.have.length(1);
    expect(published2).to.have.length(1);
    await disconnect(erinFirst);
    const alice = await connect('alice', 'same-pk');
    const carol = await connect('carol', 'same-pk');
    for (const version of ['0.3', '2'] as const) {
      await alice.omemo.send('erin@localhost', `alice ${version}`, { version });
      await carol.omemo.send('erin@localhost', `carol ${version}`, { version });
    }
    await ping(alice);
    await ping(carol);
    // On the wire: both key exchanges name the same prekey of erin's device.
    const kexIds = [...alice.sent, ...carol.sent].map(parseStanza).map((m) => m.getChild('encrypted', 'eu.siacs.conversations.axolotl'))
      .filter((e) => e !== undefined).map((e) => e?.getChild('header')?.getChildren('key').find((k) => k.attrs.rid === String(erinDevice))?.attrs.prekey);
    expect(kexIds).to.deep.equal(['true', 'true']);

    const erin = await connect('erin', 'pc', erinStore, { preKeyCount: 1, mam: { auto: true } });
    const published: string[] = [];
    erin.omemo.on('published', (p) => published.push(`${p.version}:${p.what}`));
    const result = await erin.omemo.caughtUp();
    expect(result).to.include({ messages: 4, errors: 0, complete: true });
    expect(erin.messages.map((m) => m.text).sort()).to.deep.equal(['alice 0.3', 'alice 2', 'carol 0.3', 'carol 2']);
    const used = erin.managerEvents.filter((e) => e.kind === 'pre-key-used');
    expect(used.map((e) => (e.kind === 'pre-key-used' ? `${e.version}:${e.preKeyId}` : '')).sort()).to.deep.equal(
      [`0.3:${published03[0]}`, `0.3:${published03[0]}`, `2:${published2[0]}`, `2:${published2[0]}`]);
    // The catch-up is over: the used prekey is gone, the bundle holds a fresh one and went out again.
    expect(erin.omemo.manager.historySync).to.equal(false);
    expect(erin.omemo.manager.deferredPreKeyIds('0.3')).to.deep.equal([]);
    expect(erin.omemo.manager.deferredPreKeyIds('2')).to.deep.equal([]);
    expect(erin.omemo.manager.bundle('0.3').preKeys.map((p) => p.id)).to.have.length(1).and.not.include(published03[0]);
    expect(erin.omemo.manager.bundle('2').preKeys.map((p) => p.id)).to.have.length(1).and.not.include(published2[0]);
    await until(() => published.includes('0.3:bundle') && published.includes('2:bundle'), 'bundles republished');
    const node = await alice.xmpp.iqCaller.get(xml('pubsub', { xmlns: 'http://jabber.org/protocol/pubsub' }, xml('items', { node: `eu.siacs.conversations.axolotl.bundles:${erinDevice}` })), 'erin@localhost');
    const onServer = node.getChild('items')?.getChild('item')?.getChild('bundle')?.getChild('prekeys')?.getChildren('preKeyPublic').map((p) => Number(p.attrs.preKeyId));
    expect(onServer).to.deep.equal(erin.omemo.manager.bundle('0.3').preKeys.map((p) => p.id));
    // Both sessions answer.
    await erin.omemo.send('alice@localhost', 'hi alice', { version: '2' });
    await erin.omemo.send('carol@localhost', 'hi carol', { version: '0.3' });
    await until(() => alice.messages.some((m) => m.text === 'hi alice') && carol.messages.some((m) => m.text === 'hi carol'), 'answers');
  });

  it("a second device catches up its account's own sent message (peer = to) and the contact's answer", async () => {
    const phoneStore = new MemoryStore();
    const davePhone = await connect('dave', 'phone', phoneStore);
    const phoneDevice = davePhone.omemo.deviceId;
    await disconnect(davePhone);

    const carol = await connect('carol', 'laptop');
    const daveDesk = await connect('dave', 'desk');
    for (const version of ['0.3', '2'] as const) {
      const sent = await daveDesk.omemo.send('carol@localhost', `from dave's desk ${version}`, { version });
      expect(sent.recipients.map((r) => `${r.jid}|${r.deviceId}`)).to.include(`dave@localhost|${phoneDevice}`);
    }
    await until(() => carol.messages.length === 2, 'carol reads dave');
    const answer = await carol.omemo.send('dave@localhost', 'answer from carol', { version: '2' });
    expect(answer.recipients.map((r) => r.deviceId)).to.include.members([phoneDevice, daveDesk.omemo.deviceId]);
    await until(() => daveDesk.messages.length === 1, 'dave reads carol');
    await ping(carol);

    const phone = await connect('dave', 'phone', phoneStore, { mam: { auto: true } });
    const result = await phone.omemo.caughtUp();
    expect(result).to.include({ messages: 3, errors: 0, complete: true });
    expect(phone.messages.map((m) => [m.from, m.to, m.peer, m.text, m.version])).to.deep.equal([
      ['dave@localhost', 'carol@localhost', 'carol@localhost', "from dave's desk 0.3", '0.3'],
      ['dave@localhost', 'carol@localhost', 'carol@localhost', "from dave's desk 2", '2'],
      ['carol@localhost', 'dave@localhost', 'carol@localhost', 'answer from carol', '2'],
    ]);
    expect(phone.messages[0]?.senderDeviceId).to.equal(daveDesk.omemo.deviceId);
    expect(phone.messages[2]?.senderDeviceId).to.equal(carol.omemo.deviceId);
    expect(phone.messages.every((m) => m.archived !== undefined && m.carbon === undefined)).to.equal(true);
    // The archived outgoing message as the server sent it: from dave's desk, to carol, inside a MAM result.
    const inner = mamResults(phone).map((r) => r.getChild('result', NS_MAM)?.getChild('forwarded', 'urn:xmpp:forward:0')?.getChild('message'))
      .find((m) => m?.attrs.to === 'carol@localhost' && m.getChild('encrypted', 'urn:xmpp:omemo:2') !== undefined);
    expect(inner?.attrs.from).to.equal('dave@localhost/desk');
    expect(inner?.getChild('origin-id', 'urn:xmpp:sid:0')?.attrs.id).to.be.a('string');
    // The desk sees its own archived messages as its own and shows nothing.
    const desk = await daveDesk.omemo.catchUp({ since: new Date(Date.now() - 3_600_000) });
    expect(desk).to.include({ messages: 0, errors: 0 });
    expect(daveDesk.messages).to.have.length(1);
  });
});

describe('interop: OMEMO MAM catch-up with offline storage also delivering (pep, mam, carbons, offline)', function () {
  this.timeout(90_000);
  const prosody = useProsody({ accounts: ['alice', 'bob'], modules: ['pep', 'mam', 'carbons', 'offline'] });
  const open: OmemoClient[] = [];

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.stop()));
  });

  it('messages delivered from offline storage and then found in the archive are shown once', async () => {
    const bobStore = new MemoryStore();
    const first = await connectOmemo(prosody.server, prosody.server.account('bob'), 'pc', { store: bobStore });
    await first.stop();
    const alice = await connectOmemo(prosody.server, prosody.server.account('alice'), 'desk', { store: new MemoryStore() });
    open.push(alice);
    const plan = [['0.3', 'offline one'], ['2', 'offline two'], ['0.3', 'offline three'], ['2', 'offline four']] as const;
    for (const [version, text] of plan) await alice.omemo.send('bob@localhost', text, { version });
    await ping(alice);

    // No automatic catch-up: the presence comes first, so mod_offline delivers (Prosody holds offline messages back from a session that queried MAM first).
    const bob = await connectOmemo(prosody.server, prosody.server.account('bob'), 'pc', { store: bobStore, mam: {} });
    open.push(bob);
    await until(() => bob.messages.length === 4, 'offline delivery');
    const offline = bob.raw.filter((r) => r.includes('<encrypted')).map(parseStanza);
    expect(offline).to.have.length(4);
    for (const s of offline) {
      expect(s.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp, 'offline copies carry a delay').to.be.a('string');
      expect(s.getChild('result', NS_MAM)).to.equal(undefined);
    }
    expect(bob.messages.map((m) => m.text)).to.deep.equal(plan.map(([, t]) => t));
    expect(bob.messages.every((m) => m.archived === undefined)).to.equal(true);

    const result = await bob.omemo.catchUp();
    expect(result).to.include({ messages: 0, duplicates: 4, errors: 0, complete: true });
    expect(mamResults(bob).filter((r) => r.toString().includes('<encrypted') && fromAlice(r))).to.have.length(4);
    expect(bob.duplicates.map((d) => d.reason)).to.deep.equal(Array(4).fill('already-seen'));
    // The duplicates are the very messages shown: matched by the archive id the offline copies carried.
    const stanzaIds = offline.map((s) => s.getChildren('stanza-id', 'urn:xmpp:sid:0').find((x) => x.attrs.by === 'bob@localhost')?.attrs.id);
    expect(bob.duplicates.map((d) => d.archiveId)).to.deep.equal(stanzaIds);
    expect(bob.messages).to.have.length(4);
    expect(bob.managerEvents.filter((e) => e.kind === 'pre-key-used')).to.have.length(2);
    expect(bob.errors).to.deep.equal([]);

    // Live while in sync: the cursor follows, so the next catch-up fetches nothing already seen.
    await alice.omemo.send('bob@localhost', 'live', { version: '2' });
    await until(() => bob.messages.length === 5, 'live message');
    const next = await bob.omemo.catchUp();
    expect(next).to.include({ fetched: 0, messages: 0, duplicates: 0, errors: 0 });
  });
});

describe('interop: OMEMO MAM catch-up against a server without an archive (pep, carbons)', function () {
  this.timeout(60_000);
  const prosody = useProsody({ accounts: ['alice'], modules: ['pep', 'carbons'] });

  it('catchUp() rejects with a typed MamError; the history sync it started is ended (no prekey held back)', async () => {
    const alice = await connectOmemo(prosody.server, prosody.server.account('alice'), 'desk', { store: new MemoryStore(), mam: { auto: true } });
    try {
      // The automatic run reported the failure as an 'omemo-error' and resolved undefined.
      expect(await alice.omemo.caughtUp()).to.equal(undefined);
      const auto = alice.errors.find((e) => e.error.code.startsWith('xmpp.mam.'));
      expect(auto?.error).to.be.instanceOf(MamError);
      let caught: unknown;
      try {
        await alice.omemo.catchUp();
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(MamError);
      const condition = (caught as MamError).condition;
      expect(condition).to.be.oneOf(['feature-not-implemented', 'service-unavailable']);
      expect((caught as MamError).code).to.equal(`xmpp.mam.${condition}`);
      expect(alice.omemo.manager.historySync).to.equal(false);
      // The query really went out and the server really refused it.
      expect(alice.sentIqs.some((q) => q.includes('urn:xmpp:mam:2'))).to.equal(true);
    } finally {
      await alice.stop();
    }
  });
});
