/**
 * The OMEMO session manager (XEP-0384 sections 4-5; XEP-0384 0.3.0 sections 4-5): one device of
 * one account, speaking OMEMO 0.3 and omemo:2 with one identity key. Transport-free: it never
 * touches the network; everything it keeps goes through the async {@link KeyValueStore}, and
 * what must be published or sent is handed back (bundles, `<encrypted>` elements, messages it
 * produced on its own).
 *
 * - Own device: identity (usable under both versions), device id 1..2^31-1, per version a
 *   signed prekey (rotated, previous kept one more period) and ~100 one-time prekeys (deleted
 *   on use, refilled at once); {@link republishNeeded} says which bundles changed.
 * - Sessions per (bare JID, device id, version). {@link encrypt} fans one plaintext out to the
 *   devices of the recipients (and our own other devices) that trust allows; the key exchange is
 *   attached until the peer answers. {@link decrypt} handles key exchanges (prekey used exactly
 *   once; the same key-exchange message twice decrypts twice), heartbeats (an empty message once
 *   a receiving chain passes ~53 messages), key-exchange completion, 0.3's automatic repair (at
 *   most once per device and run) and refuses distrusted senders.
 * - Trust per device fingerprint, policies BTBV (default) and manual (trust.ts).
 * - History sync (MAM catch-up): between {@link beginHistorySync} and {@link endHistorySync} a
 *   one-time prekey used by a key exchange is withdrawn from the bundle but kept, so another
 *   sender who picked the same prekey from the bundle while we were offline still gets through;
 *   {@link endHistorySync} deletes them (python-omemo's `after_history_sync`). The withdrawn ids
 *   are persisted: a restart in between does not put them back into the bundle.
 *
 * Every operation runs exclusively (one at a time), works on copies, and persists only after
 * it succeeded: hostile input raises a typed ProtocolError and leaves stored state untouched.
 */
import { bytesToHex, constantTimeEqual } from '../lib/core/bytes.js';
import { sha256 } from '../lib/core/crypto/hash.js';
import { MalformedMessageError, ProtocolError, StateError, StorageError, VerificationError } from '../lib/core/errors.js';
import { systemRandom } from '../lib/core/random.js';
import type { RandomSource } from '../lib/core/random.js';
import type { KeyValueStore } from '../lib/core/store/store.js';
import { X25519PrivateKey, X25519PublicKey } from './crypto/curve25519.js';
import { IdentityKeyPair } from './crypto/identity-key.js';
import {
  IdentityMismatchError, NoRecipientsError, NoSessionError, NotForThisDeviceError, OwnDeviceMessageError, UnknownDeviceError, UnknownPreKeyError,
  UntrustedDeviceError,
} from './errors.js';
import { fingerprintOf, fingerprintUri, formatFingerprint } from './fingerprint.js';
import type { FingerprintStyle, OmemoVersion } from './fingerprint.js';
import type { SkippedDeviceInfo } from './errors.js';
import type { OmemoEvent, OutgoingMessage, OutgoingReason } from './manager-events.js';
import {
  parseBundle, parseDeviceList, parseDeviceRecord, parseJsonDocument, parseOwnDevice, parseOwnPreKeys, parseRepublish, parseSessionRecord,
  serializeBundle, serializeDeviceList, serializeDeviceRecord, serializeOwnDevice, serializeOwnPreKeys, serializeRepublish, serializeSessionRecord,
} from './manager-state-json.js';
import type { DeviceRecord } from './manager-state-json.js';
import {
  DEFAULT_PRE_KEY_COUNT, DEFAULT_SIGNED_PRE_KEY_PERIOD_MS, createOwnPreKeyState, findPreKey, findSignedPreKey,
  isSignedPreKeyRotationDue, refillPreKeys, removePreKey, rotateSignedPreKey,
} from './prekeys.js';
import type { OwnPreKeyState } from './prekeys.js';
import {
  decryptInitialMessage, decryptMessage, encryptMessage, initializeActiveSession, receivingChainLength, sendingChainLength,
} from './ratchet/double-ratchet.js';
import type { RatchetMessage } from './ratchet/double-ratchet.js';
import { MAX_PREVIOUS_SESSIONS, MAX_REPLAY_ENTRIES, sameKeyExchange, toPreviousSession } from './session-record.js';
import type { SessionRecord } from './session-record.js';
import { effectiveTrust, initialTrust, mayDecryptFrom, mayEncryptTo } from './trust.js';
import type { DeviceTrust, TrustPolicy, TrustState } from './trust.js';
import { versionBackend, versionOfElement } from './version-backend.js';
import type { AnyBundle, AnyEncrypted, NormalizedBundle, NormalizedKey, VersionBackend } from './version-backend.js';
import { MAX_DEVICE_ID } from './versions/xml-fields.js';
import { x3dhActive, x3dhPassive } from './x3dh.js';
import { parseXml } from './xml-codec.js';
import type { XmlElement } from './xml-element.js';

export type { OmemoEvent, OutgoingMessage, OutgoingReason } from './manager-events.js';

/** Bound on the devices repaired automatically in one run (memory stays bounded under hostile input). */
const MAX_REPAIRS_PER_RUN = 10_000;

/** Bound on one-time prekeys kept per version during a history sync (each use adds a fresh one to the bundle). */
const MAX_DEFERRED_PRE_KEYS = 500;

/** Heartbeat threshold: python-omemo's STALENESS_MAGIC_NUMBER (XEP-0384 section 4.5 "~53"). */
export const DEFAULT_HEARTBEAT_THRESHOLD = 53;

/** Options of {@link OmemoSessionManager.open}. */
export interface OmemoSessionManagerOptions {
  /** Where everything is kept (state is versioned JSON; secrets included: use an encrypted store). */
  readonly store: KeyValueStore;
  /** Our bare JID. */
  readonly ownJid: string;
  /** Randomness (default: the system CSPRNG). */
  readonly random?: RandomSource;
  /** Clock in ms (default Date.now), for signed prekey rotation. */
  readonly now?: () => number;
  /** Trust policy for new devices (default 'blind-trust-before-verification'). */
  readonly trustPolicy?: TrustPolicy;
  /** One-time prekeys kept per version (default 100). */
  readonly preKeyCount?: number;
  /** Signed prekey rotation period in ms (default one week). */
  readonly signedPreKeyPeriodMs?: number;
  /** Receiving-chain length after which an empty message is sent (default 53). */
  readonly heartbeatThreshold?: number;
  /** Key prefix in the store (default `omemo/<ownJid>`). */
  readonly storePrefix?: string;
}

/**
 * A device that could not be encrypted to, and why: 'untrusted' (trust forbids it), 'no-bundle'
 * (no session and no bundle known: fetch it and call processBundle), 'bad-bundle' (X3DH refused it).
 */
