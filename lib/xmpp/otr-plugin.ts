/**
 * OTR for @xmpp/client (XEP-0364 "Current Off-the-Record Messaging Usage", OTR protocol
 * version 3 with SMP), as an xmpp.js-style plugin factory:
 *
 *   const otr = await otrPlugin(xmpp, { policy: 'opportunistic', storePath: 'alice.otr.json' });
 *   otr.on('message', (m) => console.log(m.from, m.security.kind, m.text));
 *   await otr.start('bob@example.org/phone');
 *   await otr.send('bob@example.org', 'hello');
 *
 * Outgoing: `otr.send` is the send path (middleware.filter runs after the socket write, so it
 * cannot encrypt). Each wire message is built and encrypted once and goes through an ordered
 * outbox that survives reconnects (see outbox.ts). Incoming: a middleware decrypts OTR traffic
 * per peer in arrival order, consumes AKE/SMP/query messages, replaces the body of shown
 * messages with the decrypted text for later middleware, and emits typed events (the
 * `stanza` event has already fired with the ciphertext).
 *
 * Sessions: one `OtrConversation` per JID as addressed: the peer's full JID (bare JID +
 * resource), as libotr keys a context per (account, username) and each resource of a contact
 * is its own OTR instance (instance tags keep the contact's instances apart within one
 * conversation). A message to a bare JID goes to the full JID of that contact's encrypted
 * session (the most recently secured one), or, with none, to the bare JID itself.
 */
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { bytesToHex } from '../core/bytes.js';
import { MalformedMessageError, ProtocolError, StateError, StorageError } from '../core/errors.js';
import type { RandomSource } from '../core/random.js';
import { FileStore } from '../core/store/file-store.js';
import { OverlayStore } from '../core/store/overlay-store.js';
import type { KeyValueStore } from '../core/store/store.js';
import { OtrAccountStore, type FingerprintTrust, type KnownFingerprint } from '../otr-account-store.js';
import { OtrConversation } from '../../otr/conversation.js';
import type { OtrEvent, OtrResult } from '../../otr/events.js';
import { OTR_POLICY_ALWAYS, OTR_POLICY_MANUAL, OTR_POLICY_NEVER, OTR_POLICY_OPPORTUNISTIC, type OtrPolicy } from '../../otr/policy.js';
import { parseFingerprint } from '../../otr/public-key.js';
import { decodeOtrMessage } from '../../otr/encoded-message.js';
import { OTR_MESSAGE_TYPE } from '../../otr/message-types.js';
import type { OtrMessageEvent, OtrPluginEvents, SecurityState } from './otr-events.js';
import { bareJid, buildChatMessage, isFullJid, isOtrWireText, MAX_BODY_CHARS, normalizeJid, readIncomingChat, replaceBody } from './otr-stanzas.js';
import { Outbox } from './outbox.js';
import { PeerQueue } from './peer-queue.js';
import type { Element, IncomingContext, XmppDependencies } from './xmpp-types.js';

/** A policy by name: libotr's MANUAL, OPPORTUNISTIC (default) and ALWAYS, or NEVER. */
export type OtrPolicyName = 'never' | 'manual' | 'opportunistic' | 'require-encryption';

/** Options of {@link otrPlugin}. */
export interface OtrPluginOptions {
  /** Our account's bare JID (default: the entity's `jid`, set by `client({ username, domain })`). */
  readonly account?: string;
  /** Where the account's key, instance tag and fingerprints live (default: a FileStore at `storePath`). */
  readonly store?: KeyValueStore;
  /** Path of the default file store (default: $XDG_DATA_HOME/xmpp-otr-omemo/<account>.otr.json). */
  readonly storePath?: string;
  /** Encrypt the default file store at rest (scrypt + AES-256-GCM). */
  readonly passphrase?: string;
  /**
   * Nothing of the conversation is written anywhere: the store is read (so an existing
   * identity and trust are used; without `store`/`storePath` a fresh key lives in memory) but
   * every write stays in memory; every message carries the no-store hints; a peer's state is
   * wiped when its session ends.
   */
  readonly ephemeral?: boolean;
  /** The account's policy (default 'opportunistic'). */
  readonly policy?: OtrPolicyName | OtrPolicy;
  /** Policies per contact (bare JID), overriding the account's. */
  readonly contactPolicies?: Readonly<Record<string, OtrPolicyName | OtrPolicy>>;
  /** Fragment OTR messages longer than this many characters (default: no fragmentation). */
  readonly maxFragmentSize?: number;
  /** Randomness for the engine (default: the system CSPRNG). */
  readonly random?: RandomSource;
  /** Clock (default Date.now). */
  readonly now?: () => number;
}

