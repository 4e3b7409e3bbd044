/**
 * Helpers for the OMEMO plugin's end-to-end tests: @xmpp/client 0.14 clients secured by
 * lib/xmpp/secure-client.ts (STARTTLS, the run's CA only), logged in to the throwaway Prosody
 * with the OMEMO plugin, each with a raw log of the message stanzas the server sent (recorded
 * on the connection's `element` event, before any middleware) and of what it wrote.
 */
import type { XmppClientElement } from '@xmpp/client';
import { MemoryStore } from '../../../lib/core/store/store.js';
import type { KeyValueStore } from '../../../lib/core/store/store.js';
import { secureClient, type SecureXmppClient } from '../../../lib/xmpp/secure-client.js';
import { omemoPlugin, type OmemoPlugin, type OmemoPluginOptions } from '../../../lib/xmpp/omemo-plugin.js';
import type { OmemoPluginEvents } from '../../../lib/xmpp/omemo-events.js';
import type { OmemoXmppDependencies } from '../../../lib/xmpp/omemo-plugin.js';
import type { ProsodyAccount, ProsodyServer } from '../prosody/prosody-harness.js';
import { omemoMuc, type OmemoMuc, type OmemoMucDependencies, type OmemoMucOptions } from '../../../lib/xmpp/omemo-muc.js';
import type { OmemoMucEvents } from '../../../lib/xmpp/muc-events.js';

/** One logged-in device with the plugin. */
export interface OmemoClient {
  readonly xmpp: SecureXmppClient;
  readonly omemo: OmemoPlugin;
  readonly jid: string;
  readonly bare: string;
  readonly store: KeyValueStore;
  /** Message stanzas the server sent this connection, serialized. */
  readonly raw: string[];
  /** Message stanzas this connection wrote. */
  readonly sent: string[];
  readonly messages: OmemoPluginEvents['message'][];
  readonly errors: OmemoPluginEvents['omemo-error'][];
  readonly devices: OmemoPluginEvents['devices'][];
  readonly empties: OmemoPluginEvents['empty-message'][];
  /** The session manager's events (prekey used, session built, ...). */
  readonly managerEvents: OmemoPluginEvents['manager'][];
  /** Messages recognised as already handled (MAM catch-up, offline storage). */
  readonly duplicates: OmemoPluginEvents['duplicate'][];
  /** IQ stanzas this connection wrote (MAM queries among them), serialized. */
  readonly sentIqs: string[];
  stop(): Promise<void>;
}

/** Logs `account` in as `resource` with the plugin (a fresh MemoryStore unless given), waits for the PEP announce. */
export async function connectOmemo(
  server: ProsodyServer,
  account: ProsodyAccount,
  resource: string,
  options: Partial<OmemoPluginOptions> = {},
): Promise<OmemoClient> {
  const xmpp = secureClient({ service: server.service, domain: server.domain, username: account.username, password: account.password, resource, tls: { ca: server.caPem } });
  xmpp.on('error', () => undefined);
  const raw: string[] = [];
  xmpp.on('element', (element: XmppClientElement) => {
    if (element.name === 'message') raw.push(element.toString());
  });
  const sent: string[] = [];
  const sentIqs: string[] = [];
  xmpp.on('send', (element: XmppClientElement) => {
    if (element.name === 'message') sent.push(element.toString());
    if (element.name === 'iq') sentIqs.push(element.toString());
  });
  const store = options.store ?? new MemoryStore();
  // Few prekeys: bundle generation and publishing stay fast; the protocol is the same.
  const omemo = await omemoPlugin(xmpp as unknown as OmemoXmppDependencies, { account: account.jid, preKeyCount: 10, ...options, store });
  const messages: OmemoClient['messages'] = [];
  const errors: OmemoClient['errors'] = [];
  const devices: OmemoClient['devices'] = [];
  omemo.on('message', (m) => messages.push(m));
  omemo.on('omemo-error', (e) => errors.push(e));
  omemo.on('devices', (d) => devices.push(d));
  const empties: OmemoClient['empties'] = [];
  omemo.on('empty-message', (e) => empties.push(e));
  const managerEvents: OmemoClient['managerEvents'] = [];
  omemo.on('manager', (e) => managerEvents.push(e));
  const duplicates: OmemoClient['duplicates'] = [];
  omemo.on('duplicate', (d) => duplicates.push(d));
  await xmpp.start();
  await omemo.announced();
  await omemo.presence();
  return {
    xmpp, omemo, jid: `${account.jid}/${resource}`, bare: account.jid, store, raw, sent, messages, errors, devices, empties, managerEvents, duplicates, sentIqs,
    async stop() {
      await omemo.close();
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => undefined);
    },
  };
}

/** Resolves when `predicate` holds, polling (event-driven tests with a deadline, not timing). */
export async function until(predicate: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** OMEMO group chats on one {@link OmemoClient}, with logs of its events. */
export interface OmemoMucClient {
  readonly client: OmemoClient;
  readonly muc: OmemoMuc;
  readonly messages: OmemoMucEvents['message'][];
  readonly errors: OmemoMucEvents['error'][];
  readonly changes: OmemoMucEvents['change'][];
}

/** Adds {@link omemoMuc} to a connected client (the middleware goes after the plugin's). */
export function attachMuc(client: OmemoClient, options: OmemoMucOptions = {}): OmemoMucClient {
  const muc = omemoMuc(client.xmpp as unknown as OmemoMucDependencies, client.omemo, options);
  const messages: OmemoMucClient['messages'] = [];
  const errors: OmemoMucClient['errors'] = [];
  const changes: OmemoMucClient['changes'] = [];
  muc.on('message', (m) => messages.push(m));
  muc.on('error', (e) => errors.push(e));
  muc.on('change', (c) => changes.push(c));
  return { client, muc, messages, errors, changes };
}
