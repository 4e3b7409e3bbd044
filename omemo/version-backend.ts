/**
 * The per-version glue the session manager needs, over the existing wire layer (omemo/versions):
 * bundles, key-exchange framing, `<key>` decoding, payload encryption and the `<encrypted>`
 * codecs of OMEMO 0.3 (XEP-0384 0.3.0) and omemo:2 (XEP-0384), behind one interface.
 */
import { MalformedMessageError } from '../lib/core/errors.js';
import type { RandomSource } from '../lib/core/random.js';
import type { IdentityKeyPair } from './crypto/identity-key.js';
import type { OmemoVersion } from './fingerprint.js';
import type { OwnPreKeyState } from './prekeys.js';
import type { DoubleRatchetConfig, RatchetMessage } from './ratchet/double-ratchet.js';
import type { KeyExchangeInfo } from './session-record.js';
import { decryptPayload03, emptyPayload03, encryptPayload03 } from './versions/v03/payload.js';
import { OMEMO_03_PROFILE } from './versions/v03/profile.js';
import { decodePreKeySignalMessage, encodePreKeySignalMessage } from './versions/v03/protobuf.js';
import { signalMessageToRatchetMessage } from './versions/v03/ratchet-aead.js';
import { decodeBundle03, decodeEncrypted03, encodeBundle03, encodeEncrypted03 } from './versions/v03/xml.js';
import type { Bundle03, Encrypted03 } from './versions/v03/xml.js';
import { decryptPayload2, emptyKeyMaterial2, encryptPayload2 } from './versions/v2/payload.js';
import { OMEMO_2_PROFILE } from './versions/v2/profile.js';
import { decodeOmemoKeyExchange, encodeOmemoKeyExchange } from './versions/v2/protobuf.js';
import { authenticatedMessageToRatchetMessage } from './versions/v2/ratchet-aead.js';
import { decodeBundle2, decodeEncrypted2, encodeBundle2, encodeEncrypted2 } from './versions/v2/xml.js';
import type { Bundle2, Encrypted2 } from './versions/v2/xml.js';
import type { X3dhProfile } from './x3dh.js';
import type { XmlElement } from './xml-element.js';

/** A bundle of either version. */
export type AnyBundle = Bundle03 | Bundle2;
/** `<encrypted>` data of either version. */
export type AnyEncrypted = Encrypted03 | Encrypted2;

/** A bundle reduced to what X3DH needs. */
export interface NormalizedBundle {
  readonly identityKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly signedPreKey: Uint8Array;
  readonly signedPreKeySignature: Uint8Array;
  readonly preKeys: readonly { readonly id: number; readonly key: Uint8Array }[];
}

/** One `<key>` of an `<encrypted>`, version-independent. `jid` is undefined for 0.3. */
export interface NormalizedKey {
  readonly jid?: string | undefined;
  readonly rid: number;
  readonly kex: boolean;
  readonly data: Uint8Array;
}

/** An `<encrypted>`, version-independent. */
export interface NormalizedEncrypted {
  readonly sid: number;
  readonly keys: readonly NormalizedKey[];
  readonly iv?: Uint8Array | undefined;
  readonly payload?: Uint8Array | undefined;
}

/** A decoded `<key>`: the ratchet message and, for a key exchange, its X3DH header. */
export interface IncomingKey {
  readonly keyExchange?: KeyExchangeInfo | undefined;
  readonly message: RatchetMessage;
}

/** Payload encryption output. */
export interface PayloadOut {
  readonly keyMaterial: Uint8Array;
  readonly iv?: Uint8Array | undefined;
  readonly payload?: Uint8Array | undefined;
}

