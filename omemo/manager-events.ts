/**
 * What the session manager hands back besides ciphertext and plaintext: messages it wants sent
 * on its own (key-exchange completion, heartbeats, session repair / replacement; XEP-0384
 * section 4.5 "empty OMEMO messages"), and events for the application.
 */
import type { OmemoVersion } from './fingerprint.js';
import type { TrustState } from './trust.js';
import type { AnyEncrypted } from './version-backend.js';
import type { XmlElement } from './xml-element.js';

/** Why the manager produced a message on its own. */
export type OutgoingReason =
  /** A key exchange built a session here: an empty message tells the initiator it was answered. */
  | 'key-exchange-completion'
  /** A receiving chain grew past the heartbeat threshold (~53) without an answer. */
  | 'heartbeat'
  /** OMEMO 0.3 automatic repair: a fresh session after an undecryptable message (once per device). */
  | 'session-repair'
  /** omemo:2 manual repair: the application asked to replace the sessions. */
  | 'session-replace';

/** An empty OMEMO message to send to `to` (a bare JID): wrap `element` in a `<message>`. */
export interface OutgoingMessage {
  readonly version: OmemoVersion;
  readonly to: string;
  readonly deviceId: number;
  readonly reason: OutgoingReason;
  readonly element: XmlElement;
  readonly encrypted: AnyEncrypted;
}

/** Events. Never carry secrets. */
export type OmemoEvent =
  /** A device was seen for the first time (bundle or key exchange); `trust` as the policy decided. */
  | { readonly kind: 'device-added'; readonly jid: string; readonly deviceId: number; readonly trust: TrustState }
  /** A device now presents another identity key: its sessions were dropped, trust decided anew. */
  | { readonly kind: 'identity-changed'; readonly jid: string; readonly deviceId: number; readonly trust: TrustState }
  /** A session was built. */
  | { readonly kind: 'session-built'; readonly version: OmemoVersion; readonly jid: string; readonly deviceId: number; readonly initiation: 'active' | 'passive' }
  /** A one-time prekey was used and deleted (and replaced): the bundle must be republished. */
  | { readonly kind: 'pre-key-used'; readonly version: OmemoVersion; readonly preKeyId: number };
