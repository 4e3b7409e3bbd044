/**
 * XEP-0454 section 3 file encryption: published AES-256-GCM vectors (McGrew & Viega, "The
 * Galois/Counter Mode of Operation", test cases 13-15, 96-bit IV), a legacy 16-byte-IV vector
 * computed independently with python3-cryptography, the tag-appended layout, and all-or-nothing
 * decryption of tampered, truncated or wrongly keyed payloads.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, hexToBytes, utf8ToBytes } from '../../../lib/core/bytes.js';
import { decryptMedia, encryptMedia, generateMediaKey, MEDIA_IV_LENGTH, MEDIA_KEY_LENGTH } from '../../../lib/core/crypto/media-encryption.js';
import { MalformedMessageError, VerificationError } from '../../../lib/core/errors.js';
import { systemRandom } from '../../../lib/core/random.js';

const GCM_15 = {
  key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
  iv: 'cafebabefacedbaddecaf888',
  plaintext: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
  ciphertext: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad',
  tag: 'b094dac5d93471bdec1a502270e3cc6c',
};

function throwsCode(fn: () => unknown, type: new (...args: never[]) => Error, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected a throw').to.be.instanceOf(type);
  expect((caught as { code?: string }).code).to.equal(code);
}

describe('core/crypto media encryption (XEP-0454 section 3)', () => {
  it('GCM test case 15 (AES-256, 96-bit IV): ciphertext then tag, and back', () => {
    const mediaKey = { key: hexToBytes(GCM_15.key), iv: hexToBytes(GCM_15.iv) };
    const payload = encryptMedia(hexToBytes(GCM_15.plaintext), mediaKey);
    expect(bytesToHex(payload)).to.equal(GCM_15.ciphertext + GCM_15.tag);
    expect(bytesToHex(decryptMedia(payload, mediaKey))).to.equal(GCM_15.plaintext);
  });

  it('GCM test cases 13 and 14 (zero key and IV; empty and one zero block)', () => {
    const mediaKey = { key: new Uint8Array(32), iv: new Uint8Array(12) };
    expect(bytesToHex(encryptMedia(new Uint8Array(0), mediaKey))).to.equal('530f8afbc74536b9a963b4f1c4cb738b');
    expect(bytesToHex(encryptMedia(new Uint8Array(16), mediaKey))).to.equal('cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919');
    expect(decryptMedia(hexToBytes('530f8afbc74536b9a963b4f1c4cb738b'), mediaKey).length).to.equal(0);
  });

  it('decrypts a legacy 16-byte-IV file (vector from python3-cryptography AESGCM)', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const iv = Uint8Array.from({ length: 16 }, (_, i) => 0x40 + i);
    const payload = hexToBytes('6dc746f6ac6b623fb9670692ff0f9f824b7c3ab4262a5ddde90ff9cc983f60dc59a7779c117fff1501f1ff6181f25b');
    expect(new TextDecoder().decode(decryptMedia(payload, { key, iv }))).to.equal('XEP-0454 legacy 16-byte IV file');
    // ... but new files never use it.
    expect(() => encryptMedia(utf8ToBytes('x'), { key, iv })).to.throw(RangeError);
  });

  it('generates a fresh 32-byte key and 12-byte IV per file', () => {
    const a = generateMediaKey(systemRandom);
    const b = generateMediaKey(systemRandom);
    expect(a.key.length).to.equal(MEDIA_KEY_LENGTH);
    expect(a.iv.length).to.equal(MEDIA_IV_LENGTH);
    expect(bytesToHex(a.key)).not.to.equal(bytesToHex(b.key));
    expect(bytesToHex(a.iv)).not.to.equal(bytesToHex(b.iv));
  });

  it('any flipped bit, truncation or extension fails as media.auth-failed, never partial plaintext', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(), fc.nat(7), (plaintext, at, bit) => {
      const mediaKey = generateMediaKey(systemRandom);
      const payload = encryptMedia(plaintext, mediaKey);
      expect(payload.length).to.equal(plaintext.length + 16);
      expect(bytesToHex(decryptMedia(payload, mediaKey))).to.equal(bytesToHex(plaintext));
      const flipped = payload.slice();
      flipped[at % flipped.length] = (flipped[at % flipped.length] as number) ^ (1 << bit);
      throwsCode(() => decryptMedia(flipped, mediaKey), VerificationError, 'media.auth-failed');
      if (payload.length > 16) throwsCode(() => decryptMedia(payload.subarray(0, payload.length - 1 - (at % (payload.length - 16))), mediaKey), VerificationError, 'media.auth-failed');
      throwsCode(() => decryptMedia(Uint8Array.of(...payload, 0), mediaKey), VerificationError, 'media.auth-failed');
      const other = { ...mediaKey, key: mediaKey.key.map((x, i) => (i === 0 ? x ^ 1 : x)) };
      throwsCode(() => decryptMedia(payload, other), VerificationError, 'media.auth-failed');
    }), { numRuns: 100 });
  });

  it('a payload shorter than the tag is media.truncated; wrong key sizes are caller bugs', () => {
    const mediaKey = generateMediaKey(systemRandom);
    throwsCode(() => decryptMedia(new Uint8Array(15), mediaKey), MalformedMessageError, 'media.truncated');
    expect(() => decryptMedia(new Uint8Array(32), { key: new Uint8Array(16), iv: new Uint8Array(12) })).to.throw(RangeError);
    expect(() => decryptMedia(new Uint8Array(32), { key: new Uint8Array(32), iv: new Uint8Array(8) })).to.throw(RangeError);
  });
});
