/**
 * Pure element builders and readers for Multi-User Chat (XEP-0045) as OMEMO group chats need
 * it (XEP-0384 section 6.7 "Group Chats"): the join presence (section 7.2), occupant
 * presences with the `muc#user` item and status codes (sections 7.2.2-7.2.4, 7.6, 8.2, 9.1,
 * 9.4, 10.x), affiliation announcements for people not in the room (section 9.3, example
 * 195), room features from disco#info (section 6.4: `muc_nonanonymous`, `muc_membersonly`),
 * affiliation lists and changes (`muc#admin`, sections 9.3, 9.5, 10.5, 10.8) and the owner's
 * configuration form (`muc#owner`, section 10.2). No I/O: the readers take what the network
 * sent and return plain values, or undefined when the stanza is not theirs.
 */
import { xml, type Element } from '@xmpp/xml';
import { NS_DATA } from './omemo-stanzas.js';
import { bareJid } from './otr-stanzas.js';

/** XEP-0045 namespaces. */
export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
/** XEP-0359 unique and stable stanza ids. */
export const NS_SID = 'urn:xmpp:sid:0';

/** Affiliations (XEP-0045 section 5.2). */
export const MUC_AFFILIATIONS = ['owner', 'admin', 'member', 'none', 'outcast'] as const;
export type MucAffiliation = (typeof MUC_AFFILIATIONS)[number];
/** Roles (XEP-0045 section 5.1). */
export const MUC_ROLES = ['moderator', 'participant', 'visitor', 'none'] as const;
export type MucRole = (typeof MUC_ROLES)[number];

/** The affiliations whose holders are OMEMO recipients (XEP-0384 section 6.7.1: members, admins, owners). */
export const RECIPIENT_AFFILIATIONS: readonly MucAffiliation[] = ['owner', 'admin', 'member'];

/** Status codes the tracker acts on (XEP-0045 section 15.6.2 registry). */
export const MUC_STATUS = {
  /** Room is non-anonymous (in self-presence on join, or a config change message). */
  nonAnonymous: 100,
  /** Room now shows unavailable members. */
  configChanged: 104,
  /** This presence is about the receiving user. */
  self: 110,
  /** Room now non-anonymous. */
  nowNonAnonymous: 172,
  /** Room now semi-anonymous. */
  nowSemiAnonymous: 173,
  /** Room now fully anonymous. */
  nowFullyAnonymous: 174,
  /** A new room was created. */
  created: 201,
  /** Banned. */
  banned: 301,
  /** New nickname. */
  nickChanged: 303,
  /** Kicked. */
  kicked: 307,
  /** Removed because of an affiliation change. */
  affiliationChanged: 321,
  /** Removed because the room became members-only. */
  membersOnly: 322,
  /** Removed because the service shuts down. */
  shutdown: 332,
} as const;

/** Longest JID we accept from the network (RFC 7622: 3 x 1023 octets plus separators). */
export const MAX_JID_LENGTH = 3071;
/** Status codes read per presence (anything beyond is ignored). */
const MAX_STATUS_CODES = 32;

function isAffiliation(v: unknown): v is MucAffiliation {
  return typeof v === 'string' && (MUC_AFFILIATIONS as readonly string[]).includes(v);
}

function isRole(v: unknown): v is MucRole {
  return typeof v === 'string' && (MUC_ROLES as readonly string[]).includes(v);
}

/** The resource of a full JID (the nick for an occupant JID), or undefined. */
export function resourceOf(jid: string): string | undefined {
  const slash = jid.indexOf('/');
  return slash < 0 ? undefined : jid.slice(slash + 1);
}

/** Whether `jid` looks like a usable JID: bounded, has a domain, no whitespace (RFC 7622 in spirit, not in full). */
export function plausibleJid(jid: string): boolean {
  if (jid.length === 0 || jid.length > MAX_JID_LENGTH || /\s/u.test(jid)) return false;
  const bare = jid.split('/')[0] ?? '';
  const at = bare.indexOf('@');
  const domain = at < 0 ? bare : bare.slice(at + 1);
  return domain.length > 0 && !domain.includes('@') && (at !== 0);
}

// ---- builders ---------------------------------------------------------------------------------

/** `<presence to='room/nick'><x xmlns=muc><history maxstanzas/></x></presence>` (XEP-0045 section 7.2.1, 7.2.15). */
export function joinPresence(room: string, nick: string, options: { readonly password?: string; readonly maxHistory?: number } = {}): Element {
  const x = xml('x', { xmlns: NS_MUC });
  if (options.maxHistory !== undefined) x.append(xml('history', { maxstanzas: String(options.maxHistory) }));
  if (options.password !== undefined) x.append(xml('password', {}, options.password));
  return xml('presence', { to: `${room}/${nick}` }, x);
}

