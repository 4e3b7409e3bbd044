/**
 * Events a conversation reports to the application (the equivalent of libotr's
 * `handle_msg_event`, `gone_secure`, `gone_insecure`, `new_fingerprint` and SMP callbacks).
 * Events never carry secrets other than the extra symmetric key the application asked for.
 */
import type { ProtocolError } from '../lib/core/errors.js';
import type { SmpEvent } from '../smp/index.js';
import type { OtrVersion } from './message-types.js';

/** Why an encrypted session ended. */
export type WentInsecureReason =
  /** The peer sent a Disconnected TLV: we are now in MSGSTATE_FINISHED. */
  | 'peer-ended'
  /** We ended the session (`end()`): back to MSGSTATE_PLAINTEXT. */
  | 'we-ended';

/** Why a received message was ignored without an error. */
export type IgnoredReason =
  /** v3 receiver instance tag is another instance's (spec, "Instance Tags"). */
  | 'other-instance'
  /** v3 sender tag < 0x100 or receiver tag in 1..0xff. */
  | 'bad-instance-tag'
  /** A protocol version the policy does not allow. */
  | 'version-not-allowed'
  /** The AKE ignored it (unexpected in state, lost commit comparison, ...). */
  | 'ake-ignored'
  /** An unreadable Data Message with IGNORE_UNREADABLE set. */
  | 'unreadable-flagged-ignore'
  /** A Query Message or tag offering no version we allow. */
  | 'no-common-version'
  /** A new remote instance while `MAX_REMOTE_INSTANCES` sessions are busy. */
  | 'too-many-instances';

/** One event. */
export type OtrEvent =
  /** The AKE completed: messages to this instance are now encrypted. */
  | {
      readonly kind: 'went-secure';
      readonly version: OtrVersion;
      /** The peer's long-term key fingerprint (20 bytes). */
      readonly fingerprint: Uint8Array;
      /** Secure session id (8 bytes). */
      readonly ssid: Uint8Array;
      /** The half of the ssid to show in bold (spec). */
      readonly ssidBoldHalf: 'first' | 'second';
      /** The peer's instance tag (0 for v2). */
      readonly instanceTag: number;
      /** True when this AKE replaced a session that was already encrypted. */
      readonly refreshed: boolean;
    }
  /** An encrypted session ended. */
  | { readonly kind: 'went-insecure'; readonly reason: WentInsecureReason; readonly instanceTag: number }
  /** The AKE authenticated this long-term key fingerprint (the app decides whether it is trusted). */
  | { readonly kind: 'fingerprint-seen'; readonly fingerprint: Uint8Array; readonly instanceTag: number }
  /** A message from the peer was rejected; `error.code` says why. */
  | { readonly kind: 'error'; readonly error: ProtocolError }
  /** The peer sent an OTR Error Message (untrusted text). */
  | { readonly kind: 'peer-error-message'; readonly text: string }
  /** The peer asked to use the extra symmetric key (TLV 8), or we did. */
  | {
      readonly kind: 'extra-symmetric-key';
      readonly key: Uint8Array;
      readonly use: number;
      readonly useData: Uint8Array;
      readonly fromPeer: boolean;
    }
  /** An SMP event from `smp/` (question, secret-needed, progress, succeeded, failed, aborted, cheated). */
  | { readonly kind: 'smp'; readonly event: SmpEvent }
  /** Messages are held until the session is encrypted (REQUIRE_ENCRYPTION); `count` are waiting. */
  | { readonly kind: 'held-until-encrypted'; readonly count: number }
  /** Held messages were encrypted and sent. */
  | { readonly kind: 'held-messages-sent'; readonly count: number }
  /** A message was not sent: the peer ended the session (MSGSTATE_FINISHED); end() or restart the AKE. */
  | { readonly kind: 'send-refused'; readonly reason: 'finished' }
  /** A plaintext message arrived while encrypted/finished, or while REQUIRE_ENCRYPTION is set. */
  | { readonly kind: 'unencrypted-received' }
  /** We sent a heartbeat (empty Data Message) to let keys rotate. */
  | { readonly kind: 'heartbeat-sent' }
  /** The peer sent a heartbeat (Data Message with empty human-readable part). */
  | { readonly kind: 'heartbeat-received' }
  /** A received message was ignored, as the spec or libotr prescribes. */
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason }
  /** An AKE started (we sent a D-H Commit). */
  | { readonly kind: 'ake-started'; readonly version: OtrVersion };

/** The result of every conversation operation. */
export interface OtrResult {
  /** Wire messages to send, in order. */
  readonly toSend: string[];
  /** What to show the user, if anything. */
  readonly show: { readonly text: string; readonly encrypted: boolean } | undefined;
  /** What happened. */
  readonly events: OtrEvent[];
}
