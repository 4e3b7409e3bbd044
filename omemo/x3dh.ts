/**
 * X3DH key agreement (Signal, "The X3DH Key Agreement Protocol", revision 1, section 3) as the
 * two OMEMO versions use it, parameterised by an {@link X3dhProfile}: HKDF info, identity-key
 * encoding, how the signed prekey signature is checked, and the order of the associated data.
 *
 * Pure: keys in, secrets out. Which prekey/signed prekey a bundle or key exchange names (ids),
 * the wire encodings and the storage of used prekeys belong to the version layer.
 *
 * DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B), DH4 = DH(EK_A, OPK_B);
 * SK = HKDF(F || DH1 || DH2 || DH3 [|| DH4], salt = 32 zero bytes, info) (X3DH sections 2.2, 3.3).
 */
import { concatBytes, wipe } from '../lib/core/bytes.js';
import { MalformedMessageError, StateError, VerificationError } from '../lib/core/errors.js';
import type { RandomSource } from '../lib/core/random.js';
import { Ed25519PublicKey, KEY_LENGTH, X25519PrivateKey, X25519PublicKey } from './crypto/curve25519.js';
import type { IdentityKeyPair } from './crypto/identity-key.js';
import { edwardsToMontgomery, xeddsaVerify } from './crypto/xeddsa.js';
import { OMEMO_03_INFO, OMEMO_2_INFO, kdfX3dh } from './kdf.js';

/** Associated data for the two directions of a ratchet session. */
export interface SessionAssociatedData {
  /** Authenticated with every message this side sends. */
  readonly sending: Uint8Array;
  /** Authenticated with every message this side receives. */
  readonly receiving: Uint8Array;
}

/** The per-version knobs of X3DH. */
export interface X3dhProfile {
  /** Short name for logs and errors: '0.3' or '2'. */
  readonly name: string;
  /** HKDF info of the final KDF. */
  readonly info: string;
  /** The identity public key of the own pair in this version's wire form (32 bytes). */
  identityPublicKey(identity: IdentityKeyPair): Uint8Array;
  /** An identity public key (wire form) as it enters the associated data. */
  encodeIdentityKey(identityPublicKey: Uint8Array): Uint8Array;
  /** The X25519 key to run DH1/DH2 against, from the peer's wire-form identity key. Throws VerificationError. */
  identityDhKey(identityPublicKey: Uint8Array): X25519PublicKey;
  /** Whether `signature` by `identityPublicKey` (wire form) covers the signed prekey. */
  verifySignedPreKey(identityPublicKey: Uint8Array, signedPreKey: X25519PublicKey, signature: Uint8Array): boolean;
  /** The signature this version publishes for the own signed prekey. */
  signSignedPreKey(identity: IdentityKeyPair, signedPreKey: X25519PublicKey, random: RandomSource): Uint8Array;
  /**
   * Order of the two identity keys in the associated data: 'sender-first' (libsignal / OMEMO
   * 0.3: the MAC covers senderIK || receiverIK) or 'initiator-first' (omemo:2: AD is
   * IK_initiator || IK_responder for the whole session).
   */
  readonly associatedDataOrder: 'sender-first' | 'initiator-first';
}

/** libsignal's public-key type byte for Curve25519 (DJB_TYPE). */
export const CURVE25519_KEY_TYPE = 0x05;

/** 0x05 || key: the 33-byte form OMEMO 0.3 puts on the wire and into MACs and signatures. */
export function serializeCurve25519PublicKey(key: Uint8Array): Uint8Array {
  if (key.length !== KEY_LENGTH) throw new RangeError('serializeCurve25519PublicKey: key must be 32 bytes');
  return concatBytes(Uint8Array.of(CURVE25519_KEY_TYPE), key);
}

/**
 * Parses the 33-byte 0.3 wire form 0x05 || key into the raw 32-byte key. MalformedMessageError
 * `omemo.bad-public-key` for any other length or type byte (hostile input).
 */
export function parseCurve25519PublicKey(serialized: Uint8Array): Uint8Array {
  if (serialized.length !== KEY_LENGTH + 1 || serialized[0] !== CURVE25519_KEY_TYPE) {
    throw new MalformedMessageError('omemo.bad-public-key', 'Expected a 33-byte 0x05-prefixed Curve25519 key');
  }
  return serialized.slice(1);
}

