import { expect } from 'chai';
import { MemoryStore } from '../../../lib/core/store/store.js';
import { ProtocolError, StateError, StorageError } from '../../../lib/core/errors.js';
import { migrateDocument } from '../../../omemo/manager-state-json.js';
import { serializeXml } from '../../../omemo/xml-codec.js';
import {
  IdentityMismatchError, NoRecipientsError, NoSessionError, UnknownDeviceError, UnknownPreKeyError, UntrustedDeviceError,
} from '../../../omemo/errors.js';
import { parseFingerprintUri } from '../../../omemo/fingerprint.js';
import { OmemoSessionManager } from '../../../omemo/session-manager.js';
import { ALICE, BOB, CAROL, deliverAll, device, learn, plain, snapshot, text } from './manager-helpers.js';

async function rejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const WEEK = 7 * 24 * 3600 * 1000;

for (const version of ['0.3', '2'] as const) {
  describe(`OmemoSessionManager prekeys, repair and trust (${version})`, () => {
    it('deletes a used prekey, refills to the target count, signals republish until marked published', async () => {
      const { manager: b } = await device(BOB, `pk-b-${version}`);
      const { manager: a } = await device(ALICE, `pk-a-${version}`);
      expect(b.republishNeeded()).to.deep.equal(['0.3', '2']);
      await b.markPublished('0.3');
      await b.markPublished('2');
      expect(b.republishNeeded()).to.deep.equal([]);
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      const before = b.bundle(version).preKeys.map((p) => p.id);
      const m = await a.encrypt(version, [BOB], text('uses a prekey'));
      const d = await b.decrypt(ALICE, m.element);
      const usedEvent = d.events.find((e) => e.kind === 'pre-key-used');
      expect(usedEvent).to.not.equal(undefined);
      const used = (usedEvent as { preKeyId: number }).preKeyId;
      const after = b.bundle(version).preKeys.map((p) => p.id);
      expect(after).to.not.include(used);
      expect(after).to.have.length(before.length);
      expect(Math.max(...after)).to.equal(Math.max(...before) + 1);
      expect(b.republishNeeded()).to.deep.equal([version]);
      // A second initiator whose (stale) bundle offers only the used prekey: refused, typed.
      const { manager: c } = await device(CAROL, `pk-c-${version}`);
      await c.updateDeviceList(version, BOB, [b.deviceId]);
      await c.processBundle(version, BOB, b.deviceId, { ...b.bundle(version), preKeys: [{ id: used, key: new Uint8Array(32).fill(9) }] });
      const attempt = await c.encrypt(version, [BOB], text('stale'));
      const err = await rejects(b.decrypt(CAROL, attempt.element));
      expect(err).to.be.instanceOf(UnknownPreKeyError);
      expect((err as UnknownPreKeyError).code).to.equal('omemo.unknown-pre-key');
      await b.markPublished(version);
      expect(b.republishNeeded()).to.deep.equal([]);
    });

    it('rotates the signed prekey each period and keeps the previous one for one more period', async () => {
      let now = 1_000_000;
      const store = new MemoryStore();
      const { manager: b } = await device(BOB, `spk-b-${version}`, { store, now: () => now });
      const { manager: a } = await device(ALICE, `spk-a-${version}`);
      await learn(version, a, [b]);
      const oldBundle = b.bundleElement(version);
      const spkId = (): number => { const x = b.bundle(version); return 'signedPreKeyId' in x ? x.signedPreKeyId : x.spkId; };
      expect(spkId()).to.equal(1);
      now += WEEK - 1;
      expect(await b.maintain()).to.deep.equal(['0.3', '2']);
      expect(spkId()).to.equal(1);
      now += 1;
      await b.maintain();
      expect(spkId()).to.equal(2);
      // A key exchange built on the previous signed prekey still works.
      const m = await a.encrypt(version, [BOB], text('old spk'));
      expect(plain(await b.decrypt(ALICE, m.element))).to.equal('old spk');
      // Reloaded from the store, the rotation survives; one more period drops signed prekey 1.
      const b2 = await OmemoSessionManager.open({ store, ownJid: BOB, now: () => now, preKeyCount: 20 });
      expect('signedPreKeyId' in b2.bundle(version) ? (b2.bundle(version) as { signedPreKeyId: number }).signedPreKeyId : (b2.bundle(version) as { spkId: number }).spkId).to.equal(2);
      now += WEEK;
      await b2.maintain();
      const { manager: late } = await device(CAROL, `spk-c-${version}`);
      await late.updateDeviceList(version, BOB, [b2.deviceId]);
      await late.processBundle(version, BOB, b2.deviceId, oldBundle);
      const m2 = await late.encrypt(version, [BOB], text('too old'));
      const err = await rejects(b2.decrypt(CAROL, m2.element));
      expect(err).to.be.instanceOf(UnknownPreKeyError);
      expect((err as StateError).code).to.equal('omemo.unknown-signed-pre-key');
    });

    it(version === '0.3'
      ? 'repairs automatically, once per device, when a message arrives without a session'
      : 'never repairs automatically; replaceSessions() rebuilds on request', async () => {
      const { manager: a } = await device(ALICE, `rp-a-${version}`);
      const bDevice = await device(BOB, `rp-b-${version}`);
      const b = bDevice.manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      await deliverAll([a, b], b, (await b.decrypt(ALICE, (await a.encrypt(version, [BOB], text('x'))).element)).toSend);
      // B loses its session with A (e.g. restored an old backup).
      for (const key of await bDevice.store.keys()) if (key.includes('/session/')) await bDevice.store.delete(key);
      const b2 = await OmemoSessionManager.open({ store: bDevice.store, ownJid: BOB, preKeyCount: 20 });
      const lost = await a.encrypt(version, [BOB], text('lost'));
      expect(await rejects(b2.decrypt(ALICE, lost.element))).to.be.instanceOf(NoSessionError);
      const repairs = b2.drainOutgoing();
      if (version === '0.3') {
        expect(repairs.map((r) => [r.reason, r.to, r.deviceId])).to.deep.equal([['session-repair', ALICE, a.deviceId]]);
        // A second failure from the same device (the lost message, now against the repair
        // session): typed, and no second repair in this run.
        expect(await rejects(b2.decrypt(ALICE, lost.element))).to.be.instanceOf(ProtocolError);
        expect(b2.drainOutgoing()).to.deep.equal([]);
        await deliverAll([a, b2], b2, repairs);
      } else {
        expect(repairs).to.deep.equal([]);
        const replaced = await b2.replaceSessions(version, ALICE);
        expect(replaced.toSend.map((r) => r.reason)).to.deep.equal(['session-replace']);
        await deliverAll([a, b2], b2, replaced.toSend);
      }
      const after = await a.encrypt(version, [BOB], text('after repair'));
      expect(plain(await b2.decrypt(ALICE, after.element))).to.equal('after repair');
      const back = await b2.encrypt(version, [ALICE], text('back'));
      expect(plain(await a.decrypt(BOB, back.element))).to.equal('back');
    });

    it('blind trust before verification: new devices trusted until one is verified', async () => {
      const { manager: a } = await device(ALICE, `bt-a-${version}`);
      const { manager: b1 } = await device(BOB, `bt-b1-${version}`);
      const { manager: b2 } = await device(BOB, `bt-b2-${version}`);
      const { manager: b3 } = await device(BOB, `bt-b3-${version}`);
      await learn(version, a, [b1, b2]);
      expect((await a.devices(BOB)).map((d) => d.trust)).to.deep.equal(['trusted', 'trusted']);
      expect((await a.encrypt(version, [BOB], text('both'))).recipients).to.have.length(2);
      await a.setTrust(BOB, b1.deviceId, 'verified');
      const m = await a.encrypt(version, [BOB], text('only verified'));
      expect(m.recipients.map((r) => r.deviceId)).to.deep.equal([b1.deviceId]);
      expect(m.skipped).to.deep.equal([{ jid: BOB, deviceId: b2.deviceId, reason: 'untrusted' }]);
      await learn(version, a, [b1, b2, b3]);
      const byId = new Map((await a.devices(BOB)).map((d) => [d.deviceId, d]));
      expect(byId.get(b2.deviceId)?.trust).to.equal('undecided');
      expect(byId.get(b2.deviceId)?.storedTrust).to.deep.equal({ state: 'trusted', blind: true });
      expect(byId.get(b3.deviceId)?.storedTrust).to.deep.equal({ state: 'undecided', blind: false });
      await a.setTrust(BOB, b3.deviceId, 'trusted');
      expect((await a.encrypt(version, [BOB], text('x'))).recipients.map((r) => r.deviceId).sort()).to.deep.equal([b1.deviceId, b3.deviceId].sort());
      expect(await rejects(a.setTrust(BOB, 12345, 'trusted'))).to.be.instanceOf(UnknownDeviceError);
    });

    it('manual policy: undecided devices get nothing; distrusted senders are refused without a state change', async () => {
      const aDevice = await device(ALICE, `mt-a-${version}`, { trustPolicy: 'manual' });
      const a = aDevice.manager;
      const { manager: b } = await device(BOB, `mt-b-${version}`);
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      expect((await a.devices(BOB)).map((d) => d.trust)).to.deep.equal(['undecided']);
      const none = await rejects(a.encrypt(version, [BOB], text('nobody')));
      expect(none).to.be.instanceOf(NoRecipientsError);
      expect((none as NoRecipientsError).code).to.equal('omemo.no-recipients');
      expect((none as NoRecipientsError).skipped).to.deep.equal([{ jid: BOB, deviceId: b.deviceId, reason: 'untrusted' }]);
      // Messages from an undecided device are decrypted and flagged.
      const fromB = await b.encrypt(version, [ALICE], text('from undecided'));
      const d = await a.decrypt(BOB, fromB.element);
      expect(plain(d)).to.equal('from undecided');
      expect(d.trust).to.equal('undecided');
      await deliverAll([a, b], a, d.toSend);
      await a.setTrust(BOB, b.deviceId, 'distrusted');
      const before = await snapshot(aDevice.store);
      const refused = await rejects(a.decrypt(BOB, (await b.encrypt(version, [ALICE], text('refused'))).element));
      expect(refused).to.be.instanceOf(UntrustedDeviceError);
      expect(await snapshot(aDevice.store)).to.deep.equal(before);
      await a.setTrust(BOB, b.deviceId, 'trusted');
      expect((await a.encrypt(version, [BOB], text('now trusted'))).recipients).to.have.length(1);
    });

    it('fingerprints: one per device under both versions, URI verification, identity changes', async () => {
      const { manager: a } = await device(ALICE, `fp-a-${version}`);
      const { manager: b } = await device(BOB, `fp-b-${version}`);
      await learn('0.3', a, [b]);
      await learn('2', a, [b]);
      const [info] = await a.devices(BOB);
      expect(info?.fingerprint).to.deep.equal(b.ownFingerprint);
      expect(b.identityKey('0.3')).to.deep.equal(b.ownFingerprint);
      const uri = parseFingerprintUri(b.ownFingerprintUri());
      expect(uri.jid).to.equal(BOB);
      expect(await a.verifyFromUri(BOB, uri.devices)).to.deep.equal([b.deviceId]);
      expect((await a.devices(BOB))[0]?.trust).to.equal('verified');
      // The verified device id reappears with another identity (bundle): new fingerprint, sessions
      // dropped, and not trusted blindly (the contact had a verified device: this one).
      await a.updateDeviceList(version, BOB, [b.deviceId]);
      await a.encrypt(version, [BOB], text('session'));
      const { manager: impostor } = await device(BOB, `fp-x-${version}`);
      const bundle = impostor.bundle(version);
      const changed = await a.processBundle(version, BOB, b.deviceId, bundle);
      expect(changed.events.map((e) => e.kind)).to.deep.equal(['identity-changed']);
      const [now] = await a.devices(BOB);
      expect(now?.fingerprint).to.deep.equal(impostor.ownFingerprint);
      expect(now?.sessions).to.deep.equal([]);
      expect(now?.trust).to.equal('undecided');
      expect(changed.events[0]).to.deep.include({ kind: 'identity-changed', trust: 'undecided' });
      // A key exchange from that device id with yet another identity: refused, typed.
      const { manager: other } = await device(BOB, `fp-y-${version}`);
      await learn(version, other, [a]);
      const kex = await other.encrypt(version, [ALICE], text('other identity'));
      const forged = serializeXml(kex.element).replace(`sid="${other.deviceId}"`, `sid="${b.deviceId}"`);
      expect(await rejects(a.decrypt(BOB, forged))).to.be.instanceOf(IdentityMismatchError);
    });
  });
}

