/**
 * The OTR plugin against a REAL desktop client: mcabber 1.1.2 (libotr 4.1.1) in tmux, both
 * logged in to a throwaway Prosody over TLS. mcabber runs /otr start with our plugin acting as
 * an echo bot: messages both ways encrypted, our side sees the fingerprint libotr reports,
 * SMP from mcabber marks it verified in our store, and mcabber ending the session is seen.
 */
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { MemoryStore } from '../../lib/core/store/store.js';
import { requirePeer } from './peer-availability.js';
import { Mcabber, MCABBER_PEER, probeMcabber } from './clients/mcabber.js';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOtr, eventsNamed, until, type OtrClient } from './otr-xmpp/otr-clients.js';

describe('interop: the OTR plugin (echo bot) vs mcabber (libotr) over Prosody', function () {
  this.timeout(90_000);
  const fixture = useProsody({ accounts: ['alice', 'carol'] });
  let mc: Mcabber | undefined;
  let bot: OtrClient | undefined;

  before(function () {
    requirePeer(this, MCABBER_PEER, probeMcabber());
  });

  after(async () => {
    await mc?.stop();
    await bot?.stop();
  });

  it('mcabber: /otr start, echo both ways encrypted, libotr\'s fingerprint, SMP verifies, /otr stop', async () => {
    const { server } = fixture;
    const b = await connectOtr(server, server.account('alice'), 'bot', { store: new MemoryStore(), policy: 'manual' });
    bot = b;
    // Approve subscriptions so mcabber sees the bot online (libotr talks OTR to online contacts).
    b.xmpp.on('stanza', (s: XmppClientElement) => {
      if (s.is('presence') && s.attrs['type'] === 'subscribe' && s.attrs['from']) void b.xmpp.send(xml('presence', { to: s.attrs['from'], type: 'subscribed' }));
    });
    b.otr.on('message', (m) => {
      if (m.encrypted) void b.otr.send(m.from, `echo: ${m.text}`);
    });
    b.otr.on('smp', (e) => {
      if (e.kind === 'secret-needed') void b.otr.smpAnswer(e.jid, 'rosebud');
    });
    const m = await Mcabber.start({ server, account: server.account('carol'), contacts: ['alice@localhost'] });
    mc = m;

    await m.otrStart('alice@localhost');
    await until(() => eventsNamed(b, 'secure').length === 1, 'AKE with mcabber', 30_000);
    await m.waitForChat('alice@localhost', /\*\*\* OTR: channel established/);
    const secure = eventsNamed(b, 'secure')[0];
    expect(secure?.jid.startsWith('carol@localhost/')).to.equal(true);
    expect(secure?.fingerprint).to.equal(await m.otrOwnFingerprint());
    expect(await m.otrPeerFingerprint('alice@localhost')).to.equal(await b.otr.ourFingerprint());

    await m.say('alice@localhost', 'hello plugin');
    await until(() => b.messages.some((x) => x.text === 'hello plugin'), 'mcabber -> plugin');
    expect(b.messages.find((x) => x.text === 'hello plugin')?.encrypted).to.equal(true);
    await m.waitForChat('alice@localhost', /<O= echo: hello plugin$/); // decrypted by libotr
    for (const s of b.sent) expect(s).to.not.include('echo: hello plugin');

    await m.smpQuery('alice@localhost', 'rosebud');
    await until(() => eventsNamed(b, 'smp').some((e) => e.kind === 'succeeded'), 'SMP from mcabber', 30_000);
    await m.waitForChat('alice@localhost', /Socialist Millionaires' Protocol: Success!/);
    expect((await b.otr.fingerprints('carol@localhost')).map((f) => f.trust)).to.deep.equal(['smp']);

    await m.otrStop('alice@localhost');
    await until(() => eventsNamed(b, 'insecure').length === 1, 'mcabber ended');
    expect(eventsNamed(b, 'insecure')[0]?.reason).to.equal('peer-ended');
    expect(eventsNamed(b, 'otr-error')).to.deep.equal([]);
  });
});
