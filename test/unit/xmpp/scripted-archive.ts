/**
 * A scripted XEP-0313 archive for unit tests: a loopback entity running the REAL
 * @xmpp/middleware chain, and an iqCaller that answers each MAM query with the results and
 * reply a test scripts (results are delivered through the middleware before the reply, as a
 * server sends them). Hostile results can be scripted as easily as real ones.
 */
import { xml, type Element } from '@xmpp/xml';
import { MamClient, NS_MAM, NS_RSM } from '../../../lib/xmpp/mam.js';
import { LoopbackNetwork, parseStanza } from './loopback.js';

/** The archive owner of the scripted archive. */
export const OWN = 'bob@example.org';

/** An archived chat message from `from` to us. */
export function archived(id: string, body: string, from = 'alice@example.org/desk'): Element {
  return xml('message', { from, to: OWN, type: 'chat', id: `m-${id}` }, xml('body', {}, body));
}

/** A `<message><result queryid id><forwarded><delay stamp/>inner</forwarded></result></message>` (parts left out when undefined). */
export function resultStanza(queryId: string | undefined, id: string | undefined, inner: Element | undefined, from?: string, stamp = '2026-11-30T10:00:00Z'): Element {
  const result = xml('result', { xmlns: NS_MAM, ...(queryId === undefined ? {} : { queryid: queryId }), ...(id === undefined ? {} : { id }) });
  if (inner !== undefined) result.append(xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, xml('delay', { xmlns: 'urn:xmpp:delay', stamp }), inner));
  return xml('message', { to: `${OWN}/pc`, ...(from === undefined ? {} : { from }) }, result);
}

/** An IQ result with `<fin complete><set><first/><last/><count/></set></fin>`. */
export function fin(complete: boolean, first?: string, last?: string, count?: number): Element {
  const set = xml('set', { xmlns: NS_RSM });
  if (first !== undefined) set.append(xml('first', {}, first));
  if (last !== undefined) set.append(xml('last', {}, last));
  if (count !== undefined) set.append(xml('count', {}, String(count)));
  return xml('iq', { type: 'result' }, xml('fin', { xmlns: NS_MAM, ...(complete ? { complete: 'true' } : {}) }, set));
}

/** A scripted archive: answers each query with what `answer` returns, results delivered through the entity's middleware first. */
export function scripted(answer: (query: Element, queryId: string, index: number) => { results: Element[]; reply: Element | Error }) {
  const network = new LoopbackNetwork();
  const entity = network.entity(`${OWN}/pc`);
  const queries: Element[] = [];
  const passedOn: Element[] = [];
  const iqCaller = {
    async request(iq: Element, _timeout?: number): Promise<Element> {
      const query = iq.getChild('query', NS_MAM) as Element;
      queries.push(parseStanza(iq.toString()));
      const { results, reply } = answer(query, query.attrs.queryid as string, queries.length - 1);
      for (const r of results) entity.receiveRaw(r.toString());
      if (reply instanceof Error) throw reply;
      return reply;
    },
  };
  const client = new MamClient({ middleware: entity.middleware, iqCaller, account: () => OWN });
  // Registered after the client: sees what the client passes on.
  entity.middleware.use((ctx, next) => {
    passedOn.push(ctx.stanza);
    return next();
  });
  return { client, queries, passedOn };
}


/** One entry of {@link pagedArchive}. */
export interface ArchiveEntry {
  readonly id: string;
  readonly message: Element;
  readonly stamp: string;
}

/**
 * An archive over `entries` (oldest first) that honours RSM `<max>`/`<after>` and the form's
 * `start` (and `with` on the inner message's from/to), and answers item-not-found for an
 * unknown `after`, as Prosody does. `entries` may grow between queries.
 */
export function pagedArchive(entries: ArchiveEntry[]): ReturnType<typeof scripted> {
  return scripted((query, queryId) => {
    const set = query.getChild('set', NS_RSM);
    const max = Number(set?.getChildText('max'));
    const after = set?.getChildText('after') ?? undefined;
    const fields = Object.fromEntries((query.getChild('x', 'jabber:x:data')?.getChildren('field') ?? []).map((f) => [f.attrs.var as string, f.getChildText('value') as string]));
    const bare = (j: string | undefined): string => (j ?? '').split('/')[0] as string;
    let list = entries.filter((e) => (fields.start === undefined || Date.parse(e.stamp) >= Date.parse(fields.start))
      && (fields.with === undefined || bare(e.message.attrs.from) === fields.with || bare(e.message.attrs.to) === fields.with));
    if (after !== undefined) {
      const index = list.findIndex((e) => e.id === after);
      if (index < 0) {
        const error = Object.assign(new Error('item-not-found'), { name: 'StanzaError', condition: 'item-not-found' });
        return { results: [], reply: error };
      }
      list = list.slice(index + 1);
    }
    const page = list.slice(0, max);
    return { results: page.map((e) => resultStanza(queryId, e.id, e.message, undefined, e.stamp)), reply: fin(page.length === list.length, page[0]?.id, page[page.length - 1]?.id) };
  });
}