describe('OmemoSessionManager storage', () => {
  it('refuses corrupted or unknown-version state with StorageError', async () => {
    const { store } = await device(ALICE, 'st-a');
    const own = (await store.keys()).find((k) => k.endsWith('/own')) as string;
    const original = (await store.get(own)) as string;
    await store.set(own, '{"version":99}');
    const unknown = await rejects(OmemoSessionManager.open({ store, ownJid: ALICE }));
    expect(unknown).to.be.instanceOf(StorageError);
    expect((unknown as StorageError).code).to.equal('omemo.manager-state-unknown-version');
    await store.set(own, 'not json');
    expect(await rejects(OmemoSessionManager.open({ store, ownJid: ALICE }))).to.be.instanceOf(StorageError);
    await store.set(own, original);
    const pre = (await store.keys()).find((k) => k.endsWith('/prekeys/2')) as string;
    await store.set(pre, ((await store.get(pre)) as string).replace(/"privateKey":"[^"]+"/, '"privateKey":"AAAA"'));
    expect(await rejects(OmemoSessionManager.open({ store, ownJid: ALICE }))).to.be.instanceOf(StorageError);
  });

  it('keeps the republish signal and regenerated prekeys across restarts', async () => {
    const { manager, store } = await device(ALICE, 'st-r');
    await manager.markPublished('2');
    const reopened = await OmemoSessionManager.open({ store, ownJid: ALICE, preKeyCount: 20 });
    expect(reopened.republishNeeded()).to.deep.equal(['0.3']);
    const pre = (await store.keys()).find((k) => k.endsWith('/prekeys/2')) as string;
    await store.delete(pre);
    const regenerated = await OmemoSessionManager.open({ store, ownJid: ALICE, preKeyCount: 20 });
    expect(regenerated.republishNeeded()).to.deep.equal(['0.3', '2']);
    const again = await OmemoSessionManager.open({ store, ownJid: ALICE, preKeyCount: 20 });
    expect(serializeXml(again.bundleElement('2')) === serializeXml(regenerated.bundleElement('2')), 'regenerated prekeys were stored').to.equal(true);
  });

  it('runs registered migrations on load', async () => {
    const migrated = migrateDocument('deviceList', { version: 0, devices: [5, 6] }, { 0: (old) => ({ version: 1, ids: old.devices }) });
    expect(migrated).to.deep.equal({ version: 1, ids: [5, 6] });
    expect(() => migrateDocument('deviceList', { version: 0 })).to.throw(StorageError);
  });
});
