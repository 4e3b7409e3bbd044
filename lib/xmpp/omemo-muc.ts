/**
 * OMEMO in group chats (XEP-0384 section 6.7 "Group Chats" over XEP-0045 Multi-User Chat),
 * on top of the one-to-one {@link OmemoPlugin} (same session manager, device lists, bundles):
 *
 *   const muc = omemoMuc(xmpp, omemo);
 *   muc.on('message', (m) => console.log(m.room, m.nick, m.from, m.senderDeviceId, m.trust, m.text));
 *   await muc.join('secret@conference.example.org', 'alice');
 *   await muc.send('secret@conference.example.org', 'hello all');
 *
 * - Rooms: {@link OmemoMuc.join} sends the join presence (XEP-0045 section 7.2), learns the
 *   occupants and their real JIDs from the `muc#user` items (only shown in non-anonymous rooms),
 *   waits for our self-presence (status 110), reads disco#info and fetches the owner, admin and
 *   member lists (XEP-0384 section 6.7.1: offline members are recipients too). Presences
 *   (joins, leaves, nick changes 303, kicks 307, bans 301, affiliation changes 321/322) and the
 *   room's affiliation announcements keep that up to date (muc-occupants.ts).
 * - Suitability: OMEMO is refused with {@link MucNotSuitableError} (nothing is sent, never
 *   plaintext) unless disco#info has `muc_nonanonymous` and `muc_membersonly` (the latter can
 *   be waived with `requireMembersOnly: false`), every occupant's real JID is known and the
 *   bounds were not exceeded. A configuration change (status 104, 172-174) makes the features
 *   be read again before the next message.
 * - Send: `type='groupchat'`, one `<encrypted>` with keys for every device of every recipient
 *   (occupants' real JIDs and members) and our own other devices; device lists and bundles are
 *   fetched as needed, so a new member's devices are picked up by the next message; the device
 *   lists of anyone seen joining are fetched again before the next message (members are not
 *   contacts, so no PEP notification tells us about their new devices). EME, store
 *   hint, fallback body and an XEP-0359 origin-id; omemo:2 in an SCE envelope whose `<to/>` is
 *   the room (XEP-0384 section 6.1). Version rule: the one given, else the preferred version if
 *   every recipient publishes a device for it, else the other if every recipient does, else the
 *   one that reaches the most recipients (ties: the preferred one); recipients without a device
 *   in it are reported in `withoutDevices`.
 * - Receive: the sender's nick is mapped to its real JID, the message decrypted for that JID
 *   and the omemo:2 envelope checked (from = real JID, to = room). The room's echo of our own
 *   message (never encrypted to this device) is recognised by its origin-id and reported as
 *   our own message with the text we sent.
 */
import type { XmppClient } from '@xmpp/client';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { bytesToUtf8, utf8ToBytes } from '../core/bytes.js';
import { MalformedMessageError, ProtocolError, StateError } from '../core/errors.js';
import { systemRandom, type RandomSource } from '../core/random.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import { OwnDeviceMessageError } from '../../omemo/errors.js';
import { createSceEnvelope, parseSceEnvelope, serializeSceEnvelope } from '../../omemo/sce.js';
import { xmlElement } from '../../omemo/xml-element.js';
import type { EncryptResult } from '../../omemo/session-manager.js';
import type { IqCallerLike } from './omemo-pep.js';
import type { OmemoPlugin } from './omemo-plugin.js';
import { NAMESPACE_03, NAMESPACE_2, NS_DISCO_INFO, buildOmemoMessage, encryptedOf, replaceFallbackBody, toXmlElement } from './omemo-stanzas.js';
import { bareJid } from './otr-stanzas.js';
import { PeerQueue } from './peer-queue.js';
import type { OmemoMucEvents } from './muc-events.js';
import { MucJoinError, MucNotJoinedError, MucNotSuitableError } from './muc-errors.js';
import { MucRoomState, type MucChange, type MucRoomStateOptions } from './muc-occupants.js';
import {
  RECIPIENT_AFFILIATIONS, affiliationListQuery, configSubmitQuery, joinPresence, leavePresence, originIdOf, readAffiliationList,
  readMucPresence, readMucRoomNotice, readRoomFeatures, resourceOf, roomStanzaIdOf, setAffiliationQuery,
  type MucAffiliation, type MucRoomFeatures, type OmemoRoomConfig,
} from './muc-stanzas.js';
import { xml } from '@xmpp/xml';
import type { Element, IncomingContext, XmppDependencies } from './xmpp-types.js';

