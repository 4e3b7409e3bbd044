/**
 * xmpp-otr-omemo: end-to-end encryption for @xmpp/client. The package's public entry:
 *
 * - `otrPlugin(xmpp, options)`: OTR v3 (with SMP) for an @xmpp/client 0.14 client
 *   (lib/xmpp/otr-plugin.ts), its typed events and helpers;
 * - `secureClient(options)` / `secureTransport(xmpp, tls)`: TLS the application controls
 *   (custom CA, SPKI pins, plaintext refused), lib/xmpp/secure-client.ts;
 * - `OtrAccountStore`: the account's DSA key, instance tag and fingerprints with trust, with
 *   libotr file import/export; `FileStore` (atomic, optionally passphrase-encrypted),
 *   `MemoryStore`, `OverlayStore` and the `KeyValueStore` interface;
 * - `omemoPlugin(xmpp, options)`: OMEMO 0.3 and omemo:2 over PEP (lib/xmpp/omemo-plugin.ts),
 *   with MAM catch-up (`catchUp()`, XEP-0313 client `MamClient` in lib/xmpp/mam.ts),
 *   `omemoMuc(xmpp, omemo)` for group chats (XEP-0384 section 6.7 over XEP-0045, lib/xmpp/omemo-muc.ts),
 *   and `EncryptionChooser` for OTR and OMEMO side by side;
 * - `omemoMedia({ omemo, iqCaller }, options)`: encrypted media, XEP-0454 `aesgcm://` files
 *   uploaded with XEP-0363 over validated HTTPS (lib/xmpp/omemo-media.ts), and `httpUpload`;
 * - `pushNotifications(deps)`: XEP-0357 registration with persisted, re-enabled registrations;
 * - the OTR types an application sees (policies, engine events, SMP events), and typed errors.
 *
 * The transport-free engines stay available as `xmpp-otr-omemo/otr`, `/smp` and `/omemo`.
 */
