/**
 * What one client knows of one Multi-User Chat room (XEP-0045), kept for OMEMO (XEP-0384
 * section 6.7): the occupants by nick with their real JIDs (non-anonymous rooms, section
 * 7.2.3), the members, admins and owners by real JID (section 9.5, 10.5, 10.8; kept up to date
 * from presences and the room's affiliation announcements, example 195), our own occupancy
 * (status 110) and what the room says about its anonymity (status 100, 172-174, 104).
 *
 * Pure state: presences and notices go in (already decoded by muc-stanzas.ts), the changes come
 * out; no I/O. Everything here came from the network, so it is bounded: occupants and members
 * beyond the caps are ignored and the room is marked `overflow` (never encrypted to: the
 * recipient set would be incomplete), a presence from another room changes nothing, and an
 * item JID on the room's own service is not taken as a real JID.
 */
import { MUC_STATUS, RECIPIENT_AFFILIATIONS, type MucAffiliation, type MucPresence, type MucRoomFeatures, type MucRoomNotice } from './muc-stanzas.js';
import { bareJid } from './otr-stanzas.js';

/** Default bound on tracked occupants of one room. */
export const DEFAULT_MAX_OCCUPANTS = 1000;
/** Default bound on tracked members (owner/admin/member) of one room. */
export const DEFAULT_MAX_MEMBERS = 5000;

/** One occupant as the room shows it. */
export interface MucOccupant {
  readonly nick: string;
  /** Real bare JID; undefined when the room did not show it. */
  readonly jid: string | undefined;
  readonly affiliation: MucAffiliation | undefined;
}

/** Why an occupant (or we) left. */
export type MucLeaveReason = 'left' | 'kicked' | 'banned' | 'affiliation' | 'members-only' | 'shutdown';

/** A change the tracker saw, for events. */
export type MucChange =
  | { readonly kind: 'joined'; readonly nick: string; readonly jid: string | undefined }
  | { readonly kind: 'left'; readonly nick: string; readonly jid: string | undefined; readonly reason: MucLeaveReason }
  | { readonly kind: 'nick'; readonly nick: string; readonly newNick: string; readonly jid: string | undefined }
  | { readonly kind: 'affiliation'; readonly jid: string; readonly affiliation: MucAffiliation }
  | { readonly kind: 'self-joined'; readonly nick: string; readonly created: boolean }
  | { readonly kind: 'self-left'; readonly reason: MucLeaveReason }
  | { readonly kind: 'anonymity'; readonly nonAnonymous: boolean }
  | { readonly kind: 'config-changed' }
  | { readonly kind: 'overflow' };

/** Our occupancy. */
export type MucSelfState =
  | { readonly status: 'joining'; readonly nick: string }
  | { readonly status: 'joined'; readonly nick: string }
  | { readonly status: 'left'; readonly nick: string; readonly reason: MucLeaveReason };

/** Options of {@link MucRoomState}. */
export interface MucRoomStateOptions {
  readonly maxOccupants?: number;
  readonly maxMembers?: number;
}

function leaveReason(statuses: ReadonlySet<number>): MucLeaveReason {
  if (statuses.has(MUC_STATUS.banned)) return 'banned';
  if (statuses.has(MUC_STATUS.kicked)) return 'kicked';
  if (statuses.has(MUC_STATUS.affiliationChanged)) return 'affiliation';
  if (statuses.has(MUC_STATUS.membersOnly)) return 'members-only';
  if (statuses.has(MUC_STATUS.shutdown)) return 'shutdown';
  return 'left';
}

function domainOf(jid: string): string {
  const bare = bareJid(jid);
  const at = bare.indexOf('@');
  return at < 0 ? bare : bare.slice(at + 1);
}

/** The state of one room. */
export class MucRoomState {
  /** The room's bare JID. */
  readonly room: string;
  readonly #service: string;
  readonly #maxOccupants: number;
  readonly #maxMembers: number;
  readonly #occupants = new Map<string, MucOccupant>();
  readonly #members = new Map<string, MucAffiliation>();
  #self: MucSelfState;
  #overflow = false;
  /** What status codes said about anonymity (undefined: nothing). */
  #statusNonAnonymous: boolean | undefined;
  #features: MucRoomFeatures | undefined;
  #featuresStale = true;

