/**
 * Typed errors of OMEMO group chats (XEP-0384 section 6.7 over XEP-0045). Each has a stable
 * `code`; none carries plaintext or keys.
 */
import { ProtocolError, StateError } from '../core/errors.js';

/** Why a room cannot carry OMEMO. */
export type MucUnsuitableReason =
  /** disco#info lacks `muc_nonanonymous`, or the room said it became (semi-)anonymous (status 173/174). */
  | 'semi-anonymous'
  /** disco#info lacks `muc_membersonly` (required unless the option says otherwise). */
  | 'not-members-only'
  /** An occupant's real JID was not shown although the room claims to be non-anonymous. */
  | 'occupant-without-jid'
  /** More occupants or members than the bounds allow: the recipient set would be incomplete. */
  | 'overflow'
  /** The room is not a MUC room (disco#info lacks the MUC feature). */
  | 'not-a-room';

/**
 * The room cannot carry OMEMO (XEP-0384 section 6.7: non-anonymous, members-only): nothing was
 * sent, in particular no plaintext. Code `xmpp.omemo.muc-<reason>`.
 */
export class MucNotSuitableError extends StateError {
  readonly reason: MucUnsuitableReason;
  readonly room: string;
  constructor(room: string, reason: MucUnsuitableReason, detail?: string) {
    super(`xmpp.omemo.muc-${reason}`, `the room cannot carry OMEMO: ${reason}${detail === undefined ? '' : ` (${detail})`}`);
    this.reason = reason;
    this.room = room;
  }
}

/** We are not (or no longer) an occupant of the room. Code `xmpp.omemo.muc-not-joined`. */
export class MucNotJoinedError extends StateError {
  readonly room: string;
  constructor(room: string) {
    super('xmpp.omemo.muc-not-joined', 'not an occupant of the room');
    this.room = room;
  }
}

/** The room refused our join (XEP-0045 section 7.2: registration-required, not-authorized, conflict...). Code `xmpp.omemo.muc-join-<condition>`. */
export class MucJoinError extends ProtocolError {
  readonly room: string;
  readonly condition: string;
  constructor(room: string, condition: string) {
    super(`xmpp.omemo.muc-join-${condition}`, `the room refused the join: ${condition}`);
    this.room = room;
    this.condition = condition;
  }
}
