import { expect } from 'chai';
import { bytesToHex } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { VerificationError } from '../../../lib/core/errors.js';
import {
  Ed25519PrivateKey, Ed25519PublicKey, X25519PrivateKey, X25519PublicKey, generateX25519KeyPair, x25519,
} from '../../../omemo/crypto/curve25519.js';
import {
  ed25519SeedToX25519Private, edwardsToMontgomery, montgomeryToEdwards, x25519PrivateToEd25519Public,
  xeddsaSign, xeddsaSignWithNonce, xeddsaVerify,
} from '../../../omemo/crypto/xeddsa.js';
import { deriveMessageKeyMaterial, kdfChainKey, kdfRootKey, kdfX3dh } from '../../../omemo/kdf.js';
import { hkdfSha256, hmacSha256 } from '../../../lib/core/crypto/hash.js';
import { hex, vectors } from './vectors.js';

const P_BYTES = hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'); // p = 2^255-19, LE

describe('omemo/crypto/curve25519 (vectors from python3-xeddsa)', () => {
  it('derives X25519 public keys and shared secrets like libxeddsa', () => {
    for (const v of vectors.x25519) {
      const a = X25519PrivateKey.fromBytes(hex(v.privateA));
      const b = X25519PrivateKey.fromBytes(hex(v.privateB));
      expect(bytesToHex(a.publicKey.bytes)).to.equal(v.publicA);
      expect(bytesToHex(b.publicKey.bytes)).to.equal(v.publicB);
      expect(bytesToHex(a.dh(X25519PublicKey.fromBytes(hex(v.publicB))))).to.equal(v.shared);
      expect(bytesToHex(x25519(b, a.publicKey))).to.equal(v.shared);
    }
  });

  it('rejects wrong lengths with RangeError and small-order keys with a typed error', () => {
    expect(() => X25519PublicKey.fromBytes(new Uint8Array(31))).to.throw(RangeError);
    expect(() => X25519PrivateKey.fromBytes(new Uint8Array(33))).to.throw(RangeError);
    expect(() => Ed25519PrivateKey.fromSeed(new Uint8Array(0))).to.throw(RangeError);
    const priv = generateX25519KeyPair(deterministicRandom('small-order')).privateKey;
    for (const bad of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
      expect(() => priv.dh(X25519PublicKey.fromBytes(bad))).to.throw(VerificationError).with.property('code', 'omemo.x25519-small-order');
    }
  });

  it('generates keys from the injected random source (reproducible)', () => {
    const a = X25519PrivateKey.generate(deterministicRandom('gen'));
    const b = X25519PrivateKey.generate(deterministicRandom('gen'));
    expect(a.publicKey.equals(b.publicKey)).to.equal(true);
    expect(bytesToHex(a.bytes)).to.equal(bytesToHex(deterministicRandom('gen')(32)));
  });

  it('signs and verifies Ed25519 like libsodium (RFC 8032 deterministic signatures)', () => {
    for (const v of vectors.seeds) {
      const key = Ed25519PrivateKey.fromSeed(hex(v.seed));
      expect(bytesToHex(key.publicKey.bytes)).to.equal(v.ed25519Public);
      expect(bytesToHex(key.sign(hex(v.message)))).to.equal(v.signature);
      const pub = Ed25519PublicKey.fromBytes(hex(v.ed25519Public));
      expect(pub.verify(hex(v.message), hex(v.signature))).to.equal(true);
      const tampered = hex(v.signature);
      tampered[5] = (tampered[5] ?? 0) ^ 1;
      expect(pub.verify(hex(v.message), tampered)).to.equal(false);
      expect(pub.verify(hex(v.message), tampered.subarray(1))).to.equal(false);
    }
  });
});

