/**
 * A small XEP-0313 (Message Archive Management, `urn:xmpp:mam:2`) client: parsing and glue
 * only, no OMEMO logic.
 *
 * - {@link buildMamQuery}: `<query xmlns='urn:xmpp:mam:2' queryid>` with a XEP-0004 data form
 *   filter (`with`, `start`, `end`; XEP-0313 section 4.1) and XEP-0059 result set paging
 *   (`<set><max/><after/></set>`, XEP-0313 section 4.2).
 * - {@link readMamResult}: one `<message><result queryid id><forwarded><delay stamp/>
 *   <message/></forwarded></result></message>` (XEP-0313 section 4.3, XEP-0297, XEP-0203).
 *   Results are accepted only from the archive we asked (our own bare JID, or no `from` at
 *   all for our own archive, XEP-0313 section 4.3: "the 'from' ... MUST be the archive's JID");
 *   anything else is left to other handlers and never collected.
 * - {@link readMamFin}: the `<fin complete>` with its `<set><first/><last/><count/>` (section 4.3).
 * - {@link MamClient}: sends a query, collects the results of its `queryid` from the
 *   middleware (bounded by the page size: extra results are ignored and the page is marked
 *   incomplete, the next page then starts after the last result kept), and pages with
 *   {@link MamClient.pages} up to a bounded total. Failures are {@link MamError}s with a code
 *   (`xmpp.mam.feature-not-implemented`, `xmpp.mam.item-not-found`, `xmpp.mam.timeout`, ...).
 */
import { xml, type Element } from '@xmpp/xml';
import { ProtocolError } from '../core/errors.js';
import { systemRandom, type RandomSource } from '../core/random.js';
import { bareJid } from './otr-stanzas.js';
import type { IncomingContext, MiddlewareLike } from './xmpp-types.js';

/** XEP-0313 namespace (version 2). */
export const NS_MAM = 'urn:xmpp:mam:2';
/** XEP-0059 result set management. */
export const NS_RSM = 'http://jabber.org/protocol/rsm';
/** XEP-0203 delayed delivery. */
export const NS_DELAY = 'urn:xmpp:delay';
/** XEP-0297 forwarding. */
export const NS_FORWARD = 'urn:xmpp:forward:0';
/** XEP-0359 unique and stable stanza ids. */
export const NS_SID = 'urn:xmpp:sid:0';

/** Largest page we ask for (Prosody's default cap is 50; the protocol lets the server lower it). */
export const MAX_MAM_PAGE_SIZE = 250;
/** Longest archive id / query id we accept (ids are opaque, but memory stays bounded). */
const MAX_ID_LENGTH = 256;

/** Why a query failed. `condition` is the XMPP stanza error condition when the server sent one. */
export class MamError extends ProtocolError {
  readonly condition: string | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; condition?: string | undefined }) {
    super(code, message, options);
    this.condition = options?.condition;
  }
}

/** The XEP-0313 section 4.1 filter. */
export interface MamFilter {
  /** Only messages exchanged with this JID. */
  readonly with?: string | undefined;
  /** Only messages archived at or after this time (XEP-0082 DateTime or a Date). */
  readonly start?: Date | string | undefined;
  /** Only messages archived at or before this time. */
  readonly end?: Date | string | undefined;
}

/** One page request: the XEP-0059 `<max/>` and `<after/>`. */
export interface MamPageRequest {
  readonly max: number;
  /** Archive id after which the page starts (the previous page's last id). */
  readonly after?: string | undefined;
}

function dateTime(value: Date | string, what: string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError(`MAM filter: ${what} must be a valid date`);
  return date.toISOString();
}

function formField(name: string, value: string, type?: string): Element {
  return xml('field', type === undefined ? { var: name } : { var: name, type }, xml('value', {}, value));
}

