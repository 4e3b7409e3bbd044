import { expect } from 'chai';
import { bytesToHex } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { MalformedMessageError, StateError, StorageError, VerificationError } from '../../../lib/core/errors.js';
import type { RandomSource } from '../../../lib/core/random.js';
import { X25519PrivateKey, X25519PublicKey } from '../../../omemo/crypto/curve25519.js';
import { IdentityKeyPair, parseIdentityKeyPair, serializeIdentityKeyPair } from '../../../omemo/crypto/identity-key.js';
import {
  OMEMO_03_X3DH_PROFILE, OMEMO_2_X3DH_PROFILE, parseCurve25519PublicKey, serializeCurve25519PublicKey, x3dhActive, x3dhPassive,
} from '../../../omemo/x3dh.js';
import type { X3dhProfile } from '../../../omemo/x3dh.js';
import { hex, vectors } from './vectors.js';
import type { X3dhVector } from './vectors.js';

function profileOf(v: X3dhVector): X3dhProfile {
  return v.profile === '0.3' ? OMEMO_03_X3DH_PROFILE : OMEMO_2_X3DH_PROFILE;
}

function identityOf(v: X3dhVector, secret: string): IdentityKeyPair {
  return v.profile === '0.3' ? IdentityKeyPair.fromX25519PrivateKey(hex(secret)) : IdentityKeyPair.fromEd25519Seed(hex(secret));
}

/** A random source that hands out exactly the given byte strings, in order. */
function scripted(...outputs: Uint8Array[]): RandomSource {
  return (length) => {
    const next = outputs.shift();
    if (next === undefined || next.length !== length) throw new Error(`scripted random: unexpected request for ${length} bytes`);
    return next;
  };
}

describe('omemo/x3dh (vectors from python3-x3dh via python3-oldmemo / python3-twomemo)', () => {
  it('has vectors for both profiles, with and without a one-time prekey', () => {
    expect(vectors.x3dh.map((v) => `${v.profile}/${v.withPreKey}`)).to.include.members(['0.3/true', '0.3/false', '2/true', '2/false']);
  });

  for (const [index, v] of vectors.x3dh.entries()) {
    it(`#${index} profile ${v.profile}, pre key ${v.withPreKey}: both sides match python-x3dh`, () => {
      const profile = profileOf(v);
      const alice = identityOf(v, v.aliceIdentitySecret);
      const bob = identityOf(v, v.bobIdentitySecret);
      expect(bytesToHex(profile.identityPublicKey(alice))).to.equal(v.aliceIdentityPublic);
      expect(bytesToHex(profile.identityPublicKey(bob))).to.equal(v.bobIdentityPublic);
      const spk = X25519PrivateKey.fromBytes(hex(v.bobSignedPreKeyPrivate));
      expect(bytesToHex(spk.publicKey.bytes)).to.equal(v.bobSignedPreKeyPublic);
      const opk = v.bobOneTimePreKeyPrivate === null ? undefined : X25519PrivateKey.fromBytes(hex(v.bobOneTimePreKeyPrivate));

      const active = x3dhActive(profile, alice, {
        identityKey: hex(v.bobIdentityPublic),
        signedPreKey: X25519PublicKey.fromBytes(hex(v.bobSignedPreKeyPublic)),
        signedPreKeySignature: hex(v.bobSignedPreKeySignature),
        preKey: opk?.publicKey,
      }, scripted(hex(v.aliceEphemeralPrivate)), { requirePreKey: v.withPreKey });
      expect(bytesToHex(active.sharedSecret)).to.equal(v.sharedSecret);
      expect(bytesToHex(active.associatedData)).to.equal(v.associatedData);
      expect(bytesToHex(active.header.ephemeralKey.bytes)).to.equal(v.aliceEphemeralPublic);
      expect(bytesToHex(active.header.identityKey)).to.equal(v.aliceIdentityPublic);

      const passive = x3dhPassive(profile, bob, active.header, spk, opk);
      expect(bytesToHex(passive.sharedSecret)).to.equal(v.sharedSecret);
      expect(bytesToHex(passive.associatedData)).to.equal(v.associatedData);
      // The two sides' per-direction AD mirror each other.
      expect(bytesToHex(active.sessionAssociatedData.sending)).to.equal(bytesToHex(passive.sessionAssociatedData.receiving));
      expect(bytesToHex(active.sessionAssociatedData.receiving)).to.equal(bytesToHex(passive.sessionAssociatedData.sending));
      if (v.profile === '2') {
        expect(bytesToHex(active.sessionAssociatedData.sending)).to.equal(v.associatedData);
        expect(bytesToHex(passive.sessionAssociatedData.sending)).to.equal(v.associatedData);
      } else {
        expect(bytesToHex(passive.sessionAssociatedData.sending)).to.equal(v.associatedData.slice(66) + v.associatedData.slice(0, 66));
      }
    });
  }

  it('rejects a bad signed prekey signature with a typed error before drawing randomness', () => {
    const v = vectors.x3dh.find((x) => x.profile === '0.3')!;
    for (const profile of [OMEMO_03_X3DH_PROFILE, OMEMO_2_X3DH_PROFILE]) {
      const sig = hex(v.bobSignedPreKeySignature);
      sig[10] = (sig[10] ?? 0) ^ 4;
      const bundle = { identityKey: hex(v.bobIdentityPublic), signedPreKey: X25519PublicKey.fromBytes(hex(v.bobSignedPreKeyPublic)), signedPreKeySignature: sig };
      expect(() => x3dhActive(profile, IdentityKeyPair.generate(deterministicRandom('a')), bundle, scripted()))
        .to.throw(VerificationError).with.property('code', 'omemo.x3dh-bad-signature');
    }
  });

  it('refuses to run without a one-time prekey when one is required', () => {
    const random = deterministicRandom('no-opk');
    const bob = IdentityKeyPair.generate(random);
    const spk = X25519PrivateKey.generate(random);
    const bundle = { identityKey: bob.edwardsPublicKey, signedPreKey: spk.publicKey, signedPreKeySignature: OMEMO_2_X3DH_PROFILE.signSignedPreKey(bob, spk.publicKey, random) };
    expect(() => x3dhActive(OMEMO_2_X3DH_PROFILE, IdentityKeyPair.generate(random), bundle, random, { requirePreKey: true }))
      .to.throw(StateError).with.property('code', 'omemo.x3dh-no-pre-key');
    expect(x3dhActive(OMEMO_2_X3DH_PROFILE, IdentityKeyPair.generate(random), bundle, random).sharedSecret.length).to.equal(32);
  });

  for (const profile of [OMEMO_03_X3DH_PROFILE, OMEMO_2_X3DH_PROFILE]) {
    for (const kind of ['seed', 'x25519'] as const) {
      it(`profile ${profile.name}: own signatures verify and both sides agree (identity born from ${kind})`, () => {
        const random = deterministicRandom(`own-${profile.name}-${kind}`);
        const make = (): IdentityKeyPair => (kind === 'seed' ? IdentityKeyPair.generate(random) : IdentityKeyPair.fromX25519PrivateKey(random(32)));
        const alice = make();
        const bob = make();
        const spk = X25519PrivateKey.generate(random);
        const opk = X25519PrivateKey.generate(random);
        const signature = profile.signSignedPreKey(bob, spk.publicKey, random);
        expect(profile.verifySignedPreKey(profile.identityPublicKey(bob), spk.publicKey, signature)).to.equal(true);
        const active = x3dhActive(profile, alice, { identityKey: profile.identityPublicKey(bob), signedPreKey: spk.publicKey, signedPreKeySignature: signature, preKey: opk.publicKey }, random);
        const passive = x3dhPassive(profile, bob, active.header, spk, opk);
        expect(bytesToHex(passive.sharedSecret)).to.equal(bytesToHex(active.sharedSecret));
        // A wrong one-time prekey gives a different secret.
        const wrong = x3dhPassive(profile, bob, active.header, spk, X25519PrivateKey.generate(random));
        expect(bytesToHex(wrong.sharedSecret)).to.not.equal(bytesToHex(active.sharedSecret));
        // Restoring the identity from its secret gives the same keys.
        const restored = IdentityKeyPair.fromSecret(bob.secret());
        expect(bytesToHex(restored.edwardsPublicKey)).to.equal(bytesToHex(bob.edwardsPublicKey));
        expect(bytesToHex(restored.montgomeryPublicKey)).to.equal(bytesToHex(bob.montgomeryPublicKey));
      });
    }
  }

  it('rejects a small-order ephemeral key with a typed error', () => {
    const random = deterministicRandom('small');
    const bob = IdentityKeyPair.generate(random);
    const spk = X25519PrivateKey.generate(random);
    const header = { identityKey: IdentityKeyPair.generate(random).montgomeryPublicKey, ephemeralKey: X25519PublicKey.fromBytes(new Uint8Array(32)) };
    expect(() => x3dhPassive(OMEMO_03_X3DH_PROFILE, bob, header, spk, undefined)).to.throw(VerificationError);
    expect(() => x3dhPassive(OMEMO_2_X3DH_PROFILE, bob, { ...header, identityKey: new Uint8Array(32) }, spk, undefined)).to.throw(VerificationError);
  });
});

