/**
 * OMEMO for @xmpp/client (XEP-0384 0.3.0 `eu.siacs.conversations.axolotl` and XEP-0384
 * `urn:xmpp:omemo:2`), as an xmpp.js-style plugin factory over the transport-free
 * {@link OmemoSessionManager}:
 *
 *   const omemo = await omemoPlugin(xmpp, { store });
 *   omemo.on('message', (m) => console.log(m.from, m.senderDeviceId, m.trust, m.text));
 *   await xmpp.start(); await omemo.announced();
 *   await omemo.send('bob@example.org', 'hello', { version: '0.3' });
 *
 * - PEP (omemo-pep.ts): on every 'online', our device joins both device lists (fetched and
 *   merged: other devices of ours are kept) and the bundles are published; they are
 *   republished whenever the manager says so (prekey used, signed prekey rotated).
 *   Contacts' device lists and bundles are fetched on demand; PEP notifications update them.
 *   disco#info answers with the `+notify` features, and {@link OmemoPlugin.presence} sends
 *   XEP-0115 caps so the server pushes those notifications.
 * - Send: {@link OmemoPlugin.send} is the send path (middleware.filter runs after the socket
 *   write): one `<encrypted>` for every usable device of the contact and our own other
 *   devices, EME, store hint, fallback body; omemo:2 inside an SCE envelope (XEP-0420).
 * - Receive: a middleware decrypts per sender in arrival order (direct messages and XEP-0280
 *   carbons, sent and received), checks omemo:2 envelopes (from/to), emits typed events, and
 *   sends what the manager produced (key-exchange completion, heartbeats, 0.3 repair).
 */
import type { XmppClient } from '@xmpp/client';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { xml } from '@xmpp/xml';
import { bytesToUtf8, utf8ToBytes } from '../core/bytes.js';
import { MalformedMessageError, ProtocolError, StateError } from '../core/errors.js';
import type { RandomSource } from '../core/random.js';
import { systemRandom } from '../core/random.js';
import type { KeyValueStore } from '../core/store/store.js';
import { OmemoSessionManager, type EncryptResult } from '../../omemo/session-manager.js';
import type { OutgoingMessage } from '../../omemo/manager-events.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import type { TrustPolicy } from '../../omemo/trust.js';
import { NotForThisDeviceError, OwnDeviceMessageError } from '../../omemo/errors.js';
import { createSceEnvelope, parseSceEnvelope, serializeSceEnvelope } from '../../omemo/sce.js';
import { xmlElement } from '../../omemo/xml-element.js';
import type { OmemoDuplicateReason, OmemoPluginEvents } from './omemo-events.js';
import { MamClient, MamError, type MamIqCallerLike } from './mam.js';
import {
  OmemoCatchUp, liveMessageKeys, archivedMessageKeys, type ArchivedInfo, type CatchUpOutcome, type CatchUpResult, type CatchUpRunOptions,
} from './omemo-catch-up.js';
import { OmemoPep, decodeDeviceListPayload, type IqCallerLike } from './omemo-pep.js';
import {
  NS_DISCO_INFO, CAPS_NODE, buildOmemoMessage, capsElement, capsVer, deviceListNode, discoFeatures, discoInfoResult, readIncomingOmemo, readPepEvent,
  replaceFallbackBody, toXmlElement, type IncomingOmemo, type PepEvent,
} from './omemo-stanzas.js';
import { NS_CARBONS, bareJid } from './otr-stanzas.js';
import { Outbox } from './outbox.js';
import { PeerQueue } from './peer-queue.js';
import type { Element, IncomingContext, XmppDependencies } from './xmpp-types.js';

const VERSIONS: readonly OmemoVersion[] = ['0.3', '2'];
/** Bound on the per-run caches of fetched lists and tried bundles (senders come from the network). */
const MAX_TRACKED = 10_000;

/** @xmpp/iq's callee (answers disco#info). */
export interface IqCalleeLike {
  get(ns: string, name: string, handler: (context: unknown) => unknown): unknown;
}

/** What the plugin needs of the client: an @xmpp/client `client()` object satisfies this. */
export interface OmemoXmppDependencies extends XmppDependencies {
  readonly iqCaller: IqCallerLike;
  readonly iqCallee?: IqCalleeLike | undefined;
}

