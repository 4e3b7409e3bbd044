/**
 * The XEP-0313 client (lib/xmpp/mam.ts): the query it writes (data form, RSM), the results it
 * accepts (only our archive's, with a queryid, well-formed), the `<fin>`, and the paging loop
 * over the real @xmpp/middleware chain with a scripted archive answering the IQs: bounded
 * pages, a bounded total, typed errors for refusals and timeouts, hostile results ignored.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { xml, type Element } from '@xmpp/xml';
import { TimeoutError } from '@xmpp/events';
import StanzaError from '@xmpp/middleware/lib/StanzaError.js';
import { MamError, NS_MAM, NS_RSM, buildMamQuery, readMamFin, readMamResult, MAX_MAM_PAGE_SIZE } from '../../../lib/xmpp/mam.js';
import { parseStanza } from './loopback.js';
import { archived, fin, resultStanza, scripted } from './scripted-archive.js';

const OWN = 'bob@example.org';

function formFields(query: Element): Record<string, string> {
  const x = query.getChild('x', 'jabber:x:data');
  return Object.fromEntries((x?.getChildren('field') ?? []).map((f) => [f.attrs.var as string, f.getChildText('value') as string]));
}

describe('xmpp: MAM (XEP-0313) client', () => {
  it('writes the query: FORM_TYPE, with, start, end as a submitted form; RSM max and after', () => {
    const q = buildMamQuery('q1', { with: 'alice@example.org', start: new Date('2026-11-30T10:00:00Z'), end: '2026-11-30T12:00:00.000Z' }, { max: 20, after: 'A7' });
    expect(q.attrs).to.include({ xmlns: NS_MAM, queryid: 'q1' });
    expect(q.getChild('x', 'jabber:x:data')?.attrs.type).to.equal('submit');
    expect(formFields(q)).to.deep.equal({ FORM_TYPE: NS_MAM, with: 'alice@example.org', start: '2026-11-30T10:00:00.000Z', end: '2026-11-30T12:00:00.000Z' });
    expect(q.getChild('x', 'jabber:x:data')?.getChildren('field')[0]?.attrs.type).to.equal('hidden');
    expect(q.getChild('set', NS_RSM)?.getChildText('max')).to.equal('20');
    expect(q.getChild('set', NS_RSM)?.getChildText('after')).to.equal('A7');
    const plain = buildMamQuery('q2', {}, { max: 1 });
    expect(formFields(plain)).to.deep.equal({ FORM_TYPE: NS_MAM });
    expect(plain.getChild('set', NS_RSM)?.getChild('after')).to.equal(undefined);
    expect(() => buildMamQuery('q', {}, { max: 0 })).to.throw(RangeError);
    expect(() => buildMamQuery('q', {}, { max: MAX_MAM_PAGE_SIZE + 1 })).to.throw(RangeError);
    expect(() => buildMamQuery('', {}, { max: 5 })).to.throw(TypeError);
    expect(() => buildMamQuery('q', { start: 'not a date' }, { max: 5 })).to.throw(TypeError);
  });

  it('accepts results from our own archive (no from, or our bare JID) and reads id, delay stamp and the message', () => {
    for (const from of [undefined, OWN]) {
      const read = readMamResult(parseStanza(resultStanza('q1', 'A1', archived('1', 'hi'), from).toString()), OWN);
      expect(read.ok).to.equal(true);
      if (!read.ok) return;
      expect(read.result).to.include({ queryId: 'q1', archiveId: 'A1', stamp: '2026-11-30T10:00:00.000Z' });
      expect(read.result.message.getChildText('body')).to.equal('hi');
      expect(read.result.message.attrs.from).to.equal('alice@example.org/desk');
    }
    const noStamp = readMamResult(resultStanza('q1', 'A1', archived('1', 'hi'), undefined, 'yesterday'), OWN);
    expect(noStamp.ok && noStamp.result.stamp).to.equal(undefined);
  });

  it('refuses hostile results: missing queryid, a foreign from (another account, our own full JID), no id, no forwarded message', () => {
    const reason = (s: Element, archive = OWN, own = true): string => {
      const r = readMamResult(s, archive, own);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason(resultStanza(undefined, 'A1', archived('1', 'x')))).to.equal('no-queryid');
    expect(reason(resultStanza('q1', 'A1', archived('1', 'x'), 'mallory@example.org'))).to.equal('foreign-from');
    expect(reason(resultStanza('q1', 'A1', archived('1', 'x'), `${OWN}/other`))).to.equal('foreign-from');
    expect(reason(resultStanza('q1', 'A1', archived('1', 'x'), 'example.org'))).to.equal('foreign-from');
    expect(reason(resultStanza('q1', undefined, archived('1', 'x')))).to.equal('malformed');
    expect(reason(resultStanza('q1', 'A1', undefined))).to.equal('malformed');
    expect(reason(resultStanza('q1', 'x'.repeat(300), archived('1', 'x')))).to.equal('malformed');
    expect(reason(xml('message', {}, xml('body', {}, 'plain')))).to.equal('not-a-result');
    // A room's archive: results must come from the room; a missing from is not the room.
    expect(reason(resultStanza('q1', 'A1', archived('1', 'x'), 'room@muc.example.org'), 'room@muc.example.org', false)).to.equal('ok');
    expect(reason(resultStanza('q1', 'A1', archived('1', 'x')), 'room@muc.example.org', false)).to.equal('foreign-from');
  });

  it('reads <fin>: complete, first, last, count; a reply without <fin> is a typed error', () => {
    expect(readMamFin(fin(true, 'A1', 'A9', 9).getChild('fin', NS_MAM))).to.deep.equal({ complete: true, first: 'A1', last: 'A9', count: 9 });
    expect(readMamFin(fin(false).getChild('fin', NS_MAM))).to.deep.equal({ complete: false, first: undefined, last: undefined, count: undefined });
    const hostile = xml('fin', { xmlns: NS_MAM, complete: 'yes' }, xml('set', { xmlns: NS_RSM }, xml('count', {}, '-1e999'), xml('last', {}, 'z'.repeat(1000))));
    expect(readMamFin(hostile)).to.deep.equal({ complete: false, first: undefined, last: undefined, count: undefined });
    expect(() => readMamFin(undefined)).to.throw(MamError).with.property('code', 'xmpp.mam.bad-response');
    expect(() => readMamFin(xml('fin', { xmlns: 'urn:xmpp:mam:1' }))).to.throw(MamError);
  });

  it('pages oldest first with RSM after = the last result, until complete', async () => {
    const archive = ['A1', 'A2', 'A3', 'A4', 'A5'];
    const { client, queries, passedOn } = scripted((query, queryId) => {
      const after = query.getChild('set', NS_RSM)?.getChildText('after') ?? undefined;
      const max = Number(query.getChild('set', NS_RSM)?.getChildText('max'));
      const start = after === undefined ? 0 : archive.indexOf(after) + 1;
      const page = archive.slice(start, start + max);
      return { results: page.map((id) => resultStanza(queryId, id, archived(id, `body ${id}`))), reply: fin(start + max >= archive.length, page[0], page[page.length - 1]) };
    });
    const pages = [];
    for await (const page of client.pages({ with: 'alice@example.org' }, { pageSize: 2 })) pages.push(page);
    expect(pages.map((p) => p.results.map((r) => r.archiveId))).to.deep.equal([['A1', 'A2'], ['A3', 'A4'], ['A5']]);
    expect(pages.map((p) => p.complete)).to.deep.equal([false, false, true]);
    expect(queries.map((q) => q.getChild('query', NS_MAM)?.getChild('set', NS_RSM)?.getChildText('after') ?? null)).to.deep.equal([null, 'A2', 'A4']);
    expect(queries.every((q) => q.attrs.type === 'set' && q.attrs.to === undefined)).to.equal(true);
    expect(new Set(queries.map((q) => q.getChild('query', NS_MAM)?.attrs.queryid)).size).to.equal(3);
    // Collected results are consumed: nothing reached the handlers after the client.
    expect(passedOn).to.deep.equal([]);
  });

  it('an oversized page keeps only max results (marked incomplete) and the next page starts after the last one kept', async () => {
    const { client, queries } = scripted((query, queryId, index) => {
      if (index === 0) return { results: ['A1', 'A2', 'A3', 'A4', 'A5'].map((id) => resultStanza(queryId, id, archived(id, id))), reply: fin(true, 'A1', 'A5') };
      return { results: ['A3'].map((id) => resultStanza(queryId, id, archived(id, id))), reply: fin(true, 'A3', 'A3') };
    });
    const pages = [];
    for await (const page of client.pages({}, { pageSize: 2 })) pages.push(page);
    expect(pages[0]?.results.map((r) => r.archiveId)).to.deep.equal(['A1', 'A2']);
    expect(pages[0]?.ignored).to.equal(3);
    expect(pages[0]?.complete).to.equal(false);
    expect(queries[1]?.getChild('query', NS_MAM)?.getChild('set', NS_RSM)?.getChildText('after')).to.equal('A2');
    expect(pages.length).to.equal(2);
  });

  it('ignores results with a foreign from (passed on, not collected), without our queryid, or malformed; the page stays bounded', async () => {
    const { client, passedOn } = scripted((_query, queryId) => ({
      results: [
        resultStanza(queryId, 'F1', archived('f', 'forged by mallory'), 'mallory@example.org'),
        resultStanza('another-query', 'X1', archived('x', 'not ours')),
        resultStanza(undefined, 'N1', archived('n', 'no queryid')),
        resultStanza(queryId, undefined, archived('m', 'no id')),
        resultStanza(queryId, 'A1', archived('1', 'real')),
      ],
      reply: fin(true, 'A1', 'A1'),
    }));
    const page = await client.query({}, { max: 10 });
    expect(page.results.map((r) => r.message.getChildText('body'))).to.deep.equal(['real']);
    expect(page.ignored).to.equal(2);
    expect(passedOn.map((s) => s.getChild('result', NS_MAM)?.attrs.id)).to.deep.equal(['F1', 'X1', 'N1']);
  });

  it('refusals and timeouts are typed MamErrors with the condition', async () => {
    const refusing = (error: Error) => scripted(() => ({ results: [], reply: error })).client;
    const notImplemented = StanzaError.fromElement(parseStanza("<error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"));
    const cases: [Error, string, string | undefined][] = [
      [notImplemented, 'xmpp.mam.feature-not-implemented', 'feature-not-implemented'],
      [StanzaError.fromElement(parseStanza("<error type='modify'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>")), 'xmpp.mam.item-not-found', 'item-not-found'],
      [new TimeoutError('timeout'), 'xmpp.mam.timeout', undefined],
      [new Error('socket closed'), 'xmpp.mam.failed', undefined],
    ];
    for (const [error, code, condition] of cases) {
      let caught: unknown;
      try {
        await refusing(error).query({}, { max: 5 });
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(MamError);
      expect(caught).to.include({ code, condition });
    }
    // A result IQ without <fin>.
    const noFin = scripted(() => ({ results: [], reply: xml('iq', { type: 'result' }) })).client;
    let caught: unknown;
    try {
      await noFin.query({}, { max: 5 });
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(MamError).with.property('code', 'xmpp.mam.bad-response');
  });

  it('bounds the total, and stops when a server never completes and sends the same page again', async () => {
    const endless = scripted((query, queryId) => {
      const max = Number(query.getChild('set', NS_RSM)?.getChildText('max'));
      const after = query.getChild('set', NS_RSM)?.getChildText('after');
      const base = after === null || after === undefined ? 0 : Number(after.slice(1));
      return { results: Array.from({ length: max }, (_, i) => resultStanza(queryId, `A${base + i + 1}`, archived(String(i), 'x'))), reply: fin(false) };
    });
    let total = 0;
    for await (const page of endless.client.pages({}, { pageSize: 7, maxTotal: 30 })) total += page.results.length;
    expect(total).to.equal(30);
    expect(endless.queries.map((q) => q.getChild('query', NS_MAM)?.getChild('set', NS_RSM)?.getChildText('max'))).to.deep.equal(['7', '7', '7', '7', '2']);
    const stuck = scripted((_q, queryId) => ({ results: [resultStanza(queryId, 'A1', archived('1', 'x'))], reply: fin(false) }));
    let pages = 0;
    for await (const _page of stuck.client.pages({}, { pageSize: 5 })) pages++;
    expect(pages).to.equal(2);
    for (const bad of [{ pageSize: 0 }, { pageSize: MAX_MAM_PAGE_SIZE + 1 }, { maxTotal: 0 }]) {
      let caught: unknown;
      try {
        await endless.client.pages({}, bad).next();
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(RangeError);
    }
  });

  it('property: any mutation of a result stanza is accepted or refused, never throws, and never grows a page past max', async () => {
    const arb = fc.record({
      queryId: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
      id: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
      from: fc.option(fc.constantFrom(OWN, `${OWN}/x`, 'eve@example.org', '', 'example.org'), { nil: undefined }),
      stamp: fc.string({ maxLength: 40 }),
      hasInner: fc.boolean(),
    });
    fc.assert(fc.property(arb, ({ queryId, id, from, stamp, hasInner }) => {
      const read = readMamResult(resultStanza(queryId, id, hasInner ? archived('1', 'x') : undefined, from, stamp), OWN);
      if (read.ok) {
        expect(read.result.archiveId.length).to.be.within(1, 256);
        expect(from === undefined || from === OWN).to.equal(true);
      }
    }), { numRuns: 300, seed: 313 });
    const flood = scripted((_q, queryId) => ({ results: Array.from({ length: 500 }, (_, i) => resultStanza(queryId, `A${i}`, archived(String(i), 'x'))), reply: fin(true) }));
    const page = await flood.client.query({}, { max: 3 });
    expect(page.results).to.have.length(3);
    expect(page.ignored).to.equal(497);
    expect(page.complete).to.equal(false);
  });
});