/**
 * OMEMO 0.3 (`eu.siacs.conversations.axolotl`, libsignal): info "WhisperText", Curve25519
 * identity keys serialized as 0x05 || key, the signed prekey signature is XEdDSA over the
 * 33-byte serialized prekey (libsignal's sign bit honoured), associated data sender-first.
 */
export const OMEMO_03_X3DH_PROFILE: X3dhProfile = {
  name: '0.3',
  info: OMEMO_03_INFO.x3dh,
  identityPublicKey: (identity) => identity.montgomeryPublicKey,
  encodeIdentityKey: (key) => serializeCurve25519PublicKey(key),
  identityDhKey: (key) => X25519PublicKey.fromBytes(key),
  verifySignedPreKey: (identityKey, signedPreKey, signature) =>
    xeddsaVerify(identityKey, serializeCurve25519PublicKey(signedPreKey.bytes), signature),
  signSignedPreKey: (identity, signedPreKey, random) =>
    identity.signXeddsa(serializeCurve25519PublicKey(signedPreKey.bytes), random),
  associatedDataOrder: 'sender-first',
};

/**
 * omemo:2 (`urn:xmpp:omemo:2`, XEP-0384 section 4.2): info "OMEMO X3DH", Ed25519 identity keys
 * used raw, the signed prekey signature is Ed25519 over the raw 32-byte prekey, associated data
 * IK_initiator || IK_responder.
 */
export const OMEMO_2_X3DH_PROFILE: X3dhProfile = {
  name: '2',
  info: OMEMO_2_INFO.x3dh,
  identityPublicKey: (identity) => identity.edwardsPublicKey,
  encodeIdentityKey: (key) => Uint8Array.from(key),
  identityDhKey: (key) => X25519PublicKey.fromBytes(edwardsToMontgomery(key)),
  verifySignedPreKey: (identityKey, signedPreKey, signature) =>
    identityKey.length === KEY_LENGTH && Ed25519PublicKey.fromBytes(identityKey).verify(signedPreKey.bytes, signature),
  signSignedPreKey: (identity, signedPreKey, random) => identity.signEd25519(signedPreKey.bytes, random),
  associatedDataOrder: 'initiator-first',
};

/** The peer's published keys the active side needs (already decoded by the version layer). */
export interface X3dhBundle {
  /** Peer identity key, this version's wire form (32 bytes, no 0x05). */
  readonly identityKey: Uint8Array;
  readonly signedPreKey: X25519PublicKey;
  readonly signedPreKeySignature: Uint8Array;
  /** The one-time prekey the caller picked from the bundle, if any. */
  readonly preKey?: X25519PublicKey | undefined;
}

/** What the active side must tell the passive side (the key-exchange part of the first message). */
export interface X3dhHeader {
  /** Initiator identity key, wire form. */
  readonly identityKey: Uint8Array;
  readonly ephemeralKey: X25519PublicKey;
  readonly signedPreKey: X25519PublicKey;
  readonly preKey?: X25519PublicKey | undefined;
}

/** Result of a key agreement on either side. */
export interface X3dhResult {
  /** SK: the first root key of the Double Ratchet (32 bytes). */
  readonly sharedSecret: Uint8Array;
  /** AD = Encode(IK_initiator) || Encode(IK_responder) (X3DH section 3.3), as python-x3dh returns it. */
  readonly associatedData: Uint8Array;
  /** The AD for each direction of the ratchet, per the profile's order. */
  readonly sessionAssociatedData: SessionAssociatedData;
}

/** Result of the active side. */
export interface X3dhActiveResult extends X3dhResult {
  readonly header: X3dhHeader;
}

/** Options of {@link x3dhActive} / {@link x3dhPassive}. */
export interface X3dhOptions {
  /** Refuse a key agreement without a one-time prekey (default false: OMEMO allows none). */
  readonly requirePreKey?: boolean;
}

function sessionAd(profile: X3dhProfile, ownEncoded: Uint8Array, peerEncoded: Uint8Array, initiator: boolean): SessionAssociatedData {
  const initiatorFirst = initiator ? concatBytes(ownEncoded, peerEncoded) : concatBytes(peerEncoded, ownEncoded);
  if (profile.associatedDataOrder === 'initiator-first') return { sending: initiatorFirst, receiving: initiatorFirst };
  return { sending: concatBytes(ownEncoded, peerEncoded), receiving: concatBytes(peerEncoded, ownEncoded) };
}

