/**
 * The constants of omemo:2 (XEP-0384 current, namespace `urn:xmpp:omemo:2`): HKDF infos, key
 * encodings (raw 32 bytes, Ed25519 identity key), MAC rules, PEP nodes.
 */
import { OMEMO_2_INFO } from '../../kdf.js';
import { OMEMO_2_X3DH_PROFILE } from '../../x3dh.js';
import type { X3dhProfile } from '../../x3dh.js';
import type { DoubleRatchetConfig } from '../../ratchet/double-ratchet.js';
import { AUTHENTICATED_MESSAGE_MAC_LENGTH, KEY_LENGTH } from './protobuf.js';
import { OMEMO_2_RATCHET_AEAD } from './ratchet-aead.js';

/** Double Ratchet configuration of omemo:2: root info "OMEMO Root Chain", the OMEMOAuthenticatedMessage AEAD. */
export const OMEMO_2_RATCHET_CONFIG: DoubleRatchetConfig = {
  rootInfo: OMEMO_2_INFO.rootChain,
  aead: OMEMO_2_RATCHET_AEAD,
};

/** XML namespace of `<encrypted>`, `<devices>` and `<bundle>`. */
export const NAMESPACE_2 = 'urn:xmpp:omemo:2';
/** PEP node of the device list (item id `current`). */
export const DEVICE_LIST_NODE_2 = `${NAMESPACE_2}:devices`;
/** PEP node of all bundles (item id = device id; publish with pubsub#max_items=max). */
export const BUNDLES_NODE_2 = `${NAMESPACE_2}:bundles`;

/** Everything version-specific about omemo:2, in one object. */
export const OMEMO_2_PROFILE = {
  version: '2',
  namespace: NAMESPACE_2,
  deviceListNode: DEVICE_LIST_NODE_2,
  bundlesNode: BUNDLES_NODE_2,
  /** HKDF infos: "OMEMO X3DH", "OMEMO Root Chain", "OMEMO Message Key Material", "OMEMO Payload". */
  info: OMEMO_2_INFO,
  x3dh: OMEMO_2_X3DH_PROFILE satisfies X3dhProfile,
  ratchet: OMEMO_2_RATCHET_CONFIG,
  /**
   * OMEMOAuthenticatedMessage MAC: HMAC-SHA256(authenticationKey, AD || OMEMOMessage) truncated
   * to 16 bytes, AD = IK_initiator || IK_responder (Ed25519) for the whole session. No version byte.
   */
  messageMacLength: AUTHENTICATED_MESSAGE_MAC_LENGTH,
  /** All keys on the wire are raw 32 bytes; the identity key is Ed25519. */
  publicKeyLength: KEY_LENGTH,
  /** Ratchet plaintext: payload key(32) || mac(16); 32 zero bytes for an empty message. */
  keyMaterialLength: 48,
  /** Boolean attribute on `<key>` marking an OMEMOKeyExchange. */
  keyExchangeAttribute: 'kex',
  /** SCE namespace of the payload plaintext (XEP-0420). */
  sceNamespace: 'urn:xmpp:sce:1',
} as const;
