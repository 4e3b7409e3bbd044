/**
 * The conformance kit's wire over XMPP (the "over XMPP" mode, docs/CONFORMANCE.md): one
 * connection made with `secureClient` (TLS always validated: the system roots or `ca`, SPKI
 * pins checked as well, plaintext refused), logged in as the kit's account. It carries the
 * kit's OTR messages as `<body>`s of chat messages to the implementation under test (a client
 * or bot on another account) and hands back every body that account sends, unchanged, so the
 * kit keeps raw wire access: what goes out is exactly what the kit's engine (or the kit's
 * tampering) produced, and what comes in is read with our codecs.
 *
 * Presence subscription requests are approved, and the kit subscribes to the peer, so a client
 * that talks OTR only to online roster contacts (mcabber, Pidgin) sees the kit online.
 */
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { secureClient, type ConnectionSecurity, type SecureXmppClient, type TlsOptions } from '../xmpp/secure-client.js';

/** How the kit logs in and whom it tests. */
export interface XmppKitOptions {
  /** `xmpp://host:5222` (STARTTLS) or `xmpps://host:5223` (direct TLS). */
  readonly service: string;
  /** XMPP domain (default: the domain of `jid`). */
  readonly domain?: string;
  /** The kit's account, `user@domain` (a `/resource` part is used as the resource). */
  readonly jid: string;
  readonly password: string;
  /** Resource (default `conformance-kit`). */
  readonly resource?: string;
  /** The implementation under test: a full JID (only that resource is talked to and listened to) or a bare JID. */
  readonly peer: string;
  /** TLS policy (CA PEM replacing the system roots, SPKI pins). */
  readonly tls?: TlsOptions;
}

/** One message body that arrived from the implementation under test. */
export interface IncomingBody {
  /** The sender's full JID. */
  readonly from: string;
  readonly body: string;
}

/** A JID split into its bare part and resource. */
export function splitJid(jid: string): { readonly bare: string; readonly resource: string | undefined } {
  const slash = jid.indexOf('/');
  return slash < 0 ? { bare: jid.toLowerCase(), resource: undefined } : { bare: jid.slice(0, slash).toLowerCase(), resource: jid.slice(slash + 1) };
}

/**
 * The kit's connection (not started): `options.jid` split into account and resource, the peer
 * checked to be a JID, TLS validated by {@link secureClient}, no automatic reconnect (a run is
 * one session). `who` names the caller in the errors.
 */
export function kitClient(options: XmppKitOptions, who: string): { readonly xmpp: SecureXmppClient; readonly bare: string } {
  const { bare, resource } = splitJid(options.jid);
  const at = bare.indexOf('@');
  if (at <= 0) throw new TypeError(`${who}: the kit's JID must be user@domain, got ${JSON.stringify(options.jid)}`);
  if (!splitJid(options.peer).bare.includes('@')) throw new TypeError(`${who}: the peer must be a JID, got ${JSON.stringify(options.peer)}`);
  const xmpp = secureClient({
    service: options.service,
    domain: options.domain ?? bare.slice(at + 1),
    username: bare.slice(0, at),
    password: options.password,
    resource: options.resource ?? resource ?? 'conformance-kit',
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  xmpp.reconnect.stop();
  return { xmpp, bare };
}


/** The kit's XMPP connection and the implementation under test at the other end. */
export class XmppPeerWire {
  readonly #xmpp: SecureXmppClient;
  readonly #peer: { readonly bare: string; readonly resource: string | undefined };
  readonly #listeners = new Set<(incoming: IncomingBody) => void>();
  /** Connection errors seen so far (reported by the scenarios that stall). */
  readonly errors: string[] = [];
  /** The kit's full JID once online. */
  ownJid = '';
  /** Where messages go: the full JID given, or the bare one. */
  readonly peerJid: string;

  private constructor(xmpp: SecureXmppClient, peer: string) {
    this.#xmpp = xmpp;
    this.#peer = splitJid(peer);
    this.peerJid = peer;
    xmpp.on('error', (error: Error) => this.errors.push(error.message));
    xmpp.on('stanza', (stanza: XmppClientElement) => this.#onStanza(stanza));
  }

  /** Logs in (TLS validated), sends presence, subscribes to the peer. */
  static async connect(options: XmppKitOptions): Promise<XmppPeerWire> {
    const { xmpp } = kitClient(options, 'XmppPeerWire');
    const wire = new XmppPeerWire(xmpp, options.peer);
    const online = await xmpp.start();
    wire.ownJid = String(online);
    await xmpp.send(xml('presence'));
    await xmpp.send(xml('presence', { to: wire.#peer.bare, type: 'subscribe' }));
    return wire;
  }

  /** How the connection is protected (TLS version, the server certificate's fingerprints). */
  get security(): ConnectionSecurity | undefined {
    return this.#xmpp.transportSecurity.security;
  }

  /** Calls `listener` with every body the implementation under test sends; returns the remover. */
  onBody(listener: (incoming: IncomingBody) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends `body` as a chat message to the implementation under test. */
  async send(body: string): Promise<void> {
    await this.#xmpp.send(xml('message', { to: this.peerJid, type: 'chat' }, xml('body', {}, body)));
  }

  #fromPeer(from: string | undefined): boolean {
    if (from === undefined) return false;
    const { bare, resource } = splitJid(from);
    return bare === this.#peer.bare && (this.#peer.resource === undefined || resource === this.#peer.resource);
  }

  #onStanza(stanza: XmppClientElement): void {
    const from = stanza.attrs['from'];
    if (stanza.is('presence') && stanza.attrs['type'] === 'subscribe' && from !== undefined) {
      this.#xmpp.send(xml('presence', { to: from, type: 'subscribed' })).catch((error: unknown) => this.errors.push(String(error)));
      return;
    }
    if (!stanza.is('message') || stanza.attrs['type'] === 'error' || !this.#fromPeer(from)) return;
    const body = stanza.getChildText('body');
    if (body === null || from === undefined) return;
    for (const listener of [...this.#listeners]) listener({ from, body });
  }

  /** Sends unavailable presence and logs out. */
  async close(): Promise<void> {
    await this.#xmpp.send(xml('presence', { type: 'unavailable' })).catch(() => undefined);
    await this.#xmpp.stop().catch(() => undefined);
  }
}
