import { expect } from 'chai';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { ModpGroup } from '../../../lib/core/crypto/modp-group.js';
import { StateError, VerificationError } from '../../../lib/core/errors.js';
import { generateOtrDhKeyPair } from '../../../otr/dh-key-pair.js';
import { counterFromBytes, counterToBytes, DataKeyManager } from '../../../otr/key-management.js';

const group = new ModpGroup();

function pair(seed: string): { a: DataKeyManager; b: DataKeyManager } {
  const ra = deterministicRandom(seed + 'a');
  const rb = deterministicRandom(seed + 'b');
  const ka = generateOtrDhKeyPair(group, ra);
  const kb = generateOtrDhKeyPair(group, rb);
  return {
    a: new DataKeyManager({ ourKeyId: 1, ourDhPrivate: ka.privateKey, ourDhPublic: ka.publicKey, theirKeyId: 1, theirDhPublic: kb.publicKey }, group, ra),
    b: new DataKeyManager({ ourKeyId: 1, ourDhPrivate: kb.privateKey, ourDhPublic: kb.publicKey, theirKeyId: 1, theirDhPublic: ka.publicKey }, group, rb),
  };
}

describe('otr/key-management', () => {
  it('starts as the spec says after the AKE: our_keyid = AKE keyid + 1, their_keyid = theirs', () => {
    const { a } = pair('start');
    expect(a.ourKeyId).to.equal(2);
    expect(a.theirKeyId).to.equal(1);
    const s = a.nextSending();
    expect([s.senderKeyId, s.recipientKeyId]).to.deep.equal([1, 1]);
    expect(s.nextDh).to.equal(a.ourPublicKey);
    expect(counterFromBytes(s.counter)).to.equal(1n);
    expect(counterFromBytes(a.nextSending().counter)).to.equal(2n);
  });

  it('counters increase per key pair and reset for a new pair', () => {
    const { a, b } = pair('ctr');
    const s1 = a.nextSending();
    const slot = b.prepareReceive(s1.senderKeyId, s1.recipientKeyId);
    b.acceptReceived(slot, s1.counter, s1.nextDh);
    // b rotated their key (a's keyid 2 now current at b); b's next message uses pair (1, 2)
    const r = b.nextSending();
    expect([r.senderKeyId, r.recipientKeyId]).to.deep.equal([1, 2]);
    expect(counterFromBytes(r.counter)).to.equal(1n);
  });

  it('rejects an out-of-range next D-H key without changing anything', () => {
    const { a, b } = pair('nextdh');
    const s1 = a.nextSending();
    const slot = b.prepareReceive(s1.senderKeyId, s1.recipientKeyId);
    expect(() => b.acceptReceived(slot, s1.counter, 1n)).to.throw(VerificationError).with.property('code', 'otr.data.bad-dh-public');
    expect(() => b.acceptReceived(slot, s1.counter, group.p - 1n)).to.throw(VerificationError);
    expect(b.theirKeyId).to.equal(1);
    expect(slot.receivingCounter).to.equal(0n);
    // The same counter is still acceptable with a good key: nothing was recorded.
    b.acceptReceived(slot, s1.counter, s1.nextDh);
    expect(b.theirKeyId).to.equal(2);
  });

  it('rejects replays (equal or smaller counter) with StateError and keeps state', () => {
    const { a, b } = pair('replay');
    const s1 = a.nextSending();
    const s2 = a.nextSending();
    const slot = b.prepareReceive(s2.senderKeyId, s2.recipientKeyId);
    b.acceptReceived(slot, s2.counter, s2.nextDh);
    expect(() => b.acceptReceived(slot, s2.counter, s2.nextDh)).to.throw(StateError).with.property('code', 'otr.data.replay');
    expect(() => b.acceptReceived(slot, s1.counter, s1.nextDh)).to.throw(StateError);
    expect(slot.receivingCounter).to.equal(2n);
  });

  it('rejects keyids it does not hold, including their_keyid - 1 before any rotation', () => {
    const { b } = pair('ids');
    expect(() => b.prepareReceive(0, 1)).to.throw(StateError);
    expect(() => b.prepareReceive(1, 3)).to.throw(StateError);
    expect(() => b.prepareReceive(2, 1)).to.throw(StateError);
    expect(() => b.prepareReceive(1, 0)).to.throw(StateError);
    expect(b.prepareReceive(1, 1).ourKeyId).to.equal(1);
    expect(b.prepareReceive(1, 2).ourKeyId).to.equal(2);
  });

  it('reveals the used MAC keys of a forgotten key once, then nothing', () => {
    const { a, b } = pair('reveal');
    let toB = a.nextSending();
    b.acceptReceived(b.prepareReceive(toB.senderKeyId, toB.recipientKeyId), toB.counter, toB.nextDh);
    const receivedWith = b.prepareReceive(1, 1).keys.receivingMacKey.slice();
    // b -> a acknowledges a's key 2; a rotates; a -> b with (2, 2); b forgets a's key 1.
    const toA = b.nextSending();
    a.acceptReceived(a.prepareReceive(toA.senderKeyId, toA.recipientKeyId), toA.counter, toA.nextDh);
    toB = a.nextSending();
    expect([toB.senderKeyId, toB.recipientKeyId]).to.deep.equal([2, 2]);
    b.acceptReceived(b.prepareReceive(toB.senderKeyId, toB.recipientKeyId), toB.counter, toB.nextDh);
    expect(b.pendingRevealCount).to.be.greaterThan(0);
    const revealed = b.takeMacKeysToReveal();
    const keys = [];
    for (let i = 0; i < revealed.length; i += 20) keys.push(Buffer.from(revealed.subarray(i, i + 20)).toString('hex'));
    expect(keys).to.include(Buffer.from(receivedWith).toString('hex'));
    expect(b.takeMacKeysToReveal().length).to.equal(0);
  });

  it('counter encoding is 8-byte big-endian', () => {
    expect(Buffer.from(counterToBytes(0x0102030405060708n)).toString('hex')).to.equal('0102030405060708');
    expect(counterFromBytes(counterToBytes(2n ** 64n - 1n))).to.equal(2n ** 64n - 1n);
  });

  it('wipe() makes further use a caller bug', () => {
    const { a } = pair('wipe');
    a.wipe();
    expect(() => a.nextSending()).to.throw(TypeError);
  });
});
