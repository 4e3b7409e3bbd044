import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, utf8ToBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { ProtocolError } from '../../../lib/core/errors.js';
import { X25519PrivateKey, X25519PublicKey } from '../../../omemo/crypto/curve25519.js';
import { xeddsaVerify } from '../../../omemo/crypto/xeddsa.js';
import { IdentityKeyPair } from '../../../omemo/crypto/identity-key.js';
import { OMEMO_03_X3DH_PROFILE, OMEMO_2_X3DH_PROFILE, x3dhActive } from '../../../omemo/x3dh.js';
import { decryptInitialMessage, decryptMessage, encryptMessage, initializeActiveSession } from '../../../omemo/ratchet/double-ratchet.js';
import type { DoubleRatchetConfig, DoubleRatchetState, RatchetMessage } from '../../../omemo/ratchet/double-ratchet.js';
import type { RatchetHeader } from '../../../omemo/ratchet/diffie-hellman-ratchet.js';
import { parseDoubleRatchetState, serializeDoubleRatchetState } from '../../../omemo/ratchet/state-json.js';
import { cbcHmacAead } from './ratchet-helpers.js';

const config: DoubleRatchetConfig = { rootInfo: 'WhisperRatchet', aead: cbcHmacAead('WhisperMessageKeys', 8), maxSkip: 50 };
const fingerprint = (state: DoubleRatchetState): string => JSON.stringify(serializeDoubleRatchetState(state));

/** Bob holds a session in which message 1 was skipped (its key stored) and messages 3, 4 are pending. */
function setup(): { bob: DoubleRatchetState; pending: RatchetMessage[]; random: () => Uint8Array } {
  const random = deterministicRandom('properties');
  const spk = X25519PrivateKey.generate(random);
  const ad = { sending: random(66), receiving: random(66) };
  const secret = random(32);
  let alice = initializeActiveSession(config, { sharedSecret: secret, peerSignedPreKey: spk.publicKey, associatedData: { sending: ad.sending, receiving: ad.receiving } }, random);
  const messages: RatchetMessage[] = [];
  for (let i = 0; i < 5; i++) {
    const out = encryptMessage(config, alice, utf8ToBytes(`message ${i}`));
    alice = out.state;
    messages.push(out.message);
  }
  let bob = decryptInitialMessage(config, { sharedSecret: secret, ownSignedPreKey: spk, associatedData: { sending: ad.receiving, receiving: ad.sending } }, messages[0]!, random).state;
  bob = decryptMessage(config, bob, messages[2]!, random).state;
  return { bob, pending: [messages[1]!, messages[3]!, messages[4]!], random: () => random(32) };
}

const counterArb = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.integer({ min: -3, max: 0xffffffff + 3 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 1.5, -0, 2 ** 53),
);

const mutationArb = fc.record({
  which: fc.nat({ max: 2 }),
  n: fc.option(counterArb, { nil: undefined }),
  pn: fc.option(counterArb, { nil: undefined }),
  ratchetKey: fc.option(fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constant(new Uint8Array(32))), { nil: undefined }),
  ciphertext: fc.option(fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), index: fc.nat(), bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), index: fc.nat() }),
    fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
    fc.record({ kind: fc.constant('replace' as const), bytes: fc.uint8Array({ maxLength: 80 }) }),
  ), { nil: undefined }),
});

type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function mutate(message: RatchetMessage, m: Mutation): RatchetMessage {
  const header: RatchetHeader = {
    ratchetKey: m.ratchetKey === undefined ? message.header.ratchetKey : X25519PublicKey.fromBytes(m.ratchetKey),
    n: m.n === undefined ? message.header.n : m.n,
    pn: m.pn === undefined ? message.header.pn : m.pn,
  };
  let ciphertext = message.ciphertext;
  const c = m.ciphertext;
  if (c?.kind === 'flip') {
    ciphertext = Uint8Array.from(ciphertext);
    const i = c.index % ciphertext.length;
    ciphertext[i] = (ciphertext[i] ?? 0) ^ (1 << c.bit);
  } else if (c?.kind === 'truncate') {
    ciphertext = ciphertext.subarray(0, c.index % ciphertext.length);
  } else if (c?.kind === 'extend') {
    ciphertext = Uint8Array.of(...ciphertext, ...c.extra);
  } else if (c?.kind === 'replace') {
    ciphertext = c.bytes;
  }
  return { header, ciphertext };
}

