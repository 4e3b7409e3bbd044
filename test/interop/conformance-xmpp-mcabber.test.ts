/**
 * The conformance kit over XMPP against a REAL desktop client: mcabber 1.1.2 (libotr 4.1.1)
 * in tmux, made an echo peer with its own hooks (events_command + its FIFO, see
 * clients/mcabber.ts `echo`), both logged in to a throwaway Prosody over TLS. mcabber's user
 * answers SMP by typing, so the SMP scenarios are not applicable; every other scenario that can
 * run over XMPP must pass, and the kit must authenticate exactly mcabber's own OTR key.
 */
import { expect } from 'chai';
import { XmppPeerWire } from '../../lib/conformance/party-xmpp.js';
import { runXmppConformance } from '../../lib/conformance/runner-xmpp.js';
import { XMPP_SCENARIOS } from '../../lib/conformance/scenarios-xmpp.js';
import { Mcabber, MCABBER_PEER, probeMcabber } from './clients/mcabber.js';
import { requirePeer } from './peer-availability.js';
import { useProsody } from './prosody/prosody-mocha.js';

describe('conformance kit over XMPP against mcabber (libotr) in tmux', function () {
  this.timeout(600_000);
  const prosody = useProsody({ accounts: ['kit', 'carol'] });
  let mc: Mcabber | undefined;

  before(function () {
    requirePeer(this, MCABBER_PEER, probeMcabber());
  });

  after(async () => {
    await mc?.stop();
  });

  it('mcabber as an echo peer passes every scenario that can run without an SMP secret', async () => {
    const { server } = prosody;
    const kit = server.account('kit');
    const m = await Mcabber.start({ server, account: server.account('carol'), contacts: [kit.jid], otrPolicy: 'opportunistic', echo: true });
    mc = m;
    const fingerprint = await m.otrOwnFingerprint();
    const wire = await XmppPeerWire.connect({ service: server.service, jid: kit.jid, password: kit.password, peer: m.fullJid, tls: { ca: server.caPem } });
    let report;
    try {
      report = await runXmppConformance({
        wire,
        scenarios: XMPP_SCENARIOS,
        label: 'mcabber 1.1.2 (libotr 4.1.1)',
        options: { settleMs: 1500, answerTimeoutMs: 20_000, iutFingerprint: fingerprint },
      });
    } finally {
      await wire.close();
    }
    const failing = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message ?? ''}`);
    expect(failing).to.deep.equal([]);
    expect(report.results.map((r) => r.id)).to.deep.equal(XMPP_SCENARIOS.filter((s) => s.kind === 'runs' && s.needsSmpSecret !== true).map((s) => s.id));
    expect(report.notApplicable.map((n) => n.id)).to.include.members(['smp.same-secret', 'smp.abort-and-restart', 'session.disconnect.iut']);
    expect(report.results[0]?.notes.join(' ')).to.include(`fingerprint ${fingerprint}`);
    // what mcabber showed is what the kit sent: its history holds the decrypted texts
    expect(m.history(kit.jid)).to.match(/hello over XMPP \[/);
  });
});
