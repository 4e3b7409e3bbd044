/**
 * The OMEMO plugin against python-omemo 1.0 (python3-omemo + oldmemo + twomemo) over a real
 * Prosody, both versions, both directions. python-omemo has no XMPP layer here: the test
 * bridges its JSON-lines peer (test/interop/omemo/omemo_peer.py) to the server as account
 * `pybot`: it publishes the peer's device list and bundle to pybot's PEP, fetches alice's from
 * the server for the peer, and relays the stanzas (including python's own empty messages).
 * Our side is only the plugin: it fetches pybot's PEP data itself and speaks over the server.
 */
import { expect } from 'chai';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { requirePeer } from './peer-availability.js';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOmemo, until, type OmemoClient } from './omemo-xmpp/omemo-clients.js';
import { PYTHON_OMEMO_PEER, PythonOmemoPeer, probePythonOmemo, NS_03, NS_2, type OmemoNamespace, type PeerResponseBase } from './omemo/python-omemo-peer.js';
import { secureClient, type SecureXmppClient } from '../../lib/xmpp/secure-client.js';
import { buildOmemoMessage, publishRequest, itemsRequest, toLtx } from '../../lib/xmpp/omemo-stanzas.js';
import { parseXml } from '../../omemo/xml-codec.js';
import { createSceEnvelope, serializeSceEnvelope } from '../../omemo/sce.js';
import { bytesToUtf8 } from '../../lib/core/bytes.js';
import { xmlElement } from '../../omemo/xml-element.js';
import { systemRandom } from '../../lib/core/random.js';

const PY = 'pybot@localhost';
const ALICE = 'alice@localhost';

const devicelistNode = (ns: OmemoNamespace): string => (ns === NS_03 ? `${NS_03}.devicelist` : `${NS_2}:devices`);

/** The bridge: pybot's XMPP connection driven on behalf of the python peer. */
class Bridge {
  readonly received: string[] = [];
  readonly decrypted: { plaintext: string | null; sender_device: number }[] = [];
  readonly failures: string[] = [];
  #chain: Promise<void> = Promise.resolve();

  constructor(readonly xmpp: SecureXmppClient, readonly peer: PythonOmemoPeer) {
    xmpp.on('stanza', (stanza: XmppClientElement) => {
      if (!stanza.is('message')) return;
      const encrypted = stanza.getChild('encrypted', NS_2) ?? stanza.getChild('encrypted', NS_03);
      if (encrypted === undefined) return;
      const text = encrypted.toString();
      this.received.push(text);
      this.#chain = this.#chain.then(async () => {
        try {
          const r = await peer.decrypt(ALICE, text);
          this.decrypted.push({ plaintext: r.plaintext, sender_device: r.sender_device });
          await this.relay(r);
        } catch (error) {
          this.failures.push(String(error));
        }
      });
    });
  }

  /** Publishes what python published (device list, bundle) to pybot's PEP. */
  async publishPeer(ns: OmemoNamespace): Promise<void> {
    const info = this.peer.info;
    const id = info.device_id;
    await this.xmpp.iqCaller.set(publishRequest(devicelistNode(ns), 'current', toLtx(parseXml(info.devicelist[ns]))) as unknown as XmppClientElement);
    const bundleNode = ns === NS_03 ? `${NS_03}.bundles:${id}` : `${NS_2}:bundles`;
    await this.xmpp.iqCaller.set(publishRequest(bundleNode, ns === NS_03 ? 'current' : String(id), toLtx(parseXml(info.bundle[ns]))) as unknown as XmppClientElement);
  }

  /** Fetches alice's device list and bundles from the server and hands them to the peer. */
  async learnAlice(ns: OmemoNamespace): Promise<number[]> {
    const items = await this.xmpp.iqCaller.get(itemsRequest(devicelistNode(ns)) as unknown as XmppClientElement, ALICE);
    const list = items.getChild('items')?.getChild('item')?.children.find((c): c is XmppClientElement => typeof c !== 'string');
    if (list === undefined) throw new Error('alice has no device list');
    await this.peer.pepDeviceList(ns, ALICE, list.toString());
    const ids = list.getChildren('device').map((d) => Number(d.attrs.id));
    for (const id of ids) {
      const node = ns === NS_03 ? `${NS_03}.bundles:${id}` : `${NS_2}:bundles`;
      const got = await this.xmpp.iqCaller.get(itemsRequest(node, ns === NS_03 ? undefined : String(id)) as unknown as XmppClientElement, ALICE);
      const bundle = got.getChild('items')?.getChildren('item').find((i) => ns === NS_03 || i.attrs.id === String(id))?.children.find((c): c is XmppClientElement => typeof c !== 'string');
      if (bundle !== undefined) await this.peer.pepBundle(ns, ALICE, id, bundle.toString());
    }
    return ids;
  }

  /** Sends python's own messages (key-exchange completion, heartbeats) over the server. */
  async relay(response: PeerResponseBase): Promise<void> {
    for (const m of response.outbox) {
      const version = m.ns === NS_03 ? '0.3' : '2';
      await this.xmpp.send(buildOmemoMessage(m.to, `py-${Math.random().toString(36).slice(2)}`, version, parseXml(m.xml), false) as unknown as XmppClientElement);
    }
  }

  idle(): Promise<void> {
    return this.#chain;
  }
}