/**
 * `<query xmlns='urn:xmpp:mam:2' queryid><x type='submit'>FORM_TYPE, with?, start?, end?</x>
 * <set xmlns=rsm><max/><after/>?</set></query>` (XEP-0313 sections 4.1-4.2).
 */
export function buildMamQuery(queryId: string, filter: MamFilter, page: MamPageRequest): Element {
  if (typeof queryId !== 'string' || queryId.length === 0 || queryId.length > MAX_ID_LENGTH) throw new TypeError('buildMamQuery: queryId must be a non-empty string');
  if (!Number.isInteger(page.max) || page.max < 1 || page.max > MAX_MAM_PAGE_SIZE) throw new RangeError(`buildMamQuery: max must be 1..${MAX_MAM_PAGE_SIZE}`);
  const fields: Element[] = [formField('FORM_TYPE', NS_MAM, 'hidden')];
  if (filter.with !== undefined) fields.push(formField('with', filter.with));
  if (filter.start !== undefined) fields.push(formField('start', dateTime(filter.start, 'start')));
  if (filter.end !== undefined) fields.push(formField('end', dateTime(filter.end, 'end')));
  const set = xml('set', { xmlns: NS_RSM }, xml('max', {}, String(page.max)));
  if (page.after !== undefined) set.append(xml('after', {}, page.after));
  return xml('query', { xmlns: NS_MAM, queryid: queryId }, xml('x', { xmlns: 'jabber:x:data', type: 'submit' }, ...fields), set);
}

/** One archived message. */
export interface MamResult {
  /** The `<result queryid>` it answers. */
  readonly queryId: string;
  /** The archive's id of the message (`<result id>`, equal to the XEP-0359 stanza-id). */
  readonly archiveId: string;
  /** When the archive stored it (`<delay stamp>`, XEP-0082), normalized to ISO 8601; undefined if absent or invalid. */
  readonly stamp: string | undefined;
  /** The archived `<message>` as stored (its `from` and `to` are the server's). */
  readonly message: Element;
}

/** Why {@link readMamResult} refused a `<result>`. */
export type MamResultRejection = 'not-a-result' | 'no-queryid' | 'foreign-from' | 'malformed';

/**
 * Reads a MAM result message. `archive` is the archive's bare JID (our own for a user
 * archive): a result from any other JID is refused ('foreign-from'), as is one without
 * `queryid` ('no-queryid') or without an id or forwarded message ('malformed').
 */
export function readMamResult(stanza: Element, archive: string, ownArchive = true): { readonly ok: true; readonly result: MamResult } | { readonly ok: false; readonly reason: MamResultRejection } {
  if (!stanza.is('message')) return { ok: false, reason: 'not-a-result' };
  const result = stanza.getChild('result', NS_MAM);
  if (result === undefined) return { ok: false, reason: 'not-a-result' };
  const queryId = result.attrs.queryid;
  if (typeof queryId !== 'string' || queryId.length === 0 || queryId.length > MAX_ID_LENGTH) return { ok: false, reason: 'no-queryid' };
  const from = stanza.attrs.from;
  if (typeof from === 'string' ? from !== bareJid(from) || bareJid(from) !== archive : !ownArchive) return { ok: false, reason: 'foreign-from' };
  const archiveId = result.attrs.id;
  const forwarded = result.getChild('forwarded', NS_FORWARD);
  const message = forwarded?.getChild('message');
  if (typeof archiveId !== 'string' || archiveId.length === 0 || archiveId.length > MAX_ID_LENGTH || forwarded === undefined || message === undefined) {
    return { ok: false, reason: 'malformed' };
  }
  const rawStamp = forwarded.getChild('delay', NS_DELAY)?.attrs.stamp;
  const time = typeof rawStamp === 'string' ? Date.parse(rawStamp) : Number.NaN;
  return { ok: true, result: { queryId, archiveId, stamp: Number.isNaN(time) ? undefined : new Date(time).toISOString(), message } };
}

