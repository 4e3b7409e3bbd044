/**
 * Plugin policies and application API on a loopback network: opportunistic (whitespace tag
 * starts the AKE), manual, require-encryption per contact (never plaintext on the wire),
 * OTR off for one contact, SMP abort, manual trust, and a bare JID bound to the encrypted
 * full JID.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackNetwork, loopbackParty, named, settle } from './loopback.js';

const ALICE = 'alice@example.org/desk';
const BOB = 'bob@example.org/phone';

describe('xmpp/otr-plugin: policies and API', function () {
  this.timeout(30_000);

  it('opportunistic: the first plaintext carries the whitespace tag and the AKE starts by itself', async () => {
    const network = new LoopbackNetwork();
    const alice = await loopbackParty(network, ALICE, { policy: 'opportunistic' });
    const bob = await loopbackParty(network, BOB, { policy: 'opportunistic' });
    expect((await alice.otr.send(BOB, 'hello')).kind).to.equal('plaintext');
    await settle(() => alice.otr.session(BOB).security.kind === 'encrypted' && bob.otr.session(ALICE).security.kind === 'encrypted', 'AKE');
    expect(network.log[0]).to.match(/<body>hello \t  \t\t\t\t \t \t \t {2}/);
    expect(bob.messages[0]).to.include({ text: 'hello', encrypted: false });
    expect((await alice.otr.send(BOB, 'now secret')).kind).to.equal('encrypted');
    await settle(() => bob.messages.length === 2, 'second');
    expect(bob.messages[1]).to.include({ text: 'now secret', encrypted: true });
  });

  it('manual: nothing starts by itself; policy "never" for one contact passes OTR text through', async () => {
    const network = new LoopbackNetwork();
    const alice = await loopbackParty(network, ALICE, { policy: 'manual', contactPolicies: { 'bob@example.org': 'never' } });
    const bob = await loopbackParty(network, BOB, { policy: 'manual' });
    await alice.otr.send(BOB, 'plain');
    await settle(() => bob.messages.length === 1, 'plain');
    expect(network.log[0]).to.include('<body>plain</body>');
    let error: unknown;
    await alice.otr.start(BOB).catch((e: unknown) => {
      error = e;
    });
    expect((error as { code?: string }).code).to.equal('xmpp.otr.disabled');
    await bob.otr.start(ALICE);
    await settle(() => alice.messages.length === 1, 'query shown as text');
    expect(alice.messages[0]?.text.startsWith('?OTRv')).to.equal(true);
    expect(alice.otr.session(BOB).security.kind).to.equal('plaintext');
    // The contact's policy changes at run time: the idle conversation takes it at once.
    alice.otr.setPolicy('bob@example.org', 'opportunistic');
    await alice.otr.send(BOB, 'now with a tag');
    await settle(() => bob.messages.some((m) => m.text === 'now with a tag'), 'tagged message');
    expect(network.log.some((s) => /<body>now with a tag \t  \t\t\t\t \t \t \t /.test(s))).to.equal(true);
  });

  it('require-encryption per contact: held, AKE requested, sent encrypted; never plaintext on the wire', async () => {
    const network = new LoopbackNetwork();
    const alice = await loopbackParty(network, ALICE, { policy: 'manual', contactPolicies: { 'bob@example.org': 'require-encryption' } });
    const bob = await loopbackParty(network, BOB, { policy: 'manual' });
    const outcome = await alice.otr.send('bob@example.org', 'classified');
    expect(outcome).to.deep.include({ kind: 'held', count: 1 });
    await settle(() => bob.messages.some((m) => m.text === 'classified'), 'delivered');
    expect(bob.messages.find((m) => m.text === 'classified')?.encrypted).to.equal(true);
    for (const s of network.log) expect(s).to.not.include('classified');
    expect(named(alice, 'held-sent')).to.deep.equal([{ jid: 'bob@example.org', count: 1 }]);
    // Bare JID now follows the encrypted full JID.
    expect((await alice.otr.send('bob@example.org', 'next')).to).to.equal(BOB);
  });

  it('SMP abort and manual trust', async () => {
    const network = new LoopbackNetwork();
    const alice = await loopbackParty(network, ALICE, { policy: 'manual' });
    const bob = await loopbackParty(network, BOB, { policy: 'manual' });
    let error: unknown;
    await alice.otr.smpAsk(BOB, 'x').catch((e: unknown) => {
      error = e;
    });
    expect((error as { code?: string }).code).to.equal('otr.not-encrypted');
    await alice.otr.start(BOB);
    await settle(() => alice.otr.session(BOB).security.kind === 'encrypted' && bob.otr.session(ALICE).security.kind === 'encrypted', 'AKE');
    await alice.otr.smpAsk(BOB, 'secret', 'Question?');
    await settle(() => named(bob, 'smp').some((e) => e.kind === 'question'), 'question');
    await bob.otr.smpAbort(ALICE);
    await settle(() => named(alice, 'smp').some((e) => e.kind === 'aborted'), 'aborted');
    expect(named(alice, 'smp').find((e) => e.kind === 'aborted')).to.deep.include({ by: 'peer' });
    const bobFp = await bob.otr.ourFingerprint();
    await alice.otr.trust('bob@example.org', 'manual');
    expect(named(alice, 'trust')).to.deep.equal([{ peer: 'bob@example.org', fingerprint: bobFp, trust: 'manual' }]);
    expect(alice.otr.session(BOB).security).to.include({ kind: 'encrypted', trust: 'manual', fingerprint: bobFp });
    await bob.otr.send(ALICE, 'trusted?');
    await settle(() => alice.messages.length === 1, 'message');
    expect(alice.messages[0]?.security).to.include({ trust: 'manual' });
  });

  it('offline: sends are encrypted once and queued; they go out in order when the connection is back', async () => {
    const network = new LoopbackNetwork();
    const alice = await loopbackParty(network, ALICE, { policy: 'manual' });
    const bob = await loopbackParty(network, BOB, { policy: 'manual' });
    await alice.otr.start(BOB);
    await settle(() => alice.otr.session(BOB).security.kind === 'encrypted' && bob.otr.session(ALICE).security.kind === 'encrypted', 'AKE');
    alice.entity.status = 'disconnect';
    for (const t of ['q1', 'q2', 'q3']) expect((await alice.otr.send(BOB, t)).kind).to.equal('encrypted');
    expect(alice.otr.queued).to.equal(3);
    alice.entity.status = 'online';
    alice.entity.emit('online');
    await settle(() => bob.messages.length === 3, 'queued delivered');
    expect(bob.messages.map((m) => m.text)).to.deep.equal(['q1', 'q2', 'q3']);
  });

  it('a contact\'s client back under a new resource keeps its session (same instance tag): no new AKE', async () => {
    const network = new LoopbackNetwork();
    const alice = await loopbackParty(network, ALICE, { policy: 'manual' });
    const bob = await loopbackParty(network, BOB, { policy: 'manual' });
    await alice.otr.start(BOB);
    await settle(() => alice.otr.session(BOB).security.kind === 'encrypted' && bob.otr.session(ALICE).security.kind === 'encrypted', 'AKE');
    network.rename(BOB, 'bob@example.org/phone-2');
    await bob.otr.send(ALICE, 'new resource, same client');
    await settle(() => alice.messages.length === 1, 'message from the new resource');
    expect(alice.messages[0]).to.include({ from: 'bob@example.org/phone-2', encrypted: true, text: 'new resource, same client' });
    expect(named(alice, 'moved')).to.deep.equal([{ from: BOB, to: 'bob@example.org/phone-2', instanceTag: bob.otr.instanceTag }]);
    expect(named(alice, 'secure')).to.have.length(1);
    expect((await alice.otr.send('bob@example.org', 'reply')).to).to.equal('bob@example.org/phone-2');
    await settle(() => bob.messages.length === 1, 'reply');
    expect(bob.messages[0]).to.include({ text: 'reply', encrypted: true });
    expect(named(alice, 'otr-error')).to.deep.equal([]);
  });

  it('require-encryption tells the application why held messages cannot go out, and can drop them', async () => {
    const network = new LoopbackNetwork();
    const alice = await loopbackParty(network, ALICE, { policy: 'require-encryption' });
    const bob = await loopbackParty(network, BOB, { policy: 'never' }); // a client without OTR
    await alice.otr.send(BOB, 'must stay secret');
    await settle(() => bob.messages.length === 1, 'query shown to a non-OTR client');
    await bob.otr.send(ALICE, 'what is this?');
    await settle(() => named(alice, 'held-blocked').length === 1, 'held-blocked');
    expect(named(alice, 'held-blocked')[0]).to.deep.equal({ jid: BOB, count: 1, reason: 'peer-answered-in-plaintext' });
    expect(await alice.otr.discardHeld(BOB)).to.equal(1);
    expect(alice.otr.session(BOB).held).to.equal(0);
    // To a resource that is not there: the bounce of our request is reported.
    await alice.otr.send('bob@example.org/gone', 'also secret');
    await settle(() => named(alice, 'held-blocked').length === 2, 'bounce');
    expect(named(alice, 'held-blocked')[1]).to.deep.equal({ jid: 'bob@example.org/gone', count: 1, reason: 'undeliverable' });
    expect(named(alice, 'delivery-error').at(-1)).to.include({ jid: 'bob@example.org/gone', condition: 'service-unavailable' });
    for (const s of network.log) expect(s).to.not.match(/must stay secret|also secret/);
  });

  it('the default file store keeps identity, instance tag and trust across restarts (encrypted with a passphrase)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otr-plugin-store-'));
    try {
      const storePath = join(dir, 'alice.otr.json');
      const network = new LoopbackNetwork();
      const alice = await loopbackParty(network, ALICE, { policy: 'manual', store: undefined, storePath, passphrase: 'pw' });
      const bob = await loopbackParty(network, BOB, { policy: 'manual' });
      await alice.otr.start(BOB);
      await settle(() => alice.otr.session(BOB).security.kind === 'encrypted', 'AKE');
      await alice.otr.trust('bob@example.org', 'manual');
      const fingerprint = await alice.otr.ourFingerprint();
      const tag = alice.otr.instanceTag;
      await alice.otr.close();
      expect(readdirSync(dir)).to.deep.equal(['alice.otr.json']);
      expect(readFileSync(storePath, 'utf8')).to.include('store-encrypted').and.not.include('bob@example.org');
      const again = await loopbackParty(new LoopbackNetwork(), ALICE, { policy: 'manual', store: undefined, storePath, passphrase: 'pw' });
      expect(await again.otr.ourFingerprint()).to.equal(fingerprint);
      expect(again.otr.instanceTag).to.equal(tag);
      expect((await again.otr.fingerprints('bob@example.org')).map((f) => f.trust)).to.deep.equal(['manual']);
      await again.otr.close();
      await bob.otr.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
