/**
 * Test glue: any OTR implementation that speaks the conformance line protocol (our engine,
 * deliberately broken builds of it, libotr through the C harness) made into an XMPP echo bot,
 * so the kit's "over XMPP" mode can be tested against it through Prosody. It logs in with
 * secureClient (the server's CA), approves presence subscriptions, feeds every body from its
 * one peer to the implementation (`receive`), sends what the implementation answers, and
 * answers every decrypted text with `echo: <text>` (the echo contract). With `smpSecret` it
 * answers SMP requests with that secret. When the peer ends the session it ends its side too,
 * like examples/echo-bot (unless `endWhenPeerEnds: false`). One promise chain keeps everything in order.
 */
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { Party, type LineTransport } from '../../../lib/conformance/party.js';
import { secureClient, type SecureXmppClient } from '../../../lib/xmpp/secure-client.js';
import type { ProsodyAccount, ProsodyServer } from '../prosody/prosody-harness.js';

/** Options of {@link LineEchoBot.start}. */
export interface LineEchoBotOptions {
  readonly server: ProsodyServer;
  readonly account: ProsodyAccount;
  readonly resource?: string;
  /** The one bare JID it talks to. */
  readonly peer: string;
  readonly transport: LineTransport;
  readonly keyfile: string;
  readonly instagfile: string;
  /** Line-protocol policy (default `default`, libotr's opportunistic). */
  readonly policy?: string;
  readonly smpSecret?: string;
  /**
   * When the peer ends the session (its Disconnected TLV puts this side in FINISHED), end it
   * here too, back to PLAINTEXT, as examples/echo-bot does (default true). With false the
   * bot stays FINISHED until the peer starts a new session, as a client without a user does.
   */
  readonly endWhenPeerEnds?: boolean;
}

/** A running echo bot. */
export class LineEchoBot {
  readonly party: Party;
  readonly xmpp: SecureXmppClient;
  readonly fullJid: string;
  readonly errors: string[] = [];
  #queue: Promise<void> = Promise.resolve();

  private constructor(party: Party, xmpp: SecureXmppClient, fullJid: string) {
    this.party = party;
    this.xmpp = xmpp;
    this.fullJid = fullJid;
  }

  /** Initialises the implementation, logs in and sends presence. */
  static async start(options: LineEchoBotOptions): Promise<LineEchoBot> {
    const party = new Party('echo-bot', options.peer, options.transport);
    await party.init({ account: options.account.jid, policy: options.policy ?? 'default', keyfile: options.keyfile, instagfile: options.instagfile });
    const resource = options.resource ?? 'echo';
    const xmpp = secureClient({
      service: options.server.service,
      domain: options.server.domain,
      username: options.account.username,
      password: options.account.password,
      resource,
      tls: { ca: options.server.caPem },
    });
    xmpp.reconnect.stop();
    const bot = new LineEchoBot(party, xmpp, `${options.account.jid}/${resource}`);
    xmpp.on('error', (e: Error) => bot.errors.push(e.message));
    xmpp.on('stanza', (s: XmppClientElement) => bot.#onStanza(s, options));
    await xmpp.start();
    await xmpp.send(xml('presence'));
    return bot;
  }

  #onStanza(s: XmppClientElement, options: LineEchoBotOptions): void {
    const from = s.attrs['from'];
    if (from === undefined) return;
    if (s.is('presence') && s.attrs['type'] === 'subscribe') {
      void this.xmpp.send(xml('presence', { to: from, type: 'subscribed' })).catch((e: unknown) => this.errors.push(String(e)));
      return;
    }
    const body = s.is('message') && s.attrs['type'] !== 'error' ? s.getChildText('body') : null;
    if (body === null || from.split('/')[0] !== options.peer) return;
    this.#queue = this.#queue
      .then(async () => {
        const eventsBefore = this.party.events.length;
        const answer = await this.party.receive(body);
        await this.#send(from, answer.wire);
        if (options.endWhenPeerEnds !== false && (await this.party.status()).msgstate === 'finished') await this.#send(from, (await this.party.end()).wire);
        if (answer.show !== null && answer.decrypted) await this.#send(from, (await this.party.send(`echo: ${answer.show}`)).wire);
        const asked = this.party.events.slice(eventsBefore).some((e) => e.type === 'smp' && (e.event === 'ask_for_secret' || e.event === 'ask_for_answer'));
        if (asked && options.smpSecret !== undefined) await this.#send(from, (await this.party.smpRespond(options.smpSecret)).wire);
      })
      .catch((e: unknown) => {
        this.errors.push(e instanceof Error ? e.message : String(e));
      });
  }

  async #send(to: string, wire: readonly string[]): Promise<void> {
    for (const body of wire) await this.xmpp.send(xml('message', { to, type: 'chat' }, xml('body', {}, body)));
  }

  /** Logs out and closes the implementation. */
  async stop(): Promise<void> {
    await this.#queue;
    await this.xmpp.stop().catch(() => undefined);
    await this.party.close();
  }
}