/** `<presence to='room/nick' type='unavailable'/>` (XEP-0045 section 7.14). */
export function leavePresence(room: string, nick: string): Element {
  return xml('presence', { to: `${room}/${nick}`, type: 'unavailable' });
}

/** `<query xmlns=muc#admin><item affiliation/></query>`: the list of one affiliation (XEP-0045 sections 9.5, 10.5, 10.8). */
export function affiliationListQuery(affiliation: MucAffiliation): Element {
  return xml('query', { xmlns: NS_MUC_ADMIN }, xml('item', { affiliation }));
}

/** `<query xmlns=muc#admin><item affiliation jid/></query>`: grants or revokes an affiliation (XEP-0045 section 9.3, 9.4, 10.3). */
export function setAffiliationQuery(jid: string, affiliation: MucAffiliation, reason?: string): Element {
  const item = xml('item', { affiliation, jid: bareJid(jid) });
  if (reason !== undefined) item.append(xml('reason', {}, reason));
  return xml('query', { xmlns: NS_MUC_ADMIN }, item);
}

/** `<query xmlns=muc#owner/>`: asks for the configuration form (XEP-0045 section 10.2). */
export function configFormQuery(): Element {
  return xml('query', { xmlns: NS_MUC_OWNER });
}

/** The room configuration OMEMO needs (XEP-0045 section 10.2, `muc#roomconfig` FORM_TYPE). */
export interface OmemoRoomConfig {
  /** `muc#roomconfig_membersonly` (default true). */
  readonly membersOnly?: boolean;
  /** `muc#roomconfig_whois` = 'anyone' (non-anonymous, default true) or 'moderators'. */
  readonly nonAnonymous?: boolean;
  /** `muc#roomconfig_persistentroom` (default false). */
  readonly persistent?: boolean;
  /** `muc#roomconfig_roomname`. */
  readonly name?: string;
  /** Further raw fields. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** `<query xmlns=muc#owner><x type='submit'>...</x></query>` for {@link OmemoRoomConfig} (XEP-0045 section 10.2). */
export function configSubmitQuery(config: OmemoRoomConfig = {}): Element {
  const fields: Record<string, string> = {
    'muc#roomconfig_membersonly': config.membersOnly === false ? '0' : '1',
    'muc#roomconfig_whois': config.nonAnonymous === false ? 'moderators' : 'anyone',
    'muc#roomconfig_persistentroom': config.persistent === true ? '1' : '0',
    ...(config.name === undefined ? {} : { 'muc#roomconfig_roomname': config.name }),
    ...config.extra,
  };
  const form = xml('x', { xmlns: NS_DATA, type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
    ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v))));
  return xml('query', { xmlns: NS_MUC_OWNER }, form);
}

// ---- readers ----------------------------------------------------------------------------------

/** An `<item/>` of `muc#user` or `muc#admin`. */
export interface MucItem {
  /** The real bare JID (only shown in non-anonymous rooms, or to moderators). */
  readonly jid: string | undefined;
  readonly affiliation: MucAffiliation | undefined;
  readonly role: MucRole | undefined;
  /** The new nick of a nick change (status 303). */
  readonly nick: string | undefined;
}

function readItem(item: Element | undefined): MucItem | undefined {
  if (item === undefined) return undefined;
  const jid = item.attrs.jid;
  const nick = item.attrs.nick;
  return {
    jid: typeof jid === 'string' && plausibleJid(jid) ? bareJid(jid) : undefined,
    affiliation: isAffiliation(item.attrs.affiliation) ? item.attrs.affiliation : undefined,
    role: isRole(item.attrs.role) ? item.attrs.role : undefined,
    nick: typeof nick === 'string' && nick.length > 0 && nick.length <= MAX_JID_LENGTH ? nick : undefined,
  };
}

function readStatusCodes(x: Element): ReadonlySet<number> {
  const codes = new Set<number>();
  for (const s of x.getChildren('status').slice(0, MAX_STATUS_CODES)) {
    const code = Number(s.attrs.code);
    if (Number.isInteger(code) && code >= 100 && code <= 999) codes.add(code);
  }
  return codes;
}

/** An occupant presence from a room (XEP-0045 section 7.2.3). */
export interface MucPresence {
  /** The room's bare JID. */
  readonly room: string;
  /** The occupant's nick (the resource of `from`). */
  readonly nick: string;
  readonly type: 'available' | 'unavailable' | 'error';
  /** The `muc#user` item, when present. */
  readonly item: MucItem | undefined;
  readonly statuses: ReadonlySet<number>;
  /** For type 'error': the XMPP error condition (e.g. 'registration-required', 'not-authorized'). */
  readonly errorCondition: string | undefined;
}