describe('omemo/crypto/xeddsa (vectors from python3-xeddsa)', () => {
  it('signs byte-for-byte like python-xeddsa given the same nonce (pure XEdDSA, sign bit 0)', () => {
    for (const v of vectors.xeddsa) {
      const sig = xeddsaSignWithNonce(hex(v.priv), hex(v.message), hex(v.nonce));
      expect(bytesToHex(sig)).to.equal(v.signaturePure);
      expect((sig[63] ?? 0) & 0x80).to.equal(0);
      expect(bytesToHex(x25519PrivateToEd25519Public(hex(v.priv)))).to.equal(v.edwardsPublicSign0);
    }
  });

  it('verifies python-xeddsa signatures and libsignal-style signatures with the sign bit set', () => {
    const signBitCases = vectors.xeddsa.filter((v) => v.naturalSignBit === 1).length;
    expect(signBitCases).to.be.greaterThan(3);
    for (const v of vectors.xeddsa) {
      const pub = X25519PublicKey.fromBytes(hex(v.montgomeryPublic));
      expect(xeddsaVerify(pub, hex(v.message), hex(v.signaturePure))).to.equal(true);
      const libsignal = hex(v.signatureLibsignal);
      expect((libsignal[63] ?? 0) >> 7).to.equal(v.naturalSignBit);
      expect(xeddsaVerify(pub, hex(v.message), libsignal)).to.equal(true);
      // Flipping the sign bit must break it: the bit selects the Edwards key.
      const flipped = Uint8Array.from(libsignal);
      flipped[63] = (flipped[63] ?? 0) ^ 0x80;
      expect(xeddsaVerify(pub, hex(v.message), flipped)).to.equal(false);
      const other = Uint8Array.from(hex(v.message));
      expect(xeddsaVerify(pub, Uint8Array.of(...other, 0), hex(v.signaturePure))).to.equal(false);
    }
  });

  it('signs with the injected random source and verifies its own signatures', () => {
    const random = deterministicRandom('xeddsa-own');
    for (let i = 0; i < 8; i++) {
      const priv = X25519PrivateKey.generate(random);
      const message = random(i * 13);
      const sig = xeddsaSign(priv, message, random);
      expect(xeddsaVerify(priv.publicKey, message, sig)).to.equal(true);
      expect(xeddsaVerify(priv.publicKey, Uint8Array.of(...message, 1), sig)).to.equal(false);
    }
  });

  it('rejects u >= p, u = p - 1 and malformed signatures without throwing', () => {
    const v = vectors.xeddsa[0]!;
    expect(xeddsaVerify(P_BYTES, hex(v.message), hex(v.signaturePure))).to.equal(false);
    expect(() => montgomeryToEdwards(P_BYTES, 0)).to.throw(VerificationError);
    const pMinus1 = Uint8Array.from(P_BYTES);
    pMinus1[0] = 0xec;
    expect(() => montgomeryToEdwards(pMinus1, 0)).to.throw(VerificationError).with.property('code', 'omemo.xeddsa-bad-key');
    expect(xeddsaVerify(pMinus1, hex(v.message), hex(v.signaturePure))).to.equal(false);
    expect(xeddsaVerify(hex(v.montgomeryPublic), hex(v.message), new Uint8Array(63))).to.equal(false);
    expect(xeddsaVerify(hex(v.montgomeryPublic), hex(v.message), new Uint8Array(64))).to.equal(false);
    const highS = hex(v.signaturePure);
    highS[63] = (highS[63] ?? 0) | 0x70; // s >= 2^253: not canonical
    expect(xeddsaVerify(hex(v.montgomeryPublic), hex(v.message), highS)).to.equal(false);
  });

  it('converts Montgomery <-> Edwards like libxeddsa', () => {
    for (const v of vectors.xeddsa) {
      expect(bytesToHex(montgomeryToEdwards(hex(v.montgomeryPublic), 0))).to.equal(v.edwardsPublicSign0);
      expect(bytesToHex(montgomeryToEdwards(hex(v.montgomeryPublic), 1))).to.equal(v.edwardsPublicSign1);
      expect(bytesToHex(edwardsToMontgomery(hex(v.edwardsPublicSign0)))).to.equal(v.montgomeryPublic);
      expect(bytesToHex(edwardsToMontgomery(hex(v.edwardsPublicSign1)))).to.equal(v.montgomeryPublic);
    }
    for (const v of vectors.seeds) {
      expect(bytesToHex(edwardsToMontgomery(hex(v.ed25519Public)))).to.equal(v.montgomeryFromEdwards);
      expect(v.montgomeryFromEdwards).to.equal(v.x25519Public);
    }
  });

  it('rejects Edwards keys that do not decode or have small order', () => {
    expect(() => edwardsToMontgomery(hex('0100000000000000000000000000000000000000000000000000000000000000')))
      .to.throw(VerificationError).with.property('code', 'omemo.ed25519-bad-key');
    expect(() => edwardsToMontgomery(hex('0200000000000000000000000000000000000000000000000000000000000000')))
      .to.throw(VerificationError);
  });

  it('maps an Ed25519 seed to the X25519 private key like libsodium', () => {
    for (const v of vectors.seeds) {
      const priv = ed25519SeedToX25519Private(hex(v.seed));
      expect(bytesToHex(priv)).to.equal(v.x25519Private);
      expect(bytesToHex(X25519PrivateKey.fromBytes(priv).publicKey.bytes)).to.equal(v.x25519Public);
    }
  });
});

describe('omemo/kdf', () => {
  it('derives root, chain and message keys per the Signal recommended algorithms', () => {
    const rk = new Uint8Array(32).fill(1);
    const dh = new Uint8Array(32).fill(2);
    const root = kdfRootKey(rk, dh, 'WhisperRatchet');
    const expected = hkdfSha256(dh, rk, new TextEncoder().encode('WhisperRatchet'), 64);
    expect(bytesToHex(root.rootKey)).to.equal(bytesToHex(expected.subarray(0, 32)));
    expect(bytesToHex(root.chainKey)).to.equal(bytesToHex(expected.subarray(32)));
    const chain = kdfChainKey(root.chainKey);
    expect(bytesToHex(chain.messageKey)).to.equal(bytesToHex(hmacSha256(root.chainKey, Uint8Array.of(1))));
    expect(bytesToHex(chain.chainKey)).to.equal(bytesToHex(hmacSha256(root.chainKey, Uint8Array.of(2))));
    const material = deriveMessageKeyMaterial(chain.messageKey, 'OMEMO Message Key Material');
    const out = hkdfSha256(chain.messageKey, new Uint8Array(32), new TextEncoder().encode('OMEMO Message Key Material'), 80);
    expect(bytesToHex(material.encryptionKey) + bytesToHex(material.authenticationKey) + bytesToHex(material.iv)).to.equal(bytesToHex(out));
    expect(material.iv.length).to.equal(16);
    expect(() => kdfChainKey(new Uint8Array(31))).to.throw(RangeError);
    expect(kdfX3dh([dh, dh, dh], 'WhisperText').length).to.equal(32);
  });
});