describe('interop: OMEMO plugin with python-omemo 1.0 over Prosody', function () {
  this.timeout(60_000);
  const prosody = useProsody({ accounts: ['alice', 'pybot'], modules: ['pep', 'carbons'] });
  const open: { stop(): Promise<void> }[] = [];

  before(function () {
    requirePeer(this, PYTHON_OMEMO_PEER, probePythonOmemo());
  });

  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.stop();
  });

  async function setup(): Promise<{ alice: OmemoClient; bridge: Bridge }> {
    const peer = await PythonOmemoPeer.start(PY);
    open.push({ stop: () => peer.close() });
    const account = prosody.server.account('pybot');
    const x = secureClient({ service: prosody.server.service, domain: prosody.server.domain, username: account.username, password: account.password, resource: 'py', tls: { ca: prosody.server.caPem } });
    x.on('error', () => undefined);
    await x.start();
    await x.send(xml('presence'));
    open.push({ async stop() { x.reconnect.stop(); await x.stop().catch(() => undefined); } });
    const bridge = new Bridge(x, peer);
    await bridge.publishPeer(NS_03);
    await bridge.publishPeer(NS_2);
    const alice = await connectOmemo(prosody.server, prosody.server.account('alice'), 'desk');
    open.push(alice);
    return { alice, bridge };
  }

  for (const version of ['0.3', '2'] as const) {
    const ns: OmemoNamespace = version === '0.3' ? NS_03 : NS_2;
    it(`${ns}: the plugin's message is decrypted by python-omemo, python's reply by the plugin`, async () => {
      const { alice, bridge } = await setup();
      await bridge.learnAlice(ns);
      const sent = await alice.omemo.send(PY, `hello python ${version}`, { version });
      expect(sent.recipients.filter((r) => r.jid === PY).map((r) => r.deviceId)).to.deep.equal([bridge.peer.info.device_id]);
      await until(() => bridge.decrypted.length + bridge.failures.length >= 1, 'python decrypts');
      await bridge.idle();
      expect(bridge.failures).to.deep.equal([]);
      const got = bridge.decrypted[0]?.plaintext ?? '';
      if (version === '0.3') {
        expect(got).to.equal(`hello python ${version}`);
      } else {
        // python hands back the SCE envelope: its body is ours, its affixes name alice and pybot.
        const envelope = parseXml(got);
        expect(envelope.attrs['xmlns']).to.equal('urn:xmpp:sce:1');
        expect(envelope.children.find((c) => c.name === 'content')?.children[0]?.text).to.equal(`hello python ${version}`);
        expect(envelope.children.find((c) => c.name === 'from')?.attrs['jid']).to.equal(ALICE);
        expect(envelope.children.find((c) => c.name === 'to')?.attrs['jid']).to.equal(PY);
      }
      expect(bridge.decrypted[0]?.sender_device).to.equal(alice.omemo.deviceId);

      const plaintext = version === '0.3'
        ? `hi alice ${version}`
        : bytesToUtf8(serializeSceEnvelope(createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], `hi alice ${version}`)], from: PY, to: ALICE, time: new Date() }, systemRandom)));
      const reply = await bridge.peer.encrypt(ns, [ALICE], plaintext);
      await bridge.xmpp.send(buildOmemoMessage(ALICE, 'py-reply', version, parseXml(reply.xml)) as unknown as XmppClientElement);
      await until(() => alice.messages.length === 1 || alice.errors.some((e) => e.from === PY), 'alice decrypts python');
      expect(alice.errors.filter((e) => e.from === PY).map((e) => e.error.code)).to.deep.equal([]);
      expect(alice.messages[0]).to.include({ text: `hi alice ${version}`, from: PY, version, senderDeviceId: bridge.peer.info.device_id, keyExchange: false });

      // And once more from us, on the now-confirmed session.
      await alice.omemo.send(PY, `again ${version}`, { version });
      await until(() => bridge.decrypted.length + bridge.failures.length >= 2, 'python decrypts again');
      await bridge.idle();
      expect(bridge.failures).to.deep.equal([]);
      expect(bridge.decrypted[1]?.plaintext).to.include(`again ${version}`);
    });
  }
});
