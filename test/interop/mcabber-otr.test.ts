/**
 * Our OTR engine against a REAL desktop client: mcabber 1.1.2 (libotr 4.1.1) in tmux, both
 * logged in to a throwaway Prosody over TLS. The AKE runs over real XMPP; each side's
 * fingerprint of the other equals the other's own; messages go both ways, encrypted.
 */
import { expect } from 'chai';
import { requirePeer } from './peer-availability.js';
import { Mcabber, MCABBER_PEER, probeMcabber } from './clients/mcabber.js';
import { OtrOverXmpp } from './clients/otr-over-xmpp.js';
import { useProsody } from './prosody/prosody-mocha.js';
import { independentFingerprint } from './ours/our-endpoint.js';
import { generateDsaKey } from '../../lib/core/crypto/dsa.js';
import { isTrustedFingerprint, parseFingerprintFile } from '../../otr/fingerprint-file.js';
import { writePrivateKeyFile } from '../../otr/private-key-file.js';
import { OTR_POLICY_ALWAYS, OTR_POLICY_OPPORTUNISTIC } from '../../otr/policy.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A v3 OTR Data Message on the wire: "?OTR:" + base64 of version 3 (00 03) and type 0x03 -> "AAMD". */
const V3_DATA = /^\?OTR:AAMD/;

