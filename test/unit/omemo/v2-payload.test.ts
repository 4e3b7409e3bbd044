import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError, VerificationError } from '../../../lib/core/errors.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { decryptPayload2, emptyKeyMaterial2, encryptPayload2 } from '../../../omemo/versions/v2/payload.js';

const KEY = hexToBytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
// Known answer from python3-cryptography (HKDF "OMEMO Payload" -> AES-256-CBC + HMAC-SHA256/16).
const CIPHERTEXT = 'f5ca1cb4095ad46cc1b990e5acbb65e6';
const MAC = 'a626ae8b597bc5eeb5f636c760330c41';

describe('omemo/versions/v2/payload (HKDF -> AES-256-CBC + HMAC/16, key||mac through the ratchet)', () => {
  it('matches the known answer', () => {
    const out = encryptPayload2(utf8ToBytes('hello OMEMO'), (n) => {
      expect(n).to.equal(32);
      return Uint8Array.from(KEY);
    });
    expect(bytesToHex(out.payload)).to.equal(CIPHERTEXT);
    expect(bytesToHex(out.keyMaterial)).to.equal(bytesToHex(KEY) + MAC);
    expect(decryptPayload2(out.keyMaterial, out.payload)).to.deep.equal(utf8ToBytes('hello OMEMO'));
  });

  it('an empty message carries 32 zero bytes (python-twomemo make_empty)', () => {
    expect(emptyKeyMaterial2()).to.deep.equal(new Uint8Array(32));
  });

  it('rejects tampering with VerificationError and bad lengths with MalformedMessageError', () => {
    const out = encryptPayload2(utf8ToBytes('attack at dawn, twice over'), deterministicRandom('v2'));
    for (let i = 0; i < out.payload.length; i++) {
      const payload = Uint8Array.from(out.payload);
      payload[i] = (payload[i] as number) ^ 1;
      expect(() => decryptPayload2(out.keyMaterial, payload)).to.throw(VerificationError);
    }
    for (const i of [0, 31, 32, 47]) {
      const key = Uint8Array.from(out.keyMaterial);
      key[i] = (key[i] as number) ^ 1;
      expect(() => decryptPayload2(key, out.payload)).to.throw(VerificationError);
    }
    expect(() => decryptPayload2(out.keyMaterial.subarray(0, 32), out.payload)).to.throw(MalformedMessageError);
    expect(() => decryptPayload2(out.keyMaterial, out.payload.subarray(1))).to.throw(MalformedMessageError);
    expect(() => decryptPayload2(out.keyMaterial, new Uint8Array(0))).to.throw(MalformedMessageError);
  });

  it('round-trips random plaintexts and rejects random corruption with a typed error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), fc.string(), fc.nat(), fc.integer({ min: 0, max: 7 }), (plaintext, seed, at, bit) => {
      const out = encryptPayload2(plaintext, deterministicRandom(`p${seed}`));
      expect(decryptPayload2(out.keyMaterial, out.payload)).to.deep.equal(plaintext);
      const all = concatBytes(out.keyMaterial, out.payload);
      const i = at % all.length;
      all[i] = (all[i] as number) ^ (1 << bit);
      expect(() => decryptPayload2(all.subarray(0, 48), all.subarray(48))).to.throw(VerificationError);
    }), { numRuns: 1000 });
  });
});