const VERSIONS: readonly OmemoVersion[] = ['0.3', '2'];
/** Sent messages remembered per room to recognise the room's echo. */
const MAX_SENT_REMEMBERED = 512;
/** Joined JIDs remembered per room for a fresh device-list fetch before the next message. */
const MAX_REFETCH = 1024;

/** What {@link omemoMuc} needs of the client: an @xmpp/client `client()` object satisfies this. */
export interface OmemoMucDependencies extends XmppDependencies {
  readonly iqCaller: IqCallerLike;
}

/** Options of {@link omemoMuc}. */
export interface OmemoMucOptions extends MucRoomStateOptions {
  /** Refuse OMEMO in rooms that are not members-only (default true, as Conversations does; XEP-0384 says SHOULD). */
  readonly requireMembersOnly?: boolean;
  /** Version used when every recipient publishes it (default: the plugin's '0.3'). */
  readonly preferredVersion?: OmemoVersion;
  /** Stop decrypted group chat messages in this middleware (default false; see {@link OmemoPlugin}'s `consume`). */
  readonly consume?: boolean;
  /** Timeout for joins and IQs in ms (default 10 s). */
  readonly timeoutMs?: number;
  /** Randomness for the SCE padding (default: the system's). */
  readonly random?: RandomSource;
}

/** Options of {@link OmemoMuc.join}. */
export interface MucJoinOptions {
  readonly password?: string;
  /** History the room replays on join (default 0: OMEMO history from before we joined was not encrypted to us). */
  readonly maxHistory?: number;
}

/** What {@link OmemoMuc.join} learnt. */
export interface MucJoinResult {
  readonly room: string;
  readonly nick: string;
  /** The room was created by this join (status 201): configure it ({@link OmemoMuc.configure}) before others can join. */
  readonly created: boolean;
  readonly features: MucRoomFeatures;
  /** The member lists could be read (members-only non-anonymous rooms let members read them). */
  readonly memberListRead: boolean;
}

/** Options of {@link OmemoMuc.send}. */
export interface OmemoMucSendOptions {
  readonly version?: OmemoVersion;
  /** Encrypt to members who are not in the room too (default true, XEP-0384 section 6.7.1). */
  readonly includeOfflineMembers?: boolean;
}

/** What {@link OmemoMuc.send} did. */
export interface OmemoMucSendResult {
  readonly room: string;
  readonly id: string;
  readonly version: OmemoVersion;
  /** The bare JIDs encrypted to (besides our own other devices). */
  readonly recipientJids: readonly string[];
  readonly recipients: EncryptResult['recipients'];
  readonly skipped: EncryptResult['skipped'];
  /** Recipients with no device in `version` (or whose device list could not be fetched): they cannot read this message. */
  readonly withoutDevices: readonly string[];
}

interface SentRecord {
  readonly text: string;
  readonly version: OmemoVersion;
}

interface RoomEntry {
  readonly state: MucRoomState;
  readonly options: MucJoinOptions;
  /** Real JIDs seen joining since the last send: their device lists are fetched again (a new device shows up as a new occupant; no PEP notification reaches non-contacts). */
  readonly refetch: Set<string>;
  readonly sent: Map<string, SentRecord>;
  joined: { resolve: (created: boolean) => void; reject: (error: unknown) => void } | undefined;
}

function asProtocolError(error: unknown, code = 'xmpp.omemo.muc-internal'): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError(code, error instanceof Error ? error.message : 'unexpected failure', { cause: error });
}

