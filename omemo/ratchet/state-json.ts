/**
 * Versioned JSON for {@link DoubleRatchetState}. `serialize` always writes the current version;
 * `parse` runs registered migrations (version n -> n + 1) up to the current version, then
 * validates every field (lengths, counters, encodings) and throws StorageError on anything
 * unexpected, so a corrupted store never yields a half-valid session.
 */
import { base64ToBytes, bytesToBase64, bytesToHex, hexToBytes } from '../../lib/core/bytes.js';
import { StorageError } from '../../lib/core/errors.js';
import { KEY_LENGTH, X25519PrivateKey, X25519PublicKey } from '../crypto/curve25519.js';
import { MAX_HEADER_COUNTER } from './diffie-hellman-ratchet.js';
import type { SkippedMessageKey } from './diffie-hellman-ratchet.js';
import { skippedMessageKeyId } from './double-ratchet.js';
import type { DoubleRatchetState } from './double-ratchet.js';
import type { KdfChain } from './kdf-chain.js';

/** The version {@link serializeDoubleRatchetState} writes. */
export const DOUBLE_RATCHET_STATE_VERSION = 1;

/** Most skipped keys accepted from storage (a store is not trusted to bound itself). */
export const MAX_STORED_SKIPPED_MESSAGE_KEYS = 100_000;

/** Most bytes of associated data accepted from storage (OMEMO uses 64 or 66). */
const MAX_ASSOCIATED_DATA_LENGTH = 4096;

/** JSON form of a KDF chain. */
export interface KdfChainJson {
  readonly key: string;
  readonly length: number;
}

/** JSON form of a Double Ratchet session, version 1. Binary fields are base64 (RFC 4648). */
export interface DoubleRatchetStateJson {
  readonly version: 1;
  readonly rootChain: KdfChainJson;
  readonly ownRatchetPrivateKey: string;
  readonly otherRatchetPublicKey: string;
  readonly sendingChain: KdfChainJson | null;
  readonly receivingChain: KdfChainJson | null;
  readonly previousSendingChainLength: number;
  /** Oldest first; `ratchetKey` is hex. */
  readonly skippedMessageKeys: readonly { readonly ratchetKey: string; readonly n: number; readonly messageKey: string }[];
  readonly associatedData: { readonly sending: string; readonly receiving: string };
}

/**
 * A migration from version `n` (the key) to `n + 1`. Receives the parsed JSON object of
 * version n and returns one of version n + 1 (with `version` updated).
 */
export type StateMigration = (old: Record<string, unknown>) => Record<string, unknown>;

/** Registered migrations. Version 1 is the first; add `1: (v1) => v2` here when v2 exists. */
export const DOUBLE_RATCHET_STATE_MIGRATIONS: Readonly<Record<number, StateMigration>> = Object.freeze({});

function chainToJson(chain: KdfChain): KdfChainJson {
  return { key: bytesToBase64(chain.key), length: chain.length };
}

/** Writes a session as JSON-ready data (current version). Contains secrets: store encrypted. */
export function serializeDoubleRatchetState(state: DoubleRatchetState): DoubleRatchetStateJson {
  const dh = state.diffieHellmanRatchet;
  const skr = dh.symmetricKeyRatchet;
  const own = dh.ownRatchetKey.bytes;
  const json: DoubleRatchetStateJson = {
    version: 1,
    rootChain: chainToJson(dh.rootChain),
    ownRatchetPrivateKey: bytesToBase64(own),
    otherRatchetPublicKey: bytesToBase64(dh.otherRatchetKey.bytes),
    sendingChain: skr.sendingChain === undefined ? null : chainToJson(skr.sendingChain),
    receivingChain: skr.receivingChain === undefined ? null : chainToJson(skr.receivingChain),
    previousSendingChainLength: skr.previousSendingChainLength,
    skippedMessageKeys: [...state.skippedMessageKeys.values()].map((k) => ({ ratchetKey: k.ratchetKey, n: k.n, messageKey: bytesToBase64(k.messageKey) })),
    associatedData: { sending: bytesToBase64(state.associatedData.sending), receiving: bytesToBase64(state.associatedData.receiving) },
  };
  own.fill(0);
  return json;
}