export {
  otrPlugin,
  OtrPlugin,
  resolvePolicy,
  defaultStorePath,
  type OtrPluginOptions,
  type OtrPolicyName,
  type SendOutcome,
  type OtrSessionInfo,
} from './xmpp/otr-plugin.js';
export type { OtrPluginEvents, OtrMessageEvent, OtrSmpEvent, SecurityState } from './xmpp/otr-events.js';
export { buildChatMessage, readIncomingChat, NS_EME, NS_OTR, NS_HINTS, NS_CARBONS, type IncomingChat } from './xmpp/otr-stanzas.js';
export {
  secureClient,
  secureTransport,
  TlsError,
  type SecureClientOptions,
  type SecureTransport,
  type SecureXmppClient,
  type TlsErrorCode,
  type TlsOptions,
  type InsecureTlsOptions,
  type ConnectionSecurity,
  type ServerCertificateInfo,
} from './xmpp/secure-client.js';
export type { XmppDependencies, EntityLike, MiddlewareLike, StreamManagementLike } from './xmpp/xmpp-types.js';
export {
  OtrAccountStore,
  type FingerprintTrust,
  type KnownFingerprint,
  type LibotrFiles,
  type LibotrAccountSelector,
  type LibotrImportSummary,
  type OtrAccountStoreOptions,
} from './otr-account-store.js';
export { FileStore, type FileStoreOptions, type ScryptParameters } from './core/store/file-store.js';
export { MemoryStore, type KeyValueStore } from './core/store/store.js';
export { OverlayStore } from './core/store/overlay-store.js';
export { ProtocolError, MalformedMessageError, VerificationError, StateError, StorageError } from './core/errors.js';
export {
  OTR_POLICY_ALWAYS,
  OTR_POLICY_DEFAULT,
  OTR_POLICY_MANUAL,
  OTR_POLICY_NEVER,
  OTR_POLICY_OPPORTUNISTIC,
  type OtrPolicy,
} from '../otr/policy.js';
export type { OtrEvent, WentInsecureReason, IgnoredReason } from '../otr/events.js';
export type { OtrVersion } from '../otr/message-types.js';
export { formatFingerprint, parseFingerprint } from '../otr/public-key.js';
export type { SmpEvent } from '../smp/index.js';
export {
  OmemoPlugin,
  omemoPlugin,
  type OmemoPluginOptions,
  type OmemoSendOptions,
  type OmemoSendResult,
  type OmemoXmppDependencies,
  type IqCalleeLike,
  type OmemoMamOptions,
} from './xmpp/omemo-plugin.js';
export type { OmemoPluginEvents, OmemoMessageEvent, OmemoDuplicateReason } from './xmpp/omemo-events.js';
export type { CatchUpResult, CatchUpRunOptions } from './xmpp/omemo-catch-up.js';
export {
  MamClient,
  MamError,
  buildMamQuery,
  readMamResult,
  readMamFin,
  NS_MAM,
  type MamFilter,
  type MamPage,
  type MamResult,
  type MamFin,
  type MamPagingOptions,
  type MamClientOptions,
  type MamIqCallerLike,
} from './xmpp/mam.js';
export { OmemoPep, type IqCallerLike, type FetchedDeviceList } from './xmpp/omemo-pep.js';
export { OMEMO_FALLBACK_BODY, OMEMO_NOTIFY_FEATURES } from './xmpp/omemo-stanzas.js';
export {
  OmemoMuc,
  omemoMuc,
  type OmemoMucDependencies,
  type OmemoMucOptions,
  type MucJoinOptions,
  type MucJoinResult,
  type OmemoMucSendOptions,
  type OmemoMucSendResult,
} from './xmpp/omemo-muc.js';
export type { OmemoMucEvents, OmemoMucMessageEvent } from './xmpp/muc-events.js';
export { MucJoinError, MucNotJoinedError, MucNotSuitableError, type MucUnsuitableReason } from './xmpp/muc-errors.js';
export { MucRoomState, type MucChange, type MucOccupant, type MucLeaveReason, type MucSelfState } from './xmpp/muc-occupants.js';
export { configSubmitQuery, type MucAffiliation, type MucRole, type MucRoomFeatures, type OmemoRoomConfig } from './xmpp/muc-stanzas.js';
export { EncryptionChooser, type EncryptionPreference, type ProtocolChoice, type ChosenSend } from './xmpp/omemo-otr-choice.js';
export {
  pushNotifications,
  PushError,
  type PushClient,
  type PushDependencies,
  type PushRegistration,
  type EnableOptions,
  type PushErrorCode,
  type PushSupport,
  type EncryptedPushBlob,
  type PushPayloadContent,
} from './xmpp/push.js';
export { registerPushDevice, unregisterPushDevice, type PushDeviceTarget, type AppServerRegistration } from './xmpp/push-registration.js';
export {
  OmemoMedia,
  omemoMedia,
  type OmemoMediaDependencies,
  type OmemoMediaOptions,
  type OmemoMediaSender,
  type SendFileOptions,
  type SendFileResult,
  type DownloadOptions,
} from './xmpp/omemo-media.js';
export {
  HttpUpload,
  httpUpload,
  NS_HTTP_UPLOAD,
  ALLOWED_SLOT_HEADERS,
  type HttpUploadDependencies,
  type HttpUploadOptions,
  type UploadIqCaller,
  type UploadService,
  type UploadFile,
  type UploadSlot,
} from './xmpp/http-upload.js';
export { parseAesgcmUrl, formatAesgcmUrl, findAesgcmUrl, AESGCM_SCHEME, type AesgcmUrl } from './xmpp/aesgcm-url.js';
export { MediaError, type MediaErrorCode } from './xmpp/media-errors.js';
export type { HttpsTransferOptions } from './xmpp/https-transfer.js';
export { encryptMedia, decryptMedia, generateMediaKey, type MediaKey } from './core/crypto/media-encryption.js';