/** OMEMO group chats. Make one with {@link omemoMuc}. */
export class OmemoMuc {
  readonly #emitter = new EventEmitter();
  readonly #deps: OmemoMucDependencies;
  readonly #omemo: OmemoPlugin;
  readonly #options: OmemoMucOptions;
  readonly #rooms = new Map<string, RoomEntry>();
  readonly #queue = new PeerQueue();
  #closed = false;
  readonly #listeners: { event: string; listener: (...args: unknown[]) => void }[] = [];

  /** Use {@link omemoMuc}. */
  constructor(deps: OmemoMucDependencies, omemo: OmemoPlugin, options: OmemoMucOptions = {}) {
    if (deps === null || typeof deps !== 'object' || deps.entity === undefined || deps.middleware === undefined || deps.iqCaller === undefined) {
      throw new TypeError('omemoMuc: pass the xmpp client, or { entity, middleware, iqCaller }');
    }
    if (omemo === undefined || omemo === null) throw new TypeError('omemoMuc: pass the OMEMO plugin');
    this.#deps = deps;
    this.#omemo = omemo;
    this.#options = options;
    deps.middleware.use((context, next) => this.#incoming(context as IncomingContext, next));
    // A new session (not a resumed one) is in no room any more: join the rooms again.
    const onOnline = (): void => this.#rejoinAll();
    deps.entity.on('online', onOnline);
    this.#listeners.push({ event: 'online', listener: onOnline });
  }

  #rejoinAll(): void {
    if (this.#closed) return;
    for (const [room, entry] of [...this.#rooms]) {
      if (entry.state.self.status !== 'joined') continue;
      const nick = entry.state.self.nick;
      entry.state.markLeft();
      this.join(room, nick, entry.options).catch((error: unknown) => {
        this.#emit('error', { room, nick, from: undefined, version: undefined, error: asProtocolError(error, 'xmpp.omemo.muc-rejoin-failed') });
      });
    }
  }

  /** Subscribes to a typed event. */
  on<K extends keyof OmemoMucEvents>(event: K, listener: (payload: OmemoMucEvents[K]) => void): this {
    this.#emitter.on(event, listener as (payload: unknown) => void);
    return this;
  }

  /** Unsubscribes. */
  off<K extends keyof OmemoMucEvents>(event: K, listener: (payload: OmemoMucEvents[K]) => void): this {
    this.#emitter.off(event, listener as (payload: unknown) => void);
    return this;
  }

  #emit<K extends keyof OmemoMucEvents>(event: K, payload: OmemoMucEvents[K]): void {
    try {
      this.#emitter.emit(event, payload);
    } catch (error) {
      if (event !== 'error') {
        const room = (payload as { room?: string }).room ?? '';
        this.#emit('error', { room, nick: undefined, from: undefined, version: undefined, error: asProtocolError(error, 'xmpp.omemo.muc-listener-threw') });
      }
    }
  }

  get #timeoutMs(): number {
    return this.#options.timeoutMs ?? 10_000;
  }

  /** The state of a room we joined (occupants, members, our occupancy), if any. */
  room(room: string): MucRoomState | undefined {
    return this.#rooms.get(bareJid(room))?.state;
  }

