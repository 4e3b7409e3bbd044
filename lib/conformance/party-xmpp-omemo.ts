/**
 * The conformance kit's OMEMO wire over XMPP (`conformance --xmpp --family omemo`,
 * docs/CONFORMANCE.md "OMEMO over XMPP"): one connection made with `secureClient` (TLS always
 * validated), logged in as the kit's account, with our OMEMO plugin for what is not under test
 * (publishing the kit's device list and bundles over PEP, fetching the peer's, decrypting the
 * peer's echoes). What goes to the implementation under test is built by the kit itself: the
 * session manager encrypts (XEP-0384 0.3.0 or omemo:2), `buildOmemoMessage` wraps it, and the
 * kit may tamper with or repeat the stanza before it writes it, so hostile scenarios are
 * possible. Every stanza each way is recorded as wire evidence.
 */
import { randomBytes } from 'node:crypto';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { MemoryStore } from '../core/store/store.js';
import { utf8ToBytes } from '../core/bytes.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import { createSceEnvelope, serializeSceEnvelope } from '../../omemo/sce.js';
import { xmlElement, type XmlElement } from '../../omemo/xml-element.js';
import { systemRandom } from '../core/random.js';
import { omemoPlugin, type OmemoPlugin, type OmemoXmppDependencies } from '../xmpp/omemo-plugin.js';
import type { OmemoMessageEvent } from '../xmpp/omemo-events.js';
import { buildOmemoMessage } from '../xmpp/omemo-stanzas.js';
import type { ConnectionSecurity, SecureXmppClient } from '../xmpp/secure-client.js';
import type { WireRecord } from './exchange.js';
import { kitClient, splitJid, type XmppKitOptions } from './party-xmpp.js';

/** What the kit encrypted: the `<encrypted>` element, and whether it carries a key exchange for the peer. */
export interface KitMessage {
  readonly version: OmemoVersion;
  readonly encrypted: XmlElement;
  /** A key element for one of the peer's devices is marked `prekey` (0.3) or `kex` (omemo:2). */
  readonly keyExchange: boolean;
  /** The peer's devices that got a key. */
  readonly peerDevices: readonly number[];
}

/** The kit's OMEMO connection and the implementation under test at the other end. */
export class XmppOmemoWire {
  readonly #xmpp: SecureXmppClient;
  readonly omemo: OmemoPlugin;
  readonly #peerBare: string;
  /** Everything sent to or received from the peer, in order (the current scenario's slice is taken by index). */
  readonly log: WireRecord[] = [];
  /** Decrypted messages from the peer, in arrival order. */
  readonly echoes: OmemoMessageEvent[] = [];
  /** Connection and plugin errors (reported by scenarios that stall). */
  readonly errors: string[] = [];
  ownJid = '';
  readonly peerJid: string;

