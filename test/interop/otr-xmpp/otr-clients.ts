/**
 * Helpers for the OTR plugin's end-to-end tests: @xmpp/client 0.14 clients with the plugin,
 * secured by lib/xmpp/secure-client.ts (STARTTLS, certificate validated against the run's CA
 * only, plaintext refused), logged in to the throwaway Prosody, each with a raw log of every element the server sent (recorded on the
 * connection's `element` event, before any middleware: what the server saw and relayed).
 */
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { secureClient, type SecureXmppClient } from '../../../lib/xmpp/secure-client.js';
import { parseStanza } from '../../unit/xmpp/loopback.js';
import { otrPlugin, type OtrPlugin, type OtrPluginOptions } from '../../../lib/xmpp/otr-plugin.js';
import type { OtrPluginEvents } from '../../../lib/xmpp/otr-events.js';
import type { ProsodyAccount, ProsodyServer } from '../prosody/prosody-harness.js';

/** One logged-in client with the plugin. */
export interface OtrClient {
  readonly xmpp: SecureXmppClient;
  readonly otr: OtrPlugin;
  readonly jid: string;
  /** Every message stanza the server sent this connection, serialized. */
  readonly raw: string[];
  /** Every message stanza this connection wrote to the socket (the `send` event follows the write). */
  readonly sent: string[];
  /** Every plugin event, in order. */
  readonly events: { name: keyof OtrPluginEvents; payload: unknown }[];
  readonly messages: OtrPluginEvents['message'][];
  stop(): Promise<void>;
}

const EVENT_NAMES: (keyof OtrPluginEvents)[] = [
  'message', 'secure', 'insecure', 'fingerprint', 'trust', 'smp', 'held', 'held-sent', 'not-sent', 'peer-error', 'delivery-error', 'otr-error',
];

/** Logs `account` in with `resource` and the plugin (options merged over a fast test key store). */
export async function connectOtr(
  server: ProsodyServer,
  account: ProsodyAccount,
  resource: string,
  options: OtrPluginOptions,
): Promise<OtrClient> {
  const xmpp = secureClient({ service: server.service, domain: server.domain, username: account.username, password: account.password, resource, tls: { ca: server.caPem } });
  xmpp.on('error', () => undefined);
  const raw: string[] = [];
  xmpp.on('element', (element: XmppClientElement) => {
    if (element.name === 'message') raw.push(element.toString());
  });
  const sent: string[] = [];
  xmpp.on('send', (element: XmppClientElement) => {
    if (element.name === 'message') sent.push(element.toString());
  });
  const otr = await otrPlugin(xmpp, { account: account.jid, ...options });
  const events: OtrClient['events'] = [];
  const messages: OtrClient['messages'] = [];
  for (const name of EVENT_NAMES) otr.on(name, (payload) => events.push({ name, payload }));
  otr.on('message', (m) => messages.push(m));
  await xmpp.start();
  await xmpp.send(xml('presence'));
  return {
    xmpp,
    otr,
    jid: `${account.jid}/${resource}`,
    raw,
    sent,
    events,
    messages,
    async stop() {
      await otr.close();
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => undefined);
    },
  };
}

/** Cuts the connection's TCP/TLS socket as a network failure would (no stream close). */
export function cutSocket(c: OtrClient): void {
  const wrapper = c.xmpp.socket as { socket?: { destroy(): void } | null } | undefined;
  if (!wrapper?.socket) throw new Error('no socket to cut');
  wrapper.socket.destroy(); // the TLSSocket (and its TCP socket) dies, as on a network failure
}

/** Resolves when `predicate` holds, polling (event-driven tests with a deadline, not timing). */
export async function until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The payloads of one event kind. */
export function eventsNamed<K extends keyof OtrPluginEvents>(c: OtrClient, name: K): OtrPluginEvents[K][] {
  return c.events.filter((e) => e.name === name).map((e) => e.payload as OtrPluginEvents[K]);
}

/** Bodies of the raw message stanzas a client received. */
export function rawBodies(c: OtrClient): string[] {
  return c.raw.map((s) => /<body>([\s\S]*?)<\/body>/.exec(s)?.[1] ?? '').filter((b) => b.length > 0);
}

/** The hygiene elements a serialized message carries (order- and attribute-order-independent). */
export function hygieneOf(stanza: string): { eme: boolean; noStore: boolean; noPermanentStore: boolean; noCopy: boolean; carbonsPrivate: boolean } {
  const el = parseStanza(stanza);
  const eme = el.getChild('encryption', 'urn:xmpp:eme:0');
  return {
    eme: eme?.attrs.namespace === 'urn:xmpp:otr:0',
    noStore: el.getChild('no-store', 'urn:xmpp:hints') !== undefined,
    noPermanentStore: el.getChild('no-permanent-store', 'urn:xmpp:hints') !== undefined,
    noCopy: el.getChild('no-copy', 'urn:xmpp:hints') !== undefined,
    carbonsPrivate: el.getChild('private', 'urn:xmpp:carbons:2') !== undefined,
  };
}
