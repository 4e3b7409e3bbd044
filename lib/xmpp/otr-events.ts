/**
 * The typed events of the OTR plugin: what an application shows (messages with their
 * security state, going secure/insecure, fingerprints, SMP) and what it should know (held
 * messages, delivery errors, rejected input). Events never carry secrets or plaintext other
 * than the decrypted message meant for the user.
 */
import type { ProtocolError } from '../core/errors.js';
import type { OtrEvent } from '../../otr/events.js';
import type { OtrVersion } from '../../otr/message-types.js';
import type { FingerprintTrust } from '../otr-account-store.js';

/** The security of a conversation (or of one received message). */
export type SecurityState =
  /** No OTR session: messages travel in plaintext. */
  | { readonly kind: 'plaintext' }
  /** MSGSTATE_ENCRYPTED with the peer's key `fingerprint` (40 lower-case hex digits). */
  | {
      readonly kind: 'encrypted';
      readonly fingerprint: string;
      readonly trust: FingerprintTrust;
      readonly version: OtrVersion;
      /** The peer's instance tag. */
      readonly instanceTag: number;
    }
  /** MSGSTATE_FINISHED: the peer ended the session; nothing is sent until it is ended or restarted. */
  | { readonly kind: 'finished'; readonly fingerprint: string };

/** A message from a peer, decrypted when it was encrypted. */
export interface OtrMessageEvent {
  /** The sender's full JID. */
  readonly from: string;
  readonly text: string;
  /** True when it arrived OTR-encrypted. */
  readonly encrypted: boolean;
  /** The conversation's security when it arrived. */
  readonly security: SecurityState;
  /** A plaintext message while encrypted, or while encryption is required. */
  readonly unencryptedWarning: boolean;
  /** The stanza carried a XEP-0203 delay (offline storage, stream-management resend). */
  readonly delayed: boolean;
  /** The stanza id, if any. */
  readonly id: string | undefined;
}

/** SMP progress and results (OTR v3 spec, "Socialist Millionaires' Protocol"). */
export type OtrSmpEvent =
  | { readonly jid: string; readonly kind: 'question'; readonly question: string }
  | { readonly jid: string; readonly kind: 'secret-needed' }
  | { readonly jid: string; readonly kind: 'progress'; readonly percent: number }
  /** The secrets matched; `verified` when the fingerprint was marked verified (we did not just answer a question). */
  | { readonly jid: string; readonly kind: 'succeeded'; readonly fingerprint: string; readonly verified: boolean }
  | { readonly jid: string; readonly kind: 'failed' }
  | { readonly jid: string; readonly kind: 'aborted'; readonly by: 'us' | 'peer' }
  | { readonly jid: string; readonly kind: 'cheated'; readonly reason: string };

/** Every event the plugin emits, by name. */
export interface OtrPluginEvents {
  /** A message from a peer (plaintext or decrypted). */
  message: OtrMessageEvent;
  /** The AKE completed with `jid`. */
  secure: {
    readonly jid: string;
    readonly fingerprint: string;
    readonly trust: FingerprintTrust;
    readonly version: OtrVersion;
    readonly instanceTag: number;
    /** Secure session id (16 hex digits) and the half to show in bold. */
    readonly ssid: string;
    readonly ssidBoldHalf: 'first' | 'second';
    readonly refreshed: boolean;
  };
  /** The encrypted session with `jid` ended (we ended it, or the peer did: then sending is refused). */
  insecure: { readonly jid: string; readonly reason: 'peer-ended' | 'we-ended' };
  /** The AKE authenticated a key; `isNew` the first time this fingerprint is seen for the peer. */
  fingerprint: { readonly jid: string; readonly fingerprint: string; readonly trust: FingerprintTrust; readonly isNew: boolean };
  /** The trust of a fingerprint changed (SMP success or failure, or the application). */
  trust: { readonly peer: string; readonly fingerprint: string; readonly trust: FingerprintTrust };
  /** SMP progress and results. */
  smp: OtrSmpEvent;
  /** Messages are held until the session with `jid` is encrypted (encryption required). */
  held: { readonly jid: string; readonly count: number };
  /**
   * Held messages cannot go out yet, and why: the server bounced our request
   * ('undeliverable'), the peer answered in plaintext (it may have no OTR), or the peer ended
   * the session ('peer-ended': end it and start again). They stay held (never sent in
   * plaintext) until a session is encrypted or the application calls `discardHeld`.
   */
  'held-blocked': { readonly jid: string; readonly count: number; readonly reason: 'undeliverable' | 'peer-answered-in-plaintext' | 'peer-ended' };
  /** Held messages were sent encrypted. */
  'held-sent': { readonly jid: string; readonly count: number };
  /** A message was not sent; `reason` says why (the peer ended the session, or OTR is off). */
  'not-sent': { readonly jid: string; readonly reason: 'finished' | 'otr-disabled' };
  /** The peer sent an OTR Error Message (untrusted text). */
  'peer-error': { readonly jid: string; readonly text: string };
  /** The server bounced a message we sent to `jid` (XMPP error condition). */
  'delivery-error': { readonly jid: string; readonly id: string | undefined; readonly condition: string | undefined };
  /** Input from the network was rejected, or storage failed; the sessions are unchanged. */
  'otr-error': { readonly jid: string | undefined; readonly error: ProtocolError };
  /** A peer's OTR instance (same instance tag) now writes from another resource; its session followed. */
  moved: { readonly from: string; readonly to: string; readonly instanceTag: number };
  /** Every engine event, raw (for debugging and tools). */
  'otr-event': { readonly jid: string; readonly event: OtrEvent };
}
