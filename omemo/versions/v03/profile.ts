/**
 * The constants of OMEMO 0.3 (XEP-0384 0.3.0, namespace `eu.siacs.conversations.axolotl`),
 * whose cryptography is libsignal's: HKDF infos, key encodings, MAC rules, PEP nodes.
 */
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

/** Everything version-specific about OMEMO 0.3, in one object. */
export const OMEMO_03_PROFILE = {
  version: '0.3',
  namespace: NAMESPACE_03,
  deviceListNode: DEVICE_LIST_NODE_03,
  /** HKDF infos: "WhisperText" (X3DH), "WhisperRatchet" (root chain), "WhisperMessageKeys". */
  info: OMEMO_03_INFO,
  x3dh: OMEMO_03_X3DH_PROFILE satisfies X3dhProfile,
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
