/**
 * Versioned JSON of everything the session manager stores (house rule 7), in the style of
 * ratchet/state-json.ts: `serialize*` writes the current version, `parse*` runs the registered
 * migrations (version n -> n + 1) and then validates every field, throwing StorageError
 * `omemo.manager-state-invalid` / `omemo.manager-state-unknown-version`, so a corrupted store
 * never yields a half-valid object.
 *
 * Documents: own device (device id + identity), own prekeys per version, sessions, peer device
 * records (fingerprint + trust), device lists and cached peer bundles.
 */
import { base64ToBytes, bytesToBase64 } from '../lib/core/bytes.js';
import { StorageError } from '../lib/core/errors.js';
import { parseIdentityKeyPair, serializeIdentityKeyPair } from './crypto/identity-key.js';
import type { IdentityKeyPair, IdentityKeyPairJson } from './crypto/identity-key.js';
import type { OmemoVersion } from './fingerprint.js';
import type { OwnPreKeyState, SignedPreKeyRecord, StoredKeyPair } from './prekeys.js';
import { MAX_PRE_KEY_ID } from './prekeys.js';
import { parseDoubleRatchetState, serializeDoubleRatchetState } from './ratchet/state-json.js';
import type { StateMigration } from './ratchet/state-json.js';
import type { DoubleRatchetState } from './ratchet/double-ratchet.js';
import type { KeyExchangeInfo, PreviousSession, SessionRecord } from './session-record.js';
import { MAX_PREVIOUS_SESSIONS, MAX_REPLAY_ENTRIES } from './session-record.js';
import { TRUST_STATES } from './trust.js';
import type { DeviceTrust } from './trust.js';
import type { NormalizedBundle } from './version-backend.js';
import { MAX_DEVICE_ID } from './versions/xml-fields.js';

export type { StateMigration };

/** Version every manager document is written in. */
export const MANAGER_STATE_VERSION = 1;

/** Registered migrations per document kind (none yet: version 1 is the first). */
export const MANAGER_STATE_MIGRATIONS: Readonly<Record<DocumentKind, Readonly<Record<number, StateMigration>>>> = Object.freeze({
  own: {}, preKeys: {}, session: {}, device: {}, deviceList: {}, bundle: {}, republish: {},
});

/** The kinds of stored document. */
export type DocumentKind = 'own' | 'preKeys' | 'session' | 'device' | 'deviceList' | 'bundle' | 'republish';

/** Most prekeys / device ids accepted from storage. */
const MAX_ENTRIES = 10_000;