function derive(profile: X3dhProfile, dhs: Uint8Array[]): Uint8Array {
  try {
    return kdfX3dh(dhs, profile.info);
  } finally {
    wipe(...dhs);
  }
}

/**
 * The initiator's side (X3DH section 3.3): verifies the signed prekey signature (VerificationError
 * `omemo.x3dh-bad-signature`), draws an ephemeral key from `random` and derives SK and AD.
 * The ratchet starts with {@link X3dhActiveResult.sharedSecret} against `bundle.signedPreKey`.
 */
export function x3dhActive(
  profile: X3dhProfile,
  identity: IdentityKeyPair,
  bundle: X3dhBundle,
  random: RandomSource,
  options: X3dhOptions = {},
): X3dhActiveResult {
  if (bundle.preKey === undefined && options.requirePreKey === true) {
    throw new StateError('omemo.x3dh-no-pre-key', 'The bundle offers no one-time prekey');
  }
  if (bundle.identityKey.length !== KEY_LENGTH || !profile.verifySignedPreKey(bundle.identityKey, bundle.signedPreKey, bundle.signedPreKeySignature)) {
    throw new VerificationError('omemo.x3dh-bad-signature', 'The signed prekey signature does not verify');
  }
  const peerIdentityDh = profile.identityDhKey(bundle.identityKey);
  const ephemeral = X25519PrivateKey.generate(random);
  const dhs = [
    identity.dhPrivateKey.dh(bundle.signedPreKey),
    ephemeral.dh(peerIdentityDh),
    ephemeral.dh(bundle.signedPreKey),
  ];
  if (bundle.preKey !== undefined) dhs.push(ephemeral.dh(bundle.preKey));
  const sharedSecret = derive(profile, dhs);
  const ownIdentityKey = profile.identityPublicKey(identity);
  const ownEncoded = profile.encodeIdentityKey(ownIdentityKey);
  const peerEncoded = profile.encodeIdentityKey(bundle.identityKey);
  const header: X3dhHeader = {
    identityKey: ownIdentityKey,
    ephemeralKey: ephemeral.publicKey,
    signedPreKey: bundle.signedPreKey,
    ...(bundle.preKey !== undefined ? { preKey: bundle.preKey } : {}),
  };
  ephemeral.wipe();
  return {
    sharedSecret,
    associatedData: concatBytes(ownEncoded, peerEncoded),
    sessionAssociatedData: sessionAd(profile, ownEncoded, peerEncoded, true),
    header,
  };
}

/**
 * The responder's side (X3DH section 3.4). The caller looked up the private halves of the
 * signed prekey and one-time prekey the header names (and deletes the one-time prekey once the
 * first message decrypts). Throws VerificationError for an unusable peer key, StateError
 * `omemo.x3dh-no-pre-key` if a one-time prekey is required but absent.
 */
export function x3dhPassive(
  profile: X3dhProfile,
  identity: IdentityKeyPair,
  header: Pick<X3dhHeader, 'identityKey' | 'ephemeralKey'>,
  signedPreKey: X25519PrivateKey,
  preKey: X25519PrivateKey | undefined,
  options: X3dhOptions = {},
): X3dhResult {
  if (preKey === undefined && options.requirePreKey === true) {
    throw new StateError('omemo.x3dh-no-pre-key', 'The key exchange uses no one-time prekey');
  }
  if (header.identityKey.length !== KEY_LENGTH) throw new VerificationError('omemo.x3dh-bad-identity', 'Identity key has the wrong length');
  const peerIdentityDh = profile.identityDhKey(header.identityKey);
  const dhs = [
    signedPreKey.dh(peerIdentityDh),
    identity.dhPrivateKey.dh(header.ephemeralKey),
    signedPreKey.dh(header.ephemeralKey),
  ];
  if (preKey !== undefined) dhs.push(preKey.dh(header.ephemeralKey));
  const sharedSecret = derive(profile, dhs);
  const ownEncoded = profile.encodeIdentityKey(profile.identityPublicKey(identity));
  const peerEncoded = profile.encodeIdentityKey(header.identityKey);
  return {
    sharedSecret,
    associatedData: concatBytes(peerEncoded, ownEncoded),
    sessionAssociatedData: sessionAd(profile, ownEncoded, peerEncoded, false),
  };
}