/** What {@link OtrPlugin.send} did with a message. */
export type SendOutcome =
  /** Encrypted and queued for the wire (written now if online). */
  | { readonly kind: 'encrypted'; readonly to: string }
  /** Sent in plaintext (the policy allows it and no session is encrypted). */
  | { readonly kind: 'plaintext'; readonly to: string }
  /** Held until the session is encrypted (encryption required); an AKE was requested. */
  | { readonly kind: 'held'; readonly to: string; readonly count: number }
  /** Not sent: the peer ended the session (end it or restart OTR). */
  | { readonly kind: 'refused'; readonly to: string; readonly reason: 'finished' };

/** The state of one session, for a UI. */
export interface OtrSessionInfo {
  readonly jid: string;
  readonly security: SecurityState;
  /** The peer's instance tags we have sessions with. */
  readonly instanceTags: readonly number[];
  /** Messages held until encrypted. */
  readonly held: number;
  readonly policy: OtrPolicy;
}

interface Peer {
  /** The JID its messages go to; changes when the peer's instance moves to a new resource. */
  jid: string;
  readonly bare: string;
  conversation: OtrConversation;
  policy: OtrPolicy;
  /** Order in which this peer last went secure (for binding a bare JID). */
  securedOrder: number;
  trust: FingerprintTrust | undefined;
  /** We answered the peer's SMP question: a result does not change trust (libotr). */
  answeredQuestion: boolean;
}

/** Most (sender, stanza id) pairs remembered to drop repeats. */
const SEEN_IDS = 4096;
/**
 * Most conversations kept. Senders come from the network, so without a bound a hostile server
 * could make us keep a conversation per forged resource; past the bound the oldest idle one
 * (plaintext, nothing held) is forgotten.
 */
export const MAX_CONVERSATIONS = 1024;

/** Resolves a policy name. */
export function resolvePolicy(policy: OtrPolicyName | OtrPolicy | undefined): OtrPolicy {
  if (policy === undefined || policy === 'opportunistic') return OTR_POLICY_OPPORTUNISTIC;
  if (policy === 'manual') return OTR_POLICY_MANUAL;
  if (policy === 'require-encryption') return OTR_POLICY_ALWAYS;
  if (policy === 'never') return OTR_POLICY_NEVER;
  if (typeof policy !== 'object' || policy === null) throw new TypeError(`unknown OTR policy ${String(policy)}`);
  return policy;
}

/** The default store path for an account. */
export function defaultStorePath(account: string): string {
  const base = process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share');
  return join(base, 'xmpp-otr-omemo', `${account}.otr.json`);
}

function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError('xmpp.otr.internal', error instanceof Error ? error.message : 'unexpected failure', { cause: error });
}

/** The plugin: application API and typed events. Make one with {@link otrPlugin}. */
export class OtrPlugin {
  readonly #emitter = new EventEmitter();
  readonly #deps: XmppDependencies;
  readonly #options: OtrPluginOptions;
  readonly #accountPolicy: OtrPolicy;
  readonly #contactPolicies = new Map<string, OtrPolicy>();
  readonly #peers = new Map<string, Peer>();
  readonly #queue = new PeerQueue();
  readonly #outbox: Outbox;
  readonly #seen = new Map<string, true>();
  /** Ids of stanzas we sent (bounded), to tie a bounce to its conversation. */
  readonly #sentTo = new Map<string, string>();
  /** Messages to a bare JID held (encryption required) until one of its resources is encrypted. */
  readonly #contactHeld = new Map<string, string[]>();
  readonly #ephemeral: boolean;
  #securedCounter = 0;
  #accountPolicyOverride: OtrPolicy | undefined;
  #closed = false;
  #store: OtrAccountStore | undefined;
  #ownedFileStore: FileStore | undefined;
  #overlay: OverlayStore | undefined;
  #privateKey: Awaited<ReturnType<OtrAccountStore['privateKey']>> | undefined;
  #instanceTag = 0;
  readonly #ready: Promise<void>;
  readonly #listeners: { target: { removeListener(event: string, listener: (...args: unknown[]) => void): unknown }; event: string; listener: (...args: unknown[]) => void }[] = [];

