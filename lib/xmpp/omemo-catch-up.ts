/**
 * MAM catch-up bookkeeping for the OMEMO plugin (XEP-0313 over XEP-0384): where the last
 * catch-up stopped (a cursor persisted per account), which messages were already handled
 * (XEP-0359 stanza-id / origin-id, bounded memory), and the paging loop that hands archived
 * messages, oldest first, to the plugin's decrypt path. No cryptography here: the plugin
 * decides what a message is; this file only decides whether it is new.
 *
 * Cursor rules:
 * - On the first run with a store (no cursor yet) the cursor starts at "now minus a clock-skew
 *   margin": older messages cannot be addressed to a device that did not exist yet.
 * - A catch-up pages with XEP-0059 `<after>` from the last archive id it processed, and
 *   persists the cursor after every page (a crash repeats at most one page; repeats are
 *   recognised as duplicates). If the server forgot that id (`item-not-found`, expired
 *   archive), it falls back to the cursor's timestamp.
 * - After a catch-up that reached the end (`<fin complete='true'>`), live messages that carry a
 *   stanza-id of our archive advance the cursor too (they are archived in the same order), so
 *   the next catch-up does not fetch them again. A new stream ('online') stops that until the
 *   next complete catch-up.
 */
import type { Element } from '@xmpp/xml';
import { StorageError } from '../core/errors.js';
import type { KeyValueStore } from '../core/store/store.js';
import { MamClient, MamError, NS_SID, type MamFilter, type MamResult } from './mam.js';
import type { IncomingOmemo } from './omemo-stanzas.js';
import { readIncomingOmemo } from './omemo-stanzas.js';
import { bareJid } from './otr-stanzas.js';

/** How far before "now" the first cursor starts (client and server clocks differ). */
export const FIRST_RUN_MARGIN_MS = 5 * 60_000;
/** Default bound on the message keys remembered for deduplication. */
export const DEFAULT_DEDUP_ENTRIES = 5000;
const MAX_KEY_LENGTH = 600;

/** Where a catch-up resumes: the last archive id processed and its archive time, or a start time. */
export interface MamCursor {
  readonly archiveId: string | undefined;
  /** XEP-0082 DateTime: the archive time of `archiveId`, or the start of the first run. */
  readonly stamp: string | undefined;
}

/** Versioned JSON of a {@link MamCursor} (`{"v":1,"archiveId"?,"stamp"?}`). */
export function serializeMamCursor(cursor: MamCursor): string {
  return JSON.stringify({ v: 1, ...(cursor.archiveId === undefined ? {} : { archiveId: cursor.archiveId }), ...(cursor.stamp === undefined ? {} : { stamp: cursor.stamp }) });
}

/** Parses {@link serializeMamCursor}'s output; StorageError `xmpp.omemo.mam-cursor-corrupt` otherwise. */
export function parseMamCursor(text: string): MamCursor {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new StorageError('xmpp.omemo.mam-cursor-corrupt', 'the MAM cursor is not JSON', { cause });
  }
  const d = doc as { v?: unknown; archiveId?: unknown; stamp?: unknown } | null;
  const okString = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length > 0 && v.length <= 256);
  if (d === null || typeof d !== 'object' || d.v !== 1 || !okString(d.archiveId) || !okString(d.stamp) || (d.stamp !== undefined && Number.isNaN(Date.parse(d.stamp as string)))) {
    throw new StorageError('xmpp.omemo.mam-cursor-corrupt', 'the MAM cursor has an unknown shape or version');
  }
  return { archiveId: d.archiveId as string | undefined, stamp: d.stamp as string | undefined };
}

/**
 * A bounded set of message keys, oldest forgotten first (a hit refreshes a key). Keys come
 * from the network, so memory is bounded by `capacity` whatever arrives.
 */