const same = (a: RatchetMessage, b: RatchetMessage): boolean =>
  a.header.n === b.header.n && a.header.pn === b.header.pn && a.header.ratchetKey.equals(b.header.ratchetKey)
  && bytesToHex(a.ciphertext) === bytesToHex(b.ciphertext);

describe('omemo/ratchet properties (fast-check)', () => {
  it('random mutations of header and ciphertext: typed error or the genuine plaintext, state intact', () => {
    const { bob, pending, random } = setup();
    const before = fingerprint(bob);
    let rejected = 0;
    fc.assert(fc.property(mutationArb, (m) => {
      const original = pending[m.which]!;
      const mutated = mutate(original, m);
      try {
        const out = decryptMessage(config, bob, mutated, random);
        // Only an unchanged message may decrypt.
        expect(same(mutated, original)).to.equal(true);
        expect(new TextDecoder().decode(out.plaintext)).to.match(/^message [134]$/);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        expect(error.code).to.be.a('string');
        rejected++;
      }
      expect(fingerprint(bob)).to.equal(before);
    }), { numRuns: 400, seed: 0x0e0e0 });
    expect(rejected).to.be.greaterThan(300);
    // The untouched state still decrypts every genuine pending message, in any order.
    let state = bob;
    for (const message of [pending[2]!, pending[0]!, pending[1]!]) state = decryptMessage(config, state, message, random).state;
    expect(state.skippedMessageKeys.size).to.equal(0);
  });

  it('random JSON mutations of stored state: StorageError or a valid state, never a crash', () => {
    const { bob } = setup();
    const json = serializeDoubleRatchetState(bob) as unknown as Record<string, unknown>;
    const keys = Object.keys(json);
    fc.assert(fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
      try {
        parseDoubleRatchetState({ ...json, [key]: value });
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        expect(error.code).to.match(/^omemo\.state-/);
      }
    }), { numRuns: 300, seed: 42 });
  });

  it('X3DH with randomly mutated bundles: typed error, or success only for the genuine bundle', () => {
    const random = deterministicRandom('x3dh-properties');
    for (const profile of [OMEMO_03_X3DH_PROFILE, OMEMO_2_X3DH_PROFILE]) {
      const bob = IdentityKeyPair.generate(random);
      const spk = X25519PrivateKey.generate(random);
      const genuine = {
        identityKey: profile.identityPublicKey(bob),
        signedPreKey: spk.publicKey.bytes,
        signedPreKeySignature: profile.signSignedPreKey(bob, spk.publicKey, random),
      };
      const alice = IdentityKeyPair.generate(random);
      fc.assert(fc.property(
        fc.constantFrom('identityKey' as const, 'signedPreKey' as const, 'signedPreKeySignature' as const),
        fc.nat(), fc.nat({ max: 7 }), fc.boolean(), fc.uint8Array({ minLength: 32, maxLength: 64 }),
        (field, index, bit, replace, replacement) => {
          const bundle = { ...genuine };
          const value = replace ? replacement.subarray(0, genuine[field].length) : Uint8Array.from(genuine[field]);
          if (!replace) value[index % value.length] = (value[index % value.length] ?? 0) ^ (1 << bit);
          bundle[field] = value;
          try {
            x3dhActive(profile, alice, { ...bundle, signedPreKey: X25519PublicKey.fromBytes(bundle.signedPreKey) }, random);
            expect(bytesToHex(value)).to.equal(bytesToHex(genuine[field]));
          } catch (error) {
            if (!(error instanceof ProtocolError)) throw error;
          }
        },
      ), { numRuns: 150, seed: 99 });
    }
  });

  it('XEdDSA verification of random inputs returns false, never throws', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ maxLength: 50 }),
      (key, signature, message) => {
        expect(xeddsaVerify(key, message, signature)).to.equal(false);
      },
    ), { numRuns: 200, seed: 7 });
  });
});
