/**
 * What the manager keeps per session, i.e. per (bare JID, device id, version): the Double
 * Ratchet state plus the OMEMO bookkeeping around it (XEP-0384 section 4.5 / 0.3.0 section 4.5):
 * who initiated, whether the key exchange has been answered, the key exchange itself (re-sent
 * until answered; recognised again when a passive session sees it twice), and a small replay
 * cache so a key-exchange message delivered twice (MAM catch-up) decrypts again without a
 * second prekey use.
 */
import type { DoubleRatchetState } from './ratchet/double-ratchet.js';
import type { OmemoVersion } from './fingerprint.js';

/** The X3DH header fields a key-exchange message carries (XEP-0384 OMEMOKeyExchange / PreKeySignalMessage). */
export interface KeyExchangeInfo {
  /** Initiator identity key, the version's wire form (0.3 Curve25519, omemo:2 Ed25519), 32 bytes. */
  readonly identityKey: Uint8Array;
  /** Initiator ephemeral (base) key, 32 bytes. */
  readonly ephemeralKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly preKeyId: number;
}

/** A key-exchange message already decrypted once, and the key material it carried. */
export interface ReplayEntry {
  /** Hex SHA-256 of the whole `<key>` bytes. */
  readonly digest: string;
  readonly keyMaterial: Uint8Array;
}

/** Bound on {@link SessionRecord.replay}. */
export const MAX_REPLAY_ENTRIES = 8;

/**
 * Bound on {@link SessionRecord.previous}. Two is enough for the case it exists for: both
 * devices start a session at once, and each keeps the one the other's key exchange replaced.
 */
export const MAX_PREVIOUS_SESSIONS = 2;

/**
 * A session replaced by a newer key exchange, kept so that messages the peer still sends with
 * it decrypt (libsignal's "previous session states"). A message that decrypts with one makes
 * it current again.
 */
export interface PreviousSession {
  readonly peerIdentityKey: Uint8Array;
  readonly initiation: 'active' | 'passive';
  readonly confirmed: boolean;
  readonly keyExchange: KeyExchangeInfo;
  readonly ratchet: DoubleRatchetState;
}

/** One session. Immutable; the manager replaces it after each successful operation. */
export interface SessionRecord {
  readonly version: OmemoVersion;
  readonly jid: string;
  readonly deviceId: number;
  /** The peer device's identity key (wire form of `version`). */
  readonly peerIdentityKey: Uint8Array;
  /** 'active': we ran X3DH from the peer's bundle; 'passive': the peer's key exchange built it. */
  readonly initiation: 'active' | 'passive';
  /** Active sessions: a message from the peer decrypted with it (key exchange no longer attached). */
  readonly confirmed: boolean;
  readonly keyExchange: KeyExchangeInfo;
  readonly ratchet: DoubleRatchetState;
  readonly replay: readonly ReplayEntry[];
  /** Sessions this one replaced, newest first (at most {@link MAX_PREVIOUS_SESSIONS}). */
  readonly previous: readonly PreviousSession[];
}

/** `record` as a previous session (its replay cache is dropped: its key exchange was answered or superseded). */
export function toPreviousSession(record: SessionRecord): PreviousSession {
  return { peerIdentityKey: record.peerIdentityKey, initiation: record.initiation, confirmed: record.confirmed, keyExchange: record.keyExchange, ratchet: record.ratchet };
}

/** True when two key exchanges build the same session (python-omemo's builds_same_session). */
export function sameKeyExchange(a: KeyExchangeInfo, b: KeyExchangeInfo): boolean {
  const eq = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return a.signedPreKeyId === b.signedPreKeyId && a.preKeyId === b.preKeyId && eq(a.identityKey, b.identityKey) && eq(a.ephemeralKey, b.ephemeralKey);
}
