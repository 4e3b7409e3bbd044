/**
 * OTR and OMEMO side by side through Prosody: alice and bob run both plugins on one client
 * each, carol runs only OTR. With 'auto', alice's messages to bob go out as OMEMO (bob
 * publishes devices) and to carol as OTR (she publishes none); the choice is visible; OMEMO
 * messages never surface in the OTR plugin, and OTR messages never in the OMEMO plugin.
 */
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { useProsody } from './prosody/prosody-mocha.js';
import { until } from './omemo-xmpp/omemo-clients.js';
import { MemoryStore } from '../../lib/core/store/store.js';
import { secureClient, type SecureXmppClient } from '../../lib/xmpp/secure-client.js';
import { omemoPlugin, type OmemoPlugin, type OmemoXmppDependencies } from '../../lib/xmpp/omemo-plugin.js';
import { otrPlugin, type OtrPlugin } from '../../lib/xmpp/otr-plugin.js';
import { EncryptionChooser } from '../../lib/xmpp/omemo-otr-choice.js';
import type { OmemoPluginEvents } from '../../lib/xmpp/omemo-events.js';
import type { OtrPluginEvents } from '../../lib/xmpp/otr-events.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';

interface Both {
  readonly xmpp: SecureXmppClient;
  readonly jid: string;
  readonly omemo: OmemoPlugin | undefined;
  readonly otr: OtrPlugin;
  readonly omemoMessages: OmemoPluginEvents['message'][];
  readonly otrMessages: OtrPluginEvents['message'][];
  readonly raw: string[];
  stop(): Promise<void>;
}

async function connectBoth(server: ProsodyServer, user: string, withOmemo: boolean): Promise<Both> {
  const account = server.account(user);
  const xmpp = secureClient({ service: server.service, domain: server.domain, username: account.username, password: account.password, resource: 'main', tls: { ca: server.caPem } });
  xmpp.on('error', () => undefined);
  const raw: string[] = [];
  xmpp.on('element', (el: XmppClientElement) => {
    if (el.name === 'message') raw.push(el.toString());
  });
  // OMEMO first, consuming its messages; then OTR.
  const omemo = withOmemo ? await omemoPlugin(xmpp as unknown as OmemoXmppDependencies, { account: account.jid, store: new MemoryStore(), preKeyCount: 10, consume: true }) : undefined;
  const otr = await otrPlugin(xmpp, { account: account.jid, store: new MemoryStore(), policy: 'manual' });
  const omemoMessages: Both['omemoMessages'] = [];
  const otrMessages: Both['otrMessages'] = [];
  omemo?.on('message', (m) => omemoMessages.push(m));
  otr.on('message', (m) => otrMessages.push(m));
  await xmpp.start();
  await omemo?.announced();
  await xmpp.send(xml('presence'));
  return {
    xmpp, jid: `${account.jid}/main`, omemo, otr, omemoMessages, otrMessages, raw,
    async stop() {
      await omemo?.close();
      await otr.close();
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => undefined);
    },
  };
}

describe('interop: OTR and OMEMO side by side over Prosody (auto choice)', function () {
  this.timeout(60_000);
  const prosody = useProsody({ accounts: ['alice', 'bob', 'carol'], modules: ['pep', 'carbons'] });
  const open: Both[] = [];

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.stop()));
  });

  it("'auto' uses OMEMO for a contact with devices and OTR for one without; each message reaches only its plugin", async () => {
    const alice = await connectBoth(prosody.server, 'alice', true);
    const bob = await connectBoth(prosody.server, 'bob', true);
    const carol = await connectBoth(prosody.server, 'carol', false);
    open.push(alice, bob, carol);
    const chooser = new EncryptionChooser({ omemo: alice.omemo as OmemoPlugin, otr: alice.otr });

    const toBob = await chooser.send('bob@localhost', 'omemo for bob');
    expect(toBob.protocol).to.equal('omemo');
    expect(chooser.protocolFor('bob@localhost')).to.deep.equal({ protocol: 'omemo', preference: 'auto', omemoVersion: '0.3', reason: 'auto-devices' });
    await until(() => bob.omemoMessages.length === 1, 'bob gets OMEMO');
    expect(bob.omemoMessages[0]).to.include({ text: 'omemo for bob', from: 'alice@localhost' });

    await alice.otr.start(carol.jid);
    await until(() => alice.otr.session(carol.jid).security.kind === 'encrypted' && carol.otr.session(alice.jid).security.kind === 'encrypted', 'OTR AKE with carol');
    const toCarol = await chooser.send(carol.jid, 'otr for carol');
    expect(toCarol.protocol).to.equal('otr');
    expect(toCarol.choice.reason).to.equal('auto-no-devices');
    if (toCarol.protocol === 'otr') expect(toCarol.result.kind).to.equal('encrypted');
    await until(() => carol.otrMessages.some((m) => m.text === 'otr for carol'), 'carol gets OTR');
    expect(carol.otrMessages.find((m) => m.text === 'otr for carol')?.encrypted).to.equal(true);

    // The application overrides: OTR for bob too.
    chooser.setPreference('bob@localhost', 'otr');
    await alice.otr.start(bob.jid);
    await until(() => alice.otr.session(bob.jid).security.kind === 'encrypted' && bob.otr.session(alice.jid).security.kind === 'encrypted', 'OTR AKE with bob');
    const otrToBob = await chooser.send(bob.jid, 'otr for bob');
    expect(otrToBob.protocol).to.equal('otr');
    await until(() => bob.otrMessages.some((m) => m.text === 'otr for bob'), 'bob gets OTR');

    // No OMEMO message surfaced in bob's OTR plugin (neither fallback nor decrypted text), and no OTR in OMEMO.
    expect(bob.otrMessages.map((m) => m.text)).to.deep.equal(['otr for bob']);
    expect(bob.omemoMessages.map((m) => m.text)).to.deep.equal(['omemo for bob']);
    for (const s of bob.raw.concat(carol.raw)) expect(s).to.not.match(/omemo for bob|otr for (bob|carol)/);
  });
});