function fail(what: string): never {
  throw new StorageError('omemo.manager-state-invalid', `Stored OMEMO state: invalid ${what}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a JSON string; StorageError on bad JSON. */
export function parseJsonDocument(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fail('JSON');
  }
}

/** Runs migrations of `kind` until the document is at {@link MANAGER_STATE_VERSION}. */
export function migrateDocument(
  kind: DocumentKind, json: unknown, migrations: Readonly<Record<number, StateMigration>> = MANAGER_STATE_MIGRATIONS[kind],
): Record<string, unknown> {
  if (!isRecord(json)) fail(`${kind} document`);
  let current = json;
  for (let guard = 0; current.version !== MANAGER_STATE_VERSION; guard++) {
    const version = current.version;
    const migrate = typeof version === 'number' && Number.isInteger(version) ? migrations[version] : undefined;
    if (migrate === undefined || guard > 100) throw new StorageError('omemo.manager-state-unknown-version', `Stored ${kind} document has an unknown version`);
    const next = migrate(current);
    if (!isRecord(next) || next.version === version) fail(`${kind} migration result`);
    current = next;
  }
  return current;
}

function int(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(what);
  return value;
}

function bytes(value: unknown, what: string, length?: number): Uint8Array {
  if (typeof value !== 'string' || value.length > 8192) fail(what);
  const decoded = base64ToBytes(value);
  if (decoded === undefined || (length !== undefined && decoded.length !== length)) fail(what);
  return decoded;
}

function str(value: unknown, what: string, max = 3071): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) fail(what);
  return value;
}

function version(value: unknown): OmemoVersion {
  if (value !== '0.3' && value !== '2') fail('version');
  return value;
}

const b64 = bytesToBase64;

// ---------------------------------------------------------------- own device

/** The own device: id, identity and creation time. */
export interface OwnDevice {
  readonly deviceId: number;
  readonly identity: IdentityKeyPair;
}

/** Writes the own device document (contains the identity secret). */
export function serializeOwnDevice(own: OwnDevice): { version: 1; deviceId: number; identity: IdentityKeyPairJson } {
  return { version: 1, deviceId: own.deviceId, identity: serializeIdentityKeyPair(own.identity) };
}

/** Reads {@link serializeOwnDevice} output. */
export function parseOwnDevice(json: unknown): OwnDevice {
  const doc = migrateDocument('own', json);
  const deviceId = int(doc.deviceId, 'deviceId', 1, MAX_DEVICE_ID);
  let identity: IdentityKeyPair;
  try {
    identity = parseIdentityKeyPair(doc.identity);
  } catch {
    return fail('identity');
  }
  return { deviceId, identity };
}

// ---------------------------------------------------------------- own prekeys

function pairToJson(pair: StoredKeyPair): Record<string, unknown> {
  return { id: pair.id, privateKey: b64(pair.privateKey), publicKey: b64(pair.publicKey) };
}

function pairFromJson(value: unknown, what: string): StoredKeyPair {
  if (!isRecord(value)) fail(what);
  return { id: int(value.id, `${what}.id`, 0, MAX_PRE_KEY_ID), privateKey: bytes(value.privateKey, `${what}.privateKey`, 32), publicKey: bytes(value.publicKey, `${what}.publicKey`, 32) };
}

function signedToJson(spk: SignedPreKeyRecord): Record<string, unknown> {
  return { ...pairToJson(spk), signature: b64(spk.signature), createdAt: spk.createdAt };
}

function signedFromJson(value: unknown, what: string): SignedPreKeyRecord {
  const pair = pairFromJson(value, what);
  const v = value as Record<string, unknown>;
  return { ...pair, signature: bytes(v.signature, `${what}.signature`, 64), createdAt: int(v.createdAt, `${what}.createdAt`, 0, Number.MAX_SAFE_INTEGER) };
}

/** Writes own prekeys (private keys included). */
export function serializeOwnPreKeys(state: OwnPreKeyState): Record<string, unknown> {
  return {
    version: 1,
    signedPreKey: signedToJson(state.signedPreKey),
    previousSignedPreKey: state.previousSignedPreKey === undefined ? null : signedToJson(state.previousSignedPreKey),
    preKeys: state.preKeys.map(pairToJson),
    nextPreKeyId: state.nextPreKeyId,
    nextSignedPreKeyId: state.nextSignedPreKeyId,
  };
}

/** Reads {@link serializeOwnPreKeys} output. */
export function parseOwnPreKeys(json: unknown): OwnPreKeyState {
  const doc = migrateDocument('preKeys', json);
  if (!Array.isArray(doc.preKeys) || doc.preKeys.length > MAX_ENTRIES) fail('preKeys');
  const preKeys = (doc.preKeys as unknown[]).map((p, i) => pairFromJson(p, `preKeys[${i}]`));
  if (new Set(preKeys.map((p) => p.id)).size !== preKeys.length) fail('preKeys ids');
  return {
    signedPreKey: signedFromJson(doc.signedPreKey, 'signedPreKey'),
    previousSignedPreKey: doc.previousSignedPreKey === null ? undefined : signedFromJson(doc.previousSignedPreKey, 'previousSignedPreKey'),
    preKeys,
    nextPreKeyId: int(doc.nextPreKeyId, 'nextPreKeyId', 1, MAX_PRE_KEY_ID),
    nextSignedPreKeyId: int(doc.nextSignedPreKeyId, 'nextSignedPreKeyId', 1, MAX_PRE_KEY_ID),
  };
}

// ---------------------------------------------------------------- sessions

/** Writes a session (ratchet secrets included). */
export function serializeSessionRecord(record: SessionRecord): Record<string, unknown> {
  return {
    version: 1,
    omemoVersion: record.version,
    jid: record.jid,
    deviceId: record.deviceId,
    peerIdentityKey: b64(record.peerIdentityKey),
    initiation: record.initiation,
    confirmed: record.confirmed,
    keyExchange: serializeKeyExchange(record.keyExchange),
    ratchet: serializeDoubleRatchetState(record.ratchet),
    replay: record.replay.map((r) => ({ digest: r.digest, keyMaterial: b64(r.keyMaterial) })),
    previous: record.previous.map((p) => ({
      peerIdentityKey: b64(p.peerIdentityKey),
      initiation: p.initiation,
      confirmed: p.confirmed,
      keyExchange: serializeKeyExchange(p.keyExchange),
      ratchet: serializeDoubleRatchetState(p.ratchet),
    })),
  };
}

function serializeKeyExchange(kex: KeyExchangeInfo): Record<string, unknown> {
  return { identityKey: b64(kex.identityKey), ephemeralKey: b64(kex.ephemeralKey), signedPreKeyId: kex.signedPreKeyId, preKeyId: kex.preKeyId };
}

function parseKeyExchange(kex: unknown): KeyExchangeInfo {
  if (!isRecord(kex)) fail('keyExchange');
  return {
    identityKey: bytes(kex.identityKey, 'keyExchange.identityKey', 32),
    ephemeralKey: bytes(kex.ephemeralKey, 'keyExchange.ephemeralKey', 32),
    signedPreKeyId: int(kex.signedPreKeyId, 'keyExchange.signedPreKeyId', 0, MAX_PRE_KEY_ID),
    preKeyId: int(kex.preKeyId, 'keyExchange.preKeyId', 0, MAX_PRE_KEY_ID),
  };
}

function parseRatchet(json: unknown): DoubleRatchetState {
  try {
    return parseDoubleRatchetState(json);
  } catch {
    return fail('ratchet');
  }
}

/** `previous` is absent in documents written before it existed: none. */
function parsePreviousSessions(json: unknown): PreviousSession[] {
  if (json === undefined) return [];
  if (!Array.isArray(json) || json.length > MAX_PREVIOUS_SESSIONS) fail('previous');
  return (json as unknown[]).map((p) => {
    if (!isRecord(p)) fail('previous session');
    if (p.initiation !== 'active' && p.initiation !== 'passive') fail('previous.initiation');
    if (typeof p.confirmed !== 'boolean') fail('previous.confirmed');
    return {
      peerIdentityKey: bytes(p.peerIdentityKey, 'previous.peerIdentityKey', 32),
      initiation: p.initiation,
      confirmed: p.confirmed,
      keyExchange: parseKeyExchange(p.keyExchange),
      ratchet: parseRatchet(p.ratchet),
    };
  });
}

/** Reads {@link serializeSessionRecord} output. */
export function parseSessionRecord(json: unknown): SessionRecord {
  const doc = migrateDocument('session', json);
  if (doc.initiation !== 'active' && doc.initiation !== 'passive') fail('initiation');
  if (typeof doc.confirmed !== 'boolean') fail('confirmed');
  if (!Array.isArray(doc.replay) || doc.replay.length > MAX_REPLAY_ENTRIES) fail('replay');
  const replay = (doc.replay as unknown[]).map((r) => {
    if (!isRecord(r) || typeof r.digest !== 'string' || !/^[0-9a-f]{64}$/.test(r.digest)) fail('replay entry');
    const keyMaterial = bytes(r.keyMaterial, 'replay.keyMaterial');
    if (keyMaterial.length > 64) fail('replay.keyMaterial');
    return { digest: r.digest, keyMaterial };
  });
  const ratchet = parseRatchet(doc.ratchet);
  return {
    version: version(doc.omemoVersion),
    jid: str(doc.jid, 'jid'),
    deviceId: int(doc.deviceId, 'deviceId', 1, MAX_DEVICE_ID),
    peerIdentityKey: bytes(doc.peerIdentityKey, 'peerIdentityKey', 32),
    initiation: doc.initiation,
    confirmed: doc.confirmed,
    keyExchange: parseKeyExchange(doc.keyExchange),
    ratchet,
    replay,
    previous: parsePreviousSessions(doc.previous),
  };
}

// ---------------------------------------------------------------- peer devices

/** What the manager records about a peer device. */
export interface DeviceRecord {
  readonly jid: string;
  readonly deviceId: number;
  /** Curve25519 fingerprint, 32 bytes (see fingerprint.ts). */
  readonly fingerprint: Uint8Array;
  /** The identity key as seen in each version's wire form. */
  readonly identityKeys: Readonly<Partial<Record<OmemoVersion, Uint8Array>>>;
  readonly trust: DeviceTrust;
}

/** Writes a device record. */
export function serializeDeviceRecord(record: DeviceRecord): Record<string, unknown> {
  const identityKeys: Record<string, string> = {};
  for (const [v, key] of Object.entries(record.identityKeys)) if (key !== undefined) identityKeys[v] = b64(key);
  return { version: 1, jid: record.jid, deviceId: record.deviceId, fingerprint: b64(record.fingerprint), identityKeys, trust: record.trust.state, blind: record.trust.blind };
}

/** Reads {@link serializeDeviceRecord} output. */
export function parseDeviceRecord(json: unknown): DeviceRecord {
  const doc = migrateDocument('device', json);
  if (!isRecord(doc.identityKeys)) fail('identityKeys');
  const identityKeys: Partial<Record<OmemoVersion, Uint8Array>> = {};
  for (const [v, key] of Object.entries(doc.identityKeys)) identityKeys[version(v)] = bytes(key, 'identityKeys entry', 32);
  const state = doc.trust;
  if (typeof state !== 'string' || !(TRUST_STATES as readonly string[]).includes(state)) fail('trust');
  if (typeof doc.blind !== 'boolean') fail('blind');
  return {
    jid: str(doc.jid, 'jid'),
    deviceId: int(doc.deviceId, 'deviceId', 1, MAX_DEVICE_ID),
    fingerprint: bytes(doc.fingerprint, 'fingerprint', 32),
    identityKeys,
    trust: { state: state as DeviceTrust['state'], blind: doc.blind },
  };
}

// ---------------------------------------------------------------- device lists and bundles

/** Writes a device list (ids). */
export function serializeDeviceList(ids: readonly number[]): Record<string, unknown> {
  return { version: 1, ids: [...ids] };
}

/** Reads {@link serializeDeviceList} output. */
export function parseDeviceList(json: unknown): number[] {
  const doc = migrateDocument('deviceList', json);
  if (!Array.isArray(doc.ids) || doc.ids.length > MAX_ENTRIES) fail('ids');
  return (doc.ids as unknown[]).map((id) => int(id, 'device id', 1, MAX_DEVICE_ID));
}

/** Writes a peer bundle (public data). */
export function serializeBundle(bundle: NormalizedBundle): Record<string, unknown> {
  return {
    version: 1,
    identityKey: b64(bundle.identityKey),
    signedPreKeyId: bundle.signedPreKeyId,
    signedPreKey: b64(bundle.signedPreKey),
    signedPreKeySignature: b64(bundle.signedPreKeySignature),
    preKeys: bundle.preKeys.map((p) => ({ id: p.id, key: b64(p.key) })),
  };
}

/** Reads {@link serializeBundle} output. */
export function parseBundle(json: unknown): NormalizedBundle {
  const doc = migrateDocument('bundle', json);
  if (!Array.isArray(doc.preKeys) || doc.preKeys.length > MAX_ENTRIES) fail('preKeys');
  return {
    identityKey: bytes(doc.identityKey, 'identityKey', 32),
    signedPreKeyId: int(doc.signedPreKeyId, 'signedPreKeyId', 0, MAX_PRE_KEY_ID),
    signedPreKey: bytes(doc.signedPreKey, 'signedPreKey', 32),
    signedPreKeySignature: bytes(doc.signedPreKeySignature, 'signedPreKeySignature', 64),
    preKeys: (doc.preKeys as unknown[]).map((p) => {
      if (!isRecord(p)) fail('preKeys entry');
      return { id: int(p.id, 'preKeys.id', 0, MAX_PRE_KEY_ID), key: bytes(p.key, 'preKeys.key', 32) };
    }),
  };
}

// ---------------------------------------------------------------- republish signal

/** Writes the set of versions whose bundle awaits publication. */
export function serializeRepublish(versions: readonly OmemoVersion[]): Record<string, unknown> {
  return { version: 1, versions: [...versions] };
}

/** Reads {@link serializeRepublish} output. */
export function parseRepublish(json: unknown): OmemoVersion[] {
  const doc = migrateDocument('republish', json);
  if (!Array.isArray(doc.versions) || doc.versions.length > 2) fail('versions');
  return (doc.versions as unknown[]).map(version);
}
