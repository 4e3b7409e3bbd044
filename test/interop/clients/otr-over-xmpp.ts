/**
 * Test glue, NOT the plugin: our OTR engine (otr/ OtrConversation) on a plain secured
 * @xmpp/client connection, one conversation per peer bare JID. Each message body goes through
 * `receive()`, everything it returns to send goes out as a chat message to the peer's last
 * full JID, in order (one promise chain per peer). What the engine shows and reports is
 * recorded for the assertions. Presence subscription requests are approved.
 */
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { generateDsaKey } from '../../../lib/core/crypto/dsa.js';
import type { DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { secureClient } from '../../../lib/xmpp/secure-client.js';
import type { SecureXmppClient } from '../../../lib/xmpp/secure-client.js';
import { OtrConversation } from '../../../otr/conversation.js';
import type { OtrEvent, OtrResult } from '../../../otr/events.js';
import { OTR_POLICY_MANUAL } from '../../../otr/policy.js';
import type { OtrPolicy } from '../../../otr/policy.js';
import type { SmpEvent } from '../../../smp/index.js';
import { independentFingerprint } from '../ours/our-endpoint.js';
import type { ProsodyAccount, ProsodyServer } from '../prosody/prosody-harness.js';

/** What one peer's conversation has produced so far. */
interface PeerLog {
  readonly conversation: OtrConversation;
  readonly shown: { text: string; encrypted: boolean }[];
  readonly events: OtrEvent[];
  /** Wire bodies we sent, in order. */
  readonly sent: string[];
  /** Full JID to answer to. */
  to: string;
  queue: Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of {@link OtrOverXmpp.login}. */
export interface OtrOverXmppOptions {
  readonly server: ProsodyServer;
  readonly account: ProsodyAccount;
  readonly resource?: string;
  readonly policy?: OtrPolicy;
  readonly privateKey?: DsaPrivateKey;
  /** Longest wire message; longer OTR messages are fragmented (OTR v3 "Fragmentation"). */
  readonly maxFragmentSize?: number;
}

/** Our engine on the wire. */
export class OtrOverXmpp {
  readonly xmpp: SecureXmppClient;
  readonly jid: string;
  readonly privateKey: DsaPrivateKey;
  /** Our fingerprint computed independently of otr/ (SHA-1 over the DSA MPIs), lowercase hex. */
  readonly fingerprint: string;
  readonly #policy: OtrPolicy;
  readonly #maxFragmentSize: number | undefined;
  readonly #peers = new Map<string, PeerLog>();
  readonly #instanceTag = 0x100 + Math.floor(Math.random() * 0xfffffe00);
  readonly errors: unknown[] = [];

  private constructor(xmpp: SecureXmppClient, jid: string, key: DsaPrivateKey, policy: OtrPolicy, maxFragmentSize: number | undefined) {
    this.#maxFragmentSize = maxFragmentSize;
    this.xmpp = xmpp;
    this.jid = jid;
    this.privateKey = key;
    this.fingerprint = independentFingerprint(key);
    this.#policy = policy;
  }

  /** Logs in over STARTTLS with the server's CA and sends initial presence. */
  static async login(options: OtrOverXmppOptions): Promise<OtrOverXmpp> {
    const { server, account } = options;
    const xmpp = secureClient({
      service: server.service,
      domain: server.domain,
      username: account.username,
      password: account.password,
      resource: options.resource ?? 'ours',
      tls: { ca: server.caPem },
    });
    xmpp.reconnect.stop();
    const self = new OtrOverXmpp(xmpp, account.jid, options.privateKey ?? generateDsaKey(), options.policy ?? OTR_POLICY_MANUAL, options.maxFragmentSize);
    xmpp.on('error', (e: unknown) => self.errors.push(e));
    xmpp.on('stanza', (s: XmppClientElement) => self.#onStanza(s));
    await xmpp.start();
    await xmpp.send(xml('presence'));
    return self;
  }

  #peer(bare: string, full?: string): PeerLog {
    let p = this.#peers.get(bare);
    if (!p) {
      p = {
        conversation: new OtrConversation({
          accountName: this.jid,
          protocol: 'xmpp',
          peerName: bare,
          privateKey: this.privateKey,
          instanceTag: this.#instanceTag,
          policy: this.#policy,
          ...(this.#maxFragmentSize === undefined ? {} : { maxFragmentSize: this.#maxFragmentSize }),
        }),
        shown: [],
        events: [],
        sent: [],
        to: full ?? bare,
        queue: Promise.resolve(),
      };
      this.#peers.set(bare, p);
    }
    if (full) p.to = full;
    return p;
  }

  #onStanza(s: XmppClientElement): void {
    // Approve presence subscriptions, so the peer sees us online (libotr sends a Disconnected
    // TLV and heartbeats only to contacts its client reports as logged in).
    if (s.is('presence') && s.attrs['type'] === 'subscribe' && s.attrs['from']) {
      void this.xmpp.send(xml('presence', { to: s.attrs['from'], type: 'subscribed' })).catch((e: unknown) => this.errors.push(e));
      return;
    }
    if (!s.is('message') || s.attrs['type'] === 'error') return;
    const body = s.getChildText('body');
    const from = s.attrs['from'];
    if (body === null || from === undefined) return;
    const bare = from.split('/')[0] ?? from;
    const p = this.#peer(bare, from);
    this.#enqueue(p, () => p.conversation.receive(body));
  }

  #enqueue(p: PeerLog, step: () => OtrResult): Promise<void> {
    p.queue = p.queue.then(async () => {
      const r = step();
      if (r.show) p.shown.push({ text: r.show.text, encrypted: r.show.encrypted });
      p.events.push(...r.events);
      for (const text of r.toSend) {
        p.sent.push(text);
        await this.xmpp.send(xml('message', { to: p.to, type: 'chat' }, xml('body', {}, text)));
      }
    }).catch((e: unknown) => {
      this.errors.push(e);
    });
    return p.queue;
  }

  /** Sends `text` through the engine (encrypted when the session is). */
  send(peer: string, text: string): Promise<void> {
    const p = this.#peer(peer);
    return this.#enqueue(p, () => p.conversation.send(text));
  }

  /** Starts the AKE (sends a Query Message). */
  startAke(peer: string): Promise<void> {
    const p = this.#peer(peer);
    return this.#enqueue(p, () => p.conversation.startAke());
  }

  /** Starts SMP with `secret` (and an optional question). */
  startSmp(peer: string, secret: string, question?: string): Promise<void> {
    const p = this.#peer(peer);
    return this.#enqueue(p, () => p.conversation.startSmp(secret, question));
  }

  /** Answers the peer's SMP with `secret`. */
  respondSmp(peer: string, secret: string): Promise<void> {
    const p = this.#peer(peer);
    return this.#enqueue(p, () => p.conversation.respondSmp(secret));
  }

  /** SMP events seen from `peer`, in order. */
  smpEvents(peer: string): SmpEvent[] {
    return this.#peer(peer).events.flatMap((e) => (e.kind === 'smp' ? [e.event] : []));
  }

  /** Waits for an SMP event of `kind`. */
  async waitForSmp<K extends SmpEvent['kind']>(peer: string, kind: K, timeoutMs = 15000): Promise<Extract<SmpEvent, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.smpEvents(peer).find((x): x is Extract<SmpEvent, { kind: K }> => x.kind === kind);
      if (e) return e;
      if (Date.now() > deadline) {
        throw new Error(`no SMP ${kind} from ${peer} in ${timeoutMs} ms; SMP events: ${JSON.stringify(this.smpEvents(peer))}`);
      }
      await sleep(25);
    }
  }

  /** Ends the private conversation. */
  end(peer: string): Promise<void> {
    const p = this.#peer(peer);
    return this.#enqueue(p, () => p.conversation.end());
  }

  /** The conversation with `peer`. */
  conversation(peer: string): OtrConversation {
    return this.#peer(peer).conversation;
  }

  /** Texts shown for `peer`. */
  shown(peer: string): readonly { text: string; encrypted: boolean }[] {
    return this.#peer(peer).shown;
  }

  /** Wire bodies sent to `peer`. */
  sent(peer: string): readonly string[] {
    return this.#peer(peer).sent;
  }

  /** Events seen for `peer`. */
  events(peer: string): readonly OtrEvent[] {
    return this.#peer(peer).events;
  }

  /** Waits for an event of `kind` from `peer`. */
  async waitForEvent<K extends OtrEvent['kind']>(peer: string, kind: K, timeoutMs = 15000): Promise<Extract<OtrEvent, { kind: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.#peer(peer).events.find((x): x is Extract<OtrEvent, { kind: K }> => x.kind === kind);
      if (e) return e;
      if (Date.now() > deadline) {
        throw new Error(`no ${kind} event from ${peer} in ${timeoutMs} ms; events: ${this.#peer(peer).events.map((x) => x.kind).join(', ')}`);
      }
      await sleep(25);
    }
  }

  /** Waits until a shown text from `peer` matches. */
  async waitForShown(peer: string, re: RegExp, timeoutMs = 15000): Promise<{ text: string; encrypted: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.#peer(peer).shown.find((x) => re.test(x.text));
      if (s) return s;
      if (Date.now() > deadline) {
        throw new Error(`nothing matching ${String(re)} shown from ${peer} in ${timeoutMs} ms; shown: ${JSON.stringify(this.#peer(peer).shown)}`);
      }
      await sleep(25);
    }
  }

  /** Logs out. */
  async stop(): Promise<void> {
    await this.xmpp.stop().catch(() => undefined);
  }
}
