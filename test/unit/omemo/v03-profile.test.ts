import { expect } from 'chai';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { X25519PrivateKey } from '../../../omemo/crypto/curve25519.js';
import { IdentityKeyPair } from '../../../omemo/crypto/identity-key.js';
import { xeddsaVerify } from '../../../omemo/crypto/xeddsa.js';
import { OMEMO_03_PROFILE, OMEMO_03_RATCHET_CONFIG, signSignedPreKey03 } from '../../../omemo/versions/v03/profile.js';
import { OMEMO_2_PROFILE, OMEMO_2_RATCHET_CONFIG } from '../../../omemo/versions/v2/profile.js';
import { serializeCurve25519PublicKey } from '../../../omemo/x3dh.js';

function identities(): [string, IdentityKeyPair][] {
  const out: [string, IdentityKeyPair][] = [];
  for (let i = 0; out.length < 2; i++) {
    const id = IdentityKeyPair.fromEd25519Seed(deterministicRandom(`p-${i}`)(32));
    const bit = (id.edwardsPublicKey[31] as number) >> 7;
    if (!out.some(([label]) => label === `seed, sign bit ${bit}`)) out.push([`seed, sign bit ${bit}`, id]);
  }
  out.push(['x25519-born', IdentityKeyPair.fromX25519PrivateKey(deterministicRandom('x')(32))]);
  return out;
}

describe('omemo/versions/{v03,v2}/profile', () => {
  it('0.3 signed-prekey signatures carry the Edwards sign bit in sig[63] and verify as libsignal verifies', () => {
    const random = deterministicRandom('spk');
    for (const [label, identity] of identities()) {
      const spk = X25519PrivateKey.generate(random).publicKey;
      const signature = signSignedPreKey03(identity, spk, random);
      expect((signature[63] as number) >> 7, label).to.equal((identity.edwardsPublicKey[31] as number) >> 7);
      expect(xeddsaVerify(identity.montgomeryPublicKey, serializeCurve25519PublicKey(spk.bytes), signature), label).to.equal(true);
      expect(OMEMO_03_PROFILE.x3dh.verifySignedPreKey(identity.montgomeryPublicKey, spk, signature), label).to.equal(true);
      const flipped = Uint8Array.from(signature);
      flipped[63] = (flipped[63] as number) ^ 0x80;
      expect(xeddsaVerify(identity.montgomeryPublicKey, serializeCurve25519PublicKey(spk.bytes), flipped), `${label}: wrong sign bit`).to.equal(false);
      const other = X25519PrivateKey.generate(random).publicKey;
      expect(OMEMO_03_PROFILE.x3dh.verifySignedPreKey(identity.montgomeryPublicKey, other, signature), label).to.equal(false);
      // omemo:2: plain Ed25519 over the raw key
      const spks = OMEMO_2_PROFILE.x3dh.signSignedPreKey(identity, spk, random);
      expect(OMEMO_2_PROFILE.x3dh.verifySignedPreKey(identity.edwardsPublicKey, spk, spks), label).to.equal(true);
    }
  });

  it('wires the right infos, AEADs and pn semantics into the ratchet configs', () => {
    expect(OMEMO_03_RATCHET_CONFIG.rootInfo).to.equal('WhisperRatchet');
    expect(OMEMO_03_RATCHET_CONFIG.previousCounterIsLastIndex).to.equal(true);
    expect(OMEMO_2_RATCHET_CONFIG.rootInfo).to.equal('OMEMO Root Chain');
    expect(OMEMO_2_RATCHET_CONFIG.previousCounterIsLastIndex).to.equal(undefined);
    expect(OMEMO_03_PROFILE.x3dh.info).to.equal('WhisperText');
    expect(OMEMO_2_PROFILE.x3dh.info).to.equal('OMEMO X3DH');
    expect(OMEMO_03_PROFILE.keyExchangeAttribute).to.equal('prekey');
    expect(OMEMO_2_PROFILE.keyExchangeAttribute).to.equal('kex');
    expect(OMEMO_03_PROFILE.encodePublicKey(new Uint8Array(32))[0]).to.equal(0x05);
  });
});