  #entry(room: string): RoomEntry {
    const entry = this.#rooms.get(bareJid(room));
    if (entry === undefined || entry.state.self.status !== 'joined') throw new MucNotJoinedError(bareJid(room));
    return entry;
  }

  // ---- rooms --------------------------------------------------------------------------------

  /**
   * Joins `room` as `nick` (XEP-0045 section 7.2), resolving after our self-presence with the
   * room's features and members. Rejects with {@link MucJoinError} when the room refuses.
   */
  async join(room: string, nick: string, options: MucJoinOptions = {}): Promise<MucJoinResult> {
    if (typeof room !== 'string' || room.length === 0 || room.includes('/')) throw new TypeError('join: room must be a bare JID');
    if (typeof nick !== 'string' || nick.length === 0 || nick.includes('/')) throw new TypeError('join: nick must be a non-empty string without "/"');
    const bare = bareJid(room);
    const existing = this.#rooms.get(bare);
    if (existing !== undefined && existing.state.self.status !== 'left') throw new StateError('xmpp.omemo.muc-already-joined', 'already in the room (or joining)');
    const state = new MucRoomState(bare, nick, this.#options);
    let timer: NodeJS.Timeout | undefined;
    const joined = new Promise<boolean>((resolve, reject) => {
      const entry: RoomEntry = { state, options, refetch: new Set(), sent: existing?.sent ?? new Map(), joined: { resolve, reject } };
      this.#rooms.set(bare, entry);
      timer = setTimeout(() => reject(new MucJoinError(bare, 'remote-server-timeout')), this.#timeoutMs);
    });
    joined.catch(() => undefined); // awaited below; a failure before that point is not unhandled
    try {
      await this.#deps.entity.send(joinPresence(bare, nick, { maxHistory: options.maxHistory ?? 0, ...(options.password === undefined ? {} : { password: options.password }) }));
      const created = await joined;
      let info: { readonly features: MucRoomFeatures; readonly memberListRead: boolean };
      try {
        info = await this.refresh(bare);
      } catch {
        // We are in the room; the features stay unknown (stale) and are read again before the first message.
        info = { features: readRoomFeatures(undefined), memberListRead: false };
      }
      return { room: bare, nick: state.self.nick, created, ...info };
    } catch (error) {
      state.markLeft();
      if (this.#rooms.get(bare)?.state === state) this.#rooms.delete(bare);
      throw error;
    } finally {
      clearTimeout(timer);
      const entry = this.#rooms.get(bare);
      if (entry !== undefined) entry.joined = undefined;
    }
  }

  /** Leaves `room` (XEP-0045 section 7.14); its state is dropped. */
  async leave(room: string): Promise<void> {
    const bare = bareJid(room);
    const entry = this.#rooms.get(bare);
    if (entry === undefined) return;
    const nick = entry.state.self.nick;
    entry.state.markLeft();
    this.#rooms.delete(bare);
    if (this.#deps.entity.status === 'online') await this.#deps.entity.send(leavePresence(bare, nick));
  }

  /**
   * Reads the room's disco#info features and its owner, admin and member lists again
   * (XEP-0384 section 6.7.1). `memberListRead` is false when the room refused the lists (then
   * only occupants and announced affiliations are known).
   */
  async refresh(room: string): Promise<{ readonly features: MucRoomFeatures; readonly memberListRead: boolean }> {
    const bare = bareJid(room);
    const entry = this.#rooms.get(bare);
    if (entry === undefined) throw new MucNotJoinedError(bare);
    const info = await this.#deps.iqCaller.get(xml('query', { xmlns: NS_DISCO_INFO }), bare, this.#timeoutMs);
    const features = readRoomFeatures(info);
    entry.state.setFeatures(features);
    let memberListRead = true;
    for (const affiliation of RECIPIENT_AFFILIATIONS) {
      try {
        const result = await this.#deps.iqCaller.get(affiliationListQuery(affiliation), bare, this.#timeoutMs);
        for (const change of entry.state.setAffiliationList(affiliation, readAffiliationList(result))) this.#emit('change', { room: bare, change });
      } catch {
        memberListRead = false;
      }
    }
    return { features, memberListRead };
  }

  /**
   * Submits the room configuration OMEMO needs (owner only, XEP-0045 section 10.2: members-only,
   * non-anonymous by default) and reads the features again. Unlocks a room we just created.
   */
  async configure(room: string, config: OmemoRoomConfig = {}): Promise<MucRoomFeatures> {
    const bare = bareJid(room);
    this.#entry(bare);
    await this.#deps.iqCaller.set(configSubmitQuery(config), bare, this.#timeoutMs);
    return (await this.refresh(bare)).features;
  }

  /** Grants or revokes an affiliation (admin/owner only, XEP-0045 sections 9.3, 9.4, 10.3, 10.6). */
  async setAffiliation(room: string, jid: string, affiliation: MucAffiliation, reason?: string): Promise<void> {
    const bare = bareJid(room);
    this.#entry(bare);
    await this.#deps.iqCaller.set(setAffiliationQuery(jid, affiliation, reason), bare, this.#timeoutMs);
  }

  /** Throws {@link MucNotSuitableError} unless the room can carry OMEMO now (reads the features again when stale). */
  async checkSuitable(room: string): Promise<void> {
    const entry = this.#entry(room);
    const state = entry.state;
    if (state.featuresStale) await this.refresh(state.room);
    const features = state.features;
    if (features === undefined || !features.isMuc) throw new MucNotSuitableError(state.room, 'not-a-room');
    if (!features.nonAnonymous || state.statusNonAnonymous === false) throw new MucNotSuitableError(state.room, 'semi-anonymous');
    if (this.#options.requireMembersOnly !== false && !features.membersOnly) throw new MucNotSuitableError(state.room, 'not-members-only');
    const hidden = state.occupantsWithoutJid();
    if (hidden.length > 0) throw new MucNotSuitableError(state.room, 'occupant-without-jid', `${hidden.length} occupant(s)`);
    if (state.overflow) throw new MucNotSuitableError(state.room, 'overflow');
  }

  /** The bare JIDs the next message to `room` is encrypted to (besides our own other devices). */
  recipients(room: string, options: { readonly includeOfflineMembers?: boolean } = {}): string[] {
    return this.#entry(room).state.recipients({ ...options, exclude: this.#omemo.account });
  }

  /** The version rule of the module doc: the preferred one when every recipient has a device for it, else the other, else the one reaching most. */
  async chooseVersion(recipientJids: readonly string[]): Promise<OmemoVersion> {
    const preferred = this.#options.preferredVersion ?? '0.3';
    const order: OmemoVersion[] = preferred === '0.3' ? ['0.3', '2'] : ['2', '0.3'];
    const reached = new Map<OmemoVersion, number>();
    for (const version of order) {
      const lists = await Promise.all(recipientJids.map((jid) => this.#omemo.knownDeviceList(version, jid).catch(() => [] as readonly number[])));
      const count = lists.filter((l) => l.length > 0).length;
      if (count === recipientJids.length) return version;
      reached.set(version, count);
    }
    const [first, second] = order as [OmemoVersion, OmemoVersion];
    return (reached.get(second) ?? 0) > (reached.get(first) ?? 0) ? second : first;
  }

  // ---- send ---------------------------------------------------------------------------------

  /**
   * Encrypts `text` to every device of every recipient of `room` and our own other devices, and
   * sends it as `type='groupchat'`. Refuses (nothing sent) with {@link MucNotJoinedError},
   * {@link MucNotSuitableError}, or NoRecipientsError (`omemo.no-recipients`) when no device at
   * all could be encrypted to.
   */
  send(room: string, text: string, options: OmemoMucSendOptions = {}): Promise<OmemoMucSendResult> {
    if (typeof text !== 'string' || text.length === 0) throw new TypeError('send: text must be a non-empty string');
    const bare = bareJid(room);
    return this.#queue.run(bare, async () => {
      await this.checkSuitable(bare);
      const entry = this.#entry(bare);
      const account = this.#omemo.account;
      const recipientJids = entry.state.recipients({ ...(options.includeOfflineMembers === undefined ? {} : { includeOfflineMembers: options.includeOfflineMembers }), exclude: account });
      const refetch = [...entry.refetch].filter((jid) => recipientJids.includes(jid) || jid === account);
      entry.refetch.clear();
      await Promise.all(refetch.flatMap((jid) => VERSIONS.map((v) => this.#omemo.refreshDeviceList(v, jid).catch(() => undefined))));
      const version = options.version ?? (await this.chooseVersion(recipientJids));
      const failed = new Set(await this.#omemo.prepareRecipients(version, recipientJids));
      const manager = this.#omemo.manager;
      const withoutDevices: string[] = [];
      for (const jid of recipientJids) if (failed.has(jid) || (await manager.deviceList(version, jid)).length === 0) withoutDevices.push(jid);
      const plaintext = version === '0.3'
        ? utf8ToBytes(text)
        : serializeSceEnvelope(createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], text)], from: account, to: bare, time: new Date() }, this.#options.random ?? systemRandom));
      const result = await manager.encrypt(version, recipientJids, plaintext);
      for (const e of result.events) this.#emit('manager', e);
      const id = randomBytes(12).toString('base64url');
      const message = buildOmemoMessage(bare, id, version, result.element);
      message.attrs.type = 'groupchat'; // buildOmemoMessage already carries the origin-id (XEP-0359) the echo is matched by
      if (entry.sent.size >= MAX_SENT_REMEMBERED) {
        const oldest = entry.sent.keys().next().value;
        if (oldest !== undefined) entry.sent.delete(oldest);
      }
      entry.sent.set(id, { text, version });
      await this.#deps.entity.send(message);
      return { room: bare, id, version, recipientJids, recipients: result.recipients, skipped: result.skipped, withoutDevices };
    });
  }

  // ---- receive ------------------------------------------------------------------------------

  async #incoming(context: IncomingContext, next: () => Promise<unknown>): Promise<unknown> {
    const stanza = context.stanza;
    if (this.#closed || this.#rooms.size === 0) return next();
    const from = typeof stanza.attrs.from === 'string' ? stanza.attrs.from : undefined;
    const entry = from === undefined ? undefined : this.#rooms.get(bareJid(from));
    if (entry === undefined) return next();
    if (stanza.is('presence')) {
      const presence = readMucPresence(stanza);
      if (presence !== undefined) await this.#queue.run(entry.state.room, () => this.#onPresence(entry, presence));
      return next();
    }
    if (!stanza.is('message')) return next();
    const notice = readMucRoomNotice(stanza);
    if (notice !== undefined) {
      await this.#queue.run(entry.state.room, () => this.#changes(entry, entry.state.applyNotice(notice)));
      return next();
    }
    if (stanza.attrs.type === 'error') {
      const id = originIdOf(stanza);
      if (id !== undefined && entry.sent.delete(id)) {
        const condition = stanza.getChild('error')?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas')?.name ?? 'undefined-condition';
        this.#emit('error', { room: entry.state.room, nick: entry.state.self.nick, from: this.#omemo.account, version: undefined, error: new ProtocolError(`xmpp.omemo.muc-send-${condition}`, 'the room refused our message') });
      }
      return next();
    }
    const found = encryptedOf(stanza);
    if (stanza.attrs.type !== 'groupchat' || found === undefined) return next();
    await this.#queue.run(entry.state.room, () => this.#decrypt(entry, stanza, found.element, found.version));
    return this.#options.consume === true ? undefined : next();
  }

  #changes(entry: RoomEntry, changes: readonly MucChange[]): void {
    for (const change of changes) this.#emit('change', { room: entry.state.room, change });
  }

  #onPresence(entry: RoomEntry, presence: ReturnType<typeof readMucPresence> & object): void {
    if (presence.type === 'error') {
      if (entry.joined !== undefined && entry.state.self.status === 'joining') entry.joined.reject(new MucJoinError(entry.state.room, presence.errorCondition ?? 'undefined-condition'));
      return;
    }
    const changes = entry.state.applyPresence(presence);
    this.#changes(entry, changes);
    for (const change of changes) {
      if (change.kind === 'joined' && change.jid !== undefined && entry.state.self.status === 'joined' && entry.refetch.size < MAX_REFETCH) entry.refetch.add(change.jid);
      if (change.kind === 'self-joined') entry.joined?.resolve(change.created);
      if (change.kind === 'self-left') entry.joined?.reject(new MucJoinError(entry.state.room, change.reason));
    }
  }

  async #decrypt(entry: RoomEntry, stanza: Element, encrypted: Element, version: OmemoVersion): Promise<void> {
    const state = entry.state;
    const room = state.room;
    const nick = resourceOf(String(stanza.attrs.from)) ?? '';
    const id = originIdOf(stanza);
    const stanzaId = roomStanzaIdOf(stanza, room);
    const account = this.#omemo.account;
    const sent = id === undefined ? undefined : entry.sent.get(id);
    if (sent !== undefined && nick === state.self.nick) {
      // The room's echo of our own message: it was never encrypted to this device.
      entry.sent.delete(id ?? '');
      replaceFallbackBody(stanza, sent.text);
      this.#emit('message', {
        room, nick, from: account, text: sent.text, version: sent.version, senderDeviceId: this.#omemo.deviceId, trust: 'trusted',
        own: true, echo: true, keyExchange: false, id, stanzaId, sentAt: undefined,
      });
      return;
    }
    const realJid = nick === '' ? undefined : state.realJidOf(nick);
    if (realJid === undefined) {
      this.#emit('error', { room, nick, from: undefined, version, error: new StateError('xmpp.omemo.muc-unknown-sender', 'no real JID is known for the sender\'s nick') });
      return;
    }
    const manager = this.#omemo.manager;
    try {
      let element;
      try {
        element = toXmlElement(encrypted);
      } catch (error) {
        throw new MalformedMessageError('omemo.xml.too-large', 'the <encrypted> element is too deep or too large', { cause: error });
      }
      const result = await manager.decrypt(realJid, element);
      for (const e of result.events) this.#emit('manager', e);
      await this.#omemo.deliver(result.toSend);
      if (result.plaintext === undefined) return;
      let text: string;
      let sentAt: string | undefined;
      if (result.version === '0.3') {
        text = bytesToUtf8(result.plaintext);
      } else {
        const envelope = parseSceEnvelope(result.plaintext);
        // XEP-0384 section 6.1: in a group chat the envelope must name the room as `to`, so the
        // server cannot turn a private message into a group message or back.
        if (envelope.from === undefined || bareJid(envelope.from) !== realJid) throw new MalformedMessageError('xmpp.omemo.sce-from-mismatch', 'the SCE envelope names another sender (or none)');
        if (envelope.to === undefined || bareJid(envelope.to) !== room) throw new MalformedMessageError('xmpp.omemo.sce-to-mismatch', 'the SCE envelope names another recipient than the room (or none)');
        sentAt = envelope.time;
        const body = envelope.content.find((c) => c.name === 'body' && c.attrs['xmlns'] === 'jabber:client');
        if (body === undefined) return;
        text = body.text;
      }
      replaceFallbackBody(stanza, text);
      this.#emit('message', {
        room, nick, from: realJid, text, version: result.version, senderDeviceId: result.senderDeviceId, trust: result.trust,
        own: realJid === account, echo: false, keyExchange: result.keyExchange, id, stanzaId, sentAt,
      });
    } catch (error) {
      // Our own message without a remembered origin-id (e.g. replayed after a restart): not an error.
      if (error instanceof OwnDeviceMessageError) return;
      this.#emit('error', { room, nick, from: realJid, version, error: asProtocolError(error) });
      await this.#omemo.deliver(manager.drainOutgoing()).catch(() => undefined);
    }
  }

  /** Resolves once every queued presence, message and send has been processed. */
  async idle(): Promise<void> {
    await this.#queue.idle();
  }

  /** Stops handling rooms (the middleware stays registered but passes everything through). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { event, listener } of this.#listeners.splice(0)) this.#deps.entity.removeListener(event, listener);
    await this.idle().catch(() => undefined);
    this.#rooms.clear();
  }
}

/** Creates OMEMO group chats over an @xmpp/client `client()` (or `{ entity, middleware, iqCaller }`) and its {@link OmemoPlugin}. */
export function omemoMuc(deps: OmemoMucDependencies | XmppClient, omemo: OmemoPlugin, options: OmemoMucOptions = {}): OmemoMuc {
  return new OmemoMuc(deps as OmemoMucDependencies, omemo, options);
}

export { MucJoinError, MucNotJoinedError, MucNotSuitableError };
export type { MucAffiliation, MucRoomFeatures, OmemoRoomConfig, MucChange };
