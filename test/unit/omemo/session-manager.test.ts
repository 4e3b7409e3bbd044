import { expect } from 'chai';
import { StateError } from '../../../lib/core/errors.js';
import { NotForThisDeviceError, OwnDeviceMessageError } from '../../../omemo/errors.js';
import { OmemoSessionManager } from '../../../omemo/session-manager.js';
import { serializeXml } from '../../../omemo/xml-codec.js';
import { decodeEncrypted03 } from '../../../omemo/versions/v03/xml.js';
import { decodeEncrypted2 } from '../../../omemo/versions/v2/xml.js';
import { ALICE, BOB, CAROL, deliverAll, device, learn, plain, text } from './manager-helpers.js';

async function rejects(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

for (const version of ['0.3', '2'] as const) {
  describe(`OmemoSessionManager loopback (${version})`, () => {
    it('first message with key exchange, automatic completion, replies, no key exchange afterwards', async () => {
      const a = (await device(ALICE, `a-${version}`)).manager;
      const b = (await device(BOB, `b-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      const m1 = await a.encrypt(version, [BOB], text('hello'));
      expect(m1.recipients).to.deep.equal([{ jid: BOB, deviceId: b.deviceId, keyExchange: true }]);
      expect(m1.events.map((e) => e.kind)).to.deep.equal(['session-built']);
      const xml = serializeXml(m1.element);
      if (version === '0.3') expect(decodeEncrypted03(m1.element).keys[0]?.prekey).to.equal(true);
      else expect(decodeEncrypted2(m1.element).keys[0]?.keys[0]?.kex).to.equal(true);
      const d1 = await b.decrypt(ALICE, xml);
      expect(plain(d1)).to.equal('hello');
      expect(d1.keyExchange).to.equal(true);
      expect(d1.trust).to.equal('trusted');
      expect(d1.events.map((e) => e.kind)).to.include.members(['pre-key-used', 'session-built']);
      expect(d1.toSend.map((m) => m.reason)).to.deep.equal(['key-exchange-completion']);
      // Before the completion arrives, Alice keeps attaching the key exchange.
      const m2 = await a.encrypt(version, [BOB], text('still unanswered'));
      expect(m2.recipients[0]?.keyExchange).to.equal(true);
      expect(await deliverAll([a, b], b, d1.toSend)).to.equal(1);
      const d2 = await b.decrypt(ALICE, m2.element);
      expect(plain(d2)).to.equal('still unanswered');
      expect(d2.toSend, 'no second completion: B answered already').to.deep.equal([]);
      const m3 = await a.encrypt(version, [BOB], text('answered'));
      expect(m3.recipients[0]?.keyExchange).to.equal(false);
      expect(plain(await b.decrypt(ALICE, m3.element))).to.equal('answered');
      const r = await b.encrypt(version, [ALICE], text('reply'));
      expect(r.recipients[0]?.keyExchange).to.equal(false);
      expect(plain(await a.decrypt(BOB, r.element))).to.equal('reply');
    });

    it('the same key-exchange message twice decrypts twice and uses the prekey once; plain replays are typed errors', async () => {
      const a = (await device(ALICE, `a2-${version}`)).manager;
      const b = (await device(BOB, `b2-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      const m1 = await a.encrypt(version, [BOB], text('once'));
      const before = b.bundle(version).preKeys.map((p) => p.id);
      const d1 = await b.decrypt(ALICE, m1.element);
      const after = b.bundle(version).preKeys.map((p) => p.id);
      expect(before.filter((id) => !after.includes(id))).to.have.length(1);
      expect(after).to.have.length(20);
      const again = await b.decrypt(ALICE, m1.element);
      expect(again.duplicate).to.equal(true);
      expect(plain(again)).to.equal('once');
      expect(b.bundle(version).preKeys.map((p) => p.id)).to.deep.equal(after);
      await deliverAll([a, b], b, d1.toSend);
      const m2 = await a.encrypt(version, [BOB], text('plain'));
      await b.decrypt(ALICE, m2.element);
      const replay = await rejects(b.decrypt(ALICE, m2.element));
      expect(replay).to.be.instanceOf(StateError);
      expect((replay as StateError).code).to.equal('omemo.ratchet-duplicate');
      // The session survives the replay.
      expect(plain(await b.decrypt(ALICE, (await a.encrypt(version, [BOB], text('after replay'))).element))).to.equal('after replay');
    });

    it('out-of-order delivery within and across chains (skipped keys)', async () => {
      const a = (await device(ALICE, `a3-${version}`)).manager;
      const b = (await device(BOB, `b3-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      const first = await a.encrypt(version, [BOB], text('m0'));
      await deliverAll([a, b], b, (await b.decrypt(ALICE, first.element)).toSend);
      const batch = [];
      for (let i = 1; i <= 6; i++) batch.push(await a.encrypt(version, [BOB], text(`m${i}`)));
      const reply = await b.encrypt(version, [ALICE], text('r'));
      expect(plain(await a.decrypt(BOB, reply.element))).to.equal('r');
      const batch2 = [];
      for (let i = 7; i <= 9; i++) batch2.push(await a.encrypt(version, [BOB], text(`m${i}`)));
      const order = [batch2[2], batch[5], batch[0], batch2[0], batch[3], batch[1], batch2[1], batch[2], batch[4]];
      const got = [];
      for (const m of order) got.push(plain(await b.decrypt(ALICE, m!.element)));
      expect(got).to.deep.equal(['m9', 'm6', 'm1', 'm7', 'm4', 'm2', 'm8', 'm3', 'm5']);
    });

    it('concurrent calls are serialized: parallel decrypts and encrypts all succeed', async () => {
      const a = (await device(ALICE, `a9-${version}`)).manager;
      const b = (await device(BOB, `b9-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      const sent = await Promise.all(Array.from({ length: 12 }, (_, i) => a.encrypt(version, [BOB], text(`p${i}`))));
      const got = await Promise.all([...sent].reverse().map((m) => b.decrypt(ALICE, m.element)));
      expect(got.map(plain).reverse()).to.deep.equal(sent.map((_, i) => `p${i}`));
      const replies = await Promise.all([b.encrypt(version, [ALICE], text('r1')), b.encrypt(version, [ALICE], text('r2'))]);
      expect((await Promise.all(replies.map((r) => a.decrypt(BOB, r.element)))).map(plain)).to.deep.equal(['r1', 'r2']);
    });

    it('heartbeat: one empty message once a receiving chain passes 53 messages', async () => {
      const a = (await device(ALICE, `a4-${version}`)).manager;
      const b = (await device(BOB, `b4-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      await deliverAll([a, b], b, (await b.decrypt(ALICE, (await a.encrypt(version, [BOB], text('x'))).element)).toSend);
      const reply = await b.encrypt(version, [ALICE], text('y'));
      await a.decrypt(BOB, reply.element);
      const reasons: [number, string][] = [];
      for (let i = 0; i < 120; i++) {
        const d = await a.decrypt(BOB, (await b.encrypt(version, [ALICE], text(`one-way ${i}`))).element);
        for (const m of d.toSend) reasons.push([i, m.reason]);
        if (d.toSend.length > 0) expect(await deliverAll([a, b], a, d.toSend)).to.equal(1);
      }
      // B's chain already holds its completion message and 'y': the 54th message of the chain
      // (i = 51) triggers the heartbeat. B's next message starts a new chain (it saw our new
      // ratchet key), so the next heartbeat comes with that chain's 54th message (i = 52 + 53).
      expect(reasons).to.deep.equal([[51, 'heartbeat'], [52 + 53, 'heartbeat']]);
    });

    it('three managers: fan-out to a contact with two devices and to our own other device', async () => {
      const a1 = (await device(ALICE, `a5-${version}`)).manager;
      const a2 = (await device(ALICE, `a6-${version}`)).manager;
      const b1 = (await device(BOB, `b5-${version}`)).manager;
      const b2 = (await device(BOB, `b6-${version}`)).manager;
      await learn(version, a1, [b1, b2]);
      await learn(version, a1, [a1, a2]);
      for (const b of [b1, b2]) await learn(version, b, [a1, a2]);
      const m = await a1.encrypt(version, [BOB], text('fan-out'));
      expect(m.recipients.map((r) => `${r.jid}/${r.deviceId}`).sort()).to.deep.equal(
        [`${BOB}/${b1.deviceId}`, `${BOB}/${b2.deviceId}`, `${ALICE}/${a2.deviceId}`].sort(),
      );
      for (const [jid, target] of [[BOB, b1], [BOB, b2], [ALICE, a2]] as const) {
        void jid;
        const d = await target.decrypt(ALICE, m.element);
        expect(plain(d)).to.equal('fan-out');
        await deliverAll([a1, a2, b1, b2], target, d.toSend);
      }
      // Not for a device that has no key, and never from ourselves.
      const c = (await device(CAROL, `c5-${version}`)).manager;
      expect(await rejects(c.decrypt(ALICE, m.element))).to.be.instanceOf(NotForThisDeviceError);
      expect(await rejects(a1.decrypt(ALICE, m.element))).to.be.instanceOf(OwnDeviceMessageError);
      const m2 = await a1.encrypt(version, [BOB], text('second'));
      expect(m2.recipients.every((r) => !r.keyExchange)).to.equal(true);
    });

    it('restart from the store: the reopened manager is the same device and continues its sessions', async () => {
      const aDevice = await device(ALICE, `a7-${version}`);
      const b = (await device(BOB, `b7-${version}`)).manager;
      await learn(version, aDevice.manager, [b]);
      await learn(version, b, [aDevice.manager]);
      const m1 = await aDevice.manager.encrypt(version, [BOB], text('before'));
      await deliverAll([aDevice.manager, b], b, (await b.decrypt(ALICE, m1.element)).toSend);
      const pending = await b.encrypt(version, [ALICE], text('in flight across the restart'));
      const a = await OmemoSessionManager.open({ store: aDevice.store, ownJid: ALICE, preKeyCount: 20 });
      expect(a.deviceId).to.equal(aDevice.manager.deviceId);
      expect(a.ownFingerprint).to.deep.equal(aDevice.manager.ownFingerprint);
      expect(serializeXml(a.bundleElement(version)) === serializeXml(aDevice.manager.bundleElement(version)), "same bundle").to.equal(true);
      expect(plain(await a.decrypt(BOB, pending.element))).to.equal('in flight across the restart');
      const m2 = await a.encrypt(version, [BOB], text('after'));
      expect(m2.recipients[0]?.keyExchange).to.equal(false);
      expect(plain(await b.decrypt(ALICE, m2.element))).to.equal('after');
      const devices = await a.devices(BOB);
      expect(devices.map((d) => [d.deviceId, d.trust, d.sessions.includes(version)])).to.deep.equal([[b.deviceId, 'trusted', true]]);
    });
  });
}
