/**
 * The OTR plugin end to end through a real Prosody 0.12 over STARTTLS (certificate checked
 * against the run's CA): AKE, messages both ways, SMP, end; require-encryption never puts
 * plaintext on the wire (checked on the raw stanzas the server delivered to the receiving
 * connections, recorded before any middleware); several resources of one contact; reconnects with queued messages; hygiene
 * elements on the wire; ephemeral mode writes no file.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../lib/core/store/store.js';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOtr, cutSocket, eventsNamed, hygieneOf, rawBodies, until, type OtrClient } from './otr-xmpp/otr-clients.js';

describe('interop: OTR plugin over Prosody (STARTTLS, secure-client)', function () {
  this.timeout(60_000);
  const prosody = useProsody({ accounts: ['alice', 'bob', 'carol'], modules: ['smacks', 'carbons'] });
  const open: OtrClient[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.stop()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function connect(user: string, resource: string, options: Parameters<typeof connectOtr>[3] = {}): Promise<OtrClient> {
    const c = await connectOtr(prosody.server, prosody.server.account(user), resource, { store: new MemoryStore(), ...options });
    open.push(c);
    return c;
  }

  const secureBetween = async (a: OtrClient, b: OtrClient): Promise<void> => {
    await a.otr.start(b.jid);
    await until(() => a.otr.session(b.jid).security.kind === 'encrypted' && b.otr.session(a.jid).security.kind === 'encrypted', 'AKE');
  };

  it('AKE, messages both ways, SMP success marks the fingerprint verified, wrong secret fails, end', async () => {
    const alice = await connect('alice', 'desk', { policy: 'manual' });
    const bob = await connect('bob', 'phone', { policy: 'manual' });
    const security = alice.xmpp.transportSecurity.security;
    expect(security?.kind).to.equal('tls');
    if (security?.kind === 'tls') expect(security.validation).to.equal('verified');
    await secureBetween(alice, bob);
    const aliceFp = await alice.otr.ourFingerprint();
    const bobFp = await bob.otr.ourFingerprint();
    const aliceSecure = eventsNamed(alice, 'secure')[0];
    expect(aliceSecure?.fingerprint).to.equal(bobFp);
    expect(aliceSecure?.trust).to.equal('unverified');
    expect(eventsNamed(bob, 'secure')[0]?.fingerprint).to.equal(aliceFp);
    expect(eventsNamed(bob, 'secure')[0]?.ssid).to.equal(aliceSecure?.ssid);
    expect(eventsNamed(alice, 'fingerprint')[0]).to.include({ fingerprint: bobFp, isNew: true });

    expect((await alice.otr.send(bob.jid, 'hello bob')).kind).to.equal('encrypted');
    expect((await bob.otr.send('alice@localhost', 'hello alice')).kind).to.equal('encrypted'); // bare JID -> bound full JID
    await until(() => bob.messages.length === 1 && alice.messages.length === 1, 'messages');
    expect(bob.messages[0]).to.include({ text: 'hello bob', encrypted: true, from: alice.jid });
    expect(bob.messages[0]?.security).to.include({ kind: 'encrypted', fingerprint: aliceFp, trust: 'unverified' });
    expect(alice.messages[0]).to.include({ text: 'hello alice', encrypted: true, from: bob.jid });
    for (const c of [alice, bob]) for (const body of rawBodies(c)) expect(body).to.not.match(/hello/);

    // Hygiene on the wire: every OTR message alice wrote carries EME, the hints and
    // carbons-private; what bob received still has EME and the hints (Prosody's mod_carbons
    // strips <private/> on delivery).
    const written = alice.sent.filter((s) => s.includes('?OTR'));
    expect(written.length).to.be.greaterThan(2);
    for (const s of written) expect(hygieneOf(s)).to.deep.equal({ eme: true, noStore: true, noPermanentStore: true, noCopy: true, carbonsPrivate: true });
    const received = bob.raw.filter((s) => s.includes('?OTR'));
    expect(received.length).to.equal(written.length);
    for (const s of received) expect(hygieneOf(s)).to.include({ eme: true, noStore: true, noPermanentStore: true, noCopy: true });

    // SMP with the same secret: both sides succeed and mark the other's fingerprint verified.
    let bobSecret = 'our shared secret';
    bob.otr.on('smp', (e) => {
      if (e.kind === 'secret-needed' || e.kind === 'question') void bob.otr.smpAnswer(alice.jid, bobSecret);
    });
    await alice.otr.smpAsk(bob.jid, 'our shared secret');
    await until(() => eventsNamed(alice, 'smp').some((e) => e.kind === 'succeeded') && eventsNamed(bob, 'smp').some((e) => e.kind === 'succeeded'), 'SMP success');
    expect(eventsNamed(alice, 'smp').find((e) => e.kind === 'succeeded')).to.include({ verified: true, fingerprint: bobFp });
    expect((await alice.otr.fingerprints('bob@localhost')).map((f) => f.trust)).to.deep.equal(['smp']);
    expect((await bob.otr.fingerprints('alice@localhost')).map((f) => f.trust)).to.deep.equal(['smp']);
    await alice.otr.send(bob.jid, 'after smp');
    await until(() => bob.messages.length === 2, 'message after SMP');
    expect(bob.messages[1]?.security).to.include({ kind: 'encrypted', trust: 'smp' });

    // SMP with a question and a wrong answer: failure on both sides.
    bobSecret = 'wrong answer';
    await alice.otr.smpAsk(bob.jid, 'right answer', 'Where did we meet?');
    await until(() => eventsNamed(alice, 'smp').some((e) => e.kind === 'failed') && eventsNamed(bob, 'smp').some((e) => e.kind === 'failed'), 'SMP failure');
    expect(eventsNamed(bob, 'smp').find((e) => e.kind === 'question')).to.deep.include({ question: 'Where did we meet?' });

    // End: bob is told, his side is finished and refuses to send until he ends too.
    await alice.otr.stop(bob.jid);
    await until(() => eventsNamed(bob, 'insecure').length === 1, 'peer ended');
    expect(eventsNamed(bob, 'insecure')[0]?.reason).to.equal('peer-ended');
    expect(bob.otr.session(alice.jid).security.kind).to.equal('finished');
    expect((await bob.otr.send(alice.jid, 'lost?')).kind).to.equal('refused');
    expect(alice.otr.session(bob.jid).security.kind).to.equal('plaintext');
    await bob.otr.stop(alice.jid);
    await bob.otr.idle();
    for (const body of rawBodies(alice)) expect(body).to.not.include('lost?');
  });

  it('require-encryption: plaintext never reaches the server; held messages go out encrypted after the AKE', async () => {
    const alice = await connect('alice', 'desk', { policy: 'require-encryption' });
    const bob = await connect('bob', 'phone', { policy: 'manual' });
    const outcomes = [];
    for (const text of ['secret one', 'secret two', 'secret three']) outcomes.push(await alice.otr.send(bob.jid, text));
    expect(outcomes.map((o) => o.kind)).to.deep.equal(['held', 'held', 'held']);
    expect(eventsNamed(alice, 'held').map((e) => e.count)).to.deep.equal([1, 2, 3]);
    await until(() => bob.messages.length === 3, 'held messages delivered');
    expect(bob.messages.map((m) => [m.text, m.encrypted])).to.deep.equal([['secret one', true], ['secret two', true], ['secret three', true]]);
    expect(eventsNamed(alice, 'held-sent')[0]?.count).to.equal(3);
    // A bare JID now goes to the encrypted resource.
    await alice.otr.send('bob@localhost', 'secret four');
    await until(() => bob.messages.length === 4, 'fourth');
    expect(bob.messages[3]).to.include({ text: 'secret four', encrypted: true });
    // What alice wrote on her socket and what the server relayed to bob: a Query Message and
    // OTR data, never the text.
    for (const stanza of alice.sent) expect(stanza).to.not.include('secret');
    const seen = rawBodies(bob);
    expect(seen.length).to.be.greaterThan(3);
    for (const body of seen) {
      expect(body).to.not.include('secret');
      expect(body.startsWith('?OTR')).to.equal(true);
    }
    // A bare JID under required encryption: held until one of the contact's resources is encrypted.
    const carolKey = await connect('carol', 'laptop', { policy: 'require-encryption' });
    const carolsPeer = await connect('bob', 'tablet', { policy: 'opportunistic' });
    const held = await carolKey.otr.send('bob@localhost', 'to any bob');
    expect(held.kind).to.equal('held');
    await until(() => [bob, carolsPeer].some((c) => c.messages.some((m) => m.text === 'to any bob')), 'bare-JID held message');
    const got = [bob, carolsPeer].flatMap((c) => c.messages.filter((m) => m.text === 'to any bob'));
    expect(got).to.have.length(1);
    expect(got[0]?.encrypted).to.equal(true);
    for (const c of [bob, carolsPeer]) for (const body of rawBodies(c)) expect(body).to.not.include('to any bob');
    for (const stanza of carolKey.sent) expect(stanza).to.not.include('to any bob');
  });

  it('several resources of one contact: separate sessions with distinct instance tags, bare JID follows the newest', async () => {
    const alice = await connect('alice', 'desk', { policy: 'manual' });
    const bob1 = await connect('bob', 'one', { policy: 'manual' });
    const bob2 = await connect('bob', 'two', { policy: 'manual' });
    await secureBetween(alice, bob1);
    await secureBetween(alice, bob2);
    const tag1 = alice.otr.session(bob1.jid).security;
    const tag2 = alice.otr.session(bob2.jid).security;
    expect(tag1.kind === 'encrypted' && tag2.kind === 'encrypted').to.equal(true);
    if (tag1.kind !== 'encrypted' || tag2.kind !== 'encrypted') return;
    expect(tag1.instanceTag).to.equal(bob1.otr.instanceTag);
    expect(tag2.instanceTag).to.equal(bob2.otr.instanceTag);
    expect(tag1.instanceTag).to.not.equal(tag2.instanceTag);
    await alice.otr.send(bob1.jid, 'for one');
    await alice.otr.send(bob2.jid, 'for two');
    expect((await alice.otr.send('bob@localhost', 'for the newest')).to).to.equal(bob2.jid);
    await bob1.otr.send(alice.jid, 'one here');
    await bob2.otr.send(alice.jid, 'two here');
    await until(() => bob1.messages.length === 1 && bob2.messages.length === 2 && alice.messages.length === 2, 'messages per resource');
    expect(bob1.messages.map((m) => m.text)).to.deep.equal(['for one']);
    expect(bob2.messages.map((m) => m.text)).to.deep.equal(['for two', 'for the newest']);
    expect(alice.messages.map((m) => [m.from, m.text]).sort()).to.deep.equal([[bob1.jid, 'one here'], [bob2.jid, 'two here']]);
    expect(eventsNamed(bob1, 'otr-error')).to.deep.equal([]);
    expect(eventsNamed(bob2, 'otr-error')).to.deep.equal([]);
  });

  for (const mode of ['stream-management resume', 'fresh login'] as const) {
    it(`reconnect (${mode}) with messages queued: none lost, none duplicated, none in plaintext`, async () => {
      const alice = await connect('alice', 'desk', { policy: 'require-encryption' });
      const bob = await connect('bob', 'phone', { policy: 'require-encryption' });
      await until(() => alice.xmpp.streamManagement.enabled, 'stream management');
      await secureBetween(alice, bob);
      let resumed = 0;
      alice.xmpp.streamManagement.on('resumed', () => resumed++);
      await alice.otr.send(bob.jid, 'm1');
      await until(() => bob.messages.length === 1, 'm1');
      // m2 is written and the socket dies before the server's ack can arrive.
      const sent = alice.otr.send(bob.jid, 'm2');
      await sent;
      if (mode === 'fresh login') alice.xmpp.streamManagement.id = 'forgotten-by-the-server';
      cutSocket(alice);
      await until(() => alice.xmpp.status !== 'online', 'disconnect');
      for (const text of ['m3', 'm4', 'm5']) expect((await alice.otr.send(bob.jid, text)).kind).to.equal('encrypted');
      // Bob writes while alice is away: on a resume the server hands it over with the session.
      if (mode === 'stream-management resume') await bob.otr.send(alice.jid, 'while you were away');
      expect(alice.otr.queued).to.be.at.least(3);
      await until(() => alice.xmpp.status === 'online' && alice.otr.queued === 0, 'reconnected and drained', 20_000);
      await until(() => bob.messages.length >= 5, 'all messages');
      expect(resumed).to.equal(mode === 'fresh login' ? 0 : 1);
      await alice.otr.send(bob.jid, 'm6');
      await until(() => bob.messages.length >= 6, 'm6');
      expect(bob.messages.map((m) => m.text)).to.deep.equal(['m1', 'm2', 'm3', 'm4', 'm5', 'm6']);
      expect(bob.messages.every((m) => m.encrypted)).to.equal(true);
      for (const body of rawBodies(bob)) expect(body).to.not.match(/^m\d$/);
      expect(eventsNamed(bob, 'otr-error')).to.deep.equal([]);
      expect(alice.otr.session(bob.jid).security.kind).to.equal('encrypted');
      if (mode === 'stream-management resume') {
        await until(() => alice.messages.some((m) => m.text === 'while you were away'), 'message queued at the server');
        expect(alice.messages.filter((m) => m.text === 'while you were away').map((m) => m.encrypted)).to.deep.equal([true]);
      }
      // And back: the session survived on both sides.
      await bob.otr.send(alice.jid, 'still here');
      await until(() => alice.messages.some((m) => m.text === 'still here' && m.encrypted), 'reply');
    });
  }

  it('ephemeral: no file is written anywhere; plaintext carries the no-store hints too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otr-ephemeral-'));
    dirs.push(dir);
    const previous = process.env.XDG_DATA_HOME;
    process.env.XDG_DATA_HOME = dir;
    try {
      const alice = await connect('alice', 'desk', { ephemeral: true, store: undefined, policy: 'manual' });
      const bob = await connect('bob', 'phone', { policy: 'manual', storePath: join(dir, 'bob-store.json'), store: undefined });
      await alice.otr.send(bob.jid, 'plain and unarchived');
      await until(() => bob.messages.length === 1, 'plaintext');
      const plain = bob.raw.find((s) => s.includes('plain and unarchived'));
      expect(plain).to.be.a('string');
      expect(hygieneOf(plain as string)).to.include({ eme: false, noStore: true, noPermanentStore: true, noCopy: true });
      await secureBetween(alice, bob);
      await alice.otr.send(bob.jid, 'ephemeral secret');
      await until(() => bob.messages.length === 2, 'encrypted');
      await alice.otr.stop(bob.jid);
      await alice.otr.idle();
      expect(alice.otr.sessions().filter((s) => s.security.kind !== 'plaintext')).to.deep.equal([]);
      expect(await alice.otr.fingerprints()).to.deep.equal([]);
      // Bob (not ephemeral) wrote his store; alice wrote nothing in the data dir.
      expect(readdirSync(dir).sort()).to.deep.equal(['bob-store.json']);
      expect(existsSync(join(dir, 'xmpp-otr-omemo'))).to.equal(false);
    } finally {
      if (previous === undefined) delete process.env.XDG_DATA_HOME;
      else process.env.XDG_DATA_HOME = previous;
    }
  });
});
