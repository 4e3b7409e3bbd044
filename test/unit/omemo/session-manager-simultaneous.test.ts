import { expect } from 'chai';
import { OmemoSessionManager } from '../../../omemo/session-manager.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { ALICE, BOB, deliverAll, device, learn, plain, text } from './manager-helpers.js';

/**
 * Both devices start a session at the same moment (each encrypts before the other's key
 * exchange arrives). Each then replaces its own session with the one built from the other's
 * key exchange; the session it replaced is kept (as libsignal keeps previous session states),
 * so whichever pairing the peer uses still decrypts, and the conversation never dead-locks.
 */
for (const version of ['0.3', '2'] as const) {
  describe(`OmemoSessionManager: simultaneous session start (${version})`, () => {
    it('crossing key exchanges: every later message in both directions decrypts, also after a restart', async () => {
      const alice = await device(ALICE, `sim-a-${version}`);
      let a = alice.manager;
      const b = (await device(BOB, `sim-b-${version}`)).manager;
      await learn(version, a, [b]);
      await learn(version, b, [a]);
      const fromA = await a.encrypt(version, [BOB], text('a first'));
      const fromB = await b.encrypt(version, [ALICE], text('b first'));
      expect(fromA.recipients[0]?.keyExchange).to.equal(true);
      expect(fromB.recipients[0]?.keyExchange).to.equal(true);
      const atB = await b.decrypt(ALICE, fromA.element);
      const atA = await a.decrypt(BOB, fromB.element);
      expect(plain(atB)).to.equal('a first');
      expect(plain(atA)).to.equal('b first');
      // the automatic completions cross as well
      await deliverAll([a, b], b, atB.toSend);
      await deliverAll([a, b], a, atA.toSend);
      // the replaced sessions are stored with the current ones
      a = await OmemoSessionManager.open({ store: alice.store, ownJid: ALICE, random: deterministicRandom(`sim-a2-${version}`), preKeyCount: 20 });
      for (let i = 0; i < 6; i++) {
        const ab = await a.encrypt(version, [BOB], text(`a ${i}`));
        const gotB = await b.decrypt(ALICE, ab.element);
        expect(plain(gotB)).to.equal(`a ${i}`);
        await deliverAll([a, b], b, gotB.toSend);
        const ba = await b.encrypt(version, [ALICE], text(`b ${i}`));
        const gotA = await a.decrypt(BOB, ba.element);
        expect(plain(gotA)).to.equal(`b ${i}`);
        await deliverAll([a, b], a, gotA.toSend);
      }
      // and a burst one way after the other
      for (let i = 0; i < 3; i++) expect(plain(await b.decrypt(ALICE, (await a.encrypt(version, [BOB], text(`burst ${i}`))).element))).to.equal(`burst ${i}`);
    });
  });
}
