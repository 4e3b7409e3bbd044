/**
 * Push notifications (XEP-0357) for an @xmpp/client entity: discovery, enabling and disabling
 * registrations with an app server, persistence of the registrations in a
 * {@link KeyValueStore}, re-enabling them after every reconnect (`online`), and decryption of
 * `tigase:push:encrypt:0` payloads on the device.
 *
 * ```ts
 * const push = pushNotifications({ entity: xmpp, store });
 * const support = await push.discover();            // { push, encryption }
 * const reg = await push.enable({ jid: 'push.example.org', node, secret });
 * ...
 * const content = await push.decrypt(reg.node, { iv, payload }); // on the device
 * await push.disable({ jid: reg.jid, node: reg.node });
 * ```
 *
 * Privacy: the app server only ever gets counts, or (with encryption) a payload under the
 * device's key. Encrypted chat messages must carry EME (XEP-0380) or the OMEMO `<encrypted/>`
 * element, so that servers substitute a placeholder for their body in any push (the library's
 * OTR messages carry EME; test/interop/push-server.test.ts checks Prosody's behaviour).
 */
import { EventEmitter } from 'node:events';
import type { XmppClient, XmppClientElement } from '@xmpp/client';
import { bytesToBase64, base64ToBytes, wipe } from '../core/bytes.js';
import type { RandomSource } from '../core/random.js';
import { systemRandom } from '../core/random.js';
import type { KeyValueStore } from '../core/store/store.js';
import { decryptPushPayload, generatePushKey } from './push-encryption.js';
import type { EncryptedPushBlob, PushPayloadContent } from './push-encryption.js';
import { PushError } from './push-errors.js';
import type { PushErrorCode } from './push-errors.js';
import { disableElement, discoInfoQuery, enableElement, parsePushSupport } from './push-stanzas.js';
import type { PushSupport } from './push-stanzas.js';

export { PushError } from './push-errors.js';
export type { PushErrorCode } from './push-errors.js';
export type { PushSupport } from './push-stanzas.js';
export type { EncryptedPushBlob, PushPayloadContent } from './push-encryption.js';

/** One registration of this account with an app server. */
export interface PushRegistration {
  /** The app server's JID. */
  readonly jid: string;
  readonly node: string;
  /** The publish-options secret (kept so the registration can be re-enabled). */
  readonly secret: string;
  /** Base64 AES-128 key given with `tigase:push:encrypt:0`, when encryption is on. */
  readonly encryptionKey: string | undefined;
  /** ISO time of the first successful enable. */
  readonly enabledAt: string;
}

/** Options of {@link PushClient.enable}. */
export interface EnableOptions {
  readonly jid: string;
  readonly node: string;
  /** The publish-options secret; a random 24-byte base64url one when omitted. */
  readonly secret?: string;
  /**
   * `'auto'` (default): offer an AES-128-GCM key when the server advertises
   * `tigase:push:encrypt:0`; `'require'`: fail with `push.encryption-not-supported` otherwise;
   * `'off'`: never.
   */
  readonly encryption?: 'auto' | 'require' | 'off';
}

/** Dependencies, xmpp.js plugin style. */
export interface PushDependencies {
  readonly entity: XmppClient;
  /** Defaults to `entity.iqCaller`. */
  readonly iqCaller?: XmppClient['iqCaller'];
  readonly store: KeyValueStore;
  readonly random?: RandomSource;
  /** Milliseconds per iq (default: the iqCaller's default). */
  readonly timeoutMs?: number;
  /** Re-enable stored registrations on every `online` (default true). */
  readonly reenableOnline?: boolean;
}