function fail(what: string): never {
  throw new StorageError('omemo.state-invalid', `Stored ratchet state: invalid ${what}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function counter(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_HEADER_COUNTER) fail(what);
  return value;
}

function bytes(value: unknown, what: string, length?: number, maxLength = MAX_ASSOCIATED_DATA_LENGTH): Uint8Array {
  if (typeof value !== 'string' || value.length > 4 * Math.ceil(maxLength / 3)) fail(what);
  const decoded = base64ToBytes(value);
  if (decoded === undefined || (length !== undefined && decoded.length !== length) || decoded.length > maxLength) fail(what);
  return decoded;
}

function chain(value: unknown, what: string): KdfChain {
  if (!isRecord(value)) fail(what);
  return { key: bytes(value.key, `${what}.key`, KEY_LENGTH), length: counter(value.length, `${what}.length`) };
}

function optionalChain(value: unknown, what: string): KdfChain | undefined {
  return value === null ? undefined : chain(value, what);
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/**
 * Reads a session written by any known version, running migrations from
 * `migrations` (default {@link DOUBLE_RATCHET_STATE_MIGRATIONS}). Throws StorageError
 * `omemo.state-unknown-version` for a version it cannot migrate, `omemo.state-invalid` for
 * anything malformed.
 */
export function parseDoubleRatchetState(
  json: unknown,
  migrations: Readonly<Record<number, StateMigration>> = DOUBLE_RATCHET_STATE_MIGRATIONS,
): DoubleRatchetState {
  if (!isRecord(json)) fail('document');
  let current: Record<string, unknown> = json;
  for (let guard = 0; current.version !== DOUBLE_RATCHET_STATE_VERSION; guard++) {
    const version = current.version;
    const migrate = typeof version === 'number' && Number.isInteger(version) ? migrations[version] : undefined;
    if (migrate === undefined || guard > 100) {
      throw new StorageError('omemo.state-unknown-version', 'Stored ratchet state has an unknown version');
    }
    const next = migrate(current);
    if (!isRecord(next) || next.version === version) fail('migration result');
    current = next;
  }
  const v1 = current;
  const rootChain = chain(v1.rootChain, 'rootChain');
  const ownPrivate = bytes(v1.ownRatchetPrivateKey, 'ownRatchetPrivateKey', KEY_LENGTH);
  const otherPublic = bytes(v1.otherRatchetPublicKey, 'otherRatchetPublicKey', KEY_LENGTH);
  const sendingChain = optionalChain(v1.sendingChain, 'sendingChain');
  const receivingChain = optionalChain(v1.receivingChain, 'receivingChain');
  const previousSendingChainLength = counter(v1.previousSendingChainLength, 'previousSendingChainLength');
  if (!Array.isArray(v1.skippedMessageKeys) || v1.skippedMessageKeys.length > MAX_STORED_SKIPPED_MESSAGE_KEYS) fail('skippedMessageKeys');
  const skippedMessageKeys = new Map<string, SkippedMessageKey>();
  for (const entry of v1.skippedMessageKeys as unknown[]) {
    if (!isRecord(entry) || typeof entry.ratchetKey !== 'string' || !HEX_KEY.test(entry.ratchetKey)) fail('skippedMessageKeys entry');
    const key: SkippedMessageKey = {
      ratchetKey: bytesToHex(hexToBytes(entry.ratchetKey)),
      n: counter(entry.n, 'skippedMessageKeys.n'),
      messageKey: bytes(entry.messageKey, 'skippedMessageKeys.messageKey', KEY_LENGTH),
    };
    skippedMessageKeys.set(skippedMessageKeyId(key.ratchetKey, key.n), key);
  }
  if (!isRecord(v1.associatedData)) fail('associatedData');
  const associatedData = {
    sending: bytes(v1.associatedData.sending, 'associatedData.sending'),
    receiving: bytes(v1.associatedData.receiving, 'associatedData.receiving'),
  };
  const ownRatchetKey = X25519PrivateKey.fromBytes(ownPrivate);
  ownPrivate.fill(0);
  return {
    diffieHellmanRatchet: {
      ownRatchetKey,
      otherRatchetKey: X25519PublicKey.fromBytes(otherPublic),
      rootChain,
      symmetricKeyRatchet: { sendingChain, receivingChain, previousSendingChainLength },
    },
    skippedMessageKeys,
    associatedData,
  };
}
