import { expect } from 'chai';
import { bytesToHex, concatBytes } from '../../../lib/core/bytes.js';
import type { RandomSource } from '../../../lib/core/random.js';
import { X25519PrivateKey, X25519PublicKey } from '../../../omemo/crypto/curve25519.js';
import { decryptInitialMessage, decryptMessage, encryptMessage, initializeActiveSession } from '../../../omemo/ratchet/double-ratchet.js';
import type { DoubleRatchetConfig, DoubleRatchetState, RatchetMessage } from '../../../omemo/ratchet/double-ratchet.js';
import { recordingAead } from './ratchet-helpers.js';
import { omemo03Aead, omemo2Aead } from './wire-aead.js';
import { hex, vectors } from './vectors.js';
import type { RatchetSnapshot } from './vectors.js';

function keyQueue(keys: string[]): RandomSource {
  const queue = keys.map(hex);
  return (length) => {
    const next = queue.shift();
    if (next === undefined || length !== 32) throw new Error('ratchet drew more keys than python-doubleratchet');
    return next;
  };
}

function snapshot(state: DoubleRatchetState): RatchetSnapshot {
  const dh = state.diffieHellmanRatchet;
  const skr = dh.symmetricKeyRatchet;
  return {
    rootKey: bytesToHex(dh.rootChain.key),
    ownRatchetPrivate: bytesToHex(dh.ownRatchetKey.bytes),
    otherRatchetPublic: bytesToHex(dh.otherRatchetKey.bytes),
    sendingChainKey: skr.sendingChain === undefined ? null : bytesToHex(skr.sendingChain.key),
    sendingChainLength: skr.sendingChain?.length ?? null,
    receivingChainKey: skr.receivingChain === undefined ? null : bytesToHex(skr.receivingChain.key),
    receivingChainLength: skr.receivingChain?.length ?? null,
    previousSendingChainLength: skr.previousSendingChainLength,
    skippedMessageKeys: [...state.skippedMessageKeys.values()].map((k) => ({ ratchetPublic: k.ratchetKey, n: k.n, messageKey: bytesToHex(k.messageKey) })),
  };
}

describe('omemo/ratchet (vectors from python3-doubleratchet)', () => {
  for (const v of vectors.ratchet) {
    it(`profile ${v.profile} (${v.rootInfo}): ${v.steps.length} scripted steps with out-of-order delivery match key for key`, () => {
      const seen: Uint8Array[] = [];
      const config: DoubleRatchetConfig = { rootInfo: v.rootInfo, aead: recordingAead(seen) };
      const random = { alice: keyQueue(v.ratchetPrivateKeys.alice), bob: keyQueue(v.ratchetPrivateKeys.bob) };
      const ad = { sending: hex(v.associatedData), receiving: hex(v.associatedData) };
      const states: Partial<Record<'alice' | 'bob', DoubleRatchetState>> = {};
      const wire = new Map<string, RatchetMessage>();
      for (const step of v.steps) {
        seen.length = 0;
        const plaintext = hex(step.plaintext);
        let state = states[step.actor];
        if (step.kind === 'send') {
          state ??= initializeActiveSession(config, { sharedSecret: hex(v.sharedSecret), peerSignedPreKey: X25519PublicKey.fromBytes(hex(v.bobSignedPreKeyPublic)), associatedData: ad }, random[step.actor]);
          const out = encryptMessage(config, state, plaintext);
          state = out.state;
          wire.set(step.label, out.message);
          expect(bytesToHex(out.message.header.ratchetKey.bytes), step.label).to.equal(step.header?.ratchetPublic);
          expect(out.message.header.pn, step.label).to.equal(step.header?.pn);
          expect(out.message.header.n, step.label).to.equal(step.header?.n);
          expect(bytesToHex(out.message.ciphertext), step.label).to.equal(step.ciphertext);
        } else {
          const message = wire.get(step.label)!;
          const out = state === undefined
            ? decryptInitialMessage(config, { sharedSecret: hex(v.sharedSecret), ownSignedPreKey: X25519PrivateKey.fromBytes(hex(v.bobSignedPreKeyPrivate)), associatedData: ad }, message, random[step.actor])
            : decryptMessage(config, state, message, random[step.actor]);
          state = out.state;
          expect(bytesToHex(out.plaintext), step.label).to.equal(step.plaintext);
        }
        states[step.actor] = state;
        expect(seen.map(bytesToHex), step.label).to.deep.equal([step.messageKey]);
        expect(snapshot(state), `${step.actor} after ${step.kind} ${step.label}`).to.deep.equal({
          ...step.state, previousSendingChainLength: step.state.previousSendingChainLength ?? 0,
        });
      }
    });
  }
});

describe('omemo/ratchet with the real per-version AEADs (wire vectors from python3-oldmemo / python3-twomemo)', () => {
  for (const v of vectors.ratchetWire) {
    it(`profile ${v.profile}: same wire bytes as python, and python's bytes decrypt`, () => {
      const config: DoubleRatchetConfig = { rootInfo: v.rootInfo, aead: v.profile === '0.3' ? omemo03Aead : omemo2Aead };
      const alice = hex(v.aliceIdentityEncoded);
      const bob = hex(v.bobIdentityEncoded);
      // The session AD as X3DH would produce it (see x3dh.ts sessionAssociatedData).
      const ad = v.profile === '0.3'
        ? { alice: { sending: concatBytes(alice, bob), receiving: concatBytes(bob, alice) }, bob: { sending: concatBytes(bob, alice), receiving: concatBytes(alice, bob) } }
        : { alice: { sending: concatBytes(alice, bob), receiving: concatBytes(alice, bob) }, bob: { sending: concatBytes(alice, bob), receiving: concatBytes(alice, bob) } };
      const random = { alice: keyQueue(v.ratchetPrivateKeys.alice), bob: keyQueue(v.ratchetPrivateKeys.bob) };
      const states: Partial<Record<'alice' | 'bob', DoubleRatchetState>> = {};
      const wire = new Map<string, RatchetMessage>();
      for (const step of v.steps) {
        let state = states[step.actor];
        if (step.kind === 'send') {
          state ??= initializeActiveSession(config, { sharedSecret: hex(v.sharedSecret), peerSignedPreKey: X25519PublicKey.fromBytes(hex(v.bobSignedPreKeyPublic)), associatedData: ad[step.actor] }, random[step.actor]);
          expect(bytesToHex(ad[step.actor].sending)).to.equal(step.associatedData);
          const out = encryptMessage(config, state, hex(step.plaintext));
          state = out.state;
          expect(bytesToHex(out.message.ciphertext), step.label).to.equal(step.wire);
          // Deliver python's bytes (identical, but this is the point: parse what python sent).
          wire.set(step.label, { header: out.message.header, ciphertext: hex(step.wire!) });
        } else {
          const message = wire.get(step.label)!;
          const out = state === undefined
            ? decryptInitialMessage(config, { sharedSecret: hex(v.sharedSecret), ownSignedPreKey: X25519PrivateKey.fromBytes(hex(v.bobSignedPreKeyPrivate)), associatedData: ad[step.actor] }, message, random[step.actor])
            : decryptMessage(config, state, message, random[step.actor]);
          state = out.state;
          expect(bytesToHex(out.plaintext), step.label).to.equal(step.plaintext);
        }
        states[step.actor] = state;
      }
    });
  }
});