/** The client-side push API. Events: `reenabled` (PushRegistration), `reenable-failed` (PushError; never `error`, so no listener is required). */
export interface PushClient extends EventEmitter {
  /** disco#info on the account's bare JID (XEP-0357 §4). */
  discover(): Promise<PushSupport>;
  /** Enables a registration and stores it; throws PushError with the server's condition. */
  enable(options: EnableOptions): Promise<PushRegistration>;
  /** Disables one registration (XEP-0357 §6) and forgets it. */
  disable(target: { readonly jid: string; readonly node: string }): Promise<void>;
  /** Disables every node at `jid` (or at every stored app server when omitted) and forgets them. */
  disableAll(jid?: string): Promise<void>;
  /** The stored registrations of the account. */
  registrations(): Promise<PushRegistration[]>;
  /** Re-sends `<enable/>` for every stored registration; resolves with those that failed. */
  reenable(): Promise<PushError[]>;
  /** Decrypts an encrypted payload received for `node` with its stored key. */
  decrypt(node: string, blob: EncryptedPushBlob): Promise<PushPayloadContent>;
  /** Removes the `online` listener. */
  stop(): void;
}

const STORE_VERSION = 1;

interface StoredRegistrations {
  version: number;
  registrations: PushRegistration[];
}

function stanzaErrorFields(error: unknown): { condition?: string; errorType?: string; text?: string } {
  const e = error as { name?: unknown; condition?: unknown; type?: unknown; text?: unknown };
  if (e?.name !== 'StanzaError') return {};
  return {
    ...(typeof e.condition === 'string' ? { condition: e.condition } : {}),
    ...(typeof e.type === 'string' ? { errorType: e.type } : {}),
    ...(typeof e.text === 'string' && e.text !== '' ? { text: e.text } : {}),
  };
}

function toPushError(error: unknown, code: PushErrorCode, what: string): PushError {
  if (error instanceof PushError) return error;
  if ((error as { name?: unknown })?.name === 'TimeoutError') return new PushError('push.timeout', `${what}: no answer in time`, { cause: error });
  const fields = stanzaErrorFields(error);
  return new PushError(code, `${what}: ${fields.condition ?? 'failed'}`, { ...fields, cause: error });
}

