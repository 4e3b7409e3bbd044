/**
 * The session manager's history sync (MAM catch-up): while offline, every contact picks its
 * one-time prekey from the same published bundle, so two archived key exchanges can name the
 * same prekey. Outside a history sync the second one fails (the prekey was deleted on first
 * use, XEP-0384 section 4.4); inside one, both decrypt, the prekey is withdrawn from the bundle
 * (persisted across a restart) and deleted by endHistorySync, after which it is refused.
 */
import { expect } from 'chai';
import { StorageError } from '../../../lib/core/errors.js';
import { UnknownPreKeyError } from '../../../omemo/errors.js';
import { OmemoSessionManager } from '../../../omemo/session-manager.js';
import { ALICE, BOB, CAROL, device, learn, plain, text } from './manager-helpers.js';

async function rejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

for (const version of ['0.3', '2'] as const) {
  describe(`OmemoSessionManager history sync (${version})`, () => {
    it('without a history sync, a second key exchange naming a used prekey is refused (UnknownPreKeyError)', async () => {
      const b = (await device(BOB, `hs0-b-${version}`, { preKeyCount: 1 })).manager;
      const a = (await device(ALICE, `hs0-a-${version}`)).manager;
      const c = (await device(CAROL, `hs0-c-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, c, [b]);
      const fromA = await a.encrypt(version, [BOB], text('from alice'));
      const fromC = await c.encrypt(version, [BOB], text('from carol'));
      expect(plain(await b.decrypt(ALICE, fromA.element))).to.equal('from alice');
      expect(await rejects(b.decrypt(CAROL, fromC.element))).to.be.instanceOf(UnknownPreKeyError);
    });

    it('inside one, both decrypt; the prekey leaves the bundle at once, survives a restart, and is deleted at the end', async () => {
      const { manager: b, store } = await device(BOB, `hs1-b-${version}`, { preKeyCount: 1 });
      const a = (await device(ALICE, `hs1-a-${version}`)).manager;
      const c = (await device(CAROL, `hs1-c-${version}`)).manager;
      const d = (await device('dave@d.example', `hs1-d-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, c, [b]);
      await learn(version, d, [b]);
      const [shared] = b.bundle(version).preKeys.map((p) => p.id);
      await b.markPublished(version);
      const fromA = await a.encrypt(version, [BOB], text('from alice'));
      const fromC = await c.encrypt(version, [BOB], text('from carol'));
      const fromD = await d.encrypt(version, [BOB], text('too late'));

      await b.beginHistorySync();
      expect(b.historySync).to.equal(true);
      const da = await b.decrypt(ALICE, fromA.element);
      expect(plain(da)).to.equal('from alice');
      expect(da.events).to.deep.include({ kind: 'pre-key-used', version, preKeyId: shared });
      // Withdrawn from the bundle (a fresh one takes its place), republish asked for; still held.
      expect(b.bundle(version).preKeys.map((p) => p.id)).to.have.length(1).and.not.include(shared);
      expect(b.republishNeeded()).to.include(version);
      expect(b.deferredPreKeyIds(version)).to.deep.equal([shared]);

      // A restart in the middle: the withdrawal is persisted.
      const reopened = await OmemoSessionManager.open({ store, ownJid: BOB, preKeyCount: 1 });
      expect(reopened.deferredPreKeyIds(version)).to.deep.equal([shared]);
      expect(reopened.bundle(version).preKeys.map((p) => p.id)).to.not.include(shared);
      await reopened.beginHistorySync();
      const dc = await reopened.decrypt(CAROL, fromC.element);
      expect(plain(dc)).to.equal('from carol');
      expect(dc.events).to.deep.include({ kind: 'pre-key-used', version, preKeyId: shared });
      // The same key exchange again is recognised, nothing used.
      const again = await reopened.decrypt(CAROL, fromC.element);
      expect(again.duplicate).to.equal(true);
      expect(again.events.filter((e) => e.kind === 'pre-key-used')).to.deep.equal([]);

      await reopened.markPublished(version);
      expect(await reopened.endHistorySync()).to.include(version);
      expect(reopened.historySync).to.equal(false);
      expect(reopened.deferredPreKeyIds(version)).to.deep.equal([]);
      expect(reopened.preKeyCount(version)).to.equal(1);
      expect(reopened.republishNeeded()).to.include(version);
      expect(await rejects(reopened.decrypt('dave@d.example', fromD.element))).to.be.instanceOf(UnknownPreKeyError);
      // Gone from storage too.
      const fresh = await OmemoSessionManager.open({ store, ownJid: BOB, preKeyCount: 1 });
      expect(fresh.deferredPreKeyIds(version)).to.deep.equal([]);
      expect(fresh.bundle(version).preKeys.map((p) => p.id)).to.not.include(shared);
      // The sessions built during the sync work both ways.
      await fresh.updateDeviceList(version, ALICE, [a.deviceId]);
      await fresh.updateDeviceList(version, CAROL, [c.deviceId]);
      const reply = await fresh.encrypt(version, [ALICE, CAROL], text('answer'));
      expect(reply.recipients.map((r) => r.keyExchange)).to.deep.equal([false, false]);
      expect(plain(await a.decrypt(BOB, reply.element))).to.equal('answer');
      expect(plain(await c.decrypt(BOB, reply.element))).to.equal('answer');
    });
  });
}

describe('OmemoSessionManager history sync: stored state', () => {
  it('a corrupted list of withdrawn prekeys is a StorageError at open', async () => {
    const { store } = await device(BOB, 'hs-corrupt');
    for (const bad of ['{"v":2}', '{"v":1,"preKeys":{"0.3":[0]}}', '{"v":1,"preKeys":{"2":"x"}}', 'not json']) {
      await store.set(`omemo/${encodeURIComponent(BOB)}/deferred-pre-keys`, bad);
      expect(await rejects(OmemoSessionManager.open({ store, ownJid: BOB })), bad).to.be.instanceOf(StorageError);
    }
  });
});
