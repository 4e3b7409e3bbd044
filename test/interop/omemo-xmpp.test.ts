/**
 * The OMEMO plugin end to end through a real Prosody 0.12 (pep, carbons) over STARTTLS:
 * PEP publishing for both versions (open access, precondition-not-met handled, own devices
 * never dropped), messages both ways in OMEMO 0.3 and omemo:2 between two accounts, one of
 * them with two devices (separate stores), carbons for the sender's second device, hostile
 * input as typed errors with the session still working.
 */
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOmemo, until, type OmemoClient } from './omemo-xmpp/omemo-clients.js';
import { MemoryStore } from '../../lib/core/store/store.js';
import { OMEMO_FALLBACK_BODY, NS_PUBSUB, CAPS_NODE, buildOmemoMessage, capsVer } from '../../lib/xmpp/omemo-stanzas.js';
import { createSceEnvelope, serializeSceEnvelope } from '../../omemo/sce.js';
import { xmlElement } from '../../omemo/xml-element.js';
import { systemRandom } from '../../lib/core/random.js';
import { ProtocolError } from '../../lib/core/errors.js';
import type { XmlElement } from '../../omemo/xml-element.js';
import fc from 'fast-check';
import { parseStanza } from '../unit/xmpp/loopback.js';

const NODE_03 = 'eu.siacs.conversations.axolotl.devicelist';
const NODE_2 = 'urn:xmpp:omemo:2:devices';

async function untilAsync(predicate: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fetchItems(from: OmemoClient, owner: string, node: string): Promise<XmppClientElement[]> {
  const result = await from.xmpp.iqCaller.get(xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node })), owner);
  return result.getChild('items')?.getChildren('item') ?? [];
}

function deviceIds(item: XmppClientElement | undefined): number[] {
  const list = item?.children.find((c): c is XmppClientElement => typeof c !== 'string');
  return (list?.getChildren('device') ?? []).map((d) => Number(d.attrs.id)).sort((a, b) => a - b);
}

