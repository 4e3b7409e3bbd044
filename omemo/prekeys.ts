/**
 * The own device's X3DH prekeys for one OMEMO version (XEP-0384 section 5.3.2 / 0.3.0 section
 * 4.3; X3DH section 2.3 "Publishing keys"): one signed prekey, rotated every period with the
 * previous private key kept one more period for key exchanges still in flight, and ~100
 * one-time prekeys, each deleted once a key exchange used it and replaced at once.
 *
 * Pure and immutable: functions return new states. Private keys are held as raw bytes so a
 * loaded state costs no key import until a prekey is actually used.
 */
import type { RandomSource } from '../lib/core/random.js';
import { X25519PrivateKey, X25519PublicKey } from './crypto/curve25519.js';
import type { IdentityKeyPair } from './crypto/identity-key.js';
import type { OmemoVersion } from './fingerprint.js';
import { OMEMO_03_PROFILE } from './versions/v03/profile.js';
import { OMEMO_2_PROFILE } from './versions/v2/profile.js';

/** Default number of published one-time prekeys (XEP-0384: "around 100"). */
export const DEFAULT_PRE_KEY_COUNT = 100;
/** Default signed prekey rotation period: one week (XEP-0384 recommends one week to one month). */
export const DEFAULT_SIGNED_PRE_KEY_PERIOD_MS = 7 * 24 * 60 * 60 * 1000;
/** Largest prekey / signed prekey id (uint32 on the wire); ids wrap to 1 after it. */
export const MAX_PRE_KEY_ID = 0xffffffff;

/** A stored X25519 key pair with its id. */
export interface StoredKeyPair {
  readonly id: number;
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A signed prekey with its signature (this version's scheme) and creation time (ms). */
export interface SignedPreKeyRecord extends StoredKeyPair {
  readonly signature: Uint8Array;
  readonly createdAt: number;
}

/** Own prekeys of one version. */
export interface OwnPreKeyState {
  readonly signedPreKey: SignedPreKeyRecord;
  /** The signed prekey before the last rotation, kept one more period. */
  readonly previousSignedPreKey?: SignedPreKeyRecord | undefined;
  /** One-time prekeys, in creation order. */
  readonly preKeys: readonly StoredKeyPair[];
  readonly nextPreKeyId: number;
  readonly nextSignedPreKeyId: number;
}

function nextId(id: number): number {
  return id >= MAX_PRE_KEY_ID ? 1 : id + 1;
}

function generatePair(id: number, random: RandomSource): StoredKeyPair {
  const key = X25519PrivateKey.generate(random);
  const pair = { id, privateKey: key.bytes, publicKey: key.publicKey.bytes };
  key.wipe();
  return pair;
}

/** The signed-prekey signature of `version` (0.3: Ed25519/XEdDSA over 0x05||key with sign bit; 2: Ed25519). */
export function signSignedPreKey(version: OmemoVersion, identity: IdentityKeyPair, publicKey: Uint8Array, random: RandomSource): Uint8Array {
  const profile = version === '0.3' ? OMEMO_03_PROFILE.x3dh : OMEMO_2_PROFILE.x3dh;
  return profile.signSignedPreKey(identity, X25519PublicKey.fromBytes(publicKey), random);
}

function newSignedPreKey(version: OmemoVersion, identity: IdentityKeyPair, id: number, random: RandomSource, now: number): SignedPreKeyRecord {
  const pair = generatePair(id, random);
  return { ...pair, signature: signSignedPreKey(version, identity, pair.publicKey, random), createdAt: now };
}

/** Fresh prekeys: signed prekey id 1, one-time prekeys 1..count. */
export function createOwnPreKeyState(
  version: OmemoVersion, identity: IdentityKeyPair, random: RandomSource, now: number, count = DEFAULT_PRE_KEY_COUNT,
): OwnPreKeyState {
  const state: OwnPreKeyState = {
    signedPreKey: newSignedPreKey(version, identity, 1, random, now),
    preKeys: [],
    nextPreKeyId: 1,
    nextSignedPreKeyId: 2,
  };
  return refillPreKeys(state, random, count);
}

/** Tops the one-time prekeys up to `count`, with ids not in use. */
export function refillPreKeys(state: OwnPreKeyState, random: RandomSource, count = DEFAULT_PRE_KEY_COUNT): OwnPreKeyState {
  if (state.preKeys.length >= count) return state;
  const used = new Set(state.preKeys.map((k) => k.id));
  const preKeys = [...state.preKeys];
  let id = state.nextPreKeyId;
  while (preKeys.length < count) {
    while (used.has(id)) id = nextId(id);
    preKeys.push(generatePair(id, random));
    used.add(id);
    id = nextId(id);
  }
  return { ...state, preKeys, nextPreKeyId: id };
}

/** The one-time prekey with `id`, if still held. */
export function findPreKey(state: OwnPreKeyState, id: number): StoredKeyPair | undefined {
  return state.preKeys.find((k) => k.id === id);
}

/**
 * The state without prekey `id`. The removed private key bytes are not zeroed here, since the
 * caller's previous state still holds them until the new state is committed; once the store
 * holds the new state, the key is gone from storage.
 */
export function removePreKey(state: OwnPreKeyState, id: number): OwnPreKeyState {
  if (findPreKey(state, id) === undefined) return state;
  return { ...state, preKeys: state.preKeys.filter((k) => k.id !== id) };
}

/** The current or previous signed prekey with `id`. */
export function findSignedPreKey(state: OwnPreKeyState, id: number): SignedPreKeyRecord | undefined {
  if (state.signedPreKey.id === id) return state.signedPreKey;
  return state.previousSignedPreKey?.id === id ? state.previousSignedPreKey : undefined;
}

/** Whether the signed prekey is at least `periodMs` old (or from the future: a clock jump). */
export function isSignedPreKeyRotationDue(state: OwnPreKeyState, now: number, periodMs = DEFAULT_SIGNED_PRE_KEY_PERIOD_MS): boolean {
  return now - state.signedPreKey.createdAt >= periodMs || now < state.signedPreKey.createdAt;
}

/** A new signed prekey; the current one becomes the previous one, the previous one is dropped. */
export function rotateSignedPreKey(
  version: OmemoVersion, state: OwnPreKeyState, identity: IdentityKeyPair, random: RandomSource, now: number,
): OwnPreKeyState {
  return {
    ...state,
    previousSignedPreKey: state.signedPreKey,
    signedPreKey: newSignedPreKey(version, identity, state.nextSignedPreKeyId, random, now),
    nextSignedPreKeyId: nextId(state.nextSignedPreKeyId),
  };
}
