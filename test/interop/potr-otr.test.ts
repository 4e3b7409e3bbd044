/**
 * Our OTR engine speaking OTR protocol v2 with a REAL independent implementation: python3-potr
 * 1.0.2 on slixmpp (an echo bot), through a throwaway Prosody over TLS.
 */
import { expect } from 'chai';
import { requirePeer } from './peer-availability.js';
import { OtrOverXmpp } from './clients/otr-over-xmpp.js';
import { POTR_BOT_PEER, PotrBot, probePotrBot } from './clients/potr-bot.js';
import type { PotrBotReport } from './clients/potr-bot.js';
import { useProsody } from './prosody/prosody-mocha.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An OTR v2 Data Message on the wire: base64 of version 2 (00 02) and type 0x03 -> "AAID". */
const V2_DATA = /^\?OTR:AAID/;

describe('interop: our OTR engine vs potr (OTR v2) bot over Prosody', function () {
  this.timeout(90000);
  const fixture = useProsody({ accounts: ['alice', 'dave'] });
  let bot: PotrBot | undefined;
  let botFingerprint = '';
  let ours: OtrOverXmpp | undefined;

  before(function () {
    requirePeer(this, POTR_BOT_PEER, probePotrBot());
  });

  beforeEach(async () => {
    const { server } = fixture;
    ours = await OtrOverXmpp.login({ server, account: server.account('alice') });
    const started = await PotrBot.start(server, server.account('dave'));
    bot = started.bot;
    botFingerprint = started.online.fingerprint;
    expect(started.online.tls).to.match(/^TLSv1\.[23]$/);
  });

  afterEach(async () => {
    await bot?.stop();
    await ours?.stop();
    bot = undefined;
    ours = undefined;
  });

  const encrypted = (r: PotrBotReport): boolean => r.event === 'state' && r.state === 'ENCRYPTED';

  it('we start: v2 AKE, fingerprints agree, the bot decrypts and its encrypted echo comes back', async () => {
    const o = ours!;
    const b = bot!;
    const dave = 'dave@localhost';
    // The bot knows our full JID only after a first message: it answers whoever wrote.
    await o.startAke(dave);
    const secure = await o.waitForEvent(dave, 'went-secure');
    expect(secure.version).to.equal(2);
    expect(secure.instanceTag).to.equal(0);
    expect(hex(secure.fingerprint)).to.equal(botFingerprint);
    const state = await b.waitFor(encrypted);
    expect(state.event === 'state' && state.peerFingerprint).to.equal(o.fingerprint);

    for (const text of ['hello potr', 'second: ünïcode ✓']) {
      await o.send(dave, text);
      expect(o.sent(dave).at(-1)).to.match(V2_DATA);
      await b.waitFor((r) => r.event === 'decrypted' && r.text === text);
      expect(await o.waitForShown(dave, new RegExp(`^echo: ${text}$`))).to.deep.equal({ text: `echo: ${text}`, encrypted: true });
    }
    expect(b.reports.filter((r) => r.event === 'otr-error' || r.event === 'plaintext')).to.deep.equal([]);

    await o.end(dave);
    await b.waitFor((r) => r.event === 'state' && r.state === 'FINISHED');
    expect(o.errors).to.deep.equal([]);
  });

  it('the bot starts with a v2 Query Message; we answer and talk', async () => {
    const o = ours!;
    const b = bot!;
    const dave = 'dave@localhost';
    b.query('alice@localhost/ours');
    const secure = await o.waitForEvent(dave, 'went-secure');
    expect(secure.version).to.equal(2);
    expect(hex(secure.fingerprint)).to.equal(botFingerprint);
    const state = await b.waitFor(encrypted);
    expect(state.event === 'state' && state.peerFingerprint).to.equal(o.fingerprint);
    await o.send(dave, 'answering your query');
    expect(await o.waitForShown(dave, /^echo: answering your query$/)).to.deep.equal({ text: 'echo: answering your query', encrypted: true });
    expect(o.errors).to.deep.equal([]);
  });
});
