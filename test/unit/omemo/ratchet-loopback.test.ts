import { expect } from 'chai';
import { bytesToHex, utf8ToBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { ProtocolError, StateError, StorageError, VerificationError } from '../../../lib/core/errors.js';
import type { RandomSource } from '../../../lib/core/random.js';
import { X25519PrivateKey, X25519PublicKey } from '../../../omemo/crypto/curve25519.js';
import { IdentityKeyPair } from '../../../omemo/crypto/identity-key.js';
import {
  decryptInitialMessage, decryptMessage, encryptMessage, initializeActiveSession, receivingChainLength,
} from '../../../omemo/ratchet/double-ratchet.js';
import type { DoubleRatchetConfig, DoubleRatchetState, RatchetMessage } from '../../../omemo/ratchet/double-ratchet.js';
import { DOUBLE_RATCHET_STATE_VERSION, parseDoubleRatchetState, serializeDoubleRatchetState } from '../../../omemo/ratchet/state-json.js';
import { OMEMO_03_X3DH_PROFILE, OMEMO_2_X3DH_PROFILE, x3dhActive, x3dhPassive } from '../../../omemo/x3dh.js';
import type { X3dhProfile } from '../../../omemo/x3dh.js';
import { cbcHmacAead } from './ratchet-helpers.js';

interface Party { state: DoubleRatchetState; random: RandomSource }

const roundTrip = (state: DoubleRatchetState): DoubleRatchetState =>
  parseDoubleRatchetState(JSON.parse(JSON.stringify(serializeDoubleRatchetState(state))));
const fingerprint = (state: DoubleRatchetState): string => JSON.stringify(serializeDoubleRatchetState(state));

/** X3DH between fresh identities, the first message, and Bob's passive session. */
function establish(profile: X3dhProfile, config: DoubleRatchetConfig, seed: string): { alice: Party; bob: Party } {
  const aliceRandom = deterministicRandom(`${seed}/alice`);
  const bobRandom = deterministicRandom(`${seed}/bob`);
  const aliceIdentity = IdentityKeyPair.generate(aliceRandom);
  const bobIdentity = IdentityKeyPair.generate(bobRandom);
  const spk = X25519PrivateKey.generate(bobRandom);
  const opk = X25519PrivateKey.generate(bobRandom);
  const active = x3dhActive(profile, aliceIdentity, {
    identityKey: profile.identityPublicKey(bobIdentity),
    signedPreKey: spk.publicKey,
    signedPreKeySignature: profile.signSignedPreKey(bobIdentity, spk.publicKey, bobRandom),
    preKey: opk.publicKey,
  }, aliceRandom);
  let aliceState = initializeActiveSession(config, { sharedSecret: active.sharedSecret, peerSignedPreKey: spk.publicKey, associatedData: active.sessionAssociatedData }, aliceRandom);
  const first = encryptMessage(config, aliceState, utf8ToBytes('hello'));
  aliceState = first.state;
  const passive = x3dhPassive(profile, bobIdentity, active.header, spk, opk);
  const bobStart = decryptInitialMessage(config, { sharedSecret: passive.sharedSecret, ownSignedPreKey: spk, associatedData: passive.sessionAssociatedData }, first.message, bobRandom);
  expect(new TextDecoder().decode(bobStart.plaintext)).to.equal('hello');
  return { alice: { state: aliceState, random: aliceRandom }, bob: { state: bobStart.state, random: bobRandom } };
}

function send(config: DoubleRatchetConfig, party: Party, text: string): RatchetMessage {
  const out = encryptMessage(config, party.state, utf8ToBytes(text));
  party.state = out.state;
  return out.message;
}

function receive(config: DoubleRatchetConfig, party: Party, message: RatchetMessage): string {
  const out = decryptMessage(config, party.state, message, party.random);
  party.state = out.state;
  return new TextDecoder().decode(out.plaintext);
}

function tamper(message: RatchetMessage, index: number): RatchetMessage {
  const ciphertext = Uint8Array.from(message.ciphertext);
  ciphertext[index % ciphertext.length] = (ciphertext[index % ciphertext.length] ?? 0) ^ 0x40;
  return { header: message.header, ciphertext };
}

const PROFILES = [
  { profile: OMEMO_03_X3DH_PROFILE, config: { rootInfo: 'WhisperRatchet', aead: cbcHmacAead('WhisperMessageKeys', 8) } },
  { profile: OMEMO_2_X3DH_PROFILE, config: { rootInfo: 'OMEMO Root Chain', aead: cbcHmacAead('OMEMO Message Key Material', 16) } },
] as const;

for (const { profile, config } of PROFILES) {
  describe(`omemo/ratchet loopback (profile ${profile.name})`, () => {
    it('1000 messages, random interleaving, out-of-order delivery, state saved/restored every 97 steps', () => {
      const { alice, bob } = establish(profile, config, `loop-${profile.name}`);
      const chooser = deterministicRandom(`chooser-${profile.name}`);
      const inFlight: { to: 'alice' | 'bob'; text: string; message: RatchetMessage }[] = [];
      const parties = { alice, bob };
      let sent = 0;
      let delivered = 0;
      let maxSkipped = 0;
      let outOfOrder = 0;
      for (let step = 0; sent < 1000 || inFlight.length > 0; step++) {
        const roll = chooser(1)[0]!;
        if (sent < 1000 && (roll < 150 || inFlight.length === 0)) {
          const from = roll % 2 === 0 ? 'alice' : 'bob';
          const text = `${from} #${sent}`;
          inFlight.push({ to: from === 'alice' ? 'bob' : 'alice', text, message: send(config, parties[from], text) });
          sent++;
        } else {
          const index = chooser(1)[0]! % inFlight.length;
          if (index !== 0) outOfOrder++;
          const [item] = inFlight.splice(index, 1);
          expect(receive(config, parties[item!.to], item!.message)).to.equal(item!.text);
          delivered++;
        }
        maxSkipped = Math.max(maxSkipped, alice.state.skippedMessageKeys.size, bob.state.skippedMessageKeys.size);
        if (step % 97 === 0) {
          alice.state = roundTrip(alice.state);
          bob.state = roundTrip(bob.state);
        }
      }
      expect(delivered).to.equal(1000);
      expect(outOfOrder).to.be.greaterThan(100);
      expect(maxSkipped).to.be.greaterThan(0).and.at.most(1000);
      // Everything in flight arrived, so no skipped key is left over.
      expect(alice.state.skippedMessageKeys.size + bob.state.skippedMessageKeys.size).to.equal(0);
    });

    it('keeps at most maxSkippedMessageKeys skipped keys, evicting the oldest first', () => {
      const small: DoubleRatchetConfig = { ...config, maxSkip: 100, maxSkippedMessageKeys: 50 };
      const { alice, bob } = establish(profile, small, `evict-${profile.name}`);
      const held: RatchetMessage[] = [];
      for (let chain = 0; chain < 3; chain++) {
        for (let i = 0; i < 40; i++) held.push(send(small, alice, `c${chain} m${i}`));
        const last = send(small, alice, `c${chain} last`);
        expect(receive(small, bob, last)).to.equal(`c${chain} last`);
        expect(bob.state.skippedMessageKeys.size).to.be.at.most(50);
        const reply = send(small, bob, 'ack');
        expect(receive(small, alice, reply)).to.equal('ack');
      }
      expect(bob.state.skippedMessageKeys.size).to.equal(50);
      // The 70 oldest are gone (FIFO). A message of an old chain whose key was evicted looks like
      // one under a new ratchet key and fails authentication; state stays as it was.
      const before = fingerprint(bob.state);
      expect(() => decryptMessage(small, bob.state, held[0]!, bob.random)).to.throw(VerificationError);
      expect(() => decryptMessage(small, bob.state, held[69]!, bob.random)).to.throw(VerificationError);
      expect(fingerprint(bob.state)).to.equal(before);
      // The newest 50 still decrypt.
      expect(receive(small, bob, held[119]!)).to.equal('c2 m39');
      expect(receive(small, bob, held[70]!)).to.equal('c1 m30');
      expect(bob.state.skippedMessageKeys.size).to.equal(48);
    });

    it('rejects a message more than maxSkip ahead without touching state, in the current and in a new chain', () => {
      const small: DoubleRatchetConfig = { ...config, maxSkip: 20 };
      const { alice, bob } = establish(profile, small, `ahead-${profile.name}`);
      const messages = Array.from({ length: 23 }, (_, i) => send(small, alice, `m${i}`));
      const before = fingerprint(bob.state);
      expect(() => decryptMessage(small, bob.state, messages[22]!, bob.random)).to.throw(StateError).with.property('code', 'omemo.ratchet-too-far-ahead');
      expect(fingerprint(bob.state)).to.equal(before);
      expect(() => decryptMessage(small, bob.state, messages[21]!, bob.random)).to.throw(StateError);
      // Bob has received n=0; messages[20] has n=21, exactly maxSkip = 20 keys ahead: accepted.
      expect(receive(small, bob, messages[20]!)).to.equal('m20');
      expect(bob.state.skippedMessageKeys.size).to.equal(20);
      // New chain: Bob answers, Alice ratchets, then sends far ahead in the new chain.
      expect(receive(small, alice, send(small, bob, 'reply'))).to.equal('reply');
      const next = Array.from({ length: 22 }, (_, i) => send(small, alice, `n${i}`));
      const before2 = fingerprint(bob.state);
      expect(() => decryptMessage(small, bob.state, next[21]!, bob.random)).to.throw(StateError).with.property('code', 'omemo.ratchet-too-far-ahead');
      expect(fingerprint(bob.state)).to.equal(before2);
      expect(receive(small, bob, next[20]!)).to.equal('n20');
    });

    it('rejects tampered messages (bad MAC, forged header) with state unchanged, and the session still works', () => {
      const { alice, bob } = establish(profile, config, `tamper-${profile.name}`);
      const m1 = send(config, alice, 'one');
      const m2 = send(config, alice, 'two');
      for (const [index, bad] of [tamper(m2, 0), tamper(m2, 17), tamper(m2, m2.ciphertext.length - 1)].entries()) {
        const before = fingerprint(bob.state);
        expect(() => decryptMessage(config, bob.state, bad, bob.random), `tamper ${index}`).to.throw(VerificationError);
        expect(fingerprint(bob.state)).to.equal(before);
      }
      const forged: RatchetMessage = { header: { ...m2.header, n: 5 }, ciphertext: m2.ciphertext };
      const before = fingerprint(bob.state);
      expect(() => decryptMessage(config, bob.state, forged, bob.random)).to.throw(VerificationError);
      expect(fingerprint(bob.state)).to.equal(before);
      const newKey: RatchetMessage = { header: { ...m2.header, ratchetKey: X25519PrivateKey.generate(bob.random).publicKey }, ciphertext: m2.ciphertext };
      expect(() => decryptMessage(config, bob.state, newKey, bob.random)).to.throw(VerificationError);
      expect(fingerprint(bob.state)).to.equal(before);
      const smallOrder: RatchetMessage = { header: { ...m2.header, ratchetKey: X25519PublicKey.fromBytes(new Uint8Array(32)) }, ciphertext: m2.ciphertext };
      expect(() => decryptMessage(config, bob.state, smallOrder, bob.random)).to.throw(VerificationError).with.property('code', 'omemo.x25519-small-order');
      expect(fingerprint(bob.state)).to.equal(before);
      expect(receive(config, bob, m2)).to.equal('two');
      expect(receive(config, bob, m1)).to.equal('one');
      expect(() => decryptMessage(config, bob.state, m1, bob.random)).to.throw(StateError).with.property('code', 'omemo.ratchet-duplicate');
      expect(receive(config, alice, send(config, bob, 'still fine'))).to.equal('still fine');
      expect(receivingChainLength(alice.state)).to.equal(1);
    });

    it('a failed first message creates no session (bad MAC in the initial message)', () => {
      const random = deterministicRandom(`first-${profile.name}`);
      const bob = IdentityKeyPair.generate(random);
      const spk = X25519PrivateKey.generate(random);
      const active = x3dhActive(profile, IdentityKeyPair.generate(random), {
        identityKey: profile.identityPublicKey(bob), signedPreKey: spk.publicKey,
        signedPreKeySignature: profile.signSignedPreKey(bob, spk.publicKey, random),
      }, random);
      const alice = initializeActiveSession(config, { sharedSecret: active.sharedSecret, peerSignedPreKey: spk.publicKey, associatedData: active.sessionAssociatedData }, random);
      const first = encryptMessage(config, alice, utf8ToBytes('x')).message;
      const passive = x3dhPassive(profile, bob, active.header, spk, undefined);
      expect(() => decryptInitialMessage(config, { sharedSecret: passive.sharedSecret, ownSignedPreKey: spk, associatedData: passive.sessionAssociatedData }, tamper(first, 3), random))
        .to.throw(ProtocolError);
      const ok = decryptInitialMessage(config, { sharedSecret: passive.sharedSecret, ownSignedPreKey: spk, associatedData: passive.sessionAssociatedData }, first, random);
      expect(new TextDecoder().decode(ok.plaintext)).to.equal('x');
      // An initial message claiming to be more than maxSkip into the chain is refused up front.
      const small: DoubleRatchetConfig = { ...config, maxSkip: 3 };
      let state = alice;
      let late: RatchetMessage | undefined;
      for (let i = 0; i < 5; i++) ({ state, message: late } = encryptMessage(small, state, utf8ToBytes(`late ${i}`)));
      expect(late!.header.n).to.equal(4);
      expect(() => decryptInitialMessage(small, { sharedSecret: passive.sharedSecret, ownSignedPreKey: spk, associatedData: passive.sessionAssociatedData }, late!, random))
        .to.throw(StateError).with.property('code', 'omemo.ratchet-too-far-ahead');
    });
  });
}

describe('omemo/ratchet: libsignal-style pn (index of the last message, not a count)', () => {
  // libsignal authenticates the header inside its MAC, like our AEADs; to imitate a libsignal
  // sender we need an AEAD that does not bind pn, so the test can rewrite it.
  const headerBlind: DoubleRatchetConfig['aead'] = {
    encrypt: (key, _header, plaintext, ad) => cbcHmacAead('WhisperMessageKeys', 8).encrypt(key, { ratchetKey: X25519PublicKey.fromBytes(new Uint8Array(32).fill(9)), n: 0, pn: 0 }, plaintext, ad),
    decrypt: (key, _header, message, ad) => cbcHmacAead('WhisperMessageKeys', 8).decrypt(key, { ratchetKey: X25519PublicKey.fromBytes(new Uint8Array(32).fill(9)), n: 0, pn: 0 }, message, ad),
  };

  for (const lastIndex of [true, false]) {
    it(`previousCounterIsLastIndex=${lastIndex}: the old chain's last message arriving late ${lastIndex ? 'decrypts' : 'is lost'}`, () => {
      const config: DoubleRatchetConfig = { rootInfo: 'WhisperRatchet', aead: headerBlind, previousCounterIsLastIndex: lastIndex };
      const { alice, bob } = establish(OMEMO_03_X3DH_PROFILE, config, `pn-${lastIndex}`);
      // Alice's chain so far: 'hello' (n=0); she sends n=1 and n=2, Bob gets n=1 only.
      send(config, alice, 'm1');
      const m2 = send(config, alice, 'm2');
      expect(receive(config, bob, send(config, alice, 'dummy'))).to.equal('dummy'); // n=3 received, n=2 skipped
      const lateLast = send(config, alice, 'm4 (last of chain)');
      expect(receive(config, alice, send(config, bob, 'reply'))).to.equal('reply');
      const next = send(config, alice, 'new chain');
      expect(next.header.pn).to.equal(5); // we send the count, like python
      const libsignalStyle: RatchetMessage = { header: { ...next.header, pn: next.header.pn - 1 }, ciphertext: next.ciphertext };
      expect(receive(config, bob, libsignalStyle)).to.equal('new chain');
      expect(receive(config, bob, m2)).to.equal('m2');
      if (lastIndex) {
        expect(receive(config, bob, lateLast)).to.equal('m4 (last of chain)');
      } else {
        expect(() => decryptMessage(config, bob.state, lateLast, bob.random)).to.throw(ProtocolError);
      }
    });
  }
});

describe('omemo/ratchet/state-json', () => {
  const { config } = PROFILES[0];

  it('round-trips a session with skipped keys exactly, and the restored session keeps working', () => {
    const { alice, bob } = establish(OMEMO_03_X3DH_PROFILE, config, 'json');
    const held = [send(config, alice, 'a'), send(config, alice, 'b'), send(config, alice, 'c')];
    expect(receive(config, bob, held[2]!)).to.equal('c');
    const json = serializeDoubleRatchetState(bob.state);
    expect(json.version).to.equal(DOUBLE_RATCHET_STATE_VERSION);
    expect(json.skippedMessageKeys).to.have.length(2);
    const restored = parseDoubleRatchetState(JSON.parse(JSON.stringify(json)));
    expect(fingerprint(restored)).to.equal(JSON.stringify(json));
    expect(bytesToHex(restored.diffieHellmanRatchet.ownRatchetKey.publicKey.bytes)).to.equal(bytesToHex(bob.state.diffieHellmanRatchet.ownRatchetKey.publicKey.bytes));
    bob.state = restored;
    expect(receive(config, bob, held[0]!)).to.equal('a');
    expect(receive(config, alice, send(config, bob, 'back'))).to.equal('back');
  });

  it('runs migrations up to the current version', () => {
    const { bob } = establish(OMEMO_03_X3DH_PROFILE, config, 'migrate');
    const current = serializeDoubleRatchetState(bob.state);
    // A hypothetical version 0 that named the root chain differently.
    const { rootChain, version: _version, ...rest } = current;
    const v0 = { ...rest, version: 0, root: rootChain };
    const migrations = { 0: (old: Record<string, unknown>) => { const { root, ...others } = old; return { ...others, rootChain: root, version: 1 }; } };
    expect(fingerprint(parseDoubleRatchetState(v0, migrations))).to.equal(JSON.stringify(current));
    expect(() => parseDoubleRatchetState(v0)).to.throw(StorageError).with.property('code', 'omemo.state-unknown-version');
    expect(() => parseDoubleRatchetState({ ...current, version: 2 })).to.throw(StorageError).with.property('code', 'omemo.state-unknown-version');
  });

  it('rejects malformed stored state with StorageError', () => {
    const { bob } = establish(OMEMO_03_X3DH_PROFILE, config, 'bad-json');
    const good = serializeDoubleRatchetState(bob.state) as unknown as Record<string, unknown>;
    const bads: unknown[] = [
      null, [], 'x', { ...good, ownRatchetPrivateKey: 'AAAA' }, { ...good, rootChain: { key: 'not base64!', length: 0 } },
      { ...good, rootChain: { ...(good.rootChain as object), length: -1 } }, { ...good, previousSendingChainLength: 1.5 },
      { ...good, sendingChain: 'x' }, { ...good, skippedMessageKeys: [{ ratchetKey: 'zz', n: 0, messageKey: '' }] },
      { ...good, skippedMessageKeys: {} }, { ...good, associatedData: null }, { ...good, otherRatchetPublicKey: undefined },
    ];
    for (const bad of bads) expect(() => parseDoubleRatchetState(bad), JSON.stringify(bad)?.slice(0, 60)).to.throw(StorageError);
  });
});