describe('interop: OMEMO plugin over Prosody (pep, carbons)', function () {
  this.timeout(60_000);
  const prosody = useProsody({ accounts: ['alice', 'bob', 'carol'], modules: ['pep', 'carbons'] });
  const open: OmemoClient[] = [];

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.stop()));
  });

  async function connect(user: string, resource: string, store = new MemoryStore(), options: Parameters<typeof connectOmemo>[3] = {}): Promise<OmemoClient> {
    const c = await connectOmemo(prosody.server, prosody.server.account(user), resource, { store, ...options });
    open.push(c);
    return c;
  }

  it('publishes device lists and bundles of both versions, open to other accounts; two devices of one account are both listed', async () => {
    const alice1 = await connect('alice', 'desk');
    const alice2 = await connect('alice', 'phone');
    const bob = await connect('bob', 'pc');
    const ids = [alice1.omemo.deviceId, alice2.omemo.deviceId].sort((a, b) => a - b);
    // bob (another account, no subscription) reads alice's nodes: access model open.
    expect(deviceIds((await fetchItems(bob, 'alice@localhost', NODE_03))[0])).to.deep.equal(ids);
    expect(deviceIds((await fetchItems(bob, 'alice@localhost', NODE_2))[0])).to.deep.equal(ids);
    const bundle03 = await fetchItems(bob, 'alice@localhost', `eu.siacs.conversations.axolotl.bundles:${alice2.omemo.deviceId}`);
    expect(bundle03.map((i) => i.attrs.id)).to.deep.equal(['current']);
    expect(bundle03[0]?.getChild('bundle', 'eu.siacs.conversations.axolotl')?.getChild('prekeys')?.getChildren('preKeyPublic').length).to.equal(10);
    const bundles2 = await fetchItems(bob, 'alice@localhost', 'urn:xmpp:omemo:2:bundles');
    expect(bundles2.map((i) => i.attrs.id).sort()).to.deep.equal(ids.map(String).sort());
    // The plugin's own view: alice's second device learnt about the first through the merge.
    expect([...(await alice2.omemo.manager.deviceList('0.3', 'alice@localhost'))].sort((a, b) => a - b)).to.deep.equal(ids);
  });

  it('a device list node created with another access model is reconfigured (precondition-not-met) and republished', async () => {
    const carolSetup = await connectOmemoRaw('carol');
    // Another client created carol's 0.3 device list with presence access and a device of its own.
    await carolSetup.iqCaller.set(xml('pubsub', { xmlns: NS_PUBSUB },
      xml('publish', { node: NODE_03 }, xml('item', { id: 'current' }, xml('list', { xmlns: 'eu.siacs.conversations.axolotl' }, xml('device', { id: '4242' })))),
      xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
        xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
        xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'presence'))))));
    const bob = await connect('bob', 'pc');
    let forbidden = false;
    try {
      await fetchItems(bob, 'carol@localhost', NODE_03);
    } catch {
      forbidden = true;
    }
    expect(forbidden, 'presence access keeps bob out before the plugin runs').to.equal(true);
    await carolSetup.stop();
    const carol = await connect('carol', 'laptop');
    // Reconfigured to open, and the other device (4242) kept.
    expect(deviceIds((await fetchItems(bob, 'carol@localhost', NODE_03))[0])).to.deep.equal([4242, carol.omemo.deviceId].sort((a, b) => a - b));
  });

  async function connectOmemoRaw(user: string): Promise<{ iqCaller: OmemoClient['xmpp']['iqCaller']; stop(): Promise<void> }> {
    const { secureClient } = await import('../../lib/xmpp/secure-client.js');
    const account = prosody.server.account(user);
    const x = secureClient({ service: prosody.server.service, domain: prosody.server.domain, username: account.username, password: account.password, resource: 'setup', tls: { ca: prosody.server.caPem } });
    x.on('error', () => undefined);
    await x.start();
    return { iqCaller: x.iqCaller, async stop() { x.reconnect.stop(); await x.stop().catch(() => undefined); } };
  }

  it('PEP notifications (caps +notify): a device learns about a new device of its account; a list published without it gets it merged back', async () => {
    const alice1 = await connect('alice', 'notify-1');
    const alice2 = await connect('alice', 'notify-2');
    await until(() => alice1.devices.some((d) => d.source === 'notification' && d.version === '0.3' && d.deviceIds.includes(alice2.omemo.deviceId))
      && alice1.devices.some((d) => d.source === 'notification' && d.version === '2' && d.deviceIds.includes(alice2.omemo.deviceId)), 'notifications of both lists');
    expect(await alice1.omemo.manager.deviceList('2', 'alice@localhost')).to.include(alice2.omemo.deviceId);
    // What the server asked for: disco#info of the caps node answers with the +notify features and matches the caps hash.
    const info = await alice2.xmpp.iqCaller.get(xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node: `${CAPS_NODE}#${capsVer(alice1.omemo.features)}` }), alice1.jid);
    const features = info.getChildren('feature').map((f) => f.attrs.var as string);
    expect(features).to.include.members(['eu.siacs.conversations.axolotl.devicelist+notify', 'urn:xmpp:omemo:2:devices+notify']);
    expect(capsVer(features, { category: 'client', type: 'bot', name: info.getChild('identity')?.attrs.name ?? '' })).to.equal(alice1.omemo.capsElement().attrs.ver);
    // A careless client replaces alice's 0.3 list with only its own device: both plugins merge themselves back in.
    await alice2.xmpp.iqCaller.set(xml('pubsub', { xmlns: NS_PUBSUB },
      xml('publish', { node: NODE_03 }, xml('item', { id: 'current' }, xml('list', { xmlns: 'eu.siacs.conversations.axolotl' }, xml('device', { id: '777' })))),
      xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
        xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
        xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'open'))))));
    await until(() => alice1.devices.some((d) => d.version === '0.3' && d.deviceIds.includes(777) && d.deviceIds.includes(alice1.omemo.deviceId)), 'alice1 merged back');
    const bob = await connect('bob', 'notify');
    let ids: number[] = [];
    await untilAsync(async () => {
      ids = deviceIds((await fetchItems(bob, 'alice@localhost', NODE_03))[0]);
      return ids.includes(777) && ids.includes(alice1.omemo.deviceId) && ids.includes(alice2.omemo.deviceId);
    }, 'the published list has every device');
    expect(ids).to.include.members([777, alice1.omemo.deviceId, alice2.omemo.deviceId]);
  });

  it('a used prekey makes the receiver republish its bundle without it', async () => {
    const alice = await connect('alice', 'prekey');
    const bob = await connect('bob', 'prekey');
    const node = `eu.siacs.conversations.axolotl.bundles:${bob.omemo.deviceId}`;
    const prekeyIds = async (): Promise<string[]> => ((await fetchItems(alice, 'bob@localhost', node))[0]?.getChild('bundle')?.getChild('prekeys')?.getChildren('preKeyPublic') ?? []).map((p) => p.attrs.preKeyId as string);
    const before = await prekeyIds();
    const published: string[] = [];
    bob.omemo.on('published', (p) => published.push(`${p.version}:${p.what}`));
    await alice.omemo.send('bob@localhost', 'use a prekey', { version: '0.3' });
    await until(() => bob.messages.length === 1 && published.includes('0.3:bundle'), 'bob republished');
    const after = await prekeyIds();
    expect(after.length).to.equal(before.length);
    expect(before.filter((id) => !after.includes(id))).to.have.length(1);
    // bob answered the key exchange on his own with an empty message (XEP-0384 section 4.5).
    await until(() => alice.empties.some((e) => e.from === 'bob@localhost' && e.senderDeviceId === bob.omemo.deviceId), 'key-exchange completion');
  });

  it('heartbeats: a receiver that only listens answers with an empty message past the threshold', async () => {
    const alice = await connect('alice', 'hb-sender');
    const bob = await connect('bob', 'hb-listener', new MemoryStore(), { heartbeatThreshold: 3 });
    await alice.omemo.send('bob@localhost', 'm0', { version: '2' });
    await until(() => alice.empties.some((e) => e.from === 'bob@localhost'), 'key-exchange completion');
    // Then a new chain of five messages on alice's side, bob silent: a heartbeat past three.
    for (let i = 1; i < 6; i++) await alice.omemo.send('bob@localhost', `m${i}`, { version: '2' });
    await until(() => bob.messages.length === 6, 'six messages');
    expect(bob.messages.map((m) => m.text)).to.deep.equal(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    await until(() => alice.empties.filter((e) => e.from === 'bob@localhost').length >= 2, 'heartbeat');
  });

  it('signed prekey rotation: maintain() rotates when due and republishes both bundles', async () => {
    let clock = Date.now();
    const period = 60_000;
    const carol = await connect('carol', 'rotate', new MemoryStore(), { now: () => clock, signedPreKeyPeriodMs: period });
    const bob = await connect('bob', 'rotate');
    const spkId = async (): Promise<string | undefined> => (await fetchItems(bob, 'carol@localhost', `eu.siacs.conversations.axolotl.bundles:${carol.omemo.deviceId}`))[0]
      ?.getChild('bundle')?.getChild('signedPreKeyPublic')?.attrs.signedPreKeyId;
    const before = await spkId();
    expect(await carol.omemo.maintain()).to.deep.equal([]);
    clock += period + 1;
    expect([...(await carol.omemo.maintain())].sort()).to.deep.equal(['0.3', '2']);
    const after = await spkId();
    expect(after).to.be.a('string').and.not.equal(before);
    // Still reachable after the rotation.
    await bob.omemo.send('carol@localhost', 'after rotation', { version: '0.3' });
    await until(() => carol.messages.some((m) => m.text === 'after rotation'), 'message after rotation');
  });

  it('omemo:2: an SCE envelope naming another recipient is refused with a typed error; a carbon forged by a contact is ignored', async () => {
    const alice = await connect('alice', 'sce');
    const bob = await connect('bob', 'sce');
    await alice.omemo.send('bob@localhost', 'first', { version: '2' });
    await until(() => bob.messages.length === 1, 'first');
    // alice's own manager encrypts an envelope addressed to carol, and sends it to bob.
    const envelope = createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], 'meant for carol')], from: 'alice@localhost', to: 'carol@localhost' }, systemRandom);
    const forged = await alice.omemo.manager.encrypt('2', ['bob@localhost'], serializeSceEnvelope(envelope));
    await alice.xmpp.send(buildOmemoMessage('bob@localhost', 'sce-forged', '2', forged.element) as unknown as XmppClientElement);
    await until(() => bob.errors.some((e) => e.error.code === 'xmpp.omemo.sce-to-mismatch'), 'sce mismatch error');
    expect(bob.messages.map((m) => m.text)).to.deep.equal(['first']);

    // bob wraps a real message for alice in a "received" carbon: only alice's own account may send carbons.
    await bob.omemo.send('alice@localhost', 'reply', { version: '2' });
    await until(() => alice.messages.length === 1, 'reply');
    const real = await bob.omemo.manager.encrypt('2', ['alice@localhost'], serializeSceEnvelope(createSceEnvelope(
      { content: [xmlElement('body', { xmlns: 'jabber:client' }, [], 'forged carbon')], from: 'bob@localhost', to: 'alice@localhost' }, systemRandom)));
    const inner = buildOmemoMessage('alice@localhost', 'inner', '2', real.element);
    inner.attrs.from = 'bob@localhost/sce';
    await bob.xmpp.send(xml('message', { to: alice.jid, type: 'chat', id: 'carbon-forged' },
      xml('received', { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, inner as unknown as XmppClientElement))));
    await bob.omemo.send('alice@localhost', 'after the forgery', { version: '2' });
    await until(() => alice.messages.some((m) => m.text === 'after the forgery'), 'a real message after the forged carbon');
    expect(alice.messages.map((m) => m.text)).to.deep.equal(['reply', 'after the forgery']);
    expect(alice.raw.some((r) => r.includes('carbon-forged'))).to.equal(true);
  });

  it('hostile input over the server: 40 mutated <encrypted> elements (both versions) each give one typed error or message; the sessions keep working', async () => {
    const alice = await connect('alice', 'fuzz');
    const bob = await connect('bob', 'fuzz');
    for (const version of ['0.3', '2'] as const) {
      // one side starts each session (crossing starts are covered in test/unit/omemo/session-manager-simultaneous.test.ts)
      await bob.omemo.send('alice@localhost', `setup ${version}`, { version });
      await until(() => alice.messages.some((m) => m.text === `setup ${version}`), 'setup');
      await alice.omemo.send('bob@localhost', `ack ${version}`, { version });
      await until(() => bob.messages.some((m) => m.text === `ack ${version}`), 'ack');
    }
    const mutate = (el: XmlElement, mutation: Uint8Array, pick: number): XmlElement => {
      // Replace the text of the pick-th text node (key, iv or payload) by mutated bytes, or an attribute by a mutated number.
      const texts: XmlElement[] = [];
      const walk = (e: XmlElement): void => { if (e.text !== '') texts.push(e); e.children.forEach(walk); };
      walk(el);
      const target = texts[pick % texts.length];
      const rebuild = (e: XmlElement): XmlElement => {
        if (e === target) return xmlElement(e.name, e.attrs, [], Buffer.from(mutation).toString('base64'));
        if (e.name === 'header' && pick % 7 === 0) return xmlElement(e.name, { ...e.attrs, sid: String(mutation.length * 7919) }, e.children.map(rebuild));
        return xmlElement(e.name, e.attrs, e.children.map(rebuild), e.text);
      };
      return rebuild(el);
    };
    const samples = fc.sample(fc.tuple(fc.constantFrom('0.3' as const, '2' as const), fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.nat(), fc.boolean()), { numRuns: 40, seed: 4242 });
    const before = { errors: alice.errors.length, messages: alice.messages.length };
    for (const [i, [version, bytes, pick, useReal]] of samples.entries()) {
      const real = await bob.omemo.manager.encrypt(version, ['alice@localhost'], version === '0.3' ? new TextEncoder().encode(`fuzz ${i}`)
        : serializeSceEnvelope(createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], `fuzz ${i}`)], from: 'bob@localhost', to: 'alice@localhost' }, systemRandom)));
      const element = useReal ? mutate(real.element, bytes, pick) : mutate(real.element, bytes.slice(0, 3), pick + 1);
      await bob.xmpp.send(buildOmemoMessage(alice.jid, `fuzz-${i}`, version, element) as unknown as XmppClientElement);
    }
    await until(() => alice.errors.length - before.errors + alice.messages.length - before.messages >= samples.length, 'one outcome per hostile message');
    for (const e of alice.errors.slice(before.errors)) {
      expect(e.error).to.be.instanceOf(ProtocolError);
      expect(e.error.code).to.match(/^(omemo|xmpp\.omemo)\./);
      expect(e.from).to.equal('bob@localhost');
    }
    // Both versions still work both ways.
    for (const version of ['0.3', '2'] as const) {
      await bob.omemo.send('alice@localhost', `after fuzz ${version}`, { version });
      await alice.omemo.send('bob@localhost', `after fuzz back ${version}`, { version });
    }
    await until(() => ['0.3', '2'].every((v) => alice.messages.some((m) => m.text === `after fuzz ${v}`) && bob.messages.some((m) => m.text === `after fuzz back ${v}`)), 'after fuzz');
  });

  it("a message to one full JID reaches the account's other device as a 'received' carbon, decrypted there", async () => {
    const alice1 = await connect('alice', 'carbon-1');
    const alice2 = await connect('alice', 'carbon-2');
    const bob = await connect('bob', 'carbon');
    await bob.omemo.send('alice@localhost', 'to both', { version: '2' });
    await until(() => alice1.messages.length === 1 && alice2.messages.length === 1, 'both devices');
    const toDesk = await bob.omemo.manager.encrypt('2', ['alice@localhost'], serializeSceEnvelope(createSceEnvelope(
      { content: [xmlElement('body', { xmlns: 'jabber:client' }, [], 'to carbon-1 only')], from: 'bob@localhost', to: 'alice@localhost' }, systemRandom)));
    await bob.xmpp.send(buildOmemoMessage(alice1.jid, 'full-jid', '2', toDesk.element) as unknown as XmppClientElement);
    await until(() => alice1.messages.length === 2 && alice2.messages.length === 2, 'direct and carbon');
    expect(alice1.messages[1]).to.include({ text: 'to carbon-1 only', carbon: undefined, from: 'bob@localhost' });
    expect(alice2.messages[1]).to.include({ text: 'to carbon-1 only', carbon: 'received', from: 'bob@localhost', peer: 'bob@localhost', to: 'alice@localhost' });
  });

  it('a new device of a contact who is not subscribed to us (no PEP notification) writes first: our answer is encrypted to it too', async () => {
    const alice1 = await connect('alice', 'unlisted-1');
    const bob = await connect('bob', 'unlisted');
    await bob.omemo.send('alice@localhost', 'hello first device', { version: '2' });
    await until(() => alice1.messages.length === 1, 'first device');
    const listed = await bob.omemo.manager.deviceList('2', 'alice@localhost'); // alice's devices of earlier tests too
    expect(listed).to.include(alice1.omemo.deviceId);
    const alice2 = await connect('alice', 'unlisted-2'); // publishes a list naming it too; bob is not told
    expect(listed).to.not.include(alice2.omemo.deviceId);
    await alice2.omemo.send('bob@localhost', 'hello from a new device', { version: '2' });
    await until(() => bob.messages.some((m) => m.text === 'hello from a new device'), 'new device to bob');
    expect(bob.messages.find((m) => m.text === 'hello from a new device')?.senderDeviceId).to.equal(alice2.omemo.deviceId);
    expect(await bob.omemo.manager.deviceList('2', 'alice@localhost')).to.include.members([alice1.omemo.deviceId, alice2.omemo.deviceId]);
    await bob.omemo.send('alice@localhost', 'answer to both', { version: '2' });
    await until(() => alice2.messages.some((m) => m.text === 'answer to both') && alice1.messages.some((m) => m.text === 'answer to both'), 'answer on both devices');
  });

  it('reconnect: a message sent while the socket is down goes out after the reconnect, and the device announces itself again', async () => {
    const alice = await connect('alice', 'reconnect');
    const bob = await connect('bob', 'reconnect');
    await alice.omemo.send('bob@localhost', 'before', { version: '0.3' });
    await until(() => bob.messages.length === 1, 'before');
    const published: string[] = [];
    alice.omemo.on('published', (p) => published.push(`${p.version}:${p.what}`));
    const online = new Promise<void>((resolve) => alice.xmpp.once('online', () => resolve()));
    const wrapper = alice.xmpp.socket as { socket?: { destroy(): void } | null } | undefined;
    wrapper?.socket?.destroy();
    await until(() => alice.xmpp.status !== 'online', 'offline');
    const queued = alice.omemo.send('bob@localhost', 'while offline', { version: '0.3' });
    await online;
    await queued;
    await alice.omemo.announced();
    await alice.omemo.presence(); // the application's job after a reconnect (a fresh stream has no presence)
    await until(() => bob.messages.some((m) => m.text === 'while offline'), 'queued message delivered');
    // The device list is fetched again after the reconnect (notifications may have been missed) and still lists us.
    expect(await alice.omemo.manager.deviceList('0.3', 'alice@localhost')).to.include(alice.omemo.deviceId);
    await bob.omemo.send('alice@localhost', 'after reconnect', { version: '0.3' });
    await until(() => alice.messages.some((m) => m.text === 'after reconnect'), 'after reconnect');
  });

  for (const version of ['0.3', '2'] as const) {
    it(`OMEMO ${version}: messages both ways; the sender's second device reads its own message via carbons; garbage gives a typed error and the session keeps working`, async () => {
      const alice1 = await connect('alice', `desk-${version}`);
      const alice2 = await connect('alice', `phone-${version}`);
      const bob = await connect('bob', `pc-${version}`);

      const sent = await alice1.omemo.send('bob@localhost', `hello bob ${version}`, { version });
      expect(sent.version).to.equal(version);
      expect(sent.recipients.map((r) => `${r.jid}|${r.deviceId}`).sort()).to.include.members([`bob@localhost|${bob.omemo.deviceId}`, `alice@localhost|${alice2.omemo.deviceId}`]);
      await until(() => bob.messages.length === 1 && alice2.messages.length === 1, 'bob and alice2 get the message');
      expect(bob.messages[0]).to.include({ text: `hello bob ${version}`, from: 'alice@localhost', version, senderDeviceId: alice1.omemo.deviceId, trust: 'trusted', carbon: undefined, keyExchange: true });
      expect(alice2.messages[0]).to.include({ text: `hello bob ${version}`, from: 'alice@localhost', peer: 'bob@localhost', carbon: 'sent', senderDeviceId: alice1.omemo.deviceId });
      if (version === '2') expect(Date.parse(bob.messages[0]?.sentAt ?? '')).to.be.closeTo(Date.now(), 60_000);
      else expect(bob.messages[0]?.sentAt).to.equal(undefined);

      // On the wire: no plaintext, EME, store hint, fallback body.
      const wire = bob.raw.find((s) => s.includes('<encrypted'));
      expect(wire).to.be.a('string');
      expect(wire).to.not.include('hello bob');
      const el = parseStanza(wire as string);
      expect(el.getChild('encryption', 'urn:xmpp:eme:0')?.attrs).to.include({ name: 'OMEMO', namespace: version === '0.3' ? 'eu.siacs.conversations.axolotl' : 'urn:xmpp:omemo:2' });
      expect(el.getChild('store', 'urn:xmpp:hints')).to.not.equal(undefined);
      expect(el.getChildText('body')).to.equal(OMEMO_FALLBACK_BODY);

      const reply = await bob.omemo.send('alice@localhost', `hi alice ${version}`, { version });
      expect(reply.recipients.map((r) => r.deviceId)).to.include.members([alice1.omemo.deviceId, alice2.omemo.deviceId]);
      await until(() => alice1.messages.length === 1 && alice2.messages.length === 2, 'both alice devices get the reply');
      expect(alice1.messages[0]).to.include({ text: `hi alice ${version}`, from: 'bob@localhost', senderDeviceId: bob.omemo.deviceId });
      expect(alice2.messages[1]).to.include({ text: `hi alice ${version}`, from: 'bob@localhost' });

      // Hostile input: a garbage <encrypted> element of this version from bob's account.
      const ns = version === '0.3' ? 'eu.siacs.conversations.axolotl' : 'urn:xmpp:omemo:2';
      await bob.xmpp.send(xml('message', { to: 'alice@localhost/desk-' + version, type: 'chat', id: 'garbage' },
        xml('encrypted', { xmlns: ns }, xml('header', { sid: String(bob.omemo.deviceId) }, xml('key', { rid: String(alice1.omemo.deviceId) }, 'bm90IGEga2V5')), xml('payload', {}, '!!!'))));
      await until(() => alice1.errors.some((e) => e.from === 'bob@localhost'), 'typed error for garbage');
      const error = alice1.errors.find((e) => e.from === 'bob@localhost');
      expect(error?.error.code).to.be.a('string').and.match(/^omemo\./);
      expect(error?.version).to.equal(version);

      // The session still works both ways.
      await alice1.omemo.send('bob@localhost', `still here ${version}`, { version });
      await bob.omemo.send('alice@localhost', `me too ${version}`, { version });
      await until(() => bob.messages.some((m) => m.text === `still here ${version}`) && alice1.messages.some((m) => m.text === `me too ${version}`), 'after garbage');
      expect(bob.errors.filter((e) => e.from !== undefined)).to.deep.equal([]);
    });
  }
});