  /** Use {@link otrPlugin}. */
  constructor(deps: XmppDependencies, options: OtrPluginOptions = {}) {
    if (deps === null || typeof deps !== 'object' || deps.entity === undefined || deps.middleware === undefined) {
      throw new TypeError('otrPlugin: pass the xmpp client, or { entity, middleware, streamManagement }');
    }
    this.#deps = deps;
    this.#options = options;
    this.#ephemeral = options.ephemeral === true;
    this.#accountPolicy = resolvePolicy(options.policy);
    for (const [jid, policy] of Object.entries(options.contactPolicies ?? {})) this.#contactPolicies.set(bareJid(jid), resolvePolicy(policy));
    const entity = deps.entity;
    this.#outbox = new Outbox({ isOnline: () => entity.status === 'online', write: (element) => entity.send(element) });
    deps.middleware.use((context, next) => this.#incoming(context as IncomingContext, next));
    this.#listen(entity, 'online', () => void this.#outbox.flush());
    const sm = deps.streamManagement;
    if (sm !== undefined) {
      // After a resume, @xmpp/stream-management resent what the server missed; then our queue.
      this.#listen(sm, 'resumed', () => setImmediate(() => void this.#outbox.flush()));
      // A resume failed: the stanzas the old session did not acknowledge go out again, first.
      this.#listen(sm, 'fail', (stanza) => void this.#outbox.requeueFailed(stanza as Element));
    }
    this.#ready = this.#init();
    this.#ready.catch(() => undefined);
  }

  #listen(target: XmppDependencies['entity'] | NonNullable<XmppDependencies['streamManagement']>, event: string, listener: (...args: unknown[]) => void): void {
    (target.on as (event: string, listener: (...args: unknown[]) => void) => unknown).call(target, event, listener);
    this.#listeners.push({ target, event, listener });
  }

  async #init(): Promise<void> {
    const account = this.#options.account ?? (this.#deps.entity.jid ? bareJid(this.#deps.entity.jid.toString()) : undefined);
    if (account === undefined || account.length === 0) throw new TypeError('otrPlugin: options.account is required when the client has no jid yet');
    let base: KeyValueStore | undefined = this.#options.store;
    if (base === undefined && (!this.#ephemeral || this.#options.storePath !== undefined)) {
      const path = this.#options.storePath ?? defaultStorePath(bareJid(account));
      this.#ownedFileStore = await FileStore.open(path, this.#options.passphrase === undefined ? {} : { passphrase: this.#options.passphrase });
      base = this.#ownedFileStore;
    }
    let kv: KeyValueStore;
    if (this.#ephemeral) {
      this.#overlay = new OverlayStore(base);
      kv = this.#overlay;
    } else {
      kv = base as KeyValueStore;
    }
    this.#store = new OtrAccountStore(kv, account, this.#options.random === undefined ? {} : { random: this.#options.random });
    this.#privateKey = await this.#store.privateKey();
    this.#instanceTag = await this.#store.instanceTag();
  }

  /** Resolves once the key and instance tag are loaded (rejects if the store cannot be opened). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** The account store (key, instance tag, fingerprints, libotr import/export). */
  get store(): OtrAccountStore {
    if (this.#store === undefined) throw new StateError('xmpp.otr.not-ready', 'the OTR plugin is not ready yet');
    return this.#store;
  }

  /** Our instance tag. */
  get instanceTag(): number {
    return this.#instanceTag;
  }

  /** Subscribes to a typed event. */
  on<K extends keyof OtrPluginEvents>(event: K, listener: (payload: OtrPluginEvents[K]) => void): this {
    this.#emitter.on(event, listener as (payload: unknown) => void);
    return this;
  }

  /** Subscribes to one occurrence of a typed event. */
  once<K extends keyof OtrPluginEvents>(event: K, listener: (payload: OtrPluginEvents[K]) => void): this {
    this.#emitter.once(event, listener as (payload: unknown) => void);
    return this;
  }

  /** Unsubscribes. */
  off<K extends keyof OtrPluginEvents>(event: K, listener: (payload: OtrPluginEvents[K]) => void): this {
    this.#emitter.off(event, listener as (payload: unknown) => void);
    return this;
  }

  #emit<K extends keyof OtrPluginEvents>(event: K, payload: OtrPluginEvents[K]): void {
    try {
      this.#emitter.emit(event, payload);
    } catch (error) {
      // An application listener threw: do not let it break the session or the middleware chain.
      if (event !== 'otr-error') this.#emit('otr-error', { jid: undefined, error: new ProtocolError('xmpp.otr.listener-threw', 'an event listener threw', { cause: error }) });
    }
  }

  // ---- sessions -------------------------------------------------------------------------