describe('omemo/x3dh key serialization (0.3 wire form)', () => {
  it('serializes as 0x05 || key and parses strictly', () => {
    const key = deterministicRandom('ser')(32);
    const wire = serializeCurve25519PublicKey(key);
    expect(wire[0]).to.equal(5);
    expect(bytesToHex(parseCurve25519PublicKey(wire))).to.equal(bytesToHex(key));
    const wrongType = Uint8Array.from(wire);
    wrongType[0] = 6;
    for (const bad of [wrongType, wire.subarray(1), Uint8Array.of(...wire, 0), new Uint8Array(0)]) {
      expect(() => parseCurve25519PublicKey(bad)).to.throw(MalformedMessageError).with.property('code', 'omemo.bad-public-key');
    }
    expect(() => serializeCurve25519PublicKey(wire)).to.throw(RangeError);
  });
});

describe('omemo/crypto/identity-key JSON', () => {
  it('round-trips both kinds and rejects malformed input with StorageError', () => {
    const random = deterministicRandom('identity-json');
    for (const pair of [IdentityKeyPair.generate(random), IdentityKeyPair.fromX25519PrivateKey(random(32))]) {
      const json = JSON.parse(JSON.stringify(serializeIdentityKeyPair(pair))) as unknown;
      const restored = parseIdentityKeyPair(json);
      expect(bytesToHex(restored.edwardsPublicKey)).to.equal(bytesToHex(pair.edwardsPublicKey));
      expect(bytesToHex(restored.montgomeryPublicKey)).to.equal(bytesToHex(pair.montgomeryPublicKey));
    }
    const good = serializeIdentityKeyPair(IdentityKeyPair.generate(random));
    for (const bad of [null, 1, {}, { ...good, version: 2 }, { ...good, kind: 'rsa' }, { ...good, secret: 'AAAA' }, { ...good, secret: `${good.secret.slice(0, 43)}!` }]) {
      expect(() => parseIdentityKeyPair(bad)).to.throw(StorageError);
    }
  });
});
