/**
 * The OMEMO plugin's catch-up bookkeeping (lib/xmpp/omemo-catch-up.ts): the persisted cursor
 * (versioned JSON; first run starts "now minus a margin"; RSM after the last id; falling back
 * to the stamp when the archive forgot the id; `with` / `since` runs leave it alone), message
 * keys for deduplication (XEP-0359 stanza-id only when our own server stamped it, origin-id
 * or id otherwise), the bounded memory of seen keys, and what counts as an archived OMEMO
 * message of ours. The archive is scripted over the real @xmpp/middleware chain.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { xml, type Element } from '@xmpp/xml';
import { StorageError } from '../../../lib/core/errors.js';
import { MemoryStore } from '../../../lib/core/store/store.js';
import { NS_MAM } from '../../../lib/xmpp/mam.js';
import {
  BoundedKeySet, FIRST_RUN_MARGIN_MS, OmemoCatchUp, archivedMessageKeys, liveMessageKeys, ownStanzaId, parseMamCursor, readArchivedOmemo,
  senderMessageId, serializeMamCursor, type ArchivedInfo,
} from '../../../lib/xmpp/omemo-catch-up.js';
import { readIncomingOmemo } from '../../../lib/xmpp/omemo-stanzas.js';
import type { IncomingOmemo } from '../../../lib/xmpp/omemo-stanzas.js';
import { OWN, pagedArchive, type ArchiveEntry } from './scripted-archive.js';

const ALICE = 'alice@example.org';
const enc = (): Element => xml('encrypted', { xmlns: 'eu.siacs.conversations.axolotl' }, xml('header', { sid: '7' }, xml('iv', {}, 'AAAA')));

function omemoMessage(id: string, from = `${ALICE}/desk`, to = OWN, extra: Element[] = []): Element {
  return xml('message', { from, to, type: 'chat', id }, enc(), ...extra);
}

function entry(n: number, message = omemoMessage(`m${n}`)): ArchiveEntry {
  return { id: `A${n}`, message, stamp: new Date(Date.parse('2026-11-30T10:00:00Z') + n * 1000).toISOString() };
}

function formStart(query: Element | undefined): string | undefined {
  const field = query?.getChild('query', NS_MAM)?.getChild('x', 'jabber:x:data')?.getChildren('field').find((f) => f.attrs.var === 'start');
  return field?.getChildText('value') ?? undefined;
}

function rsmAfter(query: Element | undefined): string | undefined {
  return query?.getChild('query', NS_MAM)?.getChild('set', 'http://jabber.org/protocol/rsm')?.getChildText('after') ?? undefined;
}

describe('xmpp: OMEMO MAM catch-up bookkeeping', () => {
  it('the cursor is versioned JSON; anything else is a StorageError', () => {
    for (const cursor of [{ archiveId: 'A1', stamp: '2026-11-30T10:00:00.000Z' }, { archiveId: undefined, stamp: '2026-11-30T10:00:00.000Z' }, { archiveId: 'A1', stamp: undefined }]) {
      expect(parseMamCursor(serializeMamCursor(cursor))).to.deep.equal(cursor);
    }
    for (const bad of ['', 'null', '{"v":2}', '{"v":1,"archiveId":5}', '{"v":1,"stamp":"never"}', `{"v":1,"archiveId":"${'x'.repeat(300)}"}`]) {
      expect(() => parseMamCursor(bad), bad).to.throw(StorageError).with.property('code', 'xmpp.omemo.mam-cursor-corrupt');
    }
  });

  it('remembers a bounded number of keys, oldest forgotten first; a hit refreshes', () => {
    const set = new BoundedKeySet(3);
    expect(set.claim(['a'])).to.equal(true);
    expect(set.claim(['b', 'c'])).to.equal(true);
    expect(set.claim(['a'])).to.equal(false); // refreshed: b is now the oldest
    expect(set.claim(['d'])).to.equal(true);
    expect(set.has('b')).to.equal(false);
    expect(set.has('a') && set.has('c') && set.has('d')).to.equal(true);
    fc.assert(fc.property(fc.array(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), { maxLength: 200 }), (claims) => {
      const s = new BoundedKeySet(16);
      for (const keys of claims) s.claim(keys);
      expect(s.size).to.be.at.most(16);
    }), { numRuns: 100, seed: 359 });
    expect(() => new BoundedKeySet(0)).to.throw(RangeError);
  });

  it("trusts a stanza-id only when our own server stamped it (by = our bare JID); the sender's origin-id wins over its message id", () => {
    const sid = (by: string, id: string): Element => xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by, id });
    expect(ownStanzaId(omemoMessage('m', undefined, undefined, [sid(ALICE, 'forged'), sid(OWN, 'S1')]), OWN)).to.equal('S1');
    expect(ownStanzaId(omemoMessage('m', undefined, undefined, [sid(ALICE, 'forged')]), OWN)).to.equal(undefined);
    expect(ownStanzaId(omemoMessage('m', undefined, undefined, [sid(`${OWN}/pc`, 'full')]), OWN)).to.equal(undefined);
    expect(senderMessageId(omemoMessage('m1', undefined, undefined, [xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id: 'O1' })]))).to.equal('O1');
    expect(senderMessageId(omemoMessage('m1'))).to.equal('m1');
    expect(senderMessageId(xml('message', {}))).to.equal(undefined);
  });

  it("an archived copy matches the live one: by the stanza-id the server stamped, else by the sender's id", () => {
    const live = omemoMessage('m1', undefined, undefined, [xml('stanza-id', { xmlns: 'urn:xmpp:sid:0', by: OWN, id: 'A1' })]);
    const liveIncoming = readIncomingOmemo(live, OWN) as IncomingOmemo;
    const archivedIncoming = readArchivedOmemo(omemoMessage('m1'), OWN) as IncomingOmemo;
    const seen = new BoundedKeySet();
    const keys = liveMessageKeys(live, liveIncoming, OWN);
    expect(keys).to.deep.equal({ check: ['sid|A1'], record: ['sid|A1'], stanzaId: 'A1' });
    expect(seen.claim(keys.check, keys.record)).to.equal(true);
    const arch = archivedMessageKeys('A1', archivedIncoming);
    expect(seen.claim(arch.check, arch.record)).to.equal(false);
    // The live copy again (a stream-management resend): recognised by its stanza-id.
    expect(seen.claim(keys.check, keys.record)).to.equal(false);
    // Without a stanza-id (a server without MAM on the live path): the sender's id, qualified by the sender.
    const plain = omemoMessage('m2');
    const other = new BoundedKeySet();
    const claim = (k: { check: readonly string[]; record: readonly string[] }): boolean => other.claim(k.check, k.record);
    const liveKeys = liveMessageKeys(plain, readIncomingOmemo(plain, OWN) as IncomingOmemo, OWN);
    expect(claim(liveKeys)).to.equal(true);
    // Sender-chosen ids never suppress a live message (some clients reuse them) ...
    expect(claim(liveKeys)).to.equal(true);
    // ... but the archived copy of that message is recognised by them.
    expect(claim(archivedMessageKeys('A2', readArchivedOmemo(omemoMessage('m2'), OWN) as IncomingOmemo))).to.equal(false);
    // The same id from another sender is another message, and two archived messages reusing an id are two messages.
    expect(claim(archivedMessageKeys('A3', readArchivedOmemo(omemoMessage('m2', 'eve@example.org/x'), OWN) as IncomingOmemo))).to.equal(true);
    expect(claim(archivedMessageKeys('A4', readArchivedOmemo(omemoMessage('m9'), OWN) as IncomingOmemo))).to.equal(true);
    expect(claim(archivedMessageKeys('A5', readArchivedOmemo(omemoMessage('m9'), OWN) as IncomingOmemo))).to.equal(true);
    // A carbon: the stanza-id on the forwarded message counts too.
    const carbon = xml('message', { from: OWN, to: `${OWN}/pc` }, xml('received', { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, live)));
    expect(liveMessageKeys(carbon, readIncomingOmemo(carbon, OWN) as IncomingOmemo, OWN).stanzaId).to.equal('A1');
  });

  it('an archived OMEMO message must name its sender, be from or to us, and not be a carbon wrapper', () => {
    expect(readArchivedOmemo(omemoMessage('m'), OWN)?.senderJid).to.equal(ALICE);
    expect(readArchivedOmemo(omemoMessage('m', `${OWN}/phone`, ALICE), OWN)).to.include({ senderJid: OWN, toJid: ALICE });
    expect(readArchivedOmemo(xml('message', { to: OWN, type: 'chat' }, enc()), OWN)).to.equal(undefined);
    expect(readArchivedOmemo(omemoMessage('m', 'eve@example.org/x', 'carol@example.org'), OWN)).to.equal(undefined);
    const wrapped = xml('message', { from: OWN, to: OWN }, xml('sent', { xmlns: 'urn:xmpp:carbons:2' }, xml('forwarded', { xmlns: 'urn:xmpp:forward:0' }, omemoMessage('m', `${OWN}/x`, ALICE))));
    expect(readArchivedOmemo(wrapped, OWN)).to.equal(undefined);
    expect(readArchivedOmemo(xml('message', { from: ALICE, to: OWN, type: 'groupchat' }, enc()), OWN)).to.equal(undefined);
    expect(readArchivedOmemo(xml('message', { from: ALICE, to: OWN }, xml('body', {}, 'plain')), OWN)).to.equal(undefined);
  });

  it('first run starts at now minus the margin; later runs page after the last id; the cursor survives a restart', async () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    const entries = [entry(1), entry(2), entry(3, xml('message', { from: `${ALICE}/desk`, to: OWN, type: 'chat' }, xml('body', {}, 'plain'))), entry(4)];
    const archive = pagedArchive(entries);
    const store = new MemoryStore();
    const seen: [string, ArchivedInfo][] = [];
    const process = async (incoming: IncomingOmemo, info: ArchivedInfo): Promise<'message'> => {
      seen.push([incoming.id as string, info]);
      return 'message';
    };
    const catchUp = new OmemoCatchUp({ mam: archive.client, store, now: () => now });
    await catchUp.init(OWN);
    expect(await catchUp.cursor()).to.deep.equal({ archiveId: undefined, stamp: new Date(now - FIRST_RUN_MARGIN_MS).toISOString() });
    const first = await catchUp.run(process, { pageSize: 2 });
    expect(first).to.deep.equal({ fetched: 4, messages: 3, empty: 0, duplicates: 0, skipped: 1, errors: 0, complete: true, lastArchiveId: 'A4' });
    expect(seen.map(([id, info]) => [id, info.archiveId])).to.deep.equal([['m1', 'A1'], ['m2', 'A2'], ['m4', 'A4']]);
    expect(seen[0]?.[1].stamp).to.equal(entries[0]?.stamp);
    expect(formStart(archive.queries[0])).to.equal(new Date(now - FIRST_RUN_MARGIN_MS).toISOString());
    expect(rsmAfter(archive.queries[1])).to.equal('A2');
    expect(await catchUp.cursor()).to.deep.equal({ archiveId: 'A4', stamp: entries[3]?.stamp });

    entries.push(entry(5));
    const restarted = new OmemoCatchUp({ mam: archive.client, store, now: () => now });
    await restarted.init(OWN);
    const second = await restarted.run(process);
    expect(second).to.include({ fetched: 1, messages: 1, lastArchiveId: 'A5' });
    const last = archive.queries[archive.queries.length - 1];
    expect(rsmAfter(last)).to.equal('A4');
    expect(formStart(last)).to.equal(undefined);
  });

  it('an archive that forgot our last id (item-not-found) is read again from the cursor stamp', async () => {
    const entries = [entry(1), entry(2), entry(3)];
    const archive = pagedArchive(entries);
    const store = new MemoryStore();
    await store.set(`omemo/${encodeURIComponent(OWN)}/mam-cursor`, serializeMamCursor({ archiveId: 'expired', stamp: entries[1]?.stamp }));
    const catchUp = new OmemoCatchUp({ mam: archive.client, store });
    await catchUp.init(OWN);
    const ids: string[] = [];
    const result = await catchUp.run(async (_i, info) => {
      ids.push(info.archiveId);
      return 'message';
    });
    expect(ids).to.deep.equal(['A2', 'A3']);
    expect(result).to.include({ complete: true, lastArchiveId: 'A3' });
    expect(rsmAfter(archive.queries[0])).to.equal('expired');
    expect(formStart(archive.queries[1])).to.equal(entries[1]?.stamp);
  });

  it('`with` and `since` runs leave the cursor alone and skip the hooks; live messages move the cursor only after a complete run, until the next stream', async () => {
    const entries = [entry(1), entry(2, omemoMessage('m2', 'carol@example.org/x'))];
    const archive = pagedArchive(entries);
    const store = new MemoryStore();
    const catchUp = new OmemoCatchUp({ mam: archive.client, store });
    await catchUp.init(OWN);
    const initial = await catchUp.cursor();
    const hooks: string[] = [];
    const hookSet = { start: async () => { hooks.push('start'); }, end: async (r: unknown, e: unknown) => { hooks.push(r !== undefined ? 'end' : `end-error:${String(e)}`); } };
    const withCarol = await catchUp.run(async () => 'message', { with: 'carol@example.org', since: new Date(0) }, hookSet);
    expect(withCarol).to.include({ fetched: 1, messages: 1 });
    expect(await catchUp.cursor()).to.deep.equal(initial);
    expect(hooks).to.deep.equal([]);
    await catchUp.noteLive('L1');
    expect(await catchUp.cursor(), 'not in sync yet').to.deep.equal(initial);
    await catchUp.run(async () => 'message', {}, hookSet);
    expect(hooks).to.deep.equal(['start', 'end']);
    await catchUp.noteLive('L1');
    expect((await catchUp.cursor()).archiveId).to.equal('L1');
    catchUp.resetSync();
    await catchUp.noteLive('L2');
    expect((await catchUp.cursor()).archiveId).to.equal('L1');
    // A failing run still ends its hooks, with the error.
    await store.set(`omemo/${encodeURIComponent(OWN)}/mam-cursor`, serializeMamCursor({ archiveId: undefined, stamp: undefined }));
    const failing = new OmemoCatchUp({ mam: pagedArchive([entry(9)]).client, store });
    await failing.init(OWN);
    let caught: unknown;
    try {
      await failing.run(async () => { throw new Error('processor failed'); }, {}, hookSet);
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(Error);
    expect(hooks.slice(2)).to.deep.equal(['start', `end-error:${String(caught)}`]);
  });
});