  #policyFor(bare: string): OtrPolicy {
    return this.#contactPolicies.get(bare) ?? this.#accountPolicyOverride ?? this.#accountPolicy;
  }

  #newConversation(jid: string, policy: OtrPolicy): OtrConversation {
    if (this.#privateKey === undefined || this.#store === undefined) throw new StateError('xmpp.otr.not-ready', 'the OTR plugin is not ready yet');
    return new OtrConversation({
      accountName: this.#store.account,
      protocol: 'xmpp',
      peerName: jid,
      privateKey: this.#privateKey,
      instanceTag: this.#instanceTag,
      policy,
      ...(this.#options.maxFragmentSize === undefined ? {} : { maxFragmentSize: this.#options.maxFragmentSize }),
      ...(this.#options.random === undefined ? {} : { random: this.#options.random }),
      ...(this.#options.now === undefined ? {} : { now: this.#options.now }),
    });
  }

  #peer(jid: string): Peer {
    const key = normalizeJid(jid);
    let peer = this.#peers.get(key);
    if (peer === undefined) {
      const bare = bareJid(key);
      const policy = this.#policyFor(bare);
      peer = { jid: key, bare, conversation: this.#newConversation(key, policy), policy, securedOrder: 0, trust: undefined, answeredQuestion: false };
      if (this.#peers.size >= MAX_CONVERSATIONS) this.#evictIdle();
      this.#peers.set(key, peer);
    }
    return peer;
  }

  #evictIdle(): void {
    for (const [key, peer] of this.#peers) {
      if (peer.conversation.messageState === 'plaintext' && peer.conversation.heldCount === 0) {
        this.#peers.delete(key);
        return;
      }
    }
  }

  /** The peer a message to `jid` goes to: a bare JID follows its contact's encrypted (or finished) session. */
  #target(jid: string): Peer {
    return this.#find(jid) ?? this.#peer(jid);
  }

  /** As #target, without creating a session. */
  #find(jid: string): Peer | undefined {
    const key = normalizeJid(jid);
    if (isFullJid(key)) return this.#peers.get(key);
    let best: Peer | undefined;
    const rank = (p: Peer): number => (p.conversation.messageState === 'encrypted' ? 2 : p.conversation.messageState === 'finished' ? 1 : 0);
    for (const peer of this.#peers.values()) {
      if (peer.bare !== key || !isFullJid(peer.jid) || rank(peer) === 0) continue;
      if (best === undefined || rank(peer) > rank(best) || (rank(peer) === rank(best) && peer.securedOrder > best.securedOrder)) best = peer;
    }
    return best ?? this.#peers.get(key);
  }

  #security(peer: Peer): SecurityState {
    const conversation = peer.conversation;
    const state = conversation.messageState;
    const fingerprint = conversation.theirFingerprint;
    if (state === 'plaintext' || fingerprint === undefined) return { kind: 'plaintext' };
    const hex = bytesToHex(fingerprint);
    if (state === 'finished') return { kind: 'finished', fingerprint: hex };
    const tags = conversation.instances.filter((tag) => conversation.instanceState(tag) === 'encrypted');
    return {
      kind: 'encrypted',
      fingerprint: hex,
      trust: peer.trust ?? 'unverified',
      version: conversation.version ?? 3,
      instanceTag: tags[tags.length - 1] ?? 0,
    };
  }

  /** The session with `jid` (a bare JID reports the session its messages go to). */
  session(jid: string): OtrSessionInfo {
    const peer = this.#find(jid);
    if (peer === undefined) {
      const key = normalizeJid(jid);
      return { jid: key, security: { kind: 'plaintext' }, instanceTags: [], held: this.#contactHeld.get(key)?.length ?? 0, policy: this.#policyFor(bareJid(key)) };
    }
    return {
      jid: peer.jid,
      security: this.#security(peer),
      instanceTags: peer.conversation.instances,
      held: peer.conversation.heldCount + (this.#contactHeld.get(peer.jid)?.length ?? 0),
      policy: peer.policy,
    };
  }

  #heldFor(jid: string): number {
    const peer = this.#peers.get(normalizeJid(jid));
    return (peer?.conversation.heldCount ?? 0) + (this.#contactHeld.get(normalizeJid(jid))?.length ?? 0);
  }

  /**
   * Drops the messages held for `jid` (encryption required, but no session came up): they
   * are never sent. Returns how many were dropped. A finished session is ended first.
   */
  async discardHeld(jid: string): Promise<number> {
    this.#check(jid, 'discardHeld');
    await this.#ready;
    const key = normalizeJid(jid);
    return this.#queue.run(key, async () => {
      let count = this.#contactHeld.get(key)?.length ?? 0;
      this.#contactHeld.delete(key);
      const peer = this.#peers.get(key);
      if (peer !== undefined && peer.conversation.heldCount > 0) {
        count += peer.conversation.heldCount;
        if (peer.conversation.messageState !== 'plaintext') await this.#apply(peer, peer.conversation.end());
        peer.conversation = this.#newConversation(peer.jid, peer.policy);
      }
      return count;
    });
  }

  /** Every session the plugin knows. */
  sessions(): OtrSessionInfo[] {
    return [...this.#peers.keys()].map((jid) => this.session(jid));
  }

  /** Sets the policy of a contact (bare JID), or of the account when `contact` is undefined; sessions in plaintext with nothing held take it at once, others when they next end. */
  setPolicy(contact: string | undefined, policy: OtrPolicyName | OtrPolicy): void {
    const resolved = resolvePolicy(policy);
    if (contact === undefined) {
      this.#accountPolicyOverride = resolved;
    } else {
      this.#contactPolicies.set(bareJid(contact), resolved);
    }
    this.#refreshPolicies();
  }

  #refreshPolicies(): void {
    for (const peer of this.#peers.values()) {
      const policy = this.#policyFor(peer.bare);
      if (policy === peer.policy) continue;
      if (peer.conversation.messageState === 'plaintext' && peer.conversation.heldCount === 0) {
        peer.conversation = this.#newConversation(peer.jid, policy);
        peer.policy = policy;
      }
    }
  }

  // ---- outgoing -------------------------------------------------------------------------

  #newId(): string {
    return `otr-${randomBytes(9).toString('base64url')}`;
  }

  #transmit(peer: Peer, texts: readonly string[]): Promise<void> {
    if (texts.length === 0) return Promise.resolve();
    let flushed: Promise<void> = Promise.resolve();
    for (const text of texts) {
      const id = this.#newId();
      this.#sentTo.set(id, peer.jid);
      if (this.#sentTo.size > SEEN_IDS) {
        const oldest = this.#sentTo.keys().next().value;
        if (oldest !== undefined) this.#sentTo.delete(oldest);
      }
      flushed = this.#outbox.push(buildChatMessage(peer.jid, text, { id, noStore: this.#ephemeral }));
    }
    return flushed;
  }

  /** Applies an engine result: wire messages out, then events. */
  async #apply(peer: Peer, result: OtrResult): Promise<void> {
    const flushed = this.#transmit(peer, result.toSend);
    for (const event of result.events) await this.#event(peer, event);
    await flushed;
  }

  async #event(peer: Peer, event: OtrEvent): Promise<void> {
    this.#emit('otr-event', { jid: peer.jid, event });
    const store = this.store;
    switch (event.kind) {
      case 'fingerprint-seen': {
        const fingerprint = bytesToHex(event.fingerprint);
        const { trust, isNew } = await this.#guardStore(peer, () => store.addFingerprint(peer.bare, event.fingerprint), { trust: 'unverified' as FingerprintTrust, isNew: true });
        peer.trust = trust;
        this.#emit('fingerprint', { jid: peer.jid, fingerprint, trust, isNew });
        return;
      }
      case 'went-secure': {
        peer.securedOrder = ++this.#securedCounter;
        this.#emit('secure', {
          jid: peer.jid,
          fingerprint: bytesToHex(event.fingerprint),
          trust: peer.trust ?? 'unverified',
          version: event.version,
          instanceTag: event.instanceTag,
          ssid: bytesToHex(event.ssid),
          ssidBoldHalf: event.ssidBoldHalf,
          refreshed: event.refreshed,
        });
        await this.#flushContactHeld(peer);
        return;
      }
      case 'went-insecure':
        this.#emit('insecure', { jid: peer.jid, reason: event.reason });
        return;
      case 'smp':
        await this.#smpEvent(peer, event.event);
        return;
      case 'error':
        this.#emit('otr-error', { jid: peer.jid, error: event.error });
        return;
      case 'peer-error-message':
        this.#emit('peer-error', { jid: peer.jid, text: event.text });
        return;
      case 'held-until-encrypted':
        this.#emit('held', { jid: peer.jid, count: event.count });
        if (peer.conversation.messageState === 'finished') this.#emit('held-blocked', { jid: peer.jid, count: event.count, reason: 'peer-ended' });
        return;
      case 'held-messages-sent':
        this.#emit('held-sent', { jid: peer.jid, count: event.count });
        return;
      case 'send-refused':
        this.#emit('not-sent', { jid: peer.jid, reason: event.reason });
        return;
      case 'extra-symmetric-key':
      case 'unencrypted-received':
      case 'heartbeat-sent':
      case 'heartbeat-received':
      case 'ignored':
      case 'ake-started':
        return;
      default: {
        const unknown: never = event;
        throw new TypeError(`unexpected OTR event ${JSON.stringify(unknown)}`);
      }
    }
  }

  async #smpEvent(peer: Peer, event: Extract<OtrEvent, { kind: 'smp' }>['event']): Promise<void> {
    const jid = peer.jid;
    switch (event.kind) {
      case 'question':
        peer.answeredQuestion = true;
        this.#emit('smp', { jid, kind: 'question', question: event.question });
        return;
      case 'secret-needed':
        peer.answeredQuestion = false;
        this.#emit('smp', { jid, kind: 'secret-needed' });
        return;
      case 'progress':
        this.#emit('smp', { jid, kind: 'progress', percent: event.percent });
        return;
      case 'succeeded': {
        const fingerprint = peer.conversation.theirFingerprint;
        const hex = fingerprint === undefined ? '' : bytesToHex(fingerprint);
        const verified = event.authenticatedPeer && fingerprint !== undefined;
        if (verified && fingerprint !== undefined) await this.#setTrust(peer.bare, fingerprint, 'smp');
        this.#emit('smp', { jid, kind: 'succeeded', fingerprint: hex, verified });
        return;
      }
      case 'failed': {
        // libotr clears an "smp" trust when a run it did not merely answer fails.
        const fingerprint = peer.conversation.theirFingerprint;
        if (!peer.answeredQuestion && fingerprint !== undefined && peer.trust === 'smp') await this.#setTrust(peer.bare, fingerprint, 'unverified');
        this.#emit('smp', { jid, kind: 'failed' });
        return;
      }
      case 'aborted':
        this.#emit('smp', { jid, kind: 'aborted', by: event.by });
        return;
      case 'cheated':
        this.#emit('smp', { jid, kind: 'cheated', reason: event.reason });
        return;
      default: {
        const unknown: never = event;
        throw new TypeError(`unexpected SMP event ${JSON.stringify(unknown)}`);
      }
    }
  }

  async #guardStore<T>(peer: Peer, run: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.#emit('otr-error', { jid: peer.jid, error: error instanceof StorageError ? error : new StorageError('xmpp.otr.store-failed', 'the key store failed', { cause: error }) });
      return fallback;
    }
  }

  async #setTrust(peerJid: string, fingerprint: Uint8Array, trust: FingerprintTrust): Promise<void> {
    const bare = bareJid(peerJid);
    await this.store.setTrust(bare, fingerprint, trust);
    const hex = bytesToHex(fingerprint);
    for (const peer of this.#peers.values()) {
      const theirs = peer.conversation.theirFingerprint;
      if (peer.bare === bare && theirs !== undefined && bytesToHex(theirs) === hex) peer.trust = trust;
    }
    this.#emit('trust', { peer: bare, fingerprint: hex, trust });
  }

  /** Sends what was held for a bare JID through `peer`, its newly encrypted resource. */
  async #flushContactHeld(peer: Peer): Promise<void> {
    const held = this.#contactHeld.get(peer.bare);
    if (held === undefined || held.length === 0 || peer.conversation.messageState !== 'encrypted') return;
    this.#contactHeld.delete(peer.bare);
    const texts: string[] = [];
    for (const text of held) texts.push(...peer.conversation.send(text).toSend);
    await this.#transmit(peer, texts);
    this.#emit('held-sent', { jid: peer.bare, count: held.length });
  }

  #check(jid: string, what: string): void {
    if (this.#closed) throw new StateError('xmpp.otr.closed', 'the OTR plugin is closed');
    if (typeof jid !== 'string' || jid.length === 0 || /[\s\0]/.test(jid) || (!jid.includes('@') && !jid.includes('.'))) {
      throw new TypeError(`${what}: jid must be a JID`);
    }
  }

  /**
   * Sends `text` to `jid` (full JID, or bare JID: then to the contact's encrypted resource):
   * encrypted when a session is encrypted; otherwise per policy in plaintext (with the
   * whitespace tag when opportunistic) or, when encryption is required, held while an AKE is
   * requested. Plaintext is never sent when the policy requires encryption.
   */
  async send(jid: string, text: string): Promise<SendOutcome> {
    this.#check(jid, 'send');
    if (typeof text !== 'string') throw new TypeError('send: text must be a string');
    await this.#ready;
    const first = this.#target(jid);
    return this.#queue.run(first.jid, async () => {
      const peer = this.#target(jid);
      const conversation = peer.conversation;
      const state = conversation.messageState;
      if (state === 'plaintext' && !isFullJid(peer.jid) && peer.policy.requireEncryption) {
        // A bare JID under required encryption: hold here, ask the contact to start OTR;
        // whichever resource answers gets the messages once encrypted.
        const held = this.#contactHeld.get(peer.bare) ?? [];
        held.push(text);
        this.#contactHeld.set(peer.bare, held);
        this.#emit('held', { jid: peer.jid, count: held.length });
        if (held.length === 1) await this.#apply(peer, conversation.startAke());
        return { kind: 'held', to: peer.jid, count: held.length };
      }
      const result = conversation.send(text);
      await this.#apply(peer, result);
      if (state === 'encrypted') return { kind: 'encrypted', to: peer.jid };
      const held = result.events.find((e) => e.kind === 'held-until-encrypted');
      if (held !== undefined) return { kind: 'held', to: peer.jid, count: held.count };
      if (result.events.some((e) => e.kind === 'send-refused')) return { kind: 'refused', to: peer.jid, reason: 'finished' };
      return { kind: 'plaintext', to: peer.jid };
    });
  }

  /** Starts OTR with `jid` (a full JID for one resource): sends an OTR Query Message. */
  async start(jid: string): Promise<void> {
    this.#check(jid, 'start');
    await this.#ready;
    const key = normalizeJid(jid);
    await this.#queue.run(key, () => {
      const peer = this.#peer(key);
      if (!peer.policy.allowV2 && !peer.policy.allowV3) throw new StateError('xmpp.otr.disabled', 'OTR is disabled for this contact (policy never)');
      return this.#apply(peer, peer.conversation.startAke());
    });
  }

  /**
   * Ends OTR with `jid` (spec, "User requests to end an OTR conversation"): the peer is told
   * (Disconnected TLV), keys are forgotten. In ephemeral mode the peer's state is wiped.
   */
  async stop(jid: string): Promise<void> {
    this.#check(jid, 'stop');
    await this.#ready;
    const peer = this.#target(jid);
    await this.#queue.run(peer.jid, async () => {
      await this.#apply(peer, peer.conversation.end());
      if (this.#ephemeral) await this.#wipe(peer);
    });
  }

  async #wipe(peer: Peer): Promise<void> {
    if (peer.conversation.heldCount === 0) this.#peers.delete(peer.jid);
    const others = [...this.#peers.values()].some((p) => p.bare === peer.bare);
    if (!others && this.#overlay !== undefined && this.#store !== undefined) {
      this.#overlay.discard(`otr/${this.#store.account}/fingerprint/${peer.bare}/`);
    }
  }

  #smpPeer(jid: string): Peer {
    const peer = this.#target(jid);
    if (peer.conversation.messageState !== 'encrypted') throw new StateError('otr.not-encrypted', 'SMP needs an encrypted session');
    return peer;
  }

  /** Starts SMP with `jid`, optionally with a question (TLV 7). Throws StateError `otr.not-encrypted`. */
  async smpAsk(jid: string, secret: string, question?: string): Promise<void> {
    this.#check(jid, 'smpAsk');
    await this.#ready;
    const peer = this.#smpPeer(jid);
    await this.#queue.run(peer.jid, () => {
      peer.answeredQuestion = false;
      return this.#apply(peer, peer.conversation.startSmp(secret, question));
    });
  }

  /** Answers the peer's SMP request (after an 'smp' event 'question' or 'secret-needed'). */
  async smpAnswer(jid: string, secret: string): Promise<void> {
    this.#check(jid, 'smpAnswer');
    await this.#ready;
    const peer = this.#smpPeer(jid);
    await this.#queue.run(peer.jid, () => this.#apply(peer, peer.conversation.respondSmp(secret)));
  }

  /** Aborts an SMP run (TLV 6). */
  async smpAbort(jid: string): Promise<void> {
    this.#check(jid, 'smpAbort');
    await this.#ready;
    const peer = this.#smpPeer(jid);
    await this.#queue.run(peer.jid, () => this.#apply(peer, peer.conversation.abortSmp()));
  }

  /** Our fingerprint (40 lower-case hex digits). */
  async ourFingerprint(): Promise<string> {
    await this.#ready;
    return bytesToHex(await this.store.ourFingerprint());
  }

  /** Known fingerprints (of `peer`'s bare JID, or all). */
  async fingerprints(peer?: string): Promise<KnownFingerprint[]> {
    await this.#ready;
    return this.store.fingerprints(peer === undefined ? undefined : bareJid(peer));
  }

  /**
   * Sets the trust of a peer's fingerprint (hex, with or without spaces; default: the
   * fingerprint of the peer's current session): 'manual' after comparing it out of band.
   */
  async trust(peer: string, trust: FingerprintTrust, fingerprint?: string): Promise<void> {
    this.#check(peer, 'trust');
    await this.#ready;
    let bytes: Uint8Array | undefined;
    if (fingerprint !== undefined) {
      bytes = parseFingerprint(fingerprint);
      if (bytes === undefined) throw new TypeError('trust: fingerprint must be 40 hex digits');
    } else {
      bytes = this.#target(peer).conversation.theirFingerprint;
      if (bytes === undefined) throw new StateError('otr.not-encrypted', 'no session fingerprint to trust');
    }
    await this.#setTrust(peer, bytes, trust);
  }

  /** Resolves once every queued incoming and outgoing task has run and the outbox is drained or blocked. */
  async idle(): Promise<void> {
    await this.#queue.idle();
    await this.#outbox.flush();
  }

  /** Stanzas waiting in the outbox (the connection is down). */
  get queued(): number {
    return this.#outbox.size;
  }

  /**
   * Detaches the plugin's listeners (the middleware stays but passes everything through),
   * closes the file store it opened, and in ephemeral mode forgets all state.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { target, event, listener } of this.#listeners) target.removeListener(event, listener);
    await this.#queue.idle();
    if (this.#ephemeral) {
      for (const peer of this.#peers.values()) peer.conversation.end();
      this.#peers.clear();
      this.#contactHeld.clear();
      this.#outbox.clear();
      this.#overlay?.discard();
    }
    await this.#ownedFileStore?.close();
  }

  // ---- incoming -------------------------------------------------------------------------

  #isRepeat(from: string, id: string | undefined): boolean {
    if (id === undefined) return false;
    const key = `${from}\n${id}`;
    if (this.#seen.has(key)) return true;
    this.#seen.set(key, true);
    if (this.#seen.size > SEEN_IDS) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return false;
  }

  async #incoming(context: IncomingContext, next: () => Promise<unknown>): Promise<unknown> {
    if (this.#closed) return next();
    let incoming;
    try {
      incoming = readIncomingChat(context.stanza);
    } catch (error) {
      this.#emit('otr-error', { jid: undefined, error: new MalformedMessageError('xmpp.otr.bad-stanza', 'unreadable message stanza', { cause: error }) });
      return next();
    }
    if (incoming.kind === 'other') return next();
    const from = normalizeJid(incoming.from);
    if (incoming.kind === 'bounce') {
      const target = incoming.id === undefined ? undefined : this.#sentTo.get(incoming.id);
      const jid = target ?? from;
      this.#emit('delivery-error', { jid, id: incoming.id, condition: incoming.condition });
      if (target !== undefined && this.#heldFor(target) > 0) this.#emit('held-blocked', { jid: target, count: this.#heldFor(target), reason: 'undeliverable' });
      return next();
    }
    try {
      await this.#ready;
    } catch {
      return next();
    }
    const body = incoming.body;
    const otr = isOtrWireText(body);
    if (otr && this.#isRepeat(from, incoming.id)) return undefined;
    let shown: OtrMessageEvent | undefined;
    try {
      shown = await this.#queue.run(from, () => this.#receive(from, body, incoming.id, incoming.delayed));
    } catch (error) {
      this.#emit('otr-error', { jid: from, error: asProtocolError(error) });
      return undefined;
    }
    if (shown === undefined) return undefined;
    if (shown.text !== body) replaceBody(context.stanza, shown.text);
    (context as IncomingContext & { otr?: OtrMessageEvent }).otr = shown;
    return next();
  }

  /**
   * A v3 Data Message from a resource we have no session with, whose sender instance tag is
   * that of an encrypted session with another resource of the same account: the peer's client
   * reconnected under a new resource (OTR v3 spec, "Instance Tags": the tag, not the resource,
   * names the client). The session follows it, so no new AKE is needed; the server vouches that
   * both resources belong to the same account.
   */
  #followMovedInstance(from: string, body: string): void {
    if (!body.startsWith('?OTR:') || !isFullJid(from)) return;
    let header;
    try {
      header = decodeOtrMessage(body);
    } catch {
      return;
    }
    if (header.version !== 3 || header.type !== OTR_MESSAGE_TYPE.data || header.receiverInstanceTag !== this.#instanceTag) return;
    const bare = bareJid(from);
    for (const [key, peer] of this.#peers) {
      if (peer.bare !== bare || !isFullJid(key) || peer.conversation.instanceState(header.senderInstanceTag) !== 'encrypted') continue;
      this.#peers.delete(key);
      peer.jid = from;
      this.#peers.set(from, peer);
      this.#emit('moved', { from: key, to: from, instanceTag: header.senderInstanceTag });
      return;
    }
  }

  async #receive(from: string, body: string, id: string | undefined, delayed: boolean): Promise<OtrMessageEvent | undefined> {
    if (body.length > MAX_BODY_CHARS) {
      this.#emit('otr-error', { jid: from, error: new MalformedMessageError('xmpp.otr.body-too-large', 'message body is larger than the limit') });
      return undefined;
    }
    if (!this.#peers.has(from)) this.#followMovedInstance(from, body);
    const peer = this.#peer(from);
    const result = peer.conversation.receive(body);
    await this.#apply(peer, result);
    if (result.show === undefined) return undefined;
    const heldJid = this.#heldFor(peer.jid) > 0 ? peer.jid : this.#heldFor(peer.bare) > 0 ? peer.bare : undefined;
    if (!result.show.encrypted && peer.conversation.messageState === 'plaintext' && heldJid !== undefined && !isOtrWireText(body)) {
      // We asked for OTR and the peer answers in plaintext: it may have no OTR at all.
      this.#emit('held-blocked', { jid: heldJid, count: this.#heldFor(heldJid), reason: 'peer-answered-in-plaintext' });
    }
    const message: OtrMessageEvent = {
      from,
      text: result.show.text,
      encrypted: result.show.encrypted,
      security: this.#security(peer),
      unencryptedWarning: result.events.some((e) => e.kind === 'unencrypted-received'),
      delayed,
      id,
    };
    this.#emit('message', message);
    return message;
  }
}

/**
 * Adds OTR to an @xmpp/client: `await otrPlugin(xmpp, options)` (or pass `{ entity,
 * middleware, streamManagement }`). Install it before `xmpp.start()` so no message is missed;
 * it resolves once the account's key and instance tag are loaded (a new key is made and
 * saved on first use).
 */
export async function otrPlugin(deps: XmppDependencies, options: OtrPluginOptions = {}): Promise<OtrPlugin> {
  const plugin = new OtrPlugin(deps, options);
  await plugin.ready();
  return plugin;
}
