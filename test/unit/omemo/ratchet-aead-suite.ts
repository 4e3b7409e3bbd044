/**
 * Shared checks of a version's production ratchet AEAD: python's wire vectors (F's
 * test/vectors/omemo/vectors.json, from python3-oldmemo / python3-twomemo) replayed through
 * the real ratchet with headers parsed from python's bytes, tamper rejection, and 10,000
 * random mutations of real wire messages -> typed errors.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, concatBytes } from '../../../lib/core/bytes.js';
import { ProtocolError } from '../../../lib/core/errors.js';
import { X25519PrivateKey, X25519PublicKey } from '../../../omemo/crypto/curve25519.js';
import {
  decryptInitialMessage, decryptMessage, encryptMessage, initializeActiveSession,
} from '../../../omemo/ratchet/double-ratchet.js';
import type { DoubleRatchetConfig, DoubleRatchetState, RatchetMessage } from '../../../omemo/ratchet/double-ratchet.js';
import type { RandomSource } from '../../../lib/core/random.js';
import { hex, vectors } from './vectors.js';
import { MUTATION_RUNS, mutatedBytes } from './wire-mutations.js';

function keyQueue(keys: string[]): RandomSource {
  const queue = keys.map(hex);
  return (length) => {
    const next = queue.shift();
    if (next === undefined || length !== 32) throw new Error('ratchet drew more keys than python');
    return next;
  };
}

/** Registers the suite for one version. */
export function ratchetAeadSuite(profile: '0.3' | '2', config: DoubleRatchetConfig, toRatchetMessage: (wire: Uint8Array) => RatchetMessage): void {
  const v = vectors.ratchetWire.find((x) => x.profile === profile);
  if (v === undefined) throw new Error(`no wire vectors for ${profile}`);
  const alice = hex(v.aliceIdentityEncoded);
  const bob = hex(v.bobIdentityEncoded);
  const ad = profile === '0.3'
    ? { alice: { sending: concatBytes(alice, bob), receiving: concatBytes(bob, alice) }, bob: { sending: concatBytes(bob, alice), receiving: concatBytes(alice, bob) } }
    : { alice: { sending: concatBytes(alice, bob), receiving: concatBytes(alice, bob) }, bob: { sending: concatBytes(alice, bob), receiving: concatBytes(alice, bob) } };

  /** Replays the vector; returns every (wire, key-for-decrypt context) the receiver saw. */
  function replay(): { wire: Uint8Array; receiverBefore: DoubleRatchetState | undefined; actor: 'alice' | 'bob' }[] {
    const random = { alice: keyQueue(v!.ratchetPrivateKeys.alice), bob: keyQueue(v!.ratchetPrivateKeys.bob) };
    const states: Partial<Record<'alice' | 'bob', DoubleRatchetState>> = {};
    const wire = new Map<string, Uint8Array>();
    const received: { wire: Uint8Array; receiverBefore: DoubleRatchetState | undefined; actor: 'alice' | 'bob' }[] = [];
    for (const step of v!.steps) {
      let state = states[step.actor];
      if (step.kind === 'send') {
        state ??= initializeActiveSession(config, { sharedSecret: hex(v!.sharedSecret), peerSignedPreKey: X25519PublicKey.fromBytes(hex(v!.bobSignedPreKeyPublic)), associatedData: ad[step.actor] }, random[step.actor]);
        const out = encryptMessage(config, state, hex(step.plaintext));
        state = out.state;
        expect(bytesToHex(out.message.ciphertext), step.label).to.equal(step.wire);
        wire.set(step.label, hex(step.wire!));
      } else {
        const bytes = wire.get(step.label)!;
        received.push({ wire: bytes, receiverBefore: state, actor: step.actor });
        const message = toRatchetMessage(bytes); // header parsed from python's bytes
        const out = state === undefined
          ? decryptInitialMessage(config, { sharedSecret: hex(v!.sharedSecret), ownSignedPreKey: X25519PrivateKey.fromBytes(hex(v!.bobSignedPreKeyPrivate)), associatedData: ad[step.actor] }, message, random[step.actor])
          : decryptMessage(config, state, message, random[step.actor]);
        state = out.state;
        expect(bytesToHex(out.plaintext), step.label).to.equal(step.plaintext);
      }
      states[step.actor] = state;
    }
    return received;
  }

  it(`replays python's ${profile} wire vectors: identical bytes out, python's bytes (headers parsed by us) decrypt`, () => {
    expect(replay().length).to.be.greaterThan(3);
  });

  it(`rejects every single-bit flip of python's ${profile} messages with a typed error, state untouched`, () => {
    const received = replay().filter((r) => r.receiverBefore !== undefined);
    expect(received.length).to.be.greaterThan(0);
    for (const { wire, receiverBefore } of received.slice(0, 3)) {
      for (let i = 0; i < wire.length; i++) {
        for (const bit of [0, 7]) {
          const mutated = Uint8Array.from(wire);
          mutated[i] = (mutated[i] as number) ^ (1 << bit);
          expect(() => decryptMessage(config, receiverBefore!, toRatchetMessage(mutated), () => new Uint8Array(32).fill(9))).to.throw(ProtocolError);
        }
      }
      // the untouched message still decrypts with the same (unchanged) state
      expect(() => decryptMessage(config, receiverBefore!, toRatchetMessage(wire), () => new Uint8Array(32).fill(9))).to.not.throw();
    }
  });

  it(`${profile}: ${MUTATION_RUNS} random mutations of real messages -> typed error (or the unchanged message)`, () => {
    const received = replay().filter((r) => r.receiverBefore !== undefined);
    const samples = received.map((r) => r.wire);
    const originals = new Map(samples.map((s, i) => [bytesToHex(s), received[i]!.receiverBefore!]));
    const someState = received[0]!.receiverBefore!;
    fc.assert(fc.property(mutatedBytes(samples), (bytes) => {
      const original = originals.get(bytesToHex(bytes));
      try {
        const message = toRatchetMessage(bytes);
        decryptMessage(config, original ?? someState, message, () => new Uint8Array(32).fill(9));
        expect(original, 'only an unchanged message may decrypt').to.not.equal(undefined);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        expect(original, 'an unchanged message must decrypt').to.equal(undefined);
      }
    }), { numRuns: MUTATION_RUNS });
  });
}
