/**
 * Public API of the OMEMO implementation (XEP-0384 0.3.0 `eu.siacs.conversations.axolotl` and
 * XEP-0384 `urn:xmpp:omemo:2`): the transport-free {@link OmemoSessionManager}, trust and
 * fingerprints, the element codecs and the XML helpers the XMPP layer needs. Lower layers
 * (X3DH, the Double Ratchet, the per-version wire formats) stay importable by path for tools
 * and tests.
 */
export {
  OmemoSessionManager, DEFAULT_HEARTBEAT_THRESHOLD,
  type OmemoSessionManagerOptions, type EncryptResult, type DecryptResult, type DeviceInfo, type SkippedDevice,
} from './session-manager.js';
export type { OmemoEvent, OutgoingMessage, OutgoingReason } from './manager-events.js';
export {
  NoSessionError, UnknownDeviceError, UntrustedDeviceError, NotForThisDeviceError, UnknownPreKeyError, OwnDeviceMessageError,
  IdentityMismatchError, NoRecipientsError, type SkippedDeviceInfo,
} from './errors.js';
export {
  fingerprintOf, formatFingerprint, fingerprintUri, parseFingerprintUri,
  type OmemoVersion, type FingerprintStyle, type UriFingerprint, type ParsedFingerprintUri,
} from './fingerprint.js';
export { initialTrust, mayEncryptTo, mayDecryptFrom, effectiveTrust, TRUST_STATES, type TrustState, type TrustPolicy, type DeviceTrust } from './trust.js';
export { DEFAULT_PRE_KEY_COUNT, DEFAULT_SIGNED_PRE_KEY_PERIOD_MS } from './prekeys.js';
export { MANAGER_STATE_VERSION, MANAGER_STATE_MIGRATIONS } from './manager-state-json.js';
export { versionOfElement, type AnyBundle, type AnyEncrypted } from './version-backend.js';
export { parseXml, serializeXml, DEFAULT_XML_LIMITS, type XmlLimits } from './xml-codec.js';
export { xmlElement, xmlEquals, type XmlElement } from './xml-element.js';
export { createSceEnvelope, parseSceEnvelope, serializeSceEnvelope, decodeSceEnvelope, encodeSceEnvelope, SCE_NAMESPACE, type SceEnvelope, type SceEnvelopeInput } from './sce.js';
export { NAMESPACE_03, DEVICE_LIST_NODE_03, bundleNode03 } from './versions/v03/profile.js';
export { NAMESPACE_2, DEVICE_LIST_NODE_2, BUNDLES_NODE_2 } from './versions/v2/profile.js';
export { encodeDeviceList03, decodeDeviceList03, encodeBundle03, decodeBundle03, encodeEncrypted03, decodeEncrypted03, type Bundle03, type Encrypted03 } from './versions/v03/xml.js';
export { encodeDeviceList2, decodeDeviceList2, encodeBundle2, decodeBundle2, encodeEncrypted2, decodeEncrypted2, type Bundle2, type Encrypted2, type DeviceListEntry2 } from './versions/v2/xml.js';