/** Options of {@link omemoPlugin}. */
export interface OmemoPluginOptions {
  /** Where the device's keys, sessions and trust live (secrets included: use an encrypted store). */
  readonly store: KeyValueStore;
  /** Our bare JID (default: the client's `jid`). */
  readonly account?: string;
  /** Version used by {@link OmemoPlugin.send} when the contact publishes both (default '0.3', what every client speaks). */
  readonly preferredVersion?: OmemoVersion;
  readonly trustPolicy?: TrustPolicy;
  /** One-time prekeys per version (default 100). */
  readonly preKeyCount?: number;
  /** Signed prekey rotation period in ms (default one week). */
  readonly signedPreKeyPeriodMs?: number;
  /** Receiving-chain length after which an empty heartbeat goes out (default 53). */
  readonly heartbeatThreshold?: number;
  readonly random?: RandomSource;
  readonly now?: () => number;
  /** IQ timeout in ms (default 10 s). */
  readonly iqTimeoutMs?: number;
  /**
   * Stop OMEMO messages in this middleware instead of passing them on (default false). Set it
   * when another plugin that reads bodies (the OTR plugin) is registered after this one, so the
   * fallback or decrypted body is not shown a second time as a plaintext message.
   */
  readonly consume?: boolean;
  /** Enable XEP-0280 carbons on every 'online' so our other devices see our messages (default true). */
  readonly enableCarbons?: boolean;
  /** XEP-0313 catch-up ({@link OmemoPlugin.catchUp}); `auto` runs it after every 'online' announce. */
  readonly mam?: OmemoMamOptions;
}

/** Options of the MAM catch-up (XEP-0313). */
export interface OmemoMamOptions {
  /** Catch up automatically after each 'online' (after the PEP announce); default false. */
  readonly auto?: boolean;
  /** Results per page (default 50). */
  readonly pageSize?: number;
  /** Bound on the results one catch-up fetches (default 1000). */
  readonly maxMessages?: number;
  /** Bound on remembered message ids for deduplication (default 5000). */
  readonly dedupEntries?: number;
  /** IQ timeout per page in ms (default 30 s). */
  readonly timeoutMs?: number;
}

/** Options of {@link OmemoPlugin.send}. */
export interface OmemoSendOptions {
  /** Which version to encrypt with (default: chosen from the contact's published device lists). */
  readonly version?: OmemoVersion;
}

/** What {@link OmemoPlugin.send} did. */
export interface OmemoSendResult {
  readonly version: OmemoVersion;
  readonly to: string;
  readonly id: string;
  readonly recipients: EncryptResult['recipients'];
  readonly skipped: EncryptResult['skipped'];
}

function asProtocolError(error: unknown, code = 'xmpp.omemo.internal'): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError(code, error instanceof Error ? error.message : 'unexpected failure', { cause: error });
}

/** The plugin. Make one with {@link omemoPlugin}. */
export class OmemoPlugin {
  readonly #emitter = new EventEmitter();
  readonly #deps: OmemoXmppDependencies;
  readonly #options: OmemoPluginOptions;
  readonly #queue = new PeerQueue();
  readonly #outbox: Outbox;
  readonly #pep: OmemoPep;
  readonly #random: RandomSource;
  readonly #features = discoFeatures();
  /** `version|jid` whose device list was fetched or notified in this run. */
  readonly #knownLists = new Set<string>();
  /** (version, JID, device) of senders outside the device list we know, refetched once each. */
  readonly #unlistedSendersTried = new Set<string>();
  /** `version|jid|id` whose bundle fetch was tried since the device list last changed. */
  readonly #bundleTried = new Set<string>();
  #manager: OmemoSessionManager | undefined;
  #account = '';
  #announce: Promise<void> = Promise.resolve();
  #publishChain: Promise<void> = Promise.resolve();
  #closed = false;
  #announcedOnce = false;
  readonly #catchUp: OmemoCatchUp;
  #autoCatchUp: Promise<CatchUpResult | undefined> = Promise.resolve(undefined);
  readonly #listeners: { event: string; listener: (...args: unknown[]) => void }[] = [];