export type SkippedDevice = SkippedDeviceInfo;

/** Result of {@link OmemoSessionManager.encrypt}. */
export interface EncryptResult {
  readonly version: OmemoVersion;
  /** The `<encrypted>` element to put in the `<message>`. */
  readonly element: XmlElement;
  readonly encrypted: AnyEncrypted;
  /** Devices that got a key; `keyExchange` when the key exchange was attached. */
  readonly recipients: readonly { readonly jid: string; readonly deviceId: number; readonly keyExchange: boolean }[];
  readonly skipped: readonly SkippedDevice[];
  readonly events: readonly OmemoEvent[];
}

/** Result of {@link OmemoSessionManager.decrypt}. */
export interface DecryptResult {
  readonly version: OmemoVersion;
  readonly senderJid: string;
  readonly senderDeviceId: number;
  /** The payload plaintext (0.3: the body; omemo:2: the SCE envelope bytes); undefined for an empty message. */
  readonly plaintext: Uint8Array | undefined;
  /** The sender device's effective trust (undecided senders are decrypted; show them as such). */
  readonly trust: TrustState;
  /** The message carried a key exchange. */
  readonly keyExchange: boolean;
  /** The same key-exchange message was decrypted before (e.g. MAM catch-up); nothing was consumed. */
  readonly duplicate: boolean;
  /** Messages the manager produced (completion, heartbeat, repair): send them. */
  readonly toSend: readonly OutgoingMessage[];
  readonly events: readonly OmemoEvent[];
}

/** What the application sees of a peer device. */
export interface DeviceInfo {
  readonly jid: string;
  readonly deviceId: number;
  /** 32-byte Curve25519 fingerprint. */
  readonly fingerprint: Uint8Array;
  /** The trust to act on (BTBV demotes blind trust once the contact has a verified device). */
  readonly trust: TrustState;
  /** The stored decision. */
  readonly storedTrust: DeviceTrust;
  /** Versions with a session to this device. */
  readonly sessions: readonly OmemoVersion[];
}

const VERSIONS: readonly OmemoVersion[] = ['0.3', '2'];

function isBareJid(jid: unknown): jid is string {
  return typeof jid === 'string' && jid.length > 0 && jid.length <= 3071 && !/[\s/\u0000-\u001f\u007f]/.test(jid);
}

function checkJid(jid: string, what: string): void {
  if (!isBareJid(jid)) throw new TypeError(`${what}: expected a bare JID`);
}

function checkVersion(version: OmemoVersion): void {
  if (version !== '0.3' && version !== '2') throw new TypeError("version must be '0.3' or '2'");
}

function checkDeviceId(deviceId: number, what: string): void {
  if (!Number.isInteger(deviceId) || deviceId < 1 || deviceId > MAX_DEVICE_ID) throw new RangeError(`${what}: device id must be 1..2^31-1`);
}

function randomDeviceId(random: RandomSource): number {
  for (;;) {
    const b = random(4);
    const id = (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) & 0x7fffffff;
    if (id >= 1) return id;
  }
}

function sessionKey(version: OmemoVersion, jid: string, deviceId: number): string {
  return `${version}|${jid}|${deviceId}`;
}

/** Working copy of an operation: writes are collected and applied only at the end. */
interface Pending {
  readonly sessions: Map<string, SessionRecord | null>;
  readonly devices: Map<string, DeviceRecord>;
  readonly preKeys: Map<OmemoVersion, OwnPreKeyState>;
  readonly republish: Set<OmemoVersion>;
  readonly events: OmemoEvent[];
  /** Secrets to zero once the operation is committed (used one-time prekeys). */
  readonly wipeAfterCommit: Uint8Array[];
  /** One-time prekeys used during a history sync: withdrawn from the bundle, deleted by endHistorySync. */
  readonly deferredPreKeys: Map<OmemoVersion, ReadonlySet<number>>;
}

function serializeDeferredPreKeys(deferred: ReadonlyMap<OmemoVersion, ReadonlySet<number>>): string {
  return JSON.stringify({ v: 1, preKeys: Object.fromEntries(VERSIONS.map((v) => [v, [...(deferred.get(v) ?? [])]])) });
}

function parseDeferredPreKeys(text: string): Map<OmemoVersion, Set<number>> {
  const doc = parseJsonDocument(text) as { v?: unknown; preKeys?: Record<string, unknown> } | null;
  if (doc === null || typeof doc !== 'object' || doc.v !== 1 || typeof doc.preKeys !== 'object' || doc.preKeys === null) {
    throw new StorageError('omemo.state.deferred-pre-keys', 'The deferred prekeys have an unknown shape or version');
  }
  const out = new Map<OmemoVersion, Set<number>>();
  for (const v of VERSIONS) {
    const ids = doc.preKeys[v] ?? [];
    if (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id) && id >= 1 && id <= 0xffffffff)) {
      throw new StorageError('omemo.state.deferred-pre-keys', 'The deferred prekeys have an unknown shape or version');
    }
    out.set(v, new Set(ids as number[]));
  }
  return out;
}

/** See the module comment. Create with {@link OmemoSessionManager.open}. */
export class OmemoSessionManager {
  readonly #store: KeyValueStore;
  readonly #prefix: string;
  readonly #random: RandomSource;
  readonly #now: () => number;
  readonly #policy: TrustPolicy;
  readonly #preKeyCount: number;
  readonly #signedPreKeyPeriodMs: number;
  readonly #heartbeatThreshold: number;
  readonly #ownJid: string;
  readonly #deviceId: number;
  readonly #identity: IdentityKeyPair;
  readonly #preKeys = new Map<OmemoVersion, OwnPreKeyState>();
  readonly #republish = new Set<OmemoVersion>();
  readonly #sessions = new Map<string, SessionRecord | null>();
  readonly #devices = new Map<string, DeviceRecord | null>();
  readonly #deviceLists = new Map<string, number[]>();
  readonly #bundles = new Map<string, NormalizedBundle | null>();
  readonly #repaired = new Set<string>();
  readonly #deferredPreKeys = new Map<OmemoVersion, ReadonlySet<number>>();
  #historySync = false;
  #outbox: OutgoingMessage[] = [];
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(options: OmemoSessionManagerOptions, deviceId: number, identity: IdentityKeyPair) {
    this.#store = options.store;
    this.#ownJid = options.ownJid;
    this.#prefix = options.storePrefix ?? `omemo/${encodeURIComponent(options.ownJid)}`;
    this.#random = options.random ?? systemRandom;
    this.#now = options.now ?? Date.now;
    this.#policy = options.trustPolicy ?? 'blind-trust-before-verification';
    this.#preKeyCount = options.preKeyCount ?? DEFAULT_PRE_KEY_COUNT;
    this.#signedPreKeyPeriodMs = options.signedPreKeyPeriodMs ?? DEFAULT_SIGNED_PRE_KEY_PERIOD_MS;
    this.#heartbeatThreshold = options.heartbeatThreshold ?? DEFAULT_HEARTBEAT_THRESHOLD;
    this.#deviceId = deviceId;
    this.#identity = identity;
  }

