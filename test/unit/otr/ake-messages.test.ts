import { expect } from 'chai';
import { bytesToHex, concatBytes, hexToBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { dsaSign, generateDsaKey, type DsaPrivateKey, type DsaPublicKey } from '../../../lib/core/crypto/dsa.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  decodeAkeSignedIdentity,
  decodeDhCommitMessage,
  decodeDhKeyMessage,
  decodeRevealSignatureMessage,
  decodeSignatureMessage,
  encodeAkeMacInput,
  encodeAkeSignedIdentity,
  encodeDhCommitMessage,
  encodeDhKeyMessage,
  encodeRevealSignatureMessage,
  encodeSignatureMessage,
} from '../../../otr/ake-messages.js';
import { encodeOtrPublicKey, encodeOtrSignature } from '../../../otr/public-key.js';

const fill = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
const int = (value: number): string => value.toString(16).padStart(8, '0');

function expectMalformed(fn: () => unknown): void {
  expect(fn).to.throw(MalformedMessageError);
}

describe('otr/ake-messages', () => {
  describe('D-H Commit Message', () => {
    it('encodes DATA encrypted g^x then DATA hashed g^x', () => {
      const body = encodeDhCommitMessage({ encryptedGx: Uint8Array.of(1, 2, 3), hashedGx: fill(32, 0xaa) });
      expect(bytesToHex(body)).to.equal('00000003010203' + '00000020' + 'aa'.repeat(32));
    });

    it('round-trips a realistic commit (196-byte encrypted g^x)', () => {
      const message = { encryptedGx: deterministicRandom('gx')(196), hashedGx: deterministicRandom('h')(32) };
      const decoded = decodeDhCommitMessage(encodeDhCommitMessage(message));
      expect(bytesToHex(decoded.encryptedGx)).to.equal(bytesToHex(message.encryptedGx));
      expect(bytesToHex(decoded.hashedGx)).to.equal(bytesToHex(message.hashedGx));
    });

    it('rejects a hash that is not 32 bytes, truncation, trailing bytes and oversized lengths', () => {
      const good = encodeDhCommitMessage({ encryptedGx: fill(196, 1), hashedGx: fill(32, 2) });
      expectMalformed(() => decodeDhCommitMessage(hexToBytes('00000001' + '01' + '0000001f' + 'aa'.repeat(31))));
      expectMalformed(() => decodeDhCommitMessage(hexToBytes('00000001' + '01' + '00000021' + 'aa'.repeat(33))));
      expectMalformed(() => decodeDhCommitMessage(good.subarray(0, good.length - 1)));
      expectMalformed(() => decodeDhCommitMessage(concatBytes(good, Uint8Array.of(0))));
      expectMalformed(() => decodeDhCommitMessage(hexToBytes('ffffffff' + '00')));
      expectMalformed(() => decodeDhCommitMessage(hexToBytes(int(197) + '00'.repeat(197) + '00000020' + 'aa'.repeat(32))));
      expectMalformed(() => decodeDhCommitMessage(new Uint8Array(0)));
    });

    it('refuses to encode a hash of the wrong length (caller bug)', () => {
      expect(() => encodeDhCommitMessage({ encryptedGx: fill(10, 1), hashedGx: fill(31, 2) })).to.throw(RangeError);
    });
  });

  describe('D-H Key Message', () => {
    it('encodes g^y as a minimal MPI and round-trips', () => {
      expect(bytesToHex(encodeDhKeyMessage({ gy: 0x0105n }))).to.equal('000000020105');
      const gy = (1n << 1535n) + 12345n;
      expect(decodeDhKeyMessage(encodeDhKeyMessage({ gy })).gy).to.equal(gy);
    });

    it('rejects truncation, trailing bytes and MPIs over 192 bytes', () => {
      expectMalformed(() => decodeDhKeyMessage(hexToBytes('0000000201')));
      expectMalformed(() => decodeDhKeyMessage(hexToBytes('00000001' + '05' + '00')));
      expectMalformed(() => decodeDhKeyMessage(hexToBytes(int(193) + '01'.repeat(193))));
      expectMalformed(() => decodeDhKeyMessage(hexToBytes('ffffffff')));
    });
  });

  describe('Reveal Signature Message', () => {
    const message = { revealedKey: fill(16, 0x11), encryptedSignature: Uint8Array.of(0x61, 0x62, 0x63), macdSignature: fill(20, 0x22) };

    it('encodes DATA r, DATA encrypted signature, then the bare 20-byte MAC', () => {
      expect(bytesToHex(encodeRevealSignatureMessage(message))).to.equal(
        '00000010' + '11'.repeat(16) + '00000003' + '616263' + '22'.repeat(20),
      );
      const decoded = decodeRevealSignatureMessage(encodeRevealSignatureMessage(message));
      expect(bytesToHex(decoded.revealedKey)).to.equal('11'.repeat(16));
      expect(bytesToHex(decoded.encryptedSignature)).to.equal('616263');
      expect(bytesToHex(decoded.macdSignature)).to.equal('22'.repeat(20));
    });

    it('rejects r of another length than 16, a short MAC, trailing bytes and oversized DATA', () => {
      expectMalformed(() => decodeRevealSignatureMessage(hexToBytes('0000000f' + '11'.repeat(15) + '00000000' + '22'.repeat(20))));
      expectMalformed(() => decodeRevealSignatureMessage(hexToBytes('00000011' + '11'.repeat(17) + '00000000' + '22'.repeat(20))));
      expectMalformed(() => decodeRevealSignatureMessage(hexToBytes('00000010' + '11'.repeat(16) + '00000000' + '22'.repeat(19))));
      expectMalformed(() => decodeRevealSignatureMessage(hexToBytes('00000010' + '11'.repeat(16) + '00000000' + '22'.repeat(21))));
      expectMalformed(() => decodeRevealSignatureMessage(hexToBytes('00000010' + '11'.repeat(16) + 'ffffffff' + '22'.repeat(20))));
    });

    it('refuses to encode r or a MAC of the wrong length (caller bug)', () => {
      expect(() => encodeRevealSignatureMessage({ ...message, revealedKey: fill(15, 1) })).to.throw(RangeError);
      expect(() => encodeRevealSignatureMessage({ ...message, macdSignature: fill(32, 1) })).to.throw(RangeError);
    });
  });

  describe('Signature Message', () => {
    it('encodes DATA encrypted signature then the 20-byte MAC, and round-trips', () => {
      const message = { encryptedSignature: Uint8Array.of(0x61, 0x62, 0x63), macdSignature: fill(20, 0x22) };
      expect(bytesToHex(encodeSignatureMessage(message))).to.equal('00000003' + '616263' + '22'.repeat(20));
      const decoded = decodeSignatureMessage(encodeSignatureMessage(message));
      expect(bytesToHex(decoded.encryptedSignature)).to.equal('616263');
      expect(bytesToHex(decoded.macdSignature)).to.equal('22'.repeat(20));
    });

    it('rejects a short MAC, trailing bytes and oversized DATA', () => {
      expectMalformed(() => decodeSignatureMessage(hexToBytes('00000000' + '22'.repeat(19))));
      expectMalformed(() => decodeSignatureMessage(hexToBytes('00000000' + '22'.repeat(21))));
      expectMalformed(() => decodeSignatureMessage(hexToBytes('00100000' + '22'.repeat(20))));
    });
  });

  describe('signed identity X and MAC input M', () => {
    let key: DsaPrivateKey;
    let pub: DsaPublicKey;

    before(async function () {
      this.timeout(120_000);
      key = await generateDsaKey();
      pub = { p: key.p, q: key.q, g: key.g, y: key.y };
    });

    it('X is PUBKEY, keyid INT, SIG, and round-trips', () => {
      const signature = dsaSign(key, fill(32, 7), deterministicRandom('x'));
      const bytes = encodeAkeSignedIdentity({ publicKey: pub, keyId: 1, signature });
      const expected = concatBytes(encodeOtrPublicKey(pub), hexToBytes('00000001'), encodeOtrSignature(signature, pub.q));
      expect(bytesToHex(bytes)).to.equal(bytesToHex(expected));
      const decoded = decodeAkeSignedIdentity(bytes);
      expect(decoded.publicKey).to.deep.equal(pub);
      expect(decoded.keyId).to.equal(1);
      expect(decoded.signature).to.deep.equal(signature);
    });

    it('X with a truncated or lengthened signature is malformed', () => {
      const signature = dsaSign(key, fill(32, 7), deterministicRandom('x'));
      const bytes = encodeAkeSignedIdentity({ publicKey: pub, keyId: 9, signature });
      expectMalformed(() => decodeAkeSignedIdentity(bytes.subarray(0, bytes.length - 1)));
      expectMalformed(() => decodeAkeSignedIdentity(concatBytes(bytes, Uint8Array.of(0))));
      expectMalformed(() => decodeAkeSignedIdentity(bytes.subarray(0, 10)));
    });

    it('refuses to encode keyid 0 (caller bug)', () => {
      const signature = dsaSign(key, fill(32, 7), deterministicRandom('x'));
      expect(() => encodeAkeSignedIdentity({ publicKey: pub, keyId: 0, signature })).to.throw(RangeError);
    });

    it('M input is MPI g^x, MPI g^y, PUBKEY, INT keyid (signer first)', () => {
      const bytes = encodeAkeMacInput(0x0203n, 0x05n, pub, 0x01020304);
      const expected = concatBytes(hexToBytes('000000020203' + '0000000105'), encodeOtrPublicKey(pub), hexToBytes('01020304'));
      expect(bytesToHex(bytes)).to.equal(bytesToHex(expected));
    });
  });
});