  constructor(room: string, nick: string, options: MucRoomStateOptions = {}) {
    if (typeof room !== 'string' || room.length === 0 || room.includes('/')) throw new TypeError('MucRoomState: room must be a bare JID');
    if (typeof nick !== 'string' || nick.length === 0) throw new TypeError('MucRoomState: nick must be a non-empty string');
    this.room = bareJid(room);
    this.#service = domainOf(this.room);
    this.#maxOccupants = options.maxOccupants ?? DEFAULT_MAX_OCCUPANTS;
    this.#maxMembers = options.maxMembers ?? DEFAULT_MAX_MEMBERS;
    if (!Number.isInteger(this.#maxOccupants) || this.#maxOccupants < 1) throw new RangeError('MucRoomState: maxOccupants must be a positive integer');
    if (!Number.isInteger(this.#maxMembers) || this.#maxMembers < 1) throw new RangeError('MucRoomState: maxMembers must be a positive integer');
    this.#self = { status: 'joining', nick };
  }

  /** Our occupancy. */
  get self(): MucSelfState {
    return this.#self;
  }

  /** Occupants by nick (ours included once joined). */
  get occupants(): ReadonlyMap<string, MucOccupant> {
    return this.#occupants;
  }

  /** Owners, admins and members by real bare JID. */
  get members(): ReadonlyMap<string, MucAffiliation> {
    return this.#members;
  }

  /** More occupants or members arrived than the caps allow: the recipient set is incomplete. */
  get overflow(): boolean {
    return this.#overflow;
  }

  /** What status codes last said about anonymity (100/172: true, 173/174: false), if anything. */
  get statusNonAnonymous(): boolean | undefined {
    return this.#statusNonAnonymous;
  }

  /** The disco#info features last read, if any. */
  get features(): MucRoomFeatures | undefined {
    return this.#features;
  }

  /** The features must be read again (never read, or the room said its configuration changed). */
  get featuresStale(): boolean {
    return this.#featuresStale;
  }

  /** Records the room's disco#info features. */
  setFeatures(features: MucRoomFeatures): void {
    this.#features = features;
    this.#featuresStale = false;
    this.#statusNonAnonymous = undefined;
  }

  /** Occupants whose real JID the room did not show. */
  occupantsWithoutJid(): string[] {
    return [...this.#occupants.values()].filter((o) => o.jid === undefined).map((o) => o.nick);
  }

  /** The real JID of the occupant `nick`, if known. */
  realJidOf(nick: string): string | undefined {
    return this.#occupants.get(nick)?.jid;
  }

  /**
   * The bare JIDs to encrypt to: the real JIDs of all occupants and (unless
   * `includeOfflineMembers` is false) every owner, admin and member, as XEP-0384 section 6.7.1
   * asks; `exclude` (our own account: the session manager adds our other devices) left out.
   */
  recipients(options: { readonly includeOfflineMembers?: boolean; readonly exclude?: string } = {}): string[] {
    const out = new Set<string>();
    for (const o of this.#occupants.values()) if (o.jid !== undefined) out.add(o.jid);
    if (options.includeOfflineMembers !== false) for (const jid of this.#members.keys()) out.add(jid);
    if (options.exclude !== undefined) out.delete(bareJid(options.exclude));
    return [...out].sort();
  }

  /** A real JID the room names is refused when it is the room itself or on the room's service (an occupant JID is not a real JID). */
  #realJid(jid: string | undefined): string | undefined {
    if (jid === undefined) return undefined;
    if (jid === this.room || domainOf(jid) === this.#service) return undefined;
    return jid;
  }

  #setAffiliation(jid: string | undefined, affiliation: MucAffiliation | undefined, changes: MucChange[]): void {
    if (jid === undefined || affiliation === undefined) return;
    const before = this.#members.get(jid);
    if (RECIPIENT_AFFILIATIONS.includes(affiliation)) {
      if (before === affiliation) return;
      if (before === undefined && this.#members.size >= this.#maxMembers) {
        this.#markOverflow(changes);
        return;
      }
      this.#members.set(jid, affiliation);
    } else {
      if (before === undefined) return;
      this.#members.delete(jid);
    }
    changes.push({ kind: 'affiliation', jid, affiliation });
  }

  #markOverflow(changes: MucChange[]): void {
    if (!this.#overflow) changes.push({ kind: 'overflow' });
    this.#overflow = true;
  }

  #statuses(statuses: ReadonlySet<number>, changes: MucChange[]): void {
    let value: boolean | undefined;
    if (statuses.has(MUC_STATUS.nonAnonymous) || statuses.has(MUC_STATUS.nowNonAnonymous)) value = true;
    if (statuses.has(MUC_STATUS.nowSemiAnonymous) || statuses.has(MUC_STATUS.nowFullyAnonymous)) value = false;
    if (value !== undefined && value !== this.#statusNonAnonymous) {
      this.#statusNonAnonymous = value;
      changes.push({ kind: 'anonymity', nonAnonymous: value });
    }
    if (statuses.has(MUC_STATUS.configChanged) || statuses.has(MUC_STATUS.nowNonAnonymous) || statuses.has(MUC_STATUS.nowSemiAnonymous) || statuses.has(MUC_STATUS.nowFullyAnonymous)) {
      this.#featuresStale = true;
      changes.push({ kind: 'config-changed' });
    }
  }

  /** Applies an occupant presence; a presence of another room (or an error presence) changes nothing. */
  applyPresence(p: MucPresence): MucChange[] {
    const changes: MucChange[] = [];
    if (p.room !== this.room || p.type === 'error') return changes;
    const isSelf = p.statuses.has(MUC_STATUS.self);
    const jid = this.#realJid(p.item?.jid);
    if (p.type === 'available') {
      if (isSelf || this.#self.status === 'joining') this.#statuses(p.statuses, changes);
      const existing = this.#occupants.get(p.nick);
      if (existing === undefined && this.#occupants.size >= this.#maxOccupants) {
        this.#markOverflow(changes);
        return changes;
      }
      // Once a real JID was shown for a nick, a later presence cannot swap it for another person without leaving first.
      const realJid = existing?.jid !== undefined && jid !== undefined && existing.jid !== jid ? existing.jid : (jid ?? existing?.jid);
      this.#occupants.set(p.nick, { nick: p.nick, jid: realJid, affiliation: p.item?.affiliation ?? existing?.affiliation });
      if (existing === undefined) changes.push({ kind: 'joined', nick: p.nick, jid: realJid });
      if (realJid !== undefined && realJid === jid) this.#setAffiliation(realJid, p.item?.affiliation, changes);
      if (isSelf && this.#self.status !== 'joined') {
        this.#self = { status: 'joined', nick: p.nick };
        changes.push({ kind: 'self-joined', nick: p.nick, created: p.statuses.has(MUC_STATUS.created) });
      }
      return changes;
    }
    // unavailable
    const existing = this.#occupants.get(p.nick);
    const occupantJid = existing?.jid ?? jid;
    if (p.statuses.has(MUC_STATUS.nickChanged) && p.item?.nick !== undefined) {
      this.#occupants.delete(p.nick);
      if (existing !== undefined) this.#occupants.set(p.item.nick, { ...existing, nick: p.item.nick });
      changes.push({ kind: 'nick', nick: p.nick, newNick: p.item.nick, jid: occupantJid });
      if (isSelf && this.#self.status !== 'left') this.#self = { ...this.#self, nick: p.item.nick };
      return changes;
    }
    this.#occupants.delete(p.nick);
    const reason = leaveReason(p.statuses);
    if (occupantJid !== undefined && (reason === 'banned' || reason === 'affiliation' || reason === 'members-only')) {
      this.#setAffiliation(occupantJid, p.item?.affiliation ?? (reason === 'banned' ? 'outcast' : 'none'), changes);
    }
    if (isSelf) {
      this.#self = { status: 'left', nick: this.#self.nick, reason };
      this.#occupants.clear();
      changes.push({ kind: 'self-left', reason });
    } else if (existing !== undefined) {
      changes.push({ kind: 'left', nick: p.nick, jid: occupantJid, reason });
    }
    return changes;
  }

  /** Applies a notice of the room (affiliation announcements for people not in the room, configuration status codes). */
  applyNotice(n: MucRoomNotice): MucChange[] {
    const changes: MucChange[] = [];
    if (n.room !== this.room) return changes;
    for (const item of n.items) this.#setAffiliation(this.#realJid(item.jid), item.affiliation, changes);
    this.#statuses(n.statuses, changes);
    return changes;
  }

  /** Replaces the members of one affiliation with a fetched list (XEP-0045 sections 9.5, 10.5, 10.8). */
  setAffiliationList(affiliation: MucAffiliation, entries: readonly { readonly jid: string; readonly affiliation: MucAffiliation }[]): MucChange[] {
    const changes: MucChange[] = [];
    const listed = new Set<string>();
    for (const e of entries) {
      const jid = this.#realJid(e.jid);
      if (jid === undefined || e.affiliation !== affiliation) continue;
      listed.add(jid);
      this.#setAffiliation(jid, affiliation, changes);
    }
    for (const [jid, a] of [...this.#members]) if (a === affiliation && !listed.has(jid)) this.#setAffiliation(jid, 'none', changes);
    return changes;
  }

  /** Marks the room as left by us (we sent unavailable, or the connection dropped). */
  markLeft(reason: MucLeaveReason = 'left'): void {
    this.#self = { status: 'left', nick: this.#self.nick, reason };
    this.#occupants.clear();
  }
}