/** Everything version-specific the manager uses. */
export interface VersionBackend {
  readonly version: OmemoVersion;
  readonly namespace: string;
  readonly x3dh: X3dhProfile;
  readonly ratchet: DoubleRatchetConfig;
  /** Own identity key in this version's wire form. */
  ownIdentityKey(identity: IdentityKeyPair): Uint8Array;
  /** The bundle to publish. */
  bundle(identity: IdentityKeyPair, preKeys: OwnPreKeyState): AnyBundle;
  encodeBundle(bundle: AnyBundle): XmlElement;
  decodeBundle(element: XmlElement): AnyBundle;
  normalizeBundle(bundle: AnyBundle): NormalizedBundle;
  /** Wraps a ratchet wire message in this version's key-exchange message. */
  wrapKeyExchange(keyExchange: KeyExchangeInfo, ratchetWire: Uint8Array): Uint8Array;
  /** Decodes a `<key>`'s bytes (MalformedMessageError on bad input). */
  decodeKey(data: Uint8Array, kex: boolean): IncomingKey;
  encryptPayload(plaintext: Uint8Array, random: RandomSource): PayloadOut;
  emptyPayload(random: RandomSource): PayloadOut;
  /** Decrypts `<payload>`; VerificationError / MalformedMessageError on bad input. */
  decryptPayload(keyMaterial: Uint8Array, encrypted: NormalizedEncrypted): Uint8Array;
  encodeEncrypted(sid: number, keys: readonly NormalizedKey[], payload: PayloadOut): { data: AnyEncrypted; element: XmlElement };
  decodeEncrypted(element: XmlElement): NormalizedEncrypted;
}

function isBundle03(bundle: AnyBundle): bundle is Bundle03 {
  return 'signedPreKeyId' in bundle;
}

const BACKEND_03: VersionBackend = {
  version: '0.3',
  namespace: OMEMO_03_PROFILE.namespace,
  x3dh: OMEMO_03_PROFILE.x3dh,
  ratchet: OMEMO_03_PROFILE.ratchet,
  ownIdentityKey: (identity) => identity.montgomeryPublicKey,
  bundle: (identity, preKeys): Bundle03 => ({
    signedPreKeyId: preKeys.signedPreKey.id,
    signedPreKey: preKeys.signedPreKey.publicKey,
    signedPreKeySignature: preKeys.signedPreKey.signature,
    identityKey: identity.montgomeryPublicKey,
    preKeys: preKeys.preKeys.map((k) => ({ id: k.id, key: k.publicKey })),
  }),
  encodeBundle: (bundle) => {
    if (!isBundle03(bundle)) throw new TypeError('encodeBundle: not a 0.3 bundle');
    return encodeBundle03(bundle);
  },
  decodeBundle: (element) => decodeBundle03(element),
  normalizeBundle: (bundle) => {
    if (!isBundle03(bundle)) throw new TypeError('normalizeBundle: not a 0.3 bundle');
    return {
      identityKey: bundle.identityKey, signedPreKeyId: bundle.signedPreKeyId, signedPreKey: bundle.signedPreKey,
      signedPreKeySignature: bundle.signedPreKeySignature, preKeys: bundle.preKeys,
    };
  },
  wrapKeyExchange: (kex, wire) => encodePreKeySignalMessage({
    preKeyId: kex.preKeyId, signedPreKeyId: kex.signedPreKeyId, baseKey: kex.ephemeralKey, identityKey: kex.identityKey, message: wire,
  }),
  decodeKey: (data, kex) => {
    if (!kex) return { message: signalMessageToRatchetMessage(data) };
    const pre = decodePreKeySignalMessage(data);
    return {
      keyExchange: { identityKey: pre.identityKey, ephemeralKey: pre.baseKey, signedPreKeyId: pre.signedPreKeyId, preKeyId: pre.preKeyId },
      message: signalMessageToRatchetMessage(pre.message),
    };
  },
  encryptPayload: (plaintext, random) => encryptPayload03(plaintext, random),
  emptyPayload: (random) => emptyPayload03(random),
  decryptPayload: (keyMaterial, encrypted) => {
    if (encrypted.iv === undefined || encrypted.payload === undefined) throw new MalformedMessageError('omemo.xml.missing-element', 'No payload');
    return decryptPayload03(keyMaterial, encrypted.iv, encrypted.payload);
  },
  encodeEncrypted: (sid, keys, payload) => {
    if (payload.iv === undefined) throw new TypeError('encodeEncrypted: 0.3 needs an IV');
    const data: Encrypted03 = { sid, keys: keys.map((k) => ({ rid: k.rid, prekey: k.kex, data: k.data })), iv: payload.iv, payload: payload.payload };
    return { data, element: encodeEncrypted03(data) };
  },
  decodeEncrypted: (element) => {
    const e = decodeEncrypted03(element);
    return { sid: e.sid, keys: e.keys.map((k) => ({ rid: k.rid, kex: k.prekey, data: k.data })), iv: e.iv, payload: e.payload };
  },
};