  /**
   * Loads the device from the store, or creates it (identity, device id, prekeys for both
   * versions) on first use; rotates a due signed prekey. StorageError for corrupted state.
   */
  static async open(options: OmemoSessionManagerOptions): Promise<OmemoSessionManager> {
    checkJid(options.ownJid, 'OmemoSessionManager.open: ownJid');
    const preKeyCount = options.preKeyCount ?? DEFAULT_PRE_KEY_COUNT;
    if (!Number.isInteger(preKeyCount) || preKeyCount < 1 || preKeyCount > 1000) throw new RangeError('preKeyCount must be 1..1000');
    const random = options.random ?? systemRandom;
    const now = (options.now ?? Date.now)();
    const prefix = options.storePrefix ?? `omemo/${encodeURIComponent(options.ownJid)}`;
    const ownText = await options.store.get(`${prefix}/own`);
    let manager: OmemoSessionManager;
    if (ownText === undefined) {
      const identity = IdentityKeyPair.generate(random);
      manager = new OmemoSessionManager(options, randomDeviceId(random), identity);
      for (const version of VERSIONS) {
        const state = createOwnPreKeyState(version, identity, random, now, preKeyCount);
        await options.store.set(`${prefix}/prekeys/${version}`, JSON.stringify(serializeOwnPreKeys(state)));
        manager.#preKeys.set(version, state);
        manager.#republish.add(version);
      }
      await manager.#saveRepublish();
      await options.store.set(`${prefix}/own`, JSON.stringify(serializeOwnDevice({ deviceId: manager.#deviceId, identity })));
    } else {
      const own = parseOwnDevice(parseJsonDocument(ownText));
      manager = new OmemoSessionManager(options, own.deviceId, own.identity);
      for (const version of VERSIONS) {
        const text = await options.store.get(`${prefix}/prekeys/${version}`);
        let state: OwnPreKeyState;
        if (text === undefined) {
          state = createOwnPreKeyState(version, own.identity, random, now, preKeyCount);
          await options.store.set(`${prefix}/prekeys/${version}`, JSON.stringify(serializeOwnPreKeys(state)));
          manager.#republish.add(version);
        } else {
          state = parseOwnPreKeys(parseJsonDocument(text));
        }
        manager.#preKeys.set(version, state);
      }
      const republish = await options.store.get(`${prefix}/republish`);
      if (republish !== undefined) for (const v of parseRepublish(parseJsonDocument(republish))) manager.#republish.add(v);
      const deferred = await options.store.get(`${prefix}/deferred-pre-keys`);
      if (deferred !== undefined) for (const [v, ids] of parseDeferredPreKeys(deferred)) manager.#deferredPreKeys.set(v, ids);
    }
    await manager.maintain();
    return manager;
  }

  // ------------------------------------------------------------------ own device

  /** Our bare JID. */
  get ownJid(): string {
    return this.#ownJid;
  }

  /** Our device id (1..2^31-1). */
  get deviceId(): number {
    return this.#deviceId;
  }

  /** Our identity key in `version`'s wire form (0.3 Curve25519, omemo:2 Ed25519). */
  identityKey(version: OmemoVersion): Uint8Array {
    checkVersion(version);
    return Uint8Array.from(versionBackend(version).ownIdentityKey(this.#identity));
  }

  /** Our 32-byte fingerprint (the same under both versions). */
  get ownFingerprint(): Uint8Array {
    return Uint8Array.from(this.#identity.montgomeryPublicKey);
  }

  /** Our fingerprint rendered for display. */
  formatOwnFingerprint(style: FingerprintStyle = 'conversations'): string {
    return formatFingerprint(this.#identity.montgomeryPublicKey, style);
  }

  /** `xmpp:<own jid>?omemo-sid-<id>=<hex>` for a QR code of this device (Conversations / Gajim / Dino form). */
  ownFingerprintUri(): string {
    return fingerprintUri(this.#ownJid, [{ deviceId: this.#deviceId, fingerprint: this.#identity.montgomeryPublicKey }]);
  }

  /** The bundle to publish for `version` (the existing codecs' data type). */
  bundle(version: OmemoVersion): AnyBundle {
    checkVersion(version);
    const state = this.#ownPreKeys(version);
    const deferred = this.#deferredPreKeys.get(version);
    const published = deferred === undefined || deferred.size === 0 ? state : { ...state, preKeys: state.preKeys.filter((k) => !deferred.has(k.id)) };
    return versionBackend(version).bundle(this.#identity, published);
  }

  /**
   * Starts a history sync (MAM catch-up, XEP-0313): until {@link endHistorySync}, a one-time
   * prekey a key exchange uses is withdrawn from the bundle (republish) but kept, because
   * archived key exchanges of other senders may name the same prekey (every contact picks
   * from the same published bundle while we are offline).
   */
  beginHistorySync(): Promise<void> {
    return this.#exclusive(async () => {
      this.#historySync = true;
    });
  }

  /** Ends a history sync: deletes the one-time prekeys used since it began and refills; returns the versions to republish. */
  endHistorySync(): Promise<readonly OmemoVersion[]> {
    return this.#exclusive(async () => {
      this.#historySync = false;
      const changed: OmemoVersion[] = [];
      const wipe: Uint8Array[] = [];
      for (const version of VERSIONS) {
        const ids = this.#deferredPreKeys.get(version);
        if (ids === undefined || ids.size === 0) continue;
        const state = this.#ownPreKeys(version);
        for (const k of state.preKeys) if (ids.has(k.id)) wipe.push(k.privateKey);
        const next = refillPreKeys({ ...state, preKeys: state.preKeys.filter((k) => !ids.has(k.id)) }, this.#random, this.#preKeyCount);
        await this.#store.set(`${this.#prefix}/prekeys/${version}`, JSON.stringify(serializeOwnPreKeys(next)));
        this.#preKeys.set(version, next);
        this.#republish.add(version);
        changed.push(version);
      }
      this.#deferredPreKeys.clear();
      await this.#store.delete(`${this.#prefix}/deferred-pre-keys`);
      await this.#saveRepublish();
      for (const secret of wipe) secret.fill(0);
      return changed;
    });
  }

  /** Whether a history sync is running ({@link beginHistorySync}). */
  get historySync(): boolean {
    return this.#historySync;
  }

  /** One-time prekey ids used during history syncs and not deleted yet (withdrawn from the bundle). */
  deferredPreKeyIds(version: OmemoVersion): readonly number[] {
    checkVersion(version);
    return [...(this.#deferredPreKeys.get(version) ?? [])];
  }

  /** The bundle as an XML element (`<bundle xmlns=...>`). */
  bundleElement(version: OmemoVersion): XmlElement {
    const backend = versionBackend(version);
    return backend.encodeBundle(this.bundle(version));
  }

  /** Versions whose bundle changed since {@link markPublished} (first run, prekey used, rotation). */
  republishNeeded(): readonly OmemoVersion[] {
    return VERSIONS.filter((v) => this.#republish.has(v));
  }

  /** The application published `version`'s current bundle. */
  markPublished(version: OmemoVersion): Promise<void> {
    checkVersion(version);
    return this.#exclusive(async () => {
      this.#republish.delete(version);
      await this.#saveRepublish();
    });
  }

  /** Rotates due signed prekeys and refills prekeys; returns the versions to republish. */
  maintain(): Promise<readonly OmemoVersion[]> {
    return this.#exclusive(async () => {
      const now = this.#now();
      for (const version of VERSIONS) {
        let state = this.#ownPreKeys(version);
        const before = state;
        if (isSignedPreKeyRotationDue(state, now, this.#signedPreKeyPeriodMs)) state = rotateSignedPreKey(version, state, this.#identity, this.#random, now);
        state = refillPreKeys(state, this.#random, this.#preKeyCount);
        if (state !== before) {
          await this.#store.set(`${this.#prefix}/prekeys/${version}`, JSON.stringify(serializeOwnPreKeys(state)));
          this.#preKeys.set(version, state);
          this.#republish.add(version);
        }
      }
      await this.#saveRepublish();
      return this.republishNeeded();
    });
  }

  /** Number of one-time prekeys currently held for `version`. */
  preKeyCount(version: OmemoVersion): number {
    return this.#ownPreKeys(version).preKeys.length;
  }

  // ------------------------------------------------------------------ peers: device lists, bundles, trust

  /** Stores a device list as published by `jid` (PEP). Returns whether our own device is missing from our own list. */
  updateDeviceList(version: OmemoVersion, jid: string, deviceIds: readonly number[]): Promise<{ readonly ownDeviceMissing: boolean }> {
    checkVersion(version);
    checkJid(jid, 'updateDeviceList');
    const ids = [...new Set(deviceIds)];
    for (const id of ids) checkDeviceId(id, 'updateDeviceList');
    return this.#exclusive(async () => {
      await this.#store.set(this.#key('devicelist', version, jid), JSON.stringify(serializeDeviceList(ids)));
      this.#deviceLists.set(`${version}|${jid}`, ids);
      return { ownDeviceMissing: jid === this.#ownJid && !ids.includes(this.#deviceId) };
    });
  }

  /** The stored device list of `jid` (empty when none). */
  deviceList(version: OmemoVersion, jid: string): Promise<readonly number[]> {
    return this.#exclusive(() => this.#loadDeviceList(version, jid));
  }

  /**
   * Records `jid`'s bundle for `deviceId` (from PEP; element or decoded data). Verifies the
   * signed-prekey signature (VerificationError `omemo.bundle-bad-signature`), records the
   * device's fingerprint and trust (a changed identity drops its sessions), and keeps the bundle
   * for building sessions.
   */
  processBundle(version: OmemoVersion, jid: string, deviceId: number, bundle: AnyBundle | XmlElement): Promise<{ readonly events: readonly OmemoEvent[] }> {
    checkVersion(version);
    checkJid(jid, 'processBundle');
    checkDeviceId(deviceId, 'processBundle');
    return this.#exclusive(async () => {
      const backend = versionBackend(version);
      const decoded = 'name' in bundle ? this.#typed(() => backend.decodeBundle(bundle as XmlElement)) : bundle;
      const normalized = this.#typed(() => backend.normalizeBundle(decoded));
      const valid = this.#typed(() => backend.x3dh.verifySignedPreKey(normalized.identityKey, X25519PublicKey.fromBytes(normalized.signedPreKey), normalized.signedPreKeySignature));
      if (!valid) throw new VerificationError('omemo.bundle-bad-signature', 'The bundle signed prekey signature does not verify');
      const pending = this.#pending();
      await this.#recordIdentity(pending, version, jid, deviceId, normalized.identityKey, false);
      await this.#commit(pending);
      await this.#store.set(this.#key('bundle', version, jid, deviceId), JSON.stringify(serializeBundle(normalized)));
      this.#bundles.set(sessionKey(version, jid, deviceId), normalized);
      return { events: pending.events };
    });
  }

  /** The devices recorded for `jid`, with fingerprints and trust. */
  devices(jid: string): Promise<readonly DeviceInfo[]> {
    checkJid(jid, 'devices');
    return this.#exclusive(async () => {
      const records = await this.#devicesOf(jid);
      const verified = records.some((r) => r.trust.state === 'verified');
      const out: DeviceInfo[] = [];
      for (const r of records) {
        const sessions: OmemoVersion[] = [];
        for (const v of VERSIONS) if ((await this.#loadSession(v, jid, r.deviceId)) !== undefined) sessions.push(v);
        out.push({
          jid, deviceId: r.deviceId, fingerprint: Uint8Array.from(r.fingerprint), trust: effectiveTrust(this.#policy, r.trust, verified),
          storedTrust: r.trust, sessions,
        });
      }
      return out;
    });
  }

  /** Sets a device's trust (UnknownDeviceError if never seen). `verified` also means trusted. */
  setTrust(jid: string, deviceId: number, state: TrustState): Promise<void> {
    checkJid(jid, 'setTrust');
    checkDeviceId(deviceId, 'setTrust');
    if (!['undecided', 'trusted', 'distrusted', 'verified'].includes(state)) throw new TypeError('setTrust: unknown state');
    return this.#exclusive(async () => {
      const record = await this.#loadDevice(jid, deviceId);
      if (record === undefined) throw new UnknownDeviceError();
      const updated: DeviceRecord = { ...record, trust: { state, blind: false } };
      await this.#store.set(this.#key('device', jid, deviceId), JSON.stringify(serializeDeviceRecord(updated)));
      this.#devices.set(`${jid}|${deviceId}`, updated);
    });
  }

  /**
   * Marks the devices whose fingerprints a scanned URI lists (parseFingerprintUri) as verified.
   * Returns the device ids verified; fingerprints that do not match a recorded device are ignored.
   */
  verifyFromUri(jid: string, devices: readonly { readonly deviceId: number; readonly fingerprint: Uint8Array }[]): Promise<readonly number[]> {
    checkJid(jid, 'verifyFromUri');
    return this.#exclusive(async () => {
      const verified: number[] = [];
      for (const d of devices) {
        const record = await this.#loadDevice(jid, d.deviceId);
        if (record === undefined || !constantTimeEqual(record.fingerprint, d.fingerprint)) continue;
        const updated: DeviceRecord = { ...record, trust: { state: 'verified', blind: false } };
        await this.#store.set(this.#key('device', jid, d.deviceId), JSON.stringify(serializeDeviceRecord(updated)));
        this.#devices.set(`${jid}|${d.deviceId}`, updated);
        verified.push(d.deviceId);
      }
      return verified;
    });
  }

  // ------------------------------------------------------------------ encryption

  /**
   * Encrypts `plaintext` (0.3: the body text bytes; omemo:2: the serialized SCE envelope) for
   * every device in the stored device lists of `jids` and our own other devices, as trust allows.
   * Builds sessions from stored bundles where needed; devices that cannot be used are listed in
   * `skipped`. {@link NoRecipientsError} (`omemo.no-recipients`, with `skipped`) when no device at
   * all could be encrypted to.
   */
  encrypt(version: OmemoVersion, jids: readonly string[], plaintext: Uint8Array): Promise<EncryptResult> {
    checkVersion(version);
    for (const jid of jids) checkJid(jid, 'encrypt');
    if (!(plaintext instanceof Uint8Array) || plaintext.length === 0) throw new TypeError('encrypt: plaintext must be non-empty bytes');
    return this.#exclusive(async () => {
      const targets: { jid: string; deviceId: number }[] = [];
      const seen = new Set<string>();
      for (const jid of [...jids, this.#ownJid]) {
        for (const deviceId of await this.#loadDeviceList(version, jid)) {
          if (jid === this.#ownJid && deviceId === this.#deviceId) continue;
          const k = `${jid}|${deviceId}`;
          if (!seen.has(k)) targets.push({ jid, deviceId });
          seen.add(k);
        }
      }
      const backend = versionBackend(version);
      const payload = backend.encryptPayload(plaintext, this.#random);
      const pending = this.#pending();
      const built = await this.#encryptKeys(pending, backend, targets, payload.keyMaterial, true);
      payload.keyMaterial.fill(0);
      if (built.keys.length === 0) {
        throw new NoRecipientsError(built.skipped);
      }
      const { data, element } = backend.encodeEncrypted(this.#deviceId, built.keys, payload);
      await this.#commit(pending);
      return { version, element, encrypted: data, recipients: built.recipients, skipped: built.skipped, events: pending.events };
    });
  }

  /**
   * omemo:2's manual repair ("replace sessions", XEP-0384 section 4.5 forbids automatic rebuilds)
   * and a manual rebuild for 0.3: drops the sessions to `jid`'s devices (all, or `deviceIds`),
   * builds fresh ones from the stored bundles and returns empty key-exchange messages to send.
   */
  replaceSessions(version: OmemoVersion, jid: string, deviceIds?: readonly number[]): Promise<{ readonly toSend: readonly OutgoingMessage[]; readonly skipped: readonly SkippedDevice[] }> {
    checkVersion(version);
    checkJid(jid, 'replaceSessions');
    return this.#exclusive(async () => {
      const ids = deviceIds ?? await this.#loadDeviceList(version, jid);
      const pending = this.#pending();
      const toSend: OutgoingMessage[] = [];
      const skipped: SkippedDevice[] = [];
      for (const deviceId of ids) {
        checkDeviceId(deviceId, 'replaceSessions');
        pending.sessions.set(sessionKey(version, jid, deviceId), null);
        const message = await this.#emptyMessage(pending, version, jid, deviceId, 'session-replace', true);
        if (message === undefined) skipped.push({ jid, deviceId, reason: 'no-bundle' });
        else toSend.push(message);
      }
      await this.#commit(pending);
      return { toSend, skipped };
    });
  }

  /** Messages the manager produced on its own and not yet handed out (also returned by decrypt). */
  drainOutgoing(): OutgoingMessage[] {
    const out = this.#outbox;
    this.#outbox = [];
    return out;
  }

  // ------------------------------------------------------------------ decryption

  /**
   * Decrypts an `<encrypted>` element (either version, by namespace) from `senderJid` (the
   * stanza's bare from). Typed errors only: MalformedMessageError (XML, protobuf, base64),
   * VerificationError (MAC, signature, payload tag), NoSessionError, UnknownPreKeyError,
   * UntrustedDeviceError, NotForThisDeviceError, StateError `omemo.ratchet-duplicate` /
   * `omemo.ratchet-too-far-ahead`. Nothing is stored unless the message decrypts completely.
   * For 0.3, a message from a device we have no session with (NoSessionError, or a key exchange
   * naming a prekey we no longer hold) triggers one automatic repair per device and run: a fresh
   * session from the stored bundle and an empty key-exchange message left in {@link drainOutgoing}.
   * A device with a working session is never repaired automatically (a forged message must not
   * replace it).
   */
  decrypt(senderJid: string, encrypted: XmlElement | string): Promise<DecryptResult> {
    checkJid(senderJid, 'decrypt');
    return this.#exclusive(async () => {
      const pending = this.#pending();
      let version: OmemoVersion | undefined;
      let sid: number | undefined;
      try {
        const element = typeof encrypted === 'string' ? this.#typed(() => parseXml(encrypted)) : encrypted;
        version = versionOfElement(element);
        if (version === undefined) throw new MalformedMessageError('omemo.xml.unexpected-element', 'Not an OMEMO <encrypted> element');
        const backend = versionBackend(version);
        const e = this.#typed(() => backend.decodeEncrypted(element));
        sid = e.sid;
        const result = await this.#decrypt(pending, backend, senderJid, e);
        await this.#commit(pending);
        const toSend = [...this.drainOutgoing(), ...result.toSend];
        return { ...result, toSend, events: pending.events };
      } catch (error) {
        if (version === '0.3' && sid !== undefined && (error instanceof NoSessionError || error instanceof UnknownPreKeyError)) {
          await this.#repair(senderJid, sid);
        }
        throw error;
      }
    });
  }

  // ------------------------------------------------------------------ internals: decrypt

  async #decrypt(
    pending: Pending, backend: VersionBackend, senderJid: string, e: { sid: number; keys: readonly NormalizedKey[]; iv?: Uint8Array | undefined; payload?: Uint8Array | undefined },
  ): Promise<Omit<DecryptResult, 'events'>> {
    const version = backend.version;
    if (e.sid === this.#deviceId && senderJid === this.#ownJid) throw new OwnDeviceMessageError();
    const key = e.keys.find((k) => k.rid === this.#deviceId && (k.jid === undefined || k.jid === this.#ownJid));
    if (key === undefined) throw new NotForThisDeviceError();
    const incoming = this.#typed(() => backend.decodeKey(key.data, key.kex));
    const device = await this.#loadDevice(senderJid, e.sid);
    if (device !== undefined && !mayDecryptFrom(device.trust)) throw new UntrustedDeviceError();
    const existing = await this.#loadSession(version, senderJid, e.sid);
    const digest = bytesToHex(sha256(key.data));
    let session: SessionRecord;
    let keyMaterial: Uint8Array;
    let duplicate = false;
    const kex = incoming.keyExchange;
    if (kex !== undefined && existing?.initiation === 'passive' && sameKeyExchange(existing.keyExchange, kex)) {
      // The key exchange that built this session again: a later message before our answer, or a duplicate.
      try {
        const out = this.#typed(() => decryptMessage(backend.ratchet, existing.ratchet, incoming.message, this.#random));
        keyMaterial = out.plaintext;
        session = { ...existing, ratchet: out.state, replay: [...existing.replay, { digest, keyMaterial }].slice(-MAX_REPLAY_ENTRIES) };
      } catch (error) {
        const replayed = existing.replay.find((r) => r.digest === digest);
        if (replayed === undefined) throw error;
        keyMaterial = Uint8Array.from(replayed.keyMaterial);
        session = existing;
        duplicate = true;
      }
    } else if (kex !== undefined) {
      if (device !== undefined) {
        const known = device.identityKeys[version];
        const fingerprint = this.#typed(() => fingerprintOf(version, kex.identityKey));
        if ((known !== undefined && !constantTimeEqual(known, kex.identityKey)) || !constantTimeEqual(device.fingerprint, fingerprint)) {
          throw new IdentityMismatchError();
        }
      }
      const preKeys = pending.preKeys.get(version) ?? this.#ownPreKeys(version);
      const spk = findSignedPreKey(preKeys, kex.signedPreKeyId);
      if (spk === undefined) throw new UnknownPreKeyError('signed-pre-key');
      const pk = findPreKey(preKeys, kex.preKeyId);
      if (pk === undefined) throw new UnknownPreKeyError('pre-key');
      const out = this.#typed(() => {
        const signedPreKey = X25519PrivateKey.fromBytes(spk.privateKey);
        const preKey = X25519PrivateKey.fromBytes(pk.privateKey);
        try {
          const x3dh = x3dhPassive(backend.x3dh, this.#identity, { identityKey: kex.identityKey, ephemeralKey: X25519PublicKey.fromBytes(kex.ephemeralKey) }, signedPreKey, preKey);
          const opened = decryptInitialMessage(
            backend.ratchet, { sharedSecret: x3dh.sharedSecret, ownSignedPreKey: signedPreKey, associatedData: x3dh.sessionAssociatedData },
            incoming.message, this.#random,
          );
          x3dh.sharedSecret.fill(0);
          return opened;
        } finally {
          preKey.wipe();
        }
      });
      keyMaterial = out.plaintext;
      session = {
        version, jid: senderJid, deviceId: e.sid, peerIdentityKey: Uint8Array.from(kex.identityKey), initiation: 'passive', confirmed: true,
        keyExchange: kex, ratchet: out.state, replay: [{ digest, keyMaterial }],
        // the session this key exchange replaces stays usable: if both devices started at once,
        // the peer may go on with the pairing we are replacing (libsignal keeps it the same way)
        previous: existing === undefined ? [] : [toPreviousSession(existing), ...existing.previous].slice(0, MAX_PREVIOUS_SESSIONS),
      };
      const alreadyDeferred = pending.deferredPreKeys.get(version) ?? this.#deferredPreKeys.get(version);
      if (this.#historySync && (alreadyDeferred?.size ?? 0) < MAX_DEFERRED_PRE_KEYS) {
        // Kept for other archived key exchanges naming it; withdrawn from the bundle (see beginHistorySync).
        const deferred = new Set(alreadyDeferred ?? []);
        deferred.add(pk.id);
        pending.deferredPreKeys.set(version, deferred);
        pending.preKeys.set(version, refillPreKeys(preKeys, this.#random, this.#preKeyCount + deferred.size));
      } else {
        pending.preKeys.set(version, refillPreKeys(removePreKey(preKeys, pk.id), this.#random, this.#preKeyCount));
        pending.wipeAfterCommit.push(pk.privateKey);
      }
      pending.republish.add(version);
      pending.events.push({ kind: 'pre-key-used', version, preKeyId: pk.id });
      pending.events.push({ kind: 'session-built', version, jid: senderJid, deviceId: e.sid, initiation: 'passive' });
    } else {
      if (existing === undefined) throw new NoSessionError();
      const opened = this.#decryptWithCurrentOrPrevious(backend, existing, incoming.message);
      keyMaterial = opened.keyMaterial;
      session = opened.session;
    }
    const plaintext = e.payload === undefined ? undefined : this.#typed(() => backend.decryptPayload(keyMaterial, e));
    // Everything authenticated: record the device (first key exchange from it) and the session.
    if (device === undefined) await this.#recordIdentity(pending, version, senderJid, e.sid, session.peerIdentityKey, true);
    pending.sessions.set(sessionKey(version, senderJid, e.sid), session);
    const record = pending.devices.get(`${senderJid}|${e.sid}`) ?? device ?? await this.#loadDevice(senderJid, e.sid);
    const verified = (await this.#devicesOf(senderJid)).some((r) => r.trust.state === 'verified');
    const trust = record === undefined ? 'undecided' : effectiveTrust(this.#policy, record.trust, verified);
    const toSend: OutgoingMessage[] = [];
    if (!duplicate && sendingChainLength(session.ratchet) === 0) {
      const reason: OutgoingReason | undefined = kex !== undefined && session.initiation === 'passive'
        ? 'key-exchange-completion'
        : receivingChainLength(session.ratchet) > this.#heartbeatThreshold ? 'heartbeat' : undefined;
      if (reason !== undefined) {
        const message = await this.#emptyMessage(pending, version, senderJid, e.sid, reason, false);
        if (message !== undefined) toSend.push(message);
      }
    }
    return { version, senderJid, senderDeviceId: e.sid, plaintext, trust, keyExchange: kex !== undefined, duplicate, toSend };
  }

  /**
   * Decrypts a message without key exchange with the current session, else with a session a
   * newer key exchange replaced (newest first); the one that decrypts becomes current, the
   * current one joins the previous ones. When none decrypts, the current session's error is
   * thrown and nothing changes.
   */
  #decryptWithCurrentOrPrevious(backend: VersionBackend, existing: SessionRecord, message: RatchetMessage): { keyMaterial: Uint8Array; session: SessionRecord } {
    try {
      const out = this.#typed(() => decryptMessage(backend.ratchet, existing.ratchet, message, this.#random));
      return { keyMaterial: out.plaintext, session: { ...existing, ratchet: out.state, confirmed: true } };
    } catch (error) {
      for (const [index, previous] of existing.previous.entries()) {
        let out: ReturnType<typeof decryptMessage>;
        try {
          out = this.#typed(() => decryptMessage(backend.ratchet, previous.ratchet, message, this.#random));
        } catch {
          continue;
        }
        const others = existing.previous.filter((_, i) => i !== index);
        const session: SessionRecord = {
          ...existing, ...previous, ratchet: out.state, confirmed: true, replay: [],
          previous: [toPreviousSession(existing), ...others].slice(0, MAX_PREVIOUS_SESSIONS),
        };
        return { keyMaterial: out.plaintext, session };
      }
      throw error;
    }
  }

  /** 0.3 automatic repair: a fresh session from the stored bundle and an empty key-exchange message, once per device and run. */
  async #repair(jid: string, deviceId: number): Promise<void> {
    const id = sessionKey('0.3', jid, deviceId);
    // Only when no session exists at all: a forged message must not be able to replace a working session.
    if (this.#repaired.has(id) || (await this.#loadSession('0.3', jid, deviceId)) !== undefined) return;
    if ((await this.#loadBundle('0.3', jid, deviceId)) === undefined) return;
    if (this.#repaired.size >= MAX_REPAIRS_PER_RUN) return;
    this.#repaired.add(id);
    const device = await this.#loadDevice(jid, deviceId);
    if (device !== undefined && device.trust.state === 'distrusted') return;
    const pending = this.#pending();
    pending.sessions.set(id, null);
    try {
      const message = await this.#emptyMessage(pending, '0.3', jid, deviceId, 'session-repair', true);
      if (message === undefined) return;
      await this.#commit(pending);
      this.#outbox.push(message);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
  }

  // ------------------------------------------------------------------ internals: sessions and keys

  async #encryptKeys(
    pending: Pending, backend: VersionBackend, targets: readonly { jid: string; deviceId: number }[], keyMaterial: Uint8Array, checkTrust: boolean,
  ): Promise<{ keys: NormalizedKey[]; recipients: { jid: string; deviceId: number; keyExchange: boolean }[]; skipped: SkippedDevice[] }> {
    const version = backend.version;
    const keys: NormalizedKey[] = [];
    const recipients: { jid: string; deviceId: number; keyExchange: boolean }[] = [];
    const skipped: SkippedDevice[] = [];
    const verifiedByJid = new Map<string, boolean>();
    for (const { jid, deviceId } of targets) {
      const device = pending.devices.get(`${jid}|${deviceId}`) ?? await this.#loadDevice(jid, deviceId);
      if (checkTrust) {
        if (device === undefined) {
          skipped.push({ jid, deviceId, reason: 'no-bundle' });
          continue;
        }
        let verified = verifiedByJid.get(jid);
        if (verified === undefined) {
          verified = (await this.#devicesOf(jid)).some((r) => r.trust.state === 'verified');
          verifiedByJid.set(jid, verified);
        }
        if (!mayEncryptTo(this.#policy, device.trust, verified)) {
          skipped.push({ jid, deviceId, reason: 'untrusted' });
          continue;
        }
      }
      const k = sessionKey(version, jid, deviceId);
      let session = pending.sessions.has(k) ? pending.sessions.get(k) ?? undefined : await this.#loadSession(version, jid, deviceId);
      if (session === undefined) {
        const bundle = await this.#loadBundle(version, jid, deviceId);
        if (bundle === undefined) {
          skipped.push({ jid, deviceId, reason: 'no-bundle' });
          continue;
        }
        try {
          session = this.#buildActive(backend, jid, deviceId, bundle);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          skipped.push({ jid, deviceId, reason: 'bad-bundle' });
          continue;
        }
        pending.events.push({ kind: 'session-built', version, jid, deviceId, initiation: 'active' });
      }
      const out = encryptMessage(backend.ratchet, session.ratchet, keyMaterial);
      const withKex = session.initiation === 'active' && !session.confirmed;
      const data = withKex ? backend.wrapKeyExchange(session.keyExchange, out.message.ciphertext) : out.message.ciphertext;
      pending.sessions.set(k, { ...session, ratchet: out.state });
      keys.push({ jid, rid: deviceId, kex: withKex, data });
      recipients.push({ jid, deviceId, keyExchange: withKex });
    }
    return { keys, recipients, skipped };
  }

  #buildActive(backend: VersionBackend, jid: string, deviceId: number, bundle: NormalizedBundle): SessionRecord {
    if (bundle.preKeys.length === 0) throw new StateError('omemo.x3dh-no-pre-key', 'The bundle offers no prekey');
    const r = this.#random(4);
    const index = ((((r[0] as number) << 24) | ((r[1] as number) << 16) | ((r[2] as number) << 8) | (r[3] as number)) >>> 0) % bundle.preKeys.length;
    const preKey = bundle.preKeys[index] as { id: number; key: Uint8Array };
    const signedPreKey = this.#typed(() => X25519PublicKey.fromBytes(bundle.signedPreKey));
    const x3dh = this.#typed(() => x3dhActive(backend.x3dh, this.#identity, {
      identityKey: bundle.identityKey, signedPreKey, signedPreKeySignature: bundle.signedPreKeySignature, preKey: X25519PublicKey.fromBytes(preKey.key),
    }, this.#random));
    const ratchet = this.#typed(() => initializeActiveSession(backend.ratchet, { sharedSecret: x3dh.sharedSecret, peerSignedPreKey: signedPreKey, associatedData: x3dh.sessionAssociatedData }, this.#random));
    x3dh.sharedSecret.fill(0);
    return {
      version: backend.version, jid, deviceId, peerIdentityKey: Uint8Array.from(bundle.identityKey), initiation: 'active', confirmed: false,
      keyExchange: { identityKey: x3dh.header.identityKey, ephemeralKey: x3dh.header.ephemeralKey.bytes, signedPreKeyId: bundle.signedPreKeyId, preKeyId: preKey.id },
      ratchet, replay: [], previous: [],
    };
  }

  /** An empty message to one device (building a session from the bundle if needed). */
  async #emptyMessage(pending: Pending, version: OmemoVersion, jid: string, deviceId: number, reason: OutgoingReason, build: boolean): Promise<OutgoingMessage | undefined> {
    const backend = versionBackend(version);
    const k = sessionKey(version, jid, deviceId);
    if (!build && !pending.sessions.has(k)) return undefined;
    const payload = backend.emptyPayload(this.#random);
    const built = await this.#encryptKeys(pending, backend, [{ jid, deviceId }], payload.keyMaterial, false);
    if (built.keys.length === 0) return undefined;
    const { data, element } = backend.encodeEncrypted(this.#deviceId, built.keys, { ...payload, payload: undefined });
    return { version, to: jid, deviceId, reason, element, encrypted: data };
  }

  // ------------------------------------------------------------------ internals: trust records

  async #recordIdentity(pending: Pending, version: OmemoVersion, jid: string, deviceId: number, identityKey: Uint8Array, fromKeyExchange: boolean): Promise<void> {
    const fingerprint = this.#typed(() => fingerprintOf(version, identityKey));
    const existing = pending.devices.get(`${jid}|${deviceId}`) ?? await this.#loadDevice(jid, deviceId);
    // A verified device that now shows another identity counts too: the new key is not blindly trusted.
    const verified = (await this.#devicesOf(jid)).some((r) => r.trust.state === 'verified');
    if (existing !== undefined && constantTimeEqual(existing.fingerprint, fingerprint)) {
      if (existing.identityKeys[version] === undefined) {
        pending.devices.set(`${jid}|${deviceId}`, { ...existing, identityKeys: { ...existing.identityKeys, [version]: Uint8Array.from(identityKey) } });
      }
      return;
    }
    if (existing !== undefined && fromKeyExchange) throw new IdentityMismatchError();
    const trust = initialTrust(this.#policy, verified);
    pending.devices.set(`${jid}|${deviceId}`, { jid, deviceId, fingerprint, identityKeys: { [version]: Uint8Array.from(identityKey) }, trust });
    if (existing === undefined) {
      pending.events.push({ kind: 'device-added', jid, deviceId, trust: effectiveTrust(this.#policy, trust, verified) });
    } else {
      for (const v of VERSIONS) pending.sessions.set(sessionKey(v, jid, deviceId), null);
      pending.events.push({ kind: 'identity-changed', jid, deviceId, trust: effectiveTrust(this.#policy, trust, verified) });
    }
  }

  // ------------------------------------------------------------------ internals: storage

  #pending(): Pending {
    return { sessions: new Map(), devices: new Map(), preKeys: new Map(), republish: new Set(), events: [], wipeAfterCommit: [], deferredPreKeys: new Map() };
  }

  /** Writes a finished operation's changes, then updates the caches. */
  async #commit(pending: Pending): Promise<void> {
    if (pending.deferredPreKeys.size > 0) {
      // Before the prekeys: a crash in between leaves a withdrawn prekey that is still held (harmless), never a used one in the bundle.
      const merged = new Map(this.#deferredPreKeys);
      for (const [v, ids] of pending.deferredPreKeys) merged.set(v, ids);
      await this.#store.set(`${this.#prefix}/deferred-pre-keys`, serializeDeferredPreKeys(merged));
      for (const [v, ids] of pending.deferredPreKeys) this.#deferredPreKeys.set(v, ids);
    }
    for (const [k, session] of pending.sessions) {
      const [version, jid, deviceId] = k.split('|') as [OmemoVersion, string, string];
      const storeKey = this.#key('session', version, jid, Number(deviceId));
      if (session === null) await this.#store.delete(storeKey);
      else await this.#store.set(storeKey, JSON.stringify(serializeSessionRecord(session)));
      this.#sessions.set(k, session);
    }
    for (const [k, device] of pending.devices) {
      await this.#store.set(this.#key('device', device.jid, device.deviceId), JSON.stringify(serializeDeviceRecord(device)));
      this.#devices.set(k, device);
    }
    for (const [version, state] of pending.preKeys) {
      await this.#store.set(`${this.#prefix}/prekeys/${version}`, JSON.stringify(serializeOwnPreKeys(state)));
      this.#preKeys.set(version, state);
    }
    if (pending.republish.size > 0) {
      for (const v of pending.republish) this.#republish.add(v);
      await this.#saveRepublish();
    }
    for (const secret of pending.wipeAfterCommit) secret.fill(0);
  }

  async #saveRepublish(): Promise<void> {
    await this.#store.set(`${this.#prefix}/republish`, JSON.stringify(serializeRepublish(this.republishNeeded())));
  }

  #key(kind: string, ...parts: (string | number)[]): string {
    return [this.#prefix, kind, ...parts.map((p) => encodeURIComponent(String(p)))].join('/');
  }

  #ownPreKeys(version: OmemoVersion): OwnPreKeyState {
    const state = this.#preKeys.get(version);
    if (state === undefined) throw new Error('OmemoSessionManager: prekeys not loaded');
    return state;
  }

  async #loadSession(version: OmemoVersion, jid: string, deviceId: number): Promise<SessionRecord | undefined> {
    const k = sessionKey(version, jid, deviceId);
    if (this.#sessions.has(k)) return this.#sessions.get(k) ?? undefined;
    const text = await this.#store.get(this.#key('session', version, jid, deviceId));
    if (text === undefined) return undefined; // misses are not cached: hostile ids must not grow memory
    const record = parseSessionRecord(parseJsonDocument(text));
    this.#sessions.set(k, record);
    return record;
  }

  async #loadDevice(jid: string, deviceId: number): Promise<DeviceRecord | undefined> {
    const k = `${jid}|${deviceId}`;
    if (this.#devices.has(k)) return this.#devices.get(k) ?? undefined;
    const text = await this.#store.get(this.#key('device', jid, deviceId));
    if (text === undefined) return undefined;
    const record = parseDeviceRecord(parseJsonDocument(text));
    this.#devices.set(k, record);
    return record;
  }

  async #devicesOf(jid: string): Promise<DeviceRecord[]> {
    const prefix = `${this.#key('device', jid)}/`;
    const out: DeviceRecord[] = [];
    for (const storeKey of await this.#store.keys(prefix)) {
      const deviceId = Number(decodeURIComponent(storeKey.slice(prefix.length)));
      if (!Number.isInteger(deviceId)) continue;
      const record = await this.#loadDevice(jid, deviceId);
      if (record !== undefined) out.push(record);
    }
    return out;
  }

  async #loadDeviceList(version: OmemoVersion, jid: string): Promise<number[]> {
    const k = `${version}|${jid}`;
    const cached = this.#deviceLists.get(k);
    if (cached !== undefined) return cached;
    const text = await this.#store.get(this.#key('devicelist', version, jid));
    const ids = text === undefined ? [] : parseDeviceList(parseJsonDocument(text));
    this.#deviceLists.set(k, ids);
    return ids;
  }

  async #loadBundle(version: OmemoVersion, jid: string, deviceId: number): Promise<NormalizedBundle | undefined> {
    const k = sessionKey(version, jid, deviceId);
    if (this.#bundles.has(k)) return this.#bundles.get(k) ?? undefined;
    const text = await this.#store.get(this.#key('bundle', version, jid, deviceId));
    if (text === undefined) return undefined;
    const bundle = parseBundle(parseJsonDocument(text));
    this.#bundles.set(k, bundle);
    return bundle;
  }

  /** Runs `fn`, reporting anything but a ProtocolError as MalformedMessageError (hostile input never throws untyped). */
  #typed<T>(fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof ProtocolError) throw cause;
      throw new MalformedMessageError('omemo.malformed', 'Malformed OMEMO data', { cause });
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
