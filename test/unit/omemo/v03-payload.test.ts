import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError, VerificationError } from '../../../lib/core/errors.js';
import { aesGcmEncrypt } from '../../../lib/core/crypto/aes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import type { RandomSource } from '../../../lib/core/random.js';
import { decryptPayload03, emptyPayload03, encryptPayload03 } from '../../../omemo/versions/v03/payload.js';

/** A RandomSource that hands out the given byte strings in order (lengths must match). */
function scripted(...chunks: Uint8Array[]): RandomSource {
  return (length) => {
    const next = chunks.shift();
    if (next === undefined || next.length !== length) throw new Error('unexpected random request');
    return Uint8Array.from(next);
  };
}

const KEY = hexToBytes('000102030405060708090a0b0c0d0e0f');
const IV = hexToBytes('000102030405060708090a0b');
// Known answer from python3-cryptography's AESGCM (an independent implementation).
const CIPHERTEXT = hexToBytes('fb09cba209');
const TAG = hexToBytes('892a5290e6a1cc5c447671d2fdb399f0');

describe('omemo/versions/v03/payload (AES-128-GCM, key||tag through the ratchet)', () => {
  it('matches the known answer: payload = ciphertext without tag, key material = key(16) || tag(16)', () => {
    const out = encryptPayload03(utf8ToBytes('hello'), scripted(KEY, IV));
    expect(bytesToHex(out.payload)).to.equal(bytesToHex(CIPHERTEXT));
    expect(bytesToHex(out.keyMaterial)).to.equal(bytesToHex(concatBytes(KEY, TAG)));
    expect(out.iv).to.deep.equal(IV);
    expect(decryptPayload03(out.keyMaterial, out.iv, out.payload)).to.deep.equal(utf8ToBytes('hello'));
  });

  it('accepts the legacy layout (16-byte key, tag appended to the payload) and 16-byte IVs', () => {
    expect(decryptPayload03(KEY, IV, concatBytes(CIPHERTEXT, TAG))).to.deep.equal(utf8ToBytes('hello'));
    const random = deterministicRandom('v03-payload');
    const key = random(16);
    const iv16 = random(16);
    // Old Conversations used 16-byte GCM IVs (GHASH-derived J0), still found in archives.
    const { ciphertext, tag } = aesGcmEncrypt(key, iv16, utf8ToBytes('sixteen'));
    expect(decryptPayload03(concatBytes(key, tag), iv16, ciphertext)).to.deep.equal(utf8ToBytes('sixteen'));
    expect(() => decryptPayload03(concatBytes(key, tag), iv16.subarray(0, 12), ciphertext)).to.throw(VerificationError);
  });

  it('makes key-transport material like python-oldmemo (16 random bytes, 12-byte IV)', () => {
    const empty = emptyPayload03(deterministicRandom('empty'));
    expect(empty.keyMaterial.length).to.equal(16);
    expect(empty.iv.length).to.equal(12);
    expect(() => encryptPayload03(new Uint8Array(0), deterministicRandom('x'))).to.throw(RangeError);
  });

  it('rejects tampering with VerificationError and bad lengths with MalformedMessageError', () => {
    const out = encryptPayload03(utf8ToBytes('attack at dawn'), deterministicRandom('tamper'));
    for (let i = 0; i < out.payload.length; i++) {
      const payload = Uint8Array.from(out.payload);
      payload[i] = (payload[i] as number) ^ 1;
      expect(() => decryptPayload03(out.keyMaterial, out.iv, payload)).to.throw(VerificationError);
    }
    const key = Uint8Array.from(out.keyMaterial);
    key[31] = (key[31] as number) ^ 0x80;
    expect(() => decryptPayload03(key, out.iv, out.payload)).to.throw(VerificationError);
    expect(() => decryptPayload03(out.keyMaterial.subarray(0, 31), out.iv, out.payload)).to.throw(MalformedMessageError);
    expect(() => decryptPayload03(out.keyMaterial, out.iv.subarray(0, 11), out.payload)).to.throw(MalformedMessageError);
    expect(() => decryptPayload03(out.keyMaterial.subarray(0, 16), out.iv, new Uint8Array(5))).to.throw(MalformedMessageError);
  });

  it('round-trips random plaintexts and rejects any random corruption with a typed error', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 500 }), fc.string(), fc.nat(), fc.integer({ min: 0, max: 7 }), (plaintext, seed, at, bit) => {
      const out = encryptPayload03(plaintext, deterministicRandom(`p${seed}`));
      expect(decryptPayload03(out.keyMaterial, out.iv, out.payload)).to.deep.equal(plaintext);
      const all = concatBytes(out.keyMaterial, out.iv, out.payload);
      const i = at % all.length;
      all[i] = (all[i] as number) ^ (1 << bit);
      expect(() => decryptPayload03(all.subarray(0, 32), all.subarray(32, 44), all.subarray(44))).to.throw(VerificationError);
    }), { numRuns: 1000 });
  });
});