/** The `<fin>` of a finished query. */
export interface MamFin {
  /** The server says there is nothing after this page (`complete='true'`). */
  readonly complete: boolean;
  readonly first: string | undefined;
  readonly last: string | undefined;
  readonly count: number | undefined;
}

function boundedText(element: Element | undefined): string | undefined {
  if (element === undefined) return undefined;
  const text = element.text();
  return text.length > 0 && text.length <= MAX_ID_LENGTH ? text : undefined;
}

/** Reads `<fin xmlns='urn:xmpp:mam:2' complete><set><first/><last/><count/></set></fin>`; MamError `xmpp.mam.bad-response` without one. */
export function readMamFin(fin: Element | undefined): MamFin {
  if (fin === undefined || !fin.is('fin', NS_MAM)) throw new MamError('xmpp.mam.bad-response', 'the archive answered without <fin/>');
  const complete = fin.attrs.complete === 'true' || fin.attrs.complete === '1';
  const set = fin.getChild('set', NS_RSM);
  const countText = boundedText(set?.getChild('count'));
  const count = countText !== undefined && /^\d{1,12}$/.test(countText) ? Number(countText) : undefined;
  return { complete, first: boundedText(set?.getChild('first')), last: boundedText(set?.getChild('last')), count };
}

/** One page of results, oldest first. */
export interface MamPage {
  readonly results: readonly MamResult[];
  /** Nothing more after this page: the server said complete and no result was dropped. */
  readonly complete: boolean;
  readonly fin: MamFin;
  /** Results of this query that were refused (foreign `from`, malformed) or beyond the page size. */
  readonly ignored: number;
}

/** @xmpp/iq's caller: `request()` resolves with the whole reply stanza (the MAM reply's child is `<fin>`, not `<query>`). */
export interface MamIqCallerLike {
  request(stanza: Element, timeout?: number): Promise<Element>;
}

/** Dependencies and bounds of a {@link MamClient}. */
export interface MamClientOptions {
  readonly middleware: MiddlewareLike;
  readonly iqCaller: MamIqCallerLike;
  /** Our bare JID (read at query time: the plugin learns it after construction). */
  readonly account: () => string;
  /** IQ timeout in ms (default 30 s: an archive page can take a while). */
  readonly timeoutMs?: number;
  readonly random?: RandomSource;
}

/** Options of {@link MamClient.pages}. */
export interface MamPagingOptions {
  /** Results per page, 1..{@link MAX_MAM_PAGE_SIZE} (default 50). */
  readonly pageSize?: number;
  /** Stop after this many results in all (default 1000). */
  readonly maxTotal?: number;
  /** Start after this archive id. */
  readonly after?: string | undefined;
  /** The archive to query (default: our own account). */
  readonly archive?: string | undefined;
}

interface Collector {
  readonly archive: string;
  readonly ownArchive: boolean;
  readonly max: number;
  readonly results: MamResult[];
  ignored: number;
  overflow: boolean;
}

function toMamError(error: unknown): MamError {
  if (error instanceof MamError) return error;
  const e = error as { name?: unknown; condition?: unknown; message?: unknown } | null;
  if (e !== null && typeof e === 'object' && e.name === 'TimeoutError') return new MamError('xmpp.mam.timeout', 'the archive did not answer in time', { cause: error });
  if (e !== null && typeof e === 'object' && typeof e.condition === 'string') {
    return new MamError(`xmpp.mam.${e.condition}`, `the archive refused the query (${e.condition})`, { cause: error, condition: e.condition });
  }
  return new MamError('xmpp.mam.failed', 'the archive query failed', { cause: error });
}

/** See the module comment. Registers one middleware handler; results of unknown queries pass through untouched. */
export class MamClient {
  readonly #iq: MamIqCallerLike;
  readonly #account: () => string;
  readonly #timeoutMs: number;
  readonly #random: RandomSource;
  readonly #pending = new Map<string, Collector>();

