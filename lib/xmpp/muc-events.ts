/**
 * The typed events of OMEMO group chats (XEP-0384 section 6.7 over XEP-0045): decrypted room
 * messages with the sender's nick, real JID, device and trust; our own messages reflected by
 * the room; occupant and affiliation changes; typed errors. Events never carry keys, and
 * plaintext only in `message.text`.
 */
import type { ProtocolError } from '../core/errors.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import type { OmemoEvent } from '../../omemo/manager-events.js';
import type { TrustState } from '../../omemo/trust.js';
import type { MucChange } from './muc-occupants.js';

/** A decrypted OMEMO group chat message. */
export interface OmemoMucMessageEvent {
  /** The room's bare JID. */
  readonly room: string;
  /** The sender's nick in the room. */
  readonly nick: string;
  /** The sender's real bare JID (ours for our own messages). */
  readonly from: string;
  readonly text: string;
  readonly version: OmemoVersion;
  /** The sending device (ours for an echo). */
  readonly senderDeviceId: number;
  /** The sending device's effective trust (XEP-0384 section 7); 'trusted' for an echo of this device. */
  readonly trust: TrustState;
  /** Sent by our account (this device or another one of ours). */
  readonly own: boolean;
  /**
   * The room reflected a message this device sent (XEP-0045 section 7.4: the room echoes every
   * message to its sender). It was never encrypted to this device; `text` is what we sent,
   * recognised by its XEP-0359 origin-id.
   */
  readonly echo: boolean;
  readonly keyExchange: boolean;
  /** The message's origin-id (XEP-0359) or id attribute. */
  readonly id: string | undefined;
  /** The room's XEP-0359 stanza-id, when it stamps one. */
  readonly stanzaId: string | undefined;
  /** omemo:2: the SCE envelope's `<time stamp>` (XEP-0082), when present. */
  readonly sentAt: string | undefined;
}

/** The events, by name. */
export interface OmemoMucEvents {
  readonly message: OmemoMucMessageEvent;
  /** Occupants joined, left, changed nick; affiliations changed; we joined or left; the room changed its configuration. */
  readonly change: { readonly room: string; readonly change: MucChange };
  /** An event of the session manager (session built, device added) caused by group chat traffic. */
  readonly manager: OmemoEvent;
  /** Hostile, undecryptable or failed input: the room and the sessions stay usable. */
  readonly error: { readonly room: string; readonly nick: string | undefined; readonly from: string | undefined; readonly version: OmemoVersion | undefined; readonly error: ProtocolError };
}