/** Creates the push API for `entity` (see the module comment). */
export function pushNotifications(deps: PushDependencies): PushClient {
  const { entity, store } = deps;
  const iqCaller = deps.iqCaller ?? entity.iqCaller;
  const random = deps.random ?? systemRandom;
  const events = new EventEmitter();
  let queue: Promise<unknown> = Promise.resolve();
  /** The re-enable started by the last `online`; user operations wait for it, so a disable never races an enable. */
  let reenabling: Promise<unknown> = Promise.resolve();

  const account = (): string => {
    const j = entity.jid;
    if (!j) throw new TypeError('push: the entity has no JID yet (set username/domain or wait for online)');
    return j.bare().toString();
  };
  const storeKey = (): string => `push/${account()}/registrations`;

  async function load(): Promise<PushRegistration[]> {
    const text = await store.get(storeKey());
    if (text === undefined) return [];
    let doc: StoredRegistrations;
    try {
      doc = JSON.parse(text) as StoredRegistrations;
    } catch (error) {
      throw new PushError('push.store-corrupt', 'stored push registrations are not JSON', { cause: error });
    }
    if (doc.version !== STORE_VERSION || !Array.isArray(doc.registrations)) {
      throw new PushError('push.store-corrupt', `stored push registrations have unknown version ${String(doc.version)}`);
    }
    return doc.registrations;
  }
  async function save(list: PushRegistration[]): Promise<void> {
    if (list.length === 0) await store.delete(storeKey());
    else await store.set(storeKey(), JSON.stringify({ version: STORE_VERSION, registrations: list } satisfies StoredRegistrations));
  }
  /** Read-modify-write of the stored list, one at a time. */
  function update(fn: (list: PushRegistration[]) => PushRegistration[]): Promise<void> {
    const next = queue.then(async () => save(fn(await load())));
    queue = next.catch(() => undefined);
    return next;
  }

  async function set(child: XmppClientElement, to?: string): Promise<XmppClientElement> {
    return deps.timeoutMs === undefined ? iqCaller.set(child, to) : iqCaller.set(child, to, deps.timeoutMs);
  }

  async function discover(): Promise<PushSupport> {
    try {
      const query = deps.timeoutMs === undefined ? await iqCaller.get(discoInfoQuery(), account()) : await iqCaller.get(discoInfoQuery(), account(), deps.timeoutMs);
      return parsePushSupport(query);
    } catch (error) {
      throw toPushError(error, 'push.discovery-failed', 'disco#info on the account');
    }
  }

  async function sendEnable(reg: PushRegistration): Promise<void> {
    try {
      await set(enableElement({ jid: reg.jid, node: reg.node, secret: reg.secret, encryptionKey: reg.encryptionKey }));
    } catch (error) {
      throw toPushError(error, 'push.enable-refused', 'enable');
    }
  }

  async function enable(options: EnableOptions): Promise<PushRegistration> {
    if (typeof options.jid !== 'string' || options.jid === '') throw new TypeError('push.enable: jid');
    if (typeof options.node !== 'string' || options.node === '') throw new TypeError('push.enable: node');
    const mode = options.encryption ?? 'auto';
    if (!['auto', 'require', 'off'].includes(mode)) throw new RangeError("push.enable: encryption is 'auto', 'require' or 'off'");
    await reenabling;
    const support = await discover();
    if (!support.push) throw new PushError('push.not-supported', 'the account server does not advertise urn:xmpp:push:0');
    if (mode === 'require' && !support.encryption) {
      throw new PushError('push.encryption-not-supported', 'the account server does not support tigase:push:encrypt:0 with aes-128-gcm');
    }
    let encryptionKey: string | undefined;
    if (mode !== 'off' && support.encryption) {
      const key = generatePushKey(random);
      encryptionKey = bytesToBase64(key);
      wipe(key);
    }
    const reg: PushRegistration = {
      jid: options.jid,
      node: options.node,
      secret: options.secret ?? Buffer.from(random(24)).toString('base64url'),
      encryptionKey,
      enabledAt: new Date().toISOString(),
    };
    await sendEnable(reg);
    await update((list) => [...list.filter((r) => !(r.jid === reg.jid && r.node === reg.node)), reg]);
    return reg;
  }

  async function disable(target: { readonly jid: string; readonly node: string }): Promise<void> {
    await reenabling;
    try {
      await set(disableElement(target.jid, target.node));
    } catch (error) {
      throw toPushError(error, 'push.disable-refused', 'disable');
    }
    await update((list) => list.filter((r) => !(r.jid === target.jid && r.node === target.node)));
  }

  async function disableAll(jid?: string): Promise<void> {
    await reenabling;
    const jids = jid !== undefined ? [jid] : [...new Set((await load()).map((r) => r.jid))];
    for (const j of jids) {
      try {
        await set(disableElement(j));
      } catch (error) {
        throw toPushError(error, 'push.disable-refused', 'disable');
      }
      await update((list) => list.filter((r) => r.jid !== j));
    }
  }

  async function reenable(): Promise<PushError[]> {
    const failures: PushError[] = [];
    for (const reg of await load()) {
      try {
        await sendEnable(reg);
        events.emit('reenabled', reg);
      } catch (error) {
        const e = toPushError(error, 'push.enable-refused', 'enable');
        failures.push(e);
      }
    }
    return failures;
  }

  async function decrypt(node: string, blob: EncryptedPushBlob): Promise<PushPayloadContent> {
    const reg = (await load()).find((r) => r.node === node);
    if (!reg?.encryptionKey) throw new PushError('push.decrypt-failed', 'no encryption key stored for this node');
    const key = base64ToBytes(reg.encryptionKey);
    if (!key) throw new PushError('push.store-corrupt', 'stored push key is not base64');
    try {
      return decryptPushPayload(key, blob);
    } finally {
      wipe(key);
    }
  }

  const onOnline = (): void => {
    reenabling = reenable().then(
      (failures) => {
        for (const f of failures) events.emit('reenable-failed', f);
      },
      (error: unknown) => events.emit('reenable-failed', toPushError(error, 'push.store-corrupt', 'reading registrations')),
    );
  };
  if (deps.reenableOnline !== false) entity.on('online', onOnline);

  return Object.assign(events, {
    discover,
    enable,
    disable,
    disableAll,
    registrations: load,
    reenable,
    decrypt,
    stop: () => {
      entity.removeListener('online', onOnline);
    },
  });
}