  constructor(options: MamClientOptions) {
    if (options?.middleware === undefined || options.iqCaller === undefined || typeof options.account !== 'function') {
      throw new TypeError('MamClient: middleware, iqCaller and account are required');
    }
    this.#iq = options.iqCaller;
    this.#account = options.account;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#random = options.random ?? systemRandom;
    options.middleware.use((context, next) => this.#incoming(context as IncomingContext, next));
  }

  #incoming(context: IncomingContext, next: () => Promise<unknown>): unknown {
    const stanza = context.stanza;
    if (this.#pending.size === 0 || !stanza.is('message')) return next();
    const queryId = stanza.getChild('result', NS_MAM)?.attrs.queryid;
    const collector = typeof queryId === 'string' ? this.#pending.get(queryId) : undefined;
    if (collector === undefined) return next();
    const read = readMamResult(stanza, collector.archive, collector.ownArchive);
    if (!read.ok) {
      // A forged or broken result is not ours to keep; other handlers may look at it.
      collector.ignored++;
      return read.reason === 'foreign-from' ? next() : undefined;
    }
    if (collector.results.length >= collector.max) {
      collector.ignored++;
      collector.overflow = true;
      return undefined;
    }
    collector.results.push(read.result);
    return undefined;
  }

  /** Runs one query and returns its page (results in the order the server sent them: oldest first). */
  async query(filter: MamFilter, page: MamPageRequest, archive?: string): Promise<MamPage> {
    if (typeof this.#iq.request !== 'function') throw new TypeError("MamClient: the iqCaller has no request(); pass @xmpp/client's iqCaller");
    const own = this.#account();
    const target = archive === undefined ? own : bareJid(archive);
    const b = this.#random(12);
    const queryId = Buffer.from(b).toString('base64url');
    const query = buildMamQuery(queryId, filter, page);
    const collector: Collector = { archive: target, ownArchive: target === own, max: page.max, results: [], ignored: 0, overflow: false };
    this.#pending.set(queryId, collector);
    try {
      let reply: Element;
      try {
        reply = await this.#iq.request(xml('iq', target === own ? { type: 'set' } : { type: 'set', to: target }, query), this.#timeoutMs);
      } catch (error) {
        throw toMamError(error);
      }
      // Results precede the reply on the stream; let middleware that awaited before ours finish.
      await new Promise((resolve) => setImmediate(resolve));
      const fin = readMamFin(reply.getChild('fin', NS_MAM));
      return { results: collector.results, complete: fin.complete && !collector.overflow, fin, ignored: collector.ignored };
    } finally {
      this.#pending.delete(queryId);
    }
  }

  /**
   * Pages through the archive oldest first: each page starts after the last result received
   * (not the server's `<last/>`, so results dropped for exceeding the page size are fetched
   * again). Stops when the server says complete, after `maxTotal` results, or when a page
   * brings nothing new (a server that never completes cannot loop us forever).
   */
  async *pages(filter: MamFilter, options: MamPagingOptions = {}): AsyncGenerator<MamPage, void, undefined> {
    const pageSize = options.pageSize ?? 50;
    const maxTotal = options.maxTotal ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_MAM_PAGE_SIZE) throw new RangeError(`pages: pageSize must be 1..${MAX_MAM_PAGE_SIZE}`);
    if (!Number.isInteger(maxTotal) || maxTotal < 1 || maxTotal > 1_000_000) throw new RangeError('pages: maxTotal must be 1..1000000');
    let after = options.after;
    let total = 0;
    for (;;) {
      const max = Math.min(pageSize, maxTotal - total);
      const page = await this.query(filter, { max, after }, options.archive);
      total += page.results.length;
      yield page;
      const last = page.results[page.results.length - 1]?.archiveId;
      if (page.complete || total >= maxTotal || last === undefined || last === after) return;
      after = last;
    }
  }
}