  private constructor(xmpp: SecureXmppClient, omemo: OmemoPlugin, peer: string) {
    this.#xmpp = xmpp;
    this.omemo = omemo;
    this.peerJid = peer;
    this.#peerBare = splitJid(peer).bare;
    xmpp.on('error', (error: Error) => this.errors.push(error.message));
    xmpp.on('element', (element: XmppClientElement) => {
      if (element.name === 'presence' && element.attrs['type'] === 'subscribe' && typeof element.attrs['from'] === 'string') {
        xmpp.send(xml('presence', { to: element.attrs['from'], type: 'subscribed' })).catch((error: unknown) => this.errors.push(String(error)));
      }
      if (element.name !== 'message' || typeof element.attrs['from'] !== 'string') return;
      if (splitJid(element.attrs['from']).bare !== this.#peerBare) return;
      this.log.push({ from: 'iut', to: 'reference', text: element.toString() });
    });
    omemo.on('message', (m) => {
      if (m.from !== this.#peerBare || m.carbon === 'sent') return;
      this.echoes.push(m);
    });
    omemo.on('omemo-error', (e) => this.errors.push(`${e.error.code}: ${e.error.message}`));
  }

  /** Logs in (TLS validated), publishes a fresh OMEMO device (keys in memory), sends presence with caps, subscribes to the peer. */
  static async connect(options: XmppKitOptions): Promise<XmppOmemoWire> {
    const { xmpp, bare } = kitClient(options, 'XmppOmemoWire');
    const omemo = await omemoPlugin(xmpp as unknown as OmemoXmppDependencies, { account: bare, store: new MemoryStore(), preKeyCount: 20 });
    const wire = new XmppOmemoWire(xmpp, omemo, options.peer);
    try {
      const online = await xmpp.start();
      wire.ownJid = String(online);
      await omemo.announced();
      await omemo.presence();
      await xmpp.send(xml('presence', { to: wire.#peerBare, type: 'subscribe' }));
    } catch (error) {
      await omemo.close().catch(() => undefined);
      await xmpp.stop().catch(() => undefined);
      throw error;
    }
    return wire;
  }

  /** How the connection is protected. */
  get security(): ConnectionSecurity | undefined {
    return this.#xmpp.transportSecurity.security;
  }

  /** The kit's device id. */
  get deviceId(): number {
    return this.omemo.deviceId;
  }

  /**
   * Encrypts `text` with `version` to the peer's devices (fetching its device list and
   * bundles) without sending it. Throws what the session manager throws (no devices, no
   * usable bundle).
   */
  async encrypt(version: OmemoVersion, text: string): Promise<KitMessage> {
    const skipped = await this.omemo.prepareRecipients(version, [this.#peerBare]);
    if (skipped.includes(this.#peerBare)) this.errors.push(`the ${version} device list of ${this.#peerBare} could not be fetched`);
    const own = splitJid(this.ownJid).bare;
    const plaintext = version === '0.3'
      ? utf8ToBytes(text)
      : serializeSceEnvelope(createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], text)], from: own, to: this.#peerBare, time: new Date() }, systemRandom));
    const result = await this.omemo.manager.encrypt(version, [this.#peerBare], plaintext);
    const peer = result.recipients.filter((r) => r.jid === this.#peerBare);
    return { version, encrypted: result.element, keyExchange: peer.some((r) => r.keyExchange), peerDevices: peer.map((r) => r.deviceId) };
  }

  /** The `<message>` for `message` (a new message id unless `id` is given, so a repeated stanza can be byte-identical). */
  stanza(message: KitMessage, id = randomBytes(9).toString('base64url')): Element {
    return buildOmemoMessage(this.peerJid, id, message.version, message.encrypted);
  }

  /** Writes `stanza` (as built, tampered or repeated by the kit) and records it (`note`: made by the kit on purpose). */
  async send(stanza: Element, note?: string): Promise<void> {
    const text = stanza.toString();
    this.log.push(note === undefined ? { from: 'reference', to: 'iut', text } : { from: 'kit', to: 'iut', text, note });
    await this.#xmpp.send(stanza);
  }

  /** Publishes nothing more, sends unavailable presence and logs out. */
  async close(): Promise<void> {
    await this.omemo.close().catch(() => undefined);
    await this.#xmpp.send(xml('presence', { type: 'unavailable' })).catch(() => undefined);
    await this.#xmpp.stop().catch(() => undefined);
  }
}

/** `message` with one byte of its `<payload>` flipped (`index` into the decoded bytes): the AEAD (0.3) or HMAC (omemo:2) must reject it. */
export function tamperPayload(message: KitMessage, index = 0): KitMessage {
  const flip = (e: XmlElement): XmlElement => {
    if (e.name === 'payload') {
      const bytes = Buffer.from(e.text, 'base64');
      const at = Math.min(index, bytes.length - 1);
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      return xmlElement(e.name, e.attrs, [], bytes.toString('base64'));
    }
    return e.children.length === 0 ? e : xmlElement(e.name, e.attrs, e.children.map(flip));
  };
  if (!message.encrypted.children.some((c) => c.name === 'payload')) throw new TypeError('tamperPayload: the message has no <payload>');
  return { ...message, encrypted: flip(message.encrypted) };
}
