/**
 * Test-only reference AEAD callbacks in the real OMEMO wire formats, to prove the ratchet's
 * callback interface carries everything the version layer needs, against python-oldmemo and
 * python-twomemo bytes. Minimal on purpose (no bounds beyond what the test needs); the
 * production codecs live in the version layer.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { concatBytes, constantTimeEqual } from '../../../lib/core/bytes.js';
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../../../lib/core/crypto/aes.js';
import { hmacSha256 } from '../../../lib/core/crypto/hash.js';
import { MalformedMessageError, VerificationError } from '../../../lib/core/errors.js';
import { deriveMessageKeyMaterial } from '../../../omemo/kdf.js';
import type { RatchetAead } from '../../../omemo/ratchet/double-ratchet.js';
import { serializeCurve25519PublicKey } from '../../../omemo/x3dh.js';

function field4(message: Uint8Array): Uint8Array {
  const reader = new BinaryReader(message);
  let found: Uint8Array | undefined;
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (no === 4 && type === WireType.LengthDelimited) found = reader.bytes();
    else reader.skip(type, no);
  }
  if (found === undefined) throw new MalformedMessageError('test.no-ciphertext', 'no ciphertext');
  return found;
}

/** OMEMO 0.3: 0x33 || SignalMessage{1 ratchetKey(33), 2 counter, 3 previousCounter, 4 ciphertext} || HMAC/8. */
export const omemo03Aead: RatchetAead = {
  encrypt(messageKey, header, plaintext, associatedData) {
    const keys = deriveMessageKeyMaterial(messageKey, 'WhisperMessageKeys');
    const ciphertext = aes256CbcEncrypt(keys.encryptionKey, keys.iv, plaintext);
    const body = concatBytes(Uint8Array.of(0x33), new BinaryWriter()
      .tag(1, WireType.LengthDelimited).bytes(serializeCurve25519PublicKey(header.ratchetKey.bytes))
      .tag(2, WireType.Varint).uint32(header.n)
      .tag(3, WireType.Varint).uint32(header.pn)
      .tag(4, WireType.LengthDelimited).bytes(ciphertext)
      .finish());
    return concatBytes(body, hmacSha256(keys.authenticationKey, associatedData, body).subarray(0, 8));
  },
  decrypt(messageKey, _header, message, associatedData) {
    if (message.length < 9) throw new MalformedMessageError('test.short', 'short');
    const keys = deriveMessageKeyMaterial(messageKey, 'WhisperMessageKeys');
    const body = message.subarray(0, message.length - 8);
    const mac = hmacSha256(keys.authenticationKey, associatedData, body).subarray(0, 8);
    if (!constantTimeEqual(mac, message.subarray(message.length - 8))) throw new VerificationError('test.bad-mac', 'bad mac');
    const plaintext = aes256CbcDecrypt(keys.encryptionKey, keys.iv, field4(body.subarray(1)));
    if (plaintext === undefined) throw new MalformedMessageError('test.bad-padding', 'bad padding');
    return plaintext;
  },
};

/** omemo:2: OMEMOAuthenticatedMessage{1 mac(16), 2 OMEMOMessage{1 n, 2 pn, 3 dh_pub, 4 ciphertext}}. */
export const omemo2Aead: RatchetAead = {
  encrypt(messageKey, header, plaintext, associatedData) {
    const keys = deriveMessageKeyMaterial(messageKey, 'OMEMO Message Key Material');
    const ciphertext = aes256CbcEncrypt(keys.encryptionKey, keys.iv, plaintext);
    const message = new BinaryWriter()
      .tag(1, WireType.Varint).uint32(header.n)
      .tag(2, WireType.Varint).uint32(header.pn)
      .tag(3, WireType.LengthDelimited).bytes(header.ratchetKey.bytes)
      .tag(4, WireType.LengthDelimited).bytes(ciphertext)
      .finish();
    const mac = hmacSha256(keys.authenticationKey, associatedData, message).subarray(0, 16);
    return new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(mac).tag(2, WireType.LengthDelimited).bytes(message).finish();
  },
  decrypt(messageKey, _header, wire, associatedData) {
    const reader = new BinaryReader(wire);
    let mac: Uint8Array | undefined;
    let message: Uint8Array | undefined;
    while (reader.pos < reader.len) {
      const [no, type] = reader.tag();
      if (no === 1 && type === WireType.LengthDelimited) mac = reader.bytes();
      else if (no === 2 && type === WireType.LengthDelimited) message = reader.bytes();
      else reader.skip(type, no);
    }
    if (mac === undefined || message === undefined) throw new MalformedMessageError('test.fields', 'missing fields');
    const keys = deriveMessageKeyMaterial(messageKey, 'OMEMO Message Key Material');
    const expected = hmacSha256(keys.authenticationKey, associatedData, message).subarray(0, 16);
    if (!constantTimeEqual(expected, mac)) throw new VerificationError('test.bad-mac', 'bad mac');
    const plaintext = aes256CbcDecrypt(keys.encryptionKey, keys.iv, field4(message));
    if (plaintext === undefined) throw new MalformedMessageError('test.bad-padding', 'bad padding');
    return plaintext;
  },
};
