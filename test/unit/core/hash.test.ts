import { expect } from 'chai';
import { hkdfSha256, hmacSha1, hmacSha256, sha1, sha256 } from '../../../lib/core/crypto/hash.js';
import { aesCtr, aesGcmDecrypt, aesGcmEncrypt, aes256CbcDecrypt, aes256CbcEncrypt } from '../../../lib/core/crypto/aes.js';
import { bytesToHex, hexToBytes, utf8ToBytes, base64ToBytes, constantTimeEqual, bigIntToBytes, bytesToBigInt } from '../../../lib/core/bytes.js';

describe('core/crypto known-answer vectors', () => {
  it('SHA-1 and SHA-256 of "abc" (FIPS 180-4 examples)', () => {
    expect(bytesToHex(sha1(utf8ToBytes('abc')))).to.equal('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(bytesToHex(sha256(utf8ToBytes('abc')))).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('HMAC-SHA1 and HMAC-SHA256 (RFC 2202 / RFC 4231 test case 2)', () => {
    const key = utf8ToBytes('Jefe');
    const data = utf8ToBytes('what do ya want for nothing?');
    expect(bytesToHex(hmacSha1(key, data))).to.equal('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    expect(bytesToHex(hmacSha256(key, data))).to.equal('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('HKDF-SHA256 (RFC 5869 test case 1)', () => {
    const okm = hkdfSha256(
      hexToBytes('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
      hexToBytes('000102030405060708090a0b0c'),
      hexToBytes('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(bytesToHex(okm)).to.equal('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });

  it('AES-128-CTR (NIST SP 800-38A F.5.1, first two blocks)', () => {
    const out = aesCtr(
      hexToBytes('2b7e151628aed2a6abf7158809cf4f3c'),
      hexToBytes('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'),
      hexToBytes('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51'),
    );
    expect(bytesToHex(out)).to.equal('874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff');
  });

  it('AES-256-CBC (NIST SP 800-38A F.2.5, first block) and PKCS#7 round trip', () => {
    const key = hexToBytes('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4');
    const iv = hexToBytes('000102030405060708090a0b0c0d0e0f');
    const ct = aes256CbcEncrypt(key, iv, hexToBytes('6bc1bee22e409f96e93d7e117393172a'));
    expect(bytesToHex(ct.subarray(0, 16))).to.equal('f58c4c04d6e5f1ba779eabfb5f7bfbd6');
    expect(bytesToHex(aes256CbcDecrypt(key, iv, ct)!)).to.equal('6bc1bee22e409f96e93d7e117393172a');
    expect(aes256CbcDecrypt(key, iv, ct.subarray(0, 15))).to.equal(undefined);
  });

  it('AES-128-GCM (McGrew-Viega test case 3) and tag rejection', () => {
    const key = hexToBytes('feffe9928665731c6d6a8f9467308308');
    const iv = hexToBytes('cafebabefacedbaddecaf888');
    const pt = hexToBytes(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255',
    );
    const { ciphertext, tag } = aesGcmEncrypt(key, iv, pt);
    expect(bytesToHex(tag)).to.equal('4d5c2af327cd64a62cf35abd2ba6fab4');
    expect(bytesToHex(aesGcmDecrypt(key, iv, ciphertext, tag)!)).to.equal(bytesToHex(pt));
    tag[0]! ^= 1;
    expect(aesGcmDecrypt(key, iv, ciphertext, tag)).to.equal(undefined);
  });

  it('strict base64 refuses what Node would silently accept', () => {
    expect(base64ToBytes('aGVsbG8=')).to.deep.equal(utf8ToBytes('hello'));
    for (const bad of ['aGVsbG8', 'aGV sbG8=', 'aGVs*G8=', 'a===', '=']) expect(base64ToBytes(bad)).to.equal(undefined);
  });

  it('constant-time equality and big integer conversions', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).to.equal(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).to.equal(false);
    expect(constantTimeEqual(Uint8Array.of(1), Uint8Array.of(1, 3))).to.equal(false);
    expect(bytesToHex(bigIntToBytes(0x1234n))).to.equal('1234');
    expect(bytesToHex(bigIntToBytes(0n))).to.equal('');
    expect(bytesToHex(bigIntToBytes(5n, 3))).to.equal('000005');
    expect(() => bigIntToBytes(0x10000n, 2)).to.throw(RangeError);
    expect(bytesToBigInt(hexToBytes('00ff'))).to.equal(255n);
  });
});