  /** Use {@link omemoPlugin}. */
  constructor(deps: OmemoXmppDependencies, options: OmemoPluginOptions) {
    if (deps === null || typeof deps !== 'object' || deps.entity === undefined || deps.middleware === undefined || deps.iqCaller === undefined) {
      throw new TypeError('omemoPlugin: pass the xmpp client, or { entity, middleware, iqCaller }');
    }
    if (options === undefined || options.store === undefined) throw new TypeError('omemoPlugin: options.store is required');
    this.#deps = deps;
    this.#options = options;
    this.#random = options.random ?? systemRandom;
    this.#pep = new OmemoPep(deps.iqCaller, options.iqTimeoutMs);
    const entity = deps.entity;
    this.#outbox = new Outbox({ isOnline: () => entity.status === 'online', write: (element) => entity.send(element) });
    deps.middleware.use((context, next) => this.#incoming(context as IncomingContext, next));
    const mam = new MamClient({
      middleware: deps.middleware, iqCaller: deps.iqCaller as unknown as MamIqCallerLike, account: () => this.#account,
      ...(options.mam?.timeoutMs === undefined ? {} : { timeoutMs: options.mam.timeoutMs }), random: this.#random,
    });
    this.#catchUp = new OmemoCatchUp({
      mam, store: options.store, ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.mam?.dedupEntries === undefined ? {} : { dedupEntries: options.mam.dedupEntries }),
    });
    deps.iqCallee?.get(NS_DISCO_INFO, 'query', (context) => {
      const node = (context as { element?: Element }).element?.attrs.node;
      return discoInfoResult(this.#features, typeof node === 'string' ? node : undefined);
    });
    const onOnline = (): void => {
      void this.#outbox.flush();
      this.#announce = this.#runAnnounce();
      this.#announce.catch(() => undefined);
      this.#catchUp.resetSync();
      this.#startAutoCatchUp();
    };
    entity.on('online', onOnline);
    this.#listeners.push({ event: 'online', listener: onOnline });
  }

  /** Opens the session manager (called by {@link omemoPlugin}). */
  async init(): Promise<void> {
    const fromEntity = this.#deps.entity.jid ? bareJid(this.#deps.entity.jid.toString()) : undefined;
    const account = this.#options.account !== undefined ? bareJid(this.#options.account) : fromEntity;
    if (account === undefined || account.length === 0) throw new TypeError('omemoPlugin: options.account is required when the client has no jid yet');
    this.#account = account;
    await this.#catchUp.init(account);
    this.#manager = await OmemoSessionManager.open({
      store: this.#options.store, ownJid: account,
      ...(this.#options.random === undefined ? {} : { random: this.#options.random }),
      ...(this.#options.now === undefined ? {} : { now: this.#options.now }),
      ...(this.#options.trustPolicy === undefined ? {} : { trustPolicy: this.#options.trustPolicy }),
      ...(this.#options.preKeyCount === undefined ? {} : { preKeyCount: this.#options.preKeyCount }),
      ...(this.#options.signedPreKeyPeriodMs === undefined ? {} : { signedPreKeyPeriodMs: this.#options.signedPreKeyPeriodMs }),
      ...(this.#options.heartbeatThreshold === undefined ? {} : { heartbeatThreshold: this.#options.heartbeatThreshold }),
    });
    if (this.#deps.entity.status === 'online') {
      this.#announce = this.#runAnnounce();
      this.#announce.catch(() => undefined);
      this.#startAutoCatchUp();
    }
  }

  #startAutoCatchUp(): void {
    if (this.#options.mam?.auto !== true || this.#manager === undefined) return;
    // At once, before any message of the new stream: prekeys used from now on stay until the catch-up is done.
    this.#manager.beginHistorySync().catch(() => undefined);
    this.#autoCatchUp = this.#announce.catch(() => undefined).then(() => this.catchUp()).catch((error: unknown) => {
      this.#emit('omemo-error', { from: undefined, version: undefined, error: asProtocolError(error, 'xmpp.mam.failed') });
      return undefined;
    });
  }

  // ---- MAM catch-up (XEP-0313) --------------------------------------------------------------

  /**
   * Fetches what the archive (XEP-0313) holds since the last catch-up and decrypts it oldest
   * first, through the same per-sender queue as live messages: each OMEMO message becomes a
   * 'message' event with `archived` set (our own messages sent from other devices included,
   * `peer` = their `to`). A message already handled (live, from offline storage, or by an
   * earlier catch-up) is a 'duplicate' event, never a second 'message' or an 'omemo-error'.
   * Rejects with a MamError (`xmpp.mam.*`) when the server has no archive or does not answer.
   */
  catchUp(options: CatchUpRunOptions = {}): Promise<CatchUpResult> {
    if (this.#closed) return Promise.reject(new StateError('xmpp.omemo.closed', 'the OMEMO plugin is closed'));
    const mam = this.#options.mam;
    const manager = this.manager;
    return this.#catchUp.run((incoming, archived) => this.#processArchived(incoming, archived), {
      ...(mam?.pageSize === undefined ? {} : { pageSize: mam.pageSize }),
      ...(mam?.maxMessages === undefined ? {} : { maxMessages: mam.maxMessages }),
      ...options,
    }, {
      // A history sync (session-manager.ts): one-time prekeys used meanwhile are kept for other archived key exchanges naming them.
      start: () => manager.beginHistorySync(),
      end: async (result, error) => {
        // Ended when the archive was read to its end, or when there is no archive at all; a timeout leaves it for the next run.
        const noArchive = error instanceof MamError && (error.condition === 'feature-not-implemented' || error.condition === 'service-unavailable');
        if (result?.complete === true || noArchive) {
          await manager.endHistorySync();
          this.#republishInBackground();
        }
      },
    });
  }

  /** The automatic catch-up of the latest 'online' (undefined when `mam.auto` is off or it failed: see 'omemo-error'). */
  caughtUp(): Promise<CatchUpResult | undefined> {
    return this.#autoCatchUp;
  }

  #processArchived(incoming: IncomingOmemo, archived: ArchivedInfo): Promise<CatchUpOutcome> {
    return this.#queue.run(incoming.senderJid, async () => {
      if (!this.#catchUp.claim(archivedMessageKeys(archived.archiveId, incoming))) {
        this.#emit('duplicate', { from: incoming.senderJid, version: incoming.version, id: incoming.id, archiveId: archived.archiveId, reason: 'already-seen' });
        return 'duplicate';
      }
      return this.#decrypt(incoming, archived);
    });
  }

  /** The session manager (trust, fingerprints, devices). */
  get manager(): OmemoSessionManager {
    if (this.#manager === undefined) throw new StateError('xmpp.omemo.not-ready', 'the OMEMO plugin is not ready yet');
    return this.#manager;
  }

  /** Our bare JID. */
  get account(): string {
    return this.#account;
  }

  /** Our device id. */
  get deviceId(): number {
    return this.manager.deviceId;
  }

  /** Resolves once our device lists and bundles were published after the latest 'online' (rejects with the failure). */
  announced(): Promise<void> {
    return this.#announce;
  }

  /** The disco#info features we advertise (XEP-0030), including the OMEMO `+notify` ones. */
  get features(): readonly string[] {
    return this.#features;
  }

  /** XEP-0115 `<c/>` for our presence. */
  capsElement(): Element {
    return capsElement(this.#features);
  }

  /** Sends available presence with our caps, so the server pushes contacts' device lists (XEP-0163 section 4.4). */
  async presence(): Promise<void> {
    await this.#deps.entity.send(xml('presence', {}, this.capsElement()));
  }

  /** Subscribes to a typed event. */
  on<K extends keyof OmemoPluginEvents>(event: K, listener: (payload: OmemoPluginEvents[K]) => void): this {
    this.#emitter.on(event, listener as (payload: unknown) => void);
    return this;
  }

  /** Unsubscribes. */
  off<K extends keyof OmemoPluginEvents>(event: K, listener: (payload: OmemoPluginEvents[K]) => void): this {
    this.#emitter.off(event, listener as (payload: unknown) => void);
    return this;
  }

  #emit<K extends keyof OmemoPluginEvents>(event: K, payload: OmemoPluginEvents[K]): void {
    try {
      this.#emitter.emit(event, payload);
    } catch (error) {
      if (event !== 'omemo-error') this.#emit('omemo-error', { from: undefined, version: undefined, error: asProtocolError(error, 'xmpp.omemo.listener-threw') });
    }
  }

  // ---- PEP ---------------------------------------------------------------------------------

  async #runAnnounce(): Promise<void> {
    const manager = this.manager;
    if (this.#options.enableCarbons !== false) {
      try {
        await this.#deps.iqCaller.set(xml('enable', { xmlns: NS_CARBONS }), undefined, this.#options.iqTimeoutMs ?? 10_000);
      } catch (error) {
        this.#emit('omemo-error', { from: undefined, version: undefined, error: asProtocolError(error, 'xmpp.omemo.carbons-unavailable') });
      }
    }
    await manager.maintain();
    // Notifications may have been missed while offline: look lists and bundles up again.
    this.#knownLists.clear();
    this.#bundleTried.clear();
    // Bundles first (a contact told about our device must find its bundle): all on the first
    // announce of this run (the server may have lost them), then what changed.
    const first = !this.#announcedOnce;
    await this.#republish(first ? VERSIONS : manager.republishNeeded());
    this.#announcedOnce = true;
    for (const version of VERSIONS) {
      const { ids, published } = await this.#pep.ensureOwnDevice(version, manager.deviceId);
      if (published) this.#emit('published', { version, what: 'device-list' });
      await manager.updateDeviceList(version, this.#account, ids);
      this.#knownLists.add(`${version}|${this.#account}`);
    }
  }

  /** Rotates a due signed prekey, refills prekeys and republishes what changed (call it daily, XEP-0384 section 4.4). */
  async maintain(): Promise<readonly OmemoVersion[]> {
    const changed = await this.manager.maintain();
    await this.republish(changed);
    return changed;
  }

  /** Publishes the bundles of `versions` (default: what the manager says changed), one publish at a time. */
  republish(versions?: readonly OmemoVersion[]): Promise<void> {
    return this.#republish(versions ?? this.manager.republishNeeded());
  }

  #republish(versions: readonly OmemoVersion[]): Promise<void> {
    if (versions.length === 0) return this.#publishChain;
    const run = async (): Promise<void> => {
      const manager = this.manager;
      for (const version of versions) {
        await this.#pep.publishBundle(version, manager.deviceId, manager.bundleElement(version));
        await manager.markPublished(version);
        this.#emit('published', { version, what: 'bundle' });
      }
    };
    const next = this.#publishChain.then(run, run);
    this.#publishChain = next.catch(() => undefined);
    return next;
  }

  #republishInBackground(): void {
    if (this.#manager === undefined || this.#manager.republishNeeded().length === 0) return;
    this.republish().catch((error: unknown) => this.#emit('omemo-error', { from: undefined, version: undefined, error: asProtocolError(error) }));
  }

  /**
   * A device that wrote to us but is not in the sender's device list we know: the list changed
   * and no PEP notification told us (no presence subscription, XEP-0163 section 4.3). Fetch it
   * once, before the message is handed on, so that an answer is also encrypted to that device
   * if its account lists it (XEP-0384 section 7: encrypt to the devices the list names).
   */
  async #learnUnlistedSender(version: OmemoVersion, jid: string, deviceId: number): Promise<void> {
    const key = `${version}|${jid}|${deviceId}`;
    if (this.#unlistedSendersTried.has(key)) return;
    if ((await this.manager.deviceList(version, jid)).includes(deviceId)) return;
    if (this.#unlistedSendersTried.size >= MAX_TRACKED) this.#unlistedSendersTried.clear();
    this.#unlistedSendersTried.add(key);
    await this.refreshDeviceList(version, jid).catch(() => undefined); // the list we know stays in force
  }

  /** Fetches `jid`'s device list for `version` now (and records it). */
  async refreshDeviceList(version: OmemoVersion, jid: string): Promise<readonly number[]> {
    const bare = bareJid(jid);
    const list = await this.#pep.fetchDeviceList(version, bare === this.#account ? undefined : bare);
    await this.#learnList(version, bare, list.ids, 'fetch');
    return list.ids;
  }

  async #learnList(version: OmemoVersion, jid: string, ids: readonly number[], source: 'fetch' | 'notification'): Promise<void> {
    const manager = this.manager;
    let list = ids;
    if (jid === this.#account && !ids.includes(manager.deviceId)) {
      // Someone (another device of ours) published a list without us: merge ourselves back in.
      const merged = await this.#pep.ensureOwnDevice(version, manager.deviceId);
      if (merged.published) this.#emit('published', { version, what: 'device-list' });
      list = merged.ids;
    }
    await manager.updateDeviceList(version, jid, list);
    if (this.#knownLists.size >= MAX_TRACKED) this.#knownLists.clear();
    this.#knownLists.add(`${version}|${jid}`);
    for (const key of [...this.#bundleTried]) if (key.startsWith(`${version}|${jid}|`)) this.#bundleTried.delete(key);
    this.#emit('devices', { jid, version, deviceIds: list, source });
  }

  async #onPepEvent(event: PepEvent): Promise<void> {
    const version = VERSIONS.find((v) => deviceListNode(v) === event.node);
    if (version === undefined) return;
    const jid = event.from === '' ? this.#account : event.from;
    const items = event.items.getChildren('item');
    const item = items.find((i) => i.attrs.id === 'current') ?? items[0];
    const payload = item?.children.find((c): c is Element => typeof c !== 'string');
    if (payload === undefined) return;
    try {
      const list = decodeDeviceListPayload(version, payload);
      await this.#learnList(version, jid, list.ids, 'notification');
    } catch (error) {
      this.#emit('omemo-error', { from: jid, version, error: asProtocolError(error) });
    }
  }

  /** Makes sure device lists of `jid` and of us are known, and bundles fetched for devices without a session. */
  async #prepare(version: OmemoVersion, jid: string): Promise<void> {
    const manager = this.manager;
    for (const who of jid === this.#account ? [jid] : [jid, this.#account]) {
      if (!this.#knownLists.has(`${version}|${who}`)) await this.refreshDeviceList(version, who);
      const ids = await manager.deviceList(version, who);
      const devices = await manager.devices(who);
      const fetches: Promise<void>[] = [];
      for (const id of ids) {
        if (who === this.#account && id === manager.deviceId) continue;
        if (devices.some((d) => d.deviceId === id && d.sessions.includes(version))) continue;
        const key = `${version}|${who}|${id}`;
        if (this.#bundleTried.has(key)) continue;
        if (this.#bundleTried.size >= MAX_TRACKED) this.#bundleTried.clear();
        this.#bundleTried.add(key);
        fetches.push((async () => {
          try {
            const bundle = await this.#pep.fetchBundle(version, who, id);
            if (bundle === undefined) return;
            const { events } = await manager.processBundle(version, who, id, bundle);
            for (const e of events) this.#emit('manager', e);
          } catch (error) {
            this.#emit('omemo-error', { from: who, version, error: asProtocolError(error) });
          }
        })());
      }
      await Promise.all(fetches);
    }
  }

  // ---- hooks for group chats (omemo-muc.ts) -------------------------------------------------

  /** `jid`'s device list for `version`, fetched once per run unless PEP notified a change (XEP-0384 section 6.7.2). */
  async knownDeviceList(version: OmemoVersion, jid: string): Promise<readonly number[]> {
    const bare = bareJid(jid);
    if (!this.#knownLists.has(`${version}|${bare}`)) await this.refreshDeviceList(version, bare);
    return this.manager.deviceList(version, bare);
  }

  /**
   * Makes sure the device lists of `jids` and of us are known and bundles fetched for devices
   * without a session (before one encrypt to all of them). Resolves with the JIDs whose device
   * list could not be fetched (their devices already known are still used).
   */
  async prepareRecipients(version: OmemoVersion, jids: readonly string[]): Promise<readonly string[]> {
    await this.#announce.catch(() => undefined);
    const others = [...new Set(jids.map(bareJid))].filter((jid) => jid !== this.#account);
    const results = await Promise.allSettled([this.#account, ...others].map((jid) => this.#prepare(version, jid)));
    return [this.#account, ...others].filter((_, i) => results[i]?.status === 'rejected');
  }

  /** Sends what the session manager produced (key-exchange completion, heartbeats, repair), through the outbox. */
  async deliver(messages: readonly OutgoingMessage[]): Promise<void> {
    await this.#sendOutgoing(messages);
    this.#republishInBackground();
  }

  /** The version {@link send} uses for `jid` without an explicit one: the preferred one if the contact publishes it, else the other. */
  async chooseVersion(jid: string): Promise<OmemoVersion | undefined> {
    const bare = bareJid(jid);
    const preferred = this.#options.preferredVersion ?? '0.3';
    const order: OmemoVersion[] = preferred === '0.3' ? ['0.3', '2'] : ['2', '0.3'];
    for (const version of order) {
      if (!this.#knownLists.has(`${version}|${bare}`)) {
        try {
          await this.refreshDeviceList(version, bare);
        } catch {
          continue;
        }
      }
      if ((await this.manager.deviceList(version, bare)).length > 0) return version;
    }
    return undefined;
  }

  // ---- send ---------------------------------------------------------------------------------

  /**
   * Encrypts `text` to every usable device of `to` (a bare JID) and our own other devices and
   * sends it. Typed errors: NoRecipientsError (`omemo.no-recipients`) when no device could be
   * used, StateError `xmpp.omemo.no-devices` when the contact publishes no OMEMO device.
   */
  async send(to: string, text: string, options: OmemoSendOptions = {}): Promise<OmemoSendResult> {
    if (typeof text !== 'string' || text.length === 0) throw new TypeError('send: text must be a non-empty string');
    const bare = bareJid(to);
    await this.#announce.catch(() => undefined);
    return this.#queue.run(bare, async () => {
      const version = options.version ?? (await this.chooseVersion(bare));
      if (version === undefined) throw new StateError('xmpp.omemo.no-devices', 'the contact publishes no OMEMO device');
      await this.#prepare(version, bare);
      const plaintext = version === '0.3'
        ? utf8ToBytes(text)
        : serializeSceEnvelope(createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], text)], from: this.#account, to: bare, time: new Date() }, this.#random));
      const result = await this.manager.encrypt(version, [bare], plaintext);
      for (const e of result.events) this.#emit('manager', e);
      const id = randomBytes(9).toString('base64url');
      await this.#outbox.push(buildOmemoMessage(bare, id, version, result.element));
      this.#republishInBackground();
      return { version, to: bare, id, recipients: result.recipients, skipped: result.skipped };
    });
  }

  async #sendOutgoing(messages: readonly OutgoingMessage[]): Promise<void> {
    for (const m of messages) {
      await this.#outbox.push(buildOmemoMessage(m.to, randomBytes(9).toString('base64url'), m.version, m.element, false));
    }
  }

  // ---- receive ------------------------------------------------------------------------------

  async #incoming(context: IncomingContext, next: () => Promise<unknown>): Promise<unknown> {
    const stanza = context.stanza;
    if (this.#closed || this.#manager === undefined || !stanza.is('message')) return next();
    const event = readPepEvent(stanza);
    if (event !== undefined) {
      await this.#queue.run(`pep|${event.from}`, () => this.#onPepEvent(event));
      return next();
    }
    let incoming: IncomingOmemo | undefined;
    try {
      incoming = readIncomingOmemo(stanza, this.#account);
    } catch {
      incoming = undefined;
    }
    if (incoming === undefined) return next();
    const found = incoming;
    const keys = liveMessageKeys(stanza, found, this.#account);
    const stanzaId = keys.stanzaId;
    await this.#queue.run(found.senderJid, async () => {
      if (!this.#catchUp.claim(keys)) {
        this.#emit('duplicate', { from: found.senderJid, version: found.version, id: found.id, archiveId: stanzaId, reason: 'already-seen' });
        return;
      }
      await this.#decrypt(found);
      await this.#catchUp.noteLive(stanzaId).catch(() => undefined);
    });
    return this.#options.consume === true ? undefined : next();
  }

  #duplicate(incoming: IncomingOmemo, archived: ArchivedInfo | undefined, reason: OmemoDuplicateReason): CatchUpOutcome {
    this.#emit('duplicate', { from: incoming.senderJid, version: incoming.version, id: incoming.id, archiveId: archived?.archiveId, reason });
    return 'duplicate';
  }

  /** Whether `incoming`'s sender device has a session of its version (an archived key exchange naming a used prekey is then a replay). */
  async #hasSession(incoming: IncomingOmemo): Promise<boolean> {
    const sid = Number(incoming.encrypted.getChild('header')?.attrs.sid);
    const devices = await this.manager.devices(incoming.senderJid);
    return devices.some((d) => d.deviceId === sid && d.sessions.includes(incoming.version));
  }

  async #decrypt(incoming: IncomingOmemo, archived?: ArchivedInfo): Promise<CatchUpOutcome> {
    const manager = this.manager;
    const from = incoming.senderJid;
    try {
      let element;
      try {
        element = toXmlElement(incoming.encrypted);
      } catch (error) {
        throw new MalformedMessageError('omemo.xml.too-large', 'the <encrypted> element is too deep or too large', { cause: error });
      }
      const result = await manager.decrypt(from, element);
      for (const e of result.events) this.#emit('manager', e);
      await this.#sendOutgoing(result.toSend);
      this.#republishInBackground();
      // The same key-exchange message again (offline storage and MAM, a resend): no second prekey use, no second event.
      if (result.duplicate) return this.#duplicate(incoming, archived, 'key-exchange-replay');
      if (result.plaintext === undefined) {
        this.#emit('empty-message', { from, version: result.version, senderDeviceId: result.senderDeviceId });
        return 'empty';
      }
      let text: string;
      let sentAt: string | undefined;
      if (result.version === '0.3') {
        text = bytesToUtf8(result.plaintext);
      } else {
        const envelope = parseSceEnvelope(result.plaintext);
        // XEP-0420 section 5: the affixes must match the stanza (from = sender, to = addressee).
        // XEP-0384 section 6.1 makes `from` and `to` required: without them a message could be replayed to someone else.
        if (envelope.from === undefined || bareJid(envelope.from) !== from) throw new MalformedMessageError('xmpp.omemo.sce-from-mismatch', 'the SCE envelope names another sender (or none)');
        if (envelope.to === undefined || bareJid(envelope.to) !== incoming.toJid) throw new MalformedMessageError('xmpp.omemo.sce-to-mismatch', 'the SCE envelope names another recipient (or none)');
        sentAt = envelope.time;
        const body = envelope.content.find((c) => c.name === 'body' && c.attrs['xmlns'] === 'jabber:client');
        if (body === undefined) {
          this.#emit('empty-message', { from, version: result.version, senderDeviceId: result.senderDeviceId });
          return 'empty';
        }
        text = body.text;
      }
      await this.#learnUnlistedSender(result.version, from, result.senderDeviceId);
      replaceFallbackBody(incoming.message, text);
      // An archived message of ours (sent by another device) belongs to the conversation with its addressee.
      const outgoing = incoming.carbon === 'sent' || (archived !== undefined && from === this.#account);
      this.#emit('message', {
        from, fromFull: incoming.senderFullJid, to: incoming.toJid, peer: outgoing ? incoming.toJid : from, text, version: result.version,
        senderDeviceId: result.senderDeviceId, trust: result.trust, carbon: incoming.carbon, keyExchange: result.keyExchange, id: incoming.id, sentAt,
        ...(archived === undefined ? {} : { archived }),
      });
      return 'message';
    } catch (error) {
      // Our own message reflected back (e.g. by an archive) is not an error to report.
      if (error instanceof OwnDeviceMessageError) return 'skipped';
      if (archived !== undefined) {
        // The archive holds messages for our other devices and from before this device existed.
        if (error instanceof NotForThisDeviceError) return 'skipped';
        // Already decrypted (live or by an earlier catch-up whose memory is gone): a replay, not an attack.
        if (error instanceof ProtocolError && error.code === 'omemo.ratchet-duplicate') return this.#duplicate(incoming, archived, 'ratchet-duplicate');
        if (error instanceof ProtocolError && error.code === 'omemo.unknown-pre-key' && (await this.#hasSession(incoming).catch(() => false))) {
          return this.#duplicate(incoming, archived, 'pre-key-used');
        }
      }
      this.#emit('omemo-error', { from, version: incoming.version, error: asProtocolError(error) });
      // 0.3 repair messages the manager queued on a failure.
      await this.#sendOutgoing(manager.drainOutgoing()).catch(() => undefined);
      return 'error';
    }
  }

  /** Resolves once every queued incoming message and send has been processed. */
  async idle(): Promise<void> {
    await this.#queue.idle();
    await this.#publishChain;
  }

  /** Detaches from the client's events (the middleware stays registered but passes everything through). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { event, listener } of this.#listeners.splice(0)) this.#deps.entity.removeListener(event, listener);
    await this.#announce.catch(() => undefined);
    await this.#autoCatchUp.catch(() => undefined);
    await this.idle().catch(() => undefined);
  }
}

/** Creates the OMEMO plugin for an @xmpp/client `client()` (or `{ entity, middleware, iqCaller, iqCallee }`). */
export async function omemoPlugin(deps: OmemoXmppDependencies | XmppClient, options: OmemoPluginOptions): Promise<OmemoPlugin> {
  // An @xmpp/client client has every dependency; its declared element type is a narrower view
  // of the @xmpp/xml elements its iqCaller really returns.
  const plugin = new OmemoPlugin(deps as OmemoXmppDependencies, options);
  await plugin.init();
  return plugin;
}

export { CAPS_NODE, capsVer };