export class BoundedKeySet {
  readonly #keys = new Set<string>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_DEDUP_ENTRIES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('BoundedKeySet: capacity must be a positive integer');
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#keys.size;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  /** Records `record` (all of `check` by default); returns false when any key of `check` was known already. */
  claim(check: readonly string[], record: readonly string[] = check): boolean {
    const seen = check.some((k) => this.#keys.has(k));
    for (const k of record) {
      this.#keys.delete(k);
      this.#keys.add(k);
    }
    while (this.#keys.size > this.#capacity) {
      const oldest = this.#keys.values().next().value as string;
      this.#keys.delete(oldest);
    }
    return !seen;
  }
}

/** The XEP-0359 `<stanza-id>` our own server stamped (`by` = our bare JID), or undefined. Others' stanza-ids are not trusted. */
export function ownStanzaId(message: Element, account: string): string | undefined {
  for (const sid of message.getChildren('stanza-id', NS_SID)) {
    const by = sid.attrs.by;
    const id = sid.attrs.id;
    if (typeof by === 'string' && bareJid(by) === account && by === bareJid(by) && typeof id === 'string' && id.length > 0 && id.length <= 256) return id;
  }
  return undefined;
}

/** The sender's XEP-0359 `<origin-id>`, else the message `id` (both chosen by the sender). */
export function senderMessageId(message: Element): string | undefined {
  const origin = message.getChild('origin-id', NS_SID)?.attrs.id;
  const id = typeof origin === 'string' && origin.length > 0 ? origin : message.attrs.id;
  return typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : undefined;
}

function idKey(sender: string, id: string): string {
  return `mid|${sender}|${id}`.slice(0, MAX_KEY_LENGTH);
}

/** Keys to look up (`check`) and to remember (`record`) for one message. */
export interface MessageKeys {
  readonly check: readonly string[];
  readonly record: readonly string[];
}

/**
 * Keys of a live message (direct or carbon): the stanza-id of our archive when the server
 * stamped one (on the stanza, or on a carbon's forwarded message), checked and recorded. Without
 * one, the sender's id (origin-id or message id, qualified by the sender's bare JID) is only
 * recorded, for the archived copy to match: senders choose those ids and some reuse them, so
 * they never suppress a live message.
 */
export function liveMessageKeys(stanza: Element, incoming: IncomingOmemo, account: string): MessageKeys & { readonly stanzaId: string | undefined } {
  const stanzaId = ownStanzaId(stanza, account) ?? (incoming.message !== stanza ? ownStanzaId(incoming.message, account) : undefined);
  if (stanzaId !== undefined) return { check: [`sid|${stanzaId}`], record: [`sid|${stanzaId}`], stanzaId };
  const id = senderMessageId(incoming.message);
  return { check: [], record: id === undefined ? [] : [idKey(incoming.senderJid, id)], stanzaId: undefined };
}

/**
 * Keys of an archived message: its archive id (= the live copy's stanza-id) is checked and
 * recorded; the sender's id is checked only (it matches a live copy that had no stanza-id,
 * never another archived message that reuses the id).
 */
export function archivedMessageKeys(archiveId: string, incoming: IncomingOmemo): MessageKeys {
  const id = senderMessageId(incoming.message);
  const sid = `sid|${archiveId}`;
  return { check: id === undefined ? [sid] : [sid, idKey(incoming.senderJid, id)], record: [sid] };
}

/**
 * Reads an archived `<message>` of our own archive for OMEMO: it must carry an explicit `from`
 * (the server's), be from us or to us, and not be a carbon wrapper (archives hold the
 * original message; a wrapped one is someone's forgery). Undefined when it is not OMEMO.
 */
export function readArchivedOmemo(message: Element, account: string): IncomingOmemo | undefined {
  if (typeof message.attrs.from !== 'string' || message.attrs.from.length === 0) return undefined;
  let incoming: IncomingOmemo | undefined;
  try {
    incoming = readIncomingOmemo(message, account);
  } catch {
    return undefined;
  }
  if (incoming === undefined || incoming.carbon !== undefined) return undefined;
  if (incoming.senderJid !== account && incoming.toJid !== account) return undefined;
  return incoming;
}

/** What the plugin did with one message. */
export type CatchUpOutcome = 'message' | 'empty' | 'duplicate' | 'skipped' | 'error';

/** The archive id and archive time of a message that came from MAM. */
export interface ArchivedInfo {
  readonly archiveId: string;
  /** XEP-0203 `<delay stamp>` of the archive (when the server stored it), ISO 8601. */
  readonly stamp: string | undefined;
}

/** Options of a catch-up run. */
export interface CatchUpRunOptions {
  /** Only the conversation with this JID (the persisted cursor is neither used nor moved). */
  readonly with?: string | undefined;
  /** Start at this time instead of the cursor (the cursor is neither used nor moved). */
  readonly since?: Date | undefined;
  /** Results per page (default 50). */
  readonly pageSize?: number | undefined;
  /** Bound on the results fetched by one run (default 1000); run again to continue. */
  readonly maxMessages?: number | undefined;
}

/** What a catch-up run did. */
export interface CatchUpResult {
  /** Archived messages received from the server (OMEMO or not). */
  readonly fetched: number;
  /** Decrypted messages emitted as 'message' events (marked archived). */
  readonly messages: number;
  /** Empty OMEMO messages (key-exchange completion, heartbeats) consumed. */
  readonly empty: number;
  /** Messages already handled live, from offline storage, or by an earlier run. */
  readonly duplicates: number;
  /** Not OMEMO, not for this device, or sent by this device. */
  readonly skipped: number;
  /** Messages that raised an 'omemo-error' event. */
  readonly errors: number;
  /** The archive has nothing more after this run. */
  readonly complete: boolean;
  /** The last archive id processed (the cursor, for cursor runs). */
  readonly lastArchiveId: string | undefined;
}

/** Processes one archived OMEMO message (the plugin's queued decrypt path). */
export type ArchivedProcessor = (incoming: IncomingOmemo, archived: ArchivedInfo) => Promise<CatchUpOutcome>;

/** Called inside the serialized run: before the first page, and after the last one (cursor runs only, i.e. without `with` / `since`). */
export interface CatchUpHooks {
  readonly start?: () => Promise<void>;
  readonly end?: (result: CatchUpResult | undefined, error: unknown) => Promise<void>;
}

/** Options of {@link OmemoCatchUp}. */
export interface OmemoCatchUpOptions {
  readonly mam: MamClient;
  readonly store: KeyValueStore;
  readonly now?: () => number;
  readonly dedupEntries?: number;
}

/** See the module comment. */
export class OmemoCatchUp {
  readonly #mam: MamClient;
  readonly #store: KeyValueStore;
  readonly #now: () => number;
  readonly #seen: BoundedKeySet;
  #account = '';
  #synced = false;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: OmemoCatchUpOptions) {
    this.#mam = options.mam;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#seen = new BoundedKeySet(options.dedupEntries);
  }