describe('interop: our OTR engine vs mcabber (libotr) over Prosody', function () {
  this.timeout(90000);
  const fixture = useProsody({ accounts: ['alice', 'carol'] });
  let mc: Mcabber | undefined;
  let ours: OtrOverXmpp | undefined;

  before(function () {
    requirePeer(this, MCABBER_PEER, probeMcabber());
  });

  beforeEach(async () => {
    const { server } = fixture;
    ours = await OtrOverXmpp.login({ server, account: server.account('alice') });
    mc = await Mcabber.start({ server, account: server.account('carol'), contacts: ['alice@localhost'] });
  });

  afterEach(async () => {
    await mc?.stop();
    await ours?.stop();
    mc = undefined;
    ours = undefined;
  });

  it('mcabber runs /otr start; fingerprints agree both ways; messages flow both ways encrypted', async () => {
    const m = mc!;
    const o = ours!;
    const carol = 'carol@localhost';
    await m.otrStart('alice@localhost');
    const secure = await o.waitForEvent(carol, 'went-secure');
    expect(secure.version).to.equal(3);
    await m.waitForChat('alice@localhost', /\*\*\* OTR: channel established/);

    // Each side sees the fingerprint the other side's own code reports.
    expect(hex(secure.fingerprint)).to.equal(await m.otrOwnFingerprint());
    expect(await m.otrPeerFingerprint('alice@localhost')).to.equal(o.fingerprint);
    expect((await m.otrInfo('alice@localhost')).state).to.equal('encrypted');
    expect(o.conversation(carol).messageState).to.equal('encrypted');

    // ours -> mcabber
    await o.send(carol, 'hello mcabber, from our engine');
    expect(o.sent(carol).at(-1)).to.match(V3_DATA);
    await m.waitForHistory('alice@localhost', /^MR .* hello mcabber, from our engine$/m);
    await m.waitForChat('alice@localhost', /<O= hello mcabber, from our engine$/); // <O= : decrypted by libotr

    // mcabber -> ours
    await m.say('alice@localhost', 'and hello back from mcabber');
    const shown = await o.waitForShown(carol, /and hello back from mcabber/);
    expect(shown).to.deep.equal({ text: 'and hello back from mcabber', encrypted: true });

    // mcabber ends the session: we see the Disconnected TLV.
    await m.otrStop('alice@localhost');
    const gone = await o.waitForEvent(carol, 'went-insecure');
    expect(gone.reason).to.equal('peer-ended');
    expect(o.conversation(carol).messageState).to.equal('finished');
    expect(o.errors).to.deep.equal([]);
  });

  it('our engine starts the AKE; mcabber (policy manual) answers; several messages each way', async () => {
    const m = mc!;
    const o = ours!;
    const carol = 'carol@localhost';
    await o.startAke(carol);
    expect(o.sent(carol)[0]).to.match(/^\?OTRv23\?/);
    const secure = await o.waitForEvent(carol, 'went-secure');
    expect(secure.version).to.equal(3);
    await m.waitForChat('alice@localhost', /\*\*\* OTR: channel established/);
    expect(await m.otrPeerFingerprint('alice@localhost')).to.equal(o.fingerprint);
    expect(hex(secure.fingerprint)).to.equal(await m.otrOwnFingerprint());

    for (let i = 1; i <= 3; i++) {
      await o.send(carol, `ours #${i} with unicode: żółw ✓`);
      await m.waitForChat('alice@localhost', new RegExp(`<O= ours #${i} with unicode: żółw ✓$`));
      await m.say('alice@localhost', `mcabber #${i}`);
      expect(await o.waitForShown(carol, new RegExp(`^mcabber #${i}$`))).to.deep.equal({ text: `mcabber #${i}`, encrypted: true });
    }
    expect(o.sent(carol).filter((w) => !w.startsWith('?OTR'))).to.deep.equal([]); // nothing in the clear

    // We end it: mcabber notices.
    await o.end(carol);
    await m.waitForChat('alice@localhost', /\*\*\* OTR: channel closed/);
    // mcabber answers a Disconnected TLV by ending its side too: back to plaintext.
    expect((await m.otrInfo('alice@localhost')).state).to.equal('plaintext');
    expect(o.errors).to.deep.equal([]);
  });

  it('SMP with mcabber both ways: equal secrets succeed, different secrets fail', async () => {
    const m = mc!;
    const o = ours!;
    const carol = 'carol@localhost';
    await m.otrStart('alice@localhost');
    await o.waitForEvent(carol, 'went-secure');
    await m.waitForChat('alice@localhost', /\*\*\* OTR: channel established/);

    // mcabber asks, we answer with the same secret.
    await m.smpQuery('alice@localhost', 'rosebud');
    await o.waitForSmp(carol, 'secret-needed');
    await o.respondSmp(carol, 'rosebud');
    expect((await o.waitForSmp(carol, 'succeeded')).authenticatedPeer).to.equal(true);
    await m.waitForChat('alice@localhost', /Socialist Millionaires' Protocol: Success!/);

    // We ask with a question, mcabber answers with a different secret.
    await o.startSmp(carol, 'swordfish', 'the fish?');
    await m.waitForChat('alice@localhost', /Question: the fish\?/);
    await m.smpRespond('alice@localhost', 'tuna');
    await o.waitForSmp(carol, 'failed');
    await m.waitForChat('alice@localhost', /Socialist Millionaires' Protocol: Failure\./);
    expect(o.conversation(carol).messageState).to.equal('encrypted');
    expect(o.errors).to.deep.equal([]);
  });

  it('mcabber loads a key file written by our otr/private-key-file.ts; its libotr .fpr parses with our reader', async () => {
    const { server } = fixture;
    const o = ours!;
    const carol = 'carol@localhost';
    const carolKey = generateDsaKey();
    await mc!.stop();
    mc = await Mcabber.start({
      server,
      account: server.account('carol'),
      contacts: ['alice@localhost'],
      otrPrivateKeyFile: writePrivateKeyFile([{ accountName: carol, protocol: 'jabber', privateKey: carolKey }]),
    });
    const m = mc;
    expect(m.trace()).not.to.match(/Generating new OTR key/);
    expect(await m.otrOwnFingerprint()).to.equal(independentFingerprint(carolKey));

    await m.otrStart('alice@localhost');
    const secure = await o.waitForEvent(carol, 'went-secure');
    expect(hex(secure.fingerprint)).to.equal(independentFingerprint(carolKey));
    expect(await m.otrTrust('alice@localhost', o.fingerprint)).to.equal(true);

    const entries = parseFingerprintFile(m.otrFiles().fingerprints);
    const ourEntry = entries.find((e) => e.username === 'alice@localhost');
    expect(ourEntry, m.otrFiles().fingerprints).not.to.equal(undefined);
    expect(ourEntry?.accountName).to.equal(carol);
    expect(ourEntry?.protocol).to.equal('jabber');
    expect(hex(ourEntry?.fingerprint ?? new Uint8Array())).to.equal(o.fingerprint);
    expect(ourEntry && isTrustedFingerprint(ourEntry)).to.equal(true);
    // A wrong fingerprint un-trusts it again.
    expect(await m.otrTrust('alice@localhost', '0'.repeat(40))).to.equal(false);
  });

  it('our fragmented AKE and data messages (140-character fragments) are reassembled by libotr', async () => {
    const { server } = fixture;
    await ours!.stop();
    ours = await OtrOverXmpp.login({ server, account: server.account('alice'), maxFragmentSize: 140 });
    const o = ours;
    const m = mc!;
    const carol = 'carol@localhost';
    await o.startAke(carol);
    await o.waitForEvent(carol, 'went-secure');
    const long = `a long message ${'0123456789'.repeat(60)} end`;
    const before = o.sent(carol).length;
    await o.send(carol, long);
    const fragments = o.sent(carol).slice(before);
    expect(fragments.length).to.be.greaterThan(3);
    for (const f of fragments) {
      expect(f.length).to.be.at.most(140);
      expect(f).to.match(/^\?OTR\|[0-9a-f]+\|[0-9a-f]+,\d{5},\d{5},/);
    }
    await m.waitForHistory('alice@localhost', new RegExp(`^MR .* ${long}$`, 'm'));
    expect(o.sent(carol).some((w) => w.startsWith('?OTR|'))).to.equal(true);
    expect(o.errors).to.deep.equal([]);
  });

  describe('policies', () => {
    it('mcabber opportunistic: its whitespace-tagged plaintext starts our AKE (we are opportunistic too)', async () => {
      const { server } = fixture;
      await mc!.stop();
      await ours!.stop();
      ours = await OtrOverXmpp.login({ server, account: server.account('alice'), policy: OTR_POLICY_OPPORTUNISTIC });
      mc = await Mcabber.start({ server, account: server.account('carol'), contacts: ['alice@localhost'], otrPolicy: 'opportunistic' });
      const o = ours;
      const m = mc;
      const carol = 'carol@localhost';
      await m.say('alice@localhost', 'hi in the clear, with a tag');
      // We show the text without the tag, then run the AKE libotr's tag offered.
      expect(await o.waitForShown(carol, /^hi in the clear, with a tag$/)).to.deep.equal({ text: 'hi in the clear, with a tag', encrypted: false });
      const secure = await o.waitForEvent(carol, 'went-secure');
      expect(secure.version).to.equal(3);
      expect(hex(secure.fingerprint)).to.equal(await m.otrOwnFingerprint());
      await m.waitForChat('alice@localhost', /\*\*\* OTR: channel established/);
      await o.send(carol, 'now encrypted');
      expect(o.sent(carol).at(-1)).to.match(V3_DATA);
      await m.waitForChat('alice@localhost', /<O= now encrypted$/);
      expect(o.errors).to.deep.equal([]);
    });

    it('we require encryption: the message is held, a query goes out, mcabber (manual) answers, the held message arrives encrypted', async () => {
      const { server } = fixture;
      await ours!.stop();
      ours = await OtrOverXmpp.login({ server, account: server.account('alice'), policy: OTR_POLICY_ALWAYS });
      const o = ours;
      const m = mc!;
      const carol = 'carol@localhost';
      await o.send(carol, 'secret, never in the clear');
      expect(o.events(carol).some((e) => e.kind === 'held-until-encrypted')).to.equal(true);
      expect(o.sent(carol)).to.have.length(1);
      expect(o.sent(carol)[0]).to.match(/^\?OTRv23\?/);
      await o.waitForEvent(carol, 'went-secure');
      await o.waitForEvent(carol, 'held-messages-sent');
      await m.waitForChat('alice@localhost', /<O= secret, never in the clear$/);
      expect(o.sent(carol).filter((w) => w.includes('secret, never'))).to.deep.equal([]);
      expect(m.history('alice@localhost')).to.match(/^MR .* secret, never in the clear$/m);
      expect(o.errors).to.deep.equal([]);
    });
  });
});
