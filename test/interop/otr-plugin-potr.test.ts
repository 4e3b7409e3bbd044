/**
 * The OTR plugin with an independent implementation of OTR protocol v2: python3-potr 1.0.2 on
 * slixmpp (an echo bot) through a throwaway Prosody over TLS. Our Query offers v2 and v3; the
 * bot speaks v2 (no instance tags), the plugin keys the session by the bot's full JID.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../lib/core/store/store.js';
import { requirePeer } from './peer-availability.js';
import { PotrBot, POTR_BOT_PEER, probePotrBot, type PotrBotReport } from './clients/potr-bot.js';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOtr, eventsNamed, rawBodies, until, type OtrClient } from './otr-xmpp/otr-clients.js';

describe('interop: the OTR plugin vs a potr (OTR v2) bot over Prosody', function () {
  this.timeout(90_000);
  const fixture = useProsody({ accounts: ['alice', 'dave'] });
  let bot: PotrBot | undefined;
  let alice: OtrClient | undefined;

  before(function () {
    requirePeer(this, POTR_BOT_PEER, probePotrBot());
  });
  after(async () => {
    await bot?.stop();
    await alice?.stop();
  });

  it('v2 AKE, the bot\'s fingerprint, encrypted echo both ways, end', async () => {
    const { server } = fixture;
    const started = await PotrBot.start(server, server.account('dave'));
    bot = started.bot;
    const a = await connectOtr(server, server.account('alice'), 'desk', { store: new MemoryStore(), policy: 'manual' });
    alice = a;
    const dave = 'dave@localhost/potr';
    await a.otr.start(dave);
    await until(() => eventsNamed(a, 'secure').length === 1, 'v2 AKE', 30_000);
    const secure = eventsNamed(a, 'secure')[0];
    expect(secure).to.include({ jid: dave, version: 2, instanceTag: 0, fingerprint: started.online.fingerprint });
    const state = await bot.waitFor((r: PotrBotReport) => r.event === 'state' && r.state === 'ENCRYPTED');
    expect(state.event === 'state' && state.peerFingerprint).to.equal(await a.otr.ourFingerprint());
    for (const text of ['one', 'two', 'three']) {
      expect((await a.otr.send('dave@localhost', text)).kind).to.equal('encrypted');
      await bot.waitFor((r) => r.event === 'decrypted' && r.text === text);
      await until(() => a.messages.some((m) => m.text === `echo: ${text}` && m.encrypted), `echo ${text}`);
    }
    for (const body of rawBodies(a)) expect(body).to.not.include('echo:');
    await a.otr.stop(dave);
    await bot.waitFor((r) => r.event === 'state' && r.state === 'FINISHED');
    expect(bot.reports.filter((r) => r.event === 'otr-error' || r.event === 'plaintext')).to.deep.equal([]);
    expect(eventsNamed(a, 'otr-error')).to.deep.equal([]);
  });
});