  #key(): string {
    return `omemo/${encodeURIComponent(this.#account)}/mam-cursor`;
  }

  /** Sets the account and writes the first-run cursor when the store has none. */
  async init(account: string): Promise<void> {
    this.#account = account;
    if ((await this.#store.get(this.#key())) === undefined) {
      await this.#store.set(this.#key(), serializeMamCursor({ archiveId: undefined, stamp: new Date(this.#now() - FIRST_RUN_MARGIN_MS).toISOString() }));
    }
  }

  /** The persisted cursor. */
  async cursor(): Promise<MamCursor> {
    const text = await this.#store.get(this.#key());
    return text === undefined ? { archiveId: undefined, stamp: undefined } : parseMamCursor(text);
  }

  /** Records a message's keys; false when it was handled already. */
  claim(keys: MessageKeys): boolean {
    return this.#seen.claim(keys.check, keys.record);
  }

  /** Number of remembered message keys (bounded). */
  get remembered(): number {
    return this.#seen.size;
  }

  /** A new stream: live messages stop moving the cursor until a catch-up completes. */
  resetSync(): void {
    this.#synced = false;
  }

  /** A live message with a stanza-id of our archive was handled: move the cursor when in sync. */
  noteLive(stanzaId: string | undefined): Promise<void> {
    if (!this.#synced || stanzaId === undefined) return Promise.resolve();
    const stamp = new Date(this.#now()).toISOString();
    return this.#serial(async () => {
      if (this.#synced) await this.#store.set(this.#key(), serializeMamCursor({ archiveId: stanzaId, stamp }));
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Pages through the archive and hands each OMEMO message to `process`, oldest first. Runs one at a time. */
  run(process: ArchivedProcessor, options: CatchUpRunOptions = {}, hooks: CatchUpHooks = {}): Promise<CatchUpResult> {
    const cursorRun = options.with === undefined && options.since === undefined;
    return this.#serial(async () => {
      if (cursorRun) await hooks.start?.();
      let result: CatchUpResult;
      try {
        result = await this.#run(process, options);
      } catch (error) {
        if (cursorRun) await hooks.end?.(undefined, error);
        throw error;
      }
      if (cursorRun) await hooks.end?.(result, undefined);
      return result;
    });
  }

  async #run(process: ArchivedProcessor, options: CatchUpRunOptions): Promise<CatchUpResult> {
    const useCursor = options.with === undefined && options.since === undefined;
    this.#synced = false;
    const cursor = useCursor ? await this.cursor() : { archiveId: undefined, stamp: undefined };
    const filter: MamFilter = {
      ...(options.with === undefined ? {} : { with: bareJid(options.with) }),
      ...(options.since !== undefined ? { start: options.since } : {}),
    };
    const counts = { fetched: 0, messages: 0, empty: 0, duplicates: 0, skipped: 0, errors: 0 };
    let last = cursor.archiveId;
    let complete = false;
    const paging = { pageSize: options.pageSize ?? 50, maxTotal: options.maxMessages ?? 1000 };
    const handle = async (result: MamResult): Promise<void> => {
      counts.fetched++;
      const incoming = readArchivedOmemo(result.message, this.#account);
      if (incoming === undefined) {
        counts.skipped++;
        return;
      }
      const outcome: CatchUpOutcome = await process(incoming, { archiveId: result.archiveId, stamp: result.stamp });
      counts[outcome === 'message' ? 'messages' : outcome === 'empty' ? 'empty' : outcome === 'duplicate' ? 'duplicates' : outcome === 'skipped' ? 'skipped' : 'errors']++;
    };
    const walk = async (f: MamFilter, after: string | undefined): Promise<void> => {
      for await (const page of this.#mam.pages(f, { ...paging, after })) {
        for (const result of page.results) await handle(result);
        const tail = page.results[page.results.length - 1];
        if (tail !== undefined) {
          last = tail.archiveId;
          if (useCursor) await this.#store.set(this.#key(), serializeMamCursor({ archiveId: tail.archiveId, stamp: tail.stamp ?? cursor.stamp }));
        }
        complete = page.complete;
      }
    };
    if (useCursor && cursor.archiveId !== undefined) {
      try {
        await walk(filter, cursor.archiveId);
      } catch (error) {
        // The archive no longer knows our last id (expired): continue from its time instead.
        if (!(error instanceof MamError && error.condition === 'item-not-found') || last !== cursor.archiveId) throw error;
        await walk({ ...filter, ...(cursor.stamp === undefined ? {} : { start: cursor.stamp }) }, undefined);
      }
    } else {
      await walk(useCursor && cursor.stamp !== undefined ? { ...filter, start: cursor.stamp } : filter, undefined);
    }
    if (useCursor && complete) this.#synced = true;
    return { ...counts, complete, lastArchiveId: last };
  }
}