const BACKEND_2: VersionBackend = {
  version: '2',
  namespace: OMEMO_2_PROFILE.namespace,
  x3dh: OMEMO_2_PROFILE.x3dh,
  ratchet: OMEMO_2_PROFILE.ratchet,
  ownIdentityKey: (identity) => identity.edwardsPublicKey,
  bundle: (identity, preKeys): Bundle2 => ({
    spkId: preKeys.signedPreKey.id,
    spk: preKeys.signedPreKey.publicKey,
    spks: preKeys.signedPreKey.signature,
    ik: identity.edwardsPublicKey,
    preKeys: preKeys.preKeys.map((k) => ({ id: k.id, key: k.publicKey })),
  }),
  encodeBundle: (bundle) => {
    if (isBundle03(bundle)) throw new TypeError('encodeBundle: not an omemo:2 bundle');
    return encodeBundle2(bundle);
  },
  decodeBundle: (element) => decodeBundle2(element),
  normalizeBundle: (bundle) => {
    if (isBundle03(bundle)) throw new TypeError('normalizeBundle: not an omemo:2 bundle');
    return { identityKey: bundle.ik, signedPreKeyId: bundle.spkId, signedPreKey: bundle.spk, signedPreKeySignature: bundle.spks, preKeys: bundle.preKeys };
  },
  wrapKeyExchange: (kex, wire) => encodeOmemoKeyExchange({
    pkId: kex.preKeyId, spkId: kex.signedPreKeyId, ik: kex.identityKey, ek: kex.ephemeralKey, message: wire,
  }),
  decodeKey: (data, kex) => {
    if (!kex) return { message: authenticatedMessageToRatchetMessage(data) };
    const k = decodeOmemoKeyExchange(data);
    return {
      keyExchange: { identityKey: k.ik, ephemeralKey: k.ek, signedPreKeyId: k.spkId, preKeyId: k.pkId },
      message: authenticatedMessageToRatchetMessage(k.message),
    };
  },
  encryptPayload: (plaintext, random) => encryptPayload2(plaintext, random),
  emptyPayload: () => ({ keyMaterial: emptyKeyMaterial2() }),
  decryptPayload: (keyMaterial, encrypted) => {
    if (encrypted.payload === undefined) throw new MalformedMessageError('omemo.xml.missing-element', 'No payload');
    return decryptPayload2(keyMaterial, encrypted.payload);
  },
  encodeEncrypted: (sid, keys, payload) => {
    const groups = new Map<string, { rid: number; kex: boolean; data: Uint8Array }[]>();
    for (const k of keys) {
      if (k.jid === undefined) throw new TypeError('encodeEncrypted: omemo:2 keys need a jid');
      const list = groups.get(k.jid) ?? [];
      list.push({ rid: k.rid, kex: k.kex, data: k.data });
      groups.set(k.jid, list);
    }
    const data: Encrypted2 = { sid, keys: [...groups].map(([jid, list]) => ({ jid, keys: list })), payload: payload.payload };
    return { data, element: encodeEncrypted2(data) };
  },
  decodeEncrypted: (element) => {
    const e = decodeEncrypted2(element);
    return { sid: e.sid, keys: e.keys.flatMap((g) => g.keys.map((k) => ({ jid: g.jid, rid: k.rid, kex: k.kex, data: k.data }))), payload: e.payload };
  },
};

/** The backend of `version`. */
export function versionBackend(version: OmemoVersion): VersionBackend {
  return version === '0.3' ? BACKEND_03 : BACKEND_2;
}

/** The version whose namespace an `<encrypted>` element carries, or undefined. */
export function versionOfElement(element: XmlElement): OmemoVersion | undefined {
  const ns = element.attrs['xmlns'];
  if (ns === BACKEND_03.namespace) return '0.3';
  if (ns === BACKEND_2.namespace) return '2';
  return undefined;
}
