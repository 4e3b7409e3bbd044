/**
 * The constants of OMEMO 0.3 (XEP-0384 0.3.0, namespace `eu.siacs.conversations.axolotl`),
 * whose cryptography is libsignal's: HKDF infos, key encodings, MAC rules, PEP nodes.
 */
import type { RandomSource } from '../../../lib/core/random.js';
import type { X25519PublicKey } from '../../crypto/curve25519.js';
import type { IdentityKeyPair } from '../../crypto/identity-key.js';
import { OMEMO_03_INFO } from '../../kdf.js';
import { OMEMO_03_X3DH_PROFILE, parseCurve25519PublicKey, serializeCurve25519PublicKey } from '../../x3dh.js';
import type { X3dhProfile } from '../../x3dh.js';
import type { DoubleRatchetConfig } from '../../ratchet/double-ratchet.js';
import { SIGNAL_MESSAGE_MAC_LENGTH, VERSION_BYTE } from './protobuf.js';
import { OMEMO_03_RATCHET_AEAD } from './ratchet-aead.js';

/**
 * Double Ratchet configuration of 0.3: root info "WhisperRatchet", the SignalMessage AEAD, and
 * libsignal's pn semantics on receipt (pn = index of the last message of the previous chain).
 */
export const OMEMO_03_RATCHET_CONFIG: DoubleRatchetConfig = {
  rootInfo: OMEMO_03_INFO.rootChain,
  aead: OMEMO_03_RATCHET_AEAD,
  previousCounterIsLastIndex: true,
};

/** XML namespace of `<encrypted>`, the device list and the bundle. */
export const NAMESPACE_03 = 'eu.siacs.conversations.axolotl';
/** PEP node of the device list (single item `current`). */
export const DEVICE_LIST_NODE_03 = `${NAMESPACE_03}.devicelist`;
/** PEP node of a device's bundle (single item `current`). */
export function bundleNode03(deviceId: number): string {
  return `${NAMESPACE_03}.bundles:${deviceId}`;
}

/**
 * The 0.3 signed-prekey signature, made so that every implementation derives the SAME Ed25519
 * identity key from the 0.3 bundle as from the omemo:2 bundle: an Ed25519 signature by the
 * identity's Ed25519 key over 0x05 || spk, with that key's sign bit stored in sig[63] bit 7
 * (libsignal/Conversations and python-oldmemo's serialize_bundle do exactly this). For an
 * X25519-born identity `signEd25519` is XEdDSA and the Edwards key has sign bit 0, so this is
 * plain XEdDSA. Verifiers clear the bit and use it to lift the Curve25519 key (xeddsaVerify).
 * A pure-XEdDSA (bit 0) signature from a seed-born identity whose Edwards key has sign bit 1
 * would still verify, but python-omemo would then record a different identity key for the
 * device under 0.3 than under omemo:2.
 */
export function signSignedPreKey03(identity: IdentityKeyPair, signedPreKey: X25519PublicKey, random: RandomSource): Uint8Array {
  const signature = identity.signEd25519(serializeCurve25519PublicKey(signedPreKey.bytes), random);
  signature[63] = (signature[63] as number) | ((identity.edwardsPublicKey[31] as number) & 0x80);
  return signature;
}

/** F's 0.3 X3DH profile with {@link signSignedPreKey03} as the signer. */
export const OMEMO_03_X3DH_PROFILE_WITH_SIGN_BIT: X3dhProfile = {
  ...OMEMO_03_X3DH_PROFILE,
  signSignedPreKey: signSignedPreKey03,
};

/** Everything version-specific about OMEMO 0.3, in one object. */
export const OMEMO_03_PROFILE = {
  version: '0.3',
  namespace: NAMESPACE_03,
  deviceListNode: DEVICE_LIST_NODE_03,
  /** HKDF infos: "WhisperText" (X3DH), "WhisperRatchet" (root chain), "WhisperMessageKeys". */
  info: OMEMO_03_INFO,
  x3dh: OMEMO_03_X3DH_PROFILE_WITH_SIGN_BIT,
  ratchet: OMEMO_03_RATCHET_CONFIG,
  /** First byte of SignalMessage and PreKeySignalMessage. */
  versionByte: VERSION_BYTE,
  /**
   * SignalMessage MAC: HMAC-SHA256(messageKeys.authenticationKey, senderIK33 || receiverIK33 ||
   * 0x33 || protobuf) truncated to 8 bytes; the key order follows who SENDS.
   */
  messageMacLength: SIGNAL_MESSAGE_MAC_LENGTH,
  /** Public keys on the wire: 0x05 || 32 bytes. */
  publicKeyLength: 33,
  encodePublicKey: serializeCurve25519PublicKey,
  decodePublicKey: parseCurve25519PublicKey,
  /** Ratchet plaintext: AES-128-GCM key(16) || tag(16); 16 random bytes for key transport. */
  keyMaterialLength: 32,
  /** Boolean attribute on `<key>` marking a PreKeySignalMessage. */
  keyExchangeAttribute: 'prekey',
} as const;