/** Reads a presence from an occupant JID (`room/nick`), or undefined when it is not one. */
export function readMucPresence(stanza: Element): MucPresence | undefined {
  if (!stanza.is('presence')) return undefined;
  const from = stanza.attrs.from;
  if (typeof from !== 'string' || !plausibleJid(from)) return undefined;
  const nick = resourceOf(from);
  if (nick === undefined || nick.length === 0) return undefined;
  const rawType = stanza.attrs.type;
  const type = rawType === undefined ? 'available' : rawType === 'unavailable' ? 'unavailable' : rawType === 'error' ? 'error' : undefined;
  if (type === undefined) return undefined;
  const x = stanza.getChild('x', NS_MUC_USER);
  let errorCondition: string | undefined;
  if (type === 'error') {
    const condition = stanza.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas');
    errorCondition = condition?.name ?? 'undefined-condition';
  } else if (x === undefined) {
    return undefined;
  }
  return { room: bareJid(from), nick, type, item: readItem(x?.getChild('item')), statuses: x === undefined ? new Set() : readStatusCodes(x), errorCondition };
}

/** A message from the room itself (not an occupant): affiliation announcements (XEP-0045 example 195) and status codes (section 10.2.1). */
export interface MucRoomNotice {
  readonly room: string;
  readonly items: readonly MucItem[];
  readonly statuses: ReadonlySet<number>;
}

/** Items read from one notice at most (a notice names one user in practice). */
const MAX_NOTICE_ITEMS = 64;

/** Reads a message from a room's bare JID carrying `muc#user` items or status codes, or undefined. */
export function readMucRoomNotice(stanza: Element): MucRoomNotice | undefined {
  if (!stanza.is('message')) return undefined;
  const from = stanza.attrs.from;
  if (typeof from !== 'string' || !plausibleJid(from) || resourceOf(from) !== undefined) return undefined;
  if (stanza.attrs.type === 'error') return undefined;
  const x = stanza.getChild('x', NS_MUC_USER);
  if (x === undefined || x.getChild('invite') !== undefined || x.getChild('decline') !== undefined) return undefined;
  const items = x.getChildren('item').slice(0, MAX_NOTICE_ITEMS).map((i) => readItem(i)).filter((i): i is MucItem => i !== undefined);
  return { room: bareJid(from), items, statuses: readStatusCodes(x) };
}

/** What disco#info says about a room (XEP-0045 section 6.4, registered features section 15.6.1). */
export interface MucRoomFeatures {
  readonly isMuc: boolean;
  /** `muc_nonanonymous`: every occupant sees real JIDs. */
  readonly nonAnonymous: boolean;
  /** `muc_membersonly`. */
  readonly membersOnly: boolean;
  /** `muc_semianonymous`. */
  readonly semiAnonymous: boolean;
}

/** Reads room features from a disco#info `<query/>` result. */
export function readRoomFeatures(query: Element | undefined): MucRoomFeatures {
  const vars = new Set((query?.getChildren('feature') ?? []).slice(0, 1024).map((f) => f.attrs.var).filter((v): v is string => typeof v === 'string'));
  return {
    isMuc: vars.has(NS_MUC),
    nonAnonymous: vars.has('muc_nonanonymous'),
    membersOnly: vars.has('muc_membersonly'),
    semiAnonymous: vars.has('muc_semianonymous'),
  };
}

/** Entries read from one affiliation list at most. */
export const MAX_LIST_ITEMS = 5000;

/** Reads an affiliation list result (`<query xmlns=muc#admin><item affiliation jid/>...`): bare JIDs with their affiliation. */
export function readAffiliationList(query: Element | undefined): { readonly jid: string; readonly affiliation: MucAffiliation }[] {
  if (query === undefined || query.attrs.xmlns !== NS_MUC_ADMIN) return [];
  const out: { jid: string; affiliation: MucAffiliation }[] = [];
  for (const raw of query.getChildren('item').slice(0, MAX_LIST_ITEMS)) {
    const item = readItem(raw);
    if (item?.jid !== undefined && item.affiliation !== undefined) out.push({ jid: item.jid, affiliation: item.affiliation });
  }
  return out;
}

/** The XEP-0359 origin-id of a message, else its `id` attribute. */
export function originIdOf(message: Element): string | undefined {
  const origin = message.getChild('origin-id', NS_SID)?.attrs.id;
  if (typeof origin === 'string' && origin.length > 0 && origin.length <= 256) return origin;
  const id = message.attrs.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : undefined;
}

/** The XEP-0359 `<stanza-id by=room id/>` the room stamped, if any. */
export function roomStanzaIdOf(message: Element, room: string): string | undefined {
  for (const s of message.getChildren('stanza-id', NS_SID)) {
    if (typeof s.attrs.by === 'string' && bareJid(s.attrs.by) === room && typeof s.attrs.id === 'string') return s.attrs.id;
  }
  return undefined;
}
