/**
 * Public API of the OTR implementation (OTR protocol versions 2 and 3). Applications use
 * `OtrConversation` (one per (our account, peer)); the lower layers are exported for
 * interoperability tools and tests.
 */
export { OtrConversation, MAX_REMOTE_INSTANCES, type OtrSessionOptions } from './conversation.js';
export type { OtrEvent, OtrResult, WentInsecureReason, IgnoredReason } from './events.js';
export {
  OTR_POLICY_ALWAYS,
  OTR_POLICY_DEFAULT,
  OTR_POLICY_MANUAL,
  OTR_POLICY_NEVER,
  OTR_POLICY_OPPORTUNISTIC,
  chooseVersion,
  policyAllowsVersion,
  policyEnablesOtr,
  type OtrPolicy,
} from './policy.js';
export { generateInstanceTag, isValidInstanceTag, MAX_INSTANCE_TAG, MIN_INSTANCE_TAG } from './instance-tag.js';
export { OtrSession, AKE_KEY_ID, HEARTBEAT_INTERVAL_MS, type MessageState, type SecureSession, type OtrSessionContext, type SessionStep } from './session.js';
export { DataKeyManager, counterFromBytes, counterToBytes, type DataPhaseStart, type SendingKeys, type SessionKeySlot } from './key-management.js';
export { deriveSessionKeys, deriveSessionKeysFromSecret, wipeSessionKeys, EXTRA_SYMMETRIC_KEY_BYTES, type SessionKeys } from './session-keys.js';
export {
  DATA_MESSAGE_FLAG,
  DATA_COUNTER_BYTES,
  DATA_MAC_BYTES,
  dataMessageMacInput,
  decodeDataMessage,
  encodeDataMessage,
  encodeDataMessageAuthenticatedFields,
  encodeOtrHeaderBytes,
  type DataMessage,
  type DataMessageAuthenticatedFields,
  type DecodedDataMessage,
} from './data-message.js';
export { decryptDataMessage, encryptDataMessage, type DataMessageAddress, type DecryptedDataMessage, type EncryptedDataMessage } from './data-exchange.js';
export { OTR_MESSAGE_TYPE, type OtrMessageType, type OtrVersion } from './message-types.js';
export { decodeOtrMessage, encodeOtrMessage, type DecodedOtrMessage, type OtrMessageHeader } from './encoded-message.js';
export { TLV_TYPE, decodeMessageWithTlvs, encodeMessageWithTlvs, encodeTlvs, decodeTlvs, type Tlv } from './tlv.js';
export { initiateAke, receiveAkeMessage, AUTH_STATE_NONE, type AkeResult, type AuthState } from './ake.js';
export { DEFAULT_MAX_ENCODED_MESSAGE_LENGTH, hasValidInstanceTags } from './encoded-message.js';
export { classifyIncoming, type IncomingMessage } from './classify.js';
export { buildQueryMessage, parseQueryVersions } from './query.js';
export { buildWhitespaceTag, findWhitespaceTag } from './whitespace-tag.js';
export { buildErrorMessage, parseErrorMessage, OTR_ERROR_CODE } from './error-message.js';
export { fragmentMessage, FragmentReassembler, parseFragment } from './fragment.js';
export type { SmpEvent, SmpState } from '../smp/index.js';
export { generateDsaKey, type DsaPrivateKey, type DsaPublicKey } from '../lib/core/crypto/dsa.js';
export { systemRandom, type RandomSource } from '../lib/core/random.js';
export { otrFingerprint, formatFingerprint, parseFingerprint } from './public-key.js';
export { parsePrivateKeyFile, writePrivateKeyFile, findAccountKey, type OtrAccountKey } from './private-key-file.js';
export { parseFingerprintFile, writeFingerprintFile, isTrustedFingerprint, type FingerprintEntry } from './fingerprint-file.js';
export { parseInstanceTagFile, writeInstanceTagFile, findInstanceTag, type InstanceTagEntry } from './instance-tag-file.js';
