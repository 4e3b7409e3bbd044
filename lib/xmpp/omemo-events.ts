/**
 * The typed events of the OMEMO plugin (XEP-0384 0.3.0 and omemo:2): decrypted messages with
 * the sender device and its trust, device list changes seen over PEP, the session manager's
 * own events, and typed errors for hostile or undecryptable input. Events never carry secrets.
 */
import type { ProtocolError } from '../core/errors.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import type { OmemoEvent } from '../../omemo/manager-events.js';
import type { TrustState } from '../../omemo/trust.js';

/** A decrypted OMEMO message. */
export interface OmemoMessageEvent {
  /** Bare JID of the sender (ours when `carbon` is 'sent'). */
  readonly from: string;
  /** Full JID as stamped by the server. */
  readonly fromFull: string;
  /** Bare JID the message was addressed to (the contact's for a sent carbon). */
  readonly to: string;
  /** The conversation partner: `from` for received messages, `to` for sent carbons. */
  readonly peer: string;
  readonly text: string;
  readonly version: OmemoVersion;
  readonly senderDeviceId: number;
  /** The sender device's effective trust (XEP-0384 section 7 / BTBV). */
  readonly trust: TrustState;
  /** XEP-0280 copy: 'sent' (another device of ours sent it), 'received', or undefined. */
  readonly carbon: 'sent' | 'received' | undefined;
  readonly keyExchange: boolean;
  readonly id: string | undefined;
  /** omemo:2: the SCE envelope's `<time stamp>` as sent (XEP-0082), when present. */
  readonly sentAt: string | undefined;
  /**
   * Set when the message came from the archive (XEP-0313 catch-up): the archive's id (the
   * XEP-0359 stanza-id) and when the server archived it (XEP-0203 delay stamp, ISO 8601).
   */
  readonly archived?: { readonly archiveId: string; readonly stamp: string | undefined } | undefined;
}

/**
 * Why a message was recognised as one already handled: 'already-seen' (same stanza-id /
 * message id as one processed live, from offline storage or by a catch-up), 'key-exchange-replay'
 * (the manager recognised the key-exchange message: no prekey consumed twice),
 * 'ratchet-duplicate' (an archived message whose key was used already), 'pre-key-used' (an
 * archived key exchange naming a prekey this device consumed, with a session to the sender).
 */
export type OmemoDuplicateReason = 'already-seen' | 'key-exchange-replay' | 'ratchet-duplicate' | 'pre-key-used';

/** The events, by name. */
export interface OmemoPluginEvents {
  readonly message: OmemoMessageEvent;
  /** A device list was learnt (fetched or pushed by a PEP notification). */
  readonly devices: { readonly jid: string; readonly version: OmemoVersion; readonly deviceIds: readonly number[]; readonly source: 'fetch' | 'notification' };
  /** Our bundle or device list went out. */
  readonly published: { readonly version: OmemoVersion; readonly what: 'bundle' | 'device-list' };
  /** An event of the session manager (device added, identity changed, session built, prekey used). */
  readonly manager: OmemoEvent;
  /** An empty OMEMO message (key-exchange completion, heartbeat, repair) was received and consumed. */
  readonly 'empty-message': { readonly from: string; readonly version: OmemoVersion; readonly senderDeviceId: number };
  /** A message handled before arrived again (offline storage and MAM, a replayed archive): not shown twice, not an error. */
  readonly duplicate: {
    readonly from: string; readonly version: OmemoVersion; readonly id: string | undefined; readonly archiveId: string | undefined; readonly reason: OmemoDuplicateReason;
  };
  /** Hostile, undecryptable or failed input/output: the session stays usable. */
  readonly 'omemo-error': { readonly from: string | undefined; readonly version: OmemoVersion | undefined; readonly error: ProtocolError };
}
