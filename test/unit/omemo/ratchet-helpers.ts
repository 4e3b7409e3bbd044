/**
 * Test-only AEADs for the ratchet tests. `recordingAead` mirrors RecordingAEAD and
 * `_build_associated_data` in test/vectors/omemo/generate.py, so message keys and associated
 * data must match python-doubleratchet byte for byte. `cbcHmacAead` is a realistic
 * AES-256-CBC + truncated HMAC construction (OMEMO's shape, without the per-version protobuf).
 */
import { concatBytes, constantTimeEqual } from '../../../lib/core/bytes.js';
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../../../lib/core/crypto/aes.js';
import { hmacSha256 } from '../../../lib/core/crypto/hash.js';
import { MalformedMessageError, VerificationError } from '../../../lib/core/errors.js';
import { deriveMessageKeyMaterial } from '../../../omemo/kdf.js';
import type { RatchetAead } from '../../../omemo/ratchet/double-ratchet.js';
import type { RatchetHeader } from '../../../omemo/ratchet/diffie-hellman-ratchet.js';

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** python: associated_data + ratchet_pub + pn (4 bytes BE) + n (4 bytes BE). */
export function headerAd(associatedData: Uint8Array, header: RatchetHeader): Uint8Array {
  return concatBytes(associatedData, header.ratchetKey.bytes, u32(header.pn), u32(header.n));
}

/** plaintext || HMAC-SHA256(key, AD || plaintext)[:16]; records every message key it sees. */
export function recordingAead(seen: Uint8Array[]): RatchetAead {
  return {
    encrypt(messageKey, header, plaintext, associatedData) {
      seen.push(Uint8Array.from(messageKey));
      return concatBytes(plaintext, hmacSha256(messageKey, headerAd(associatedData, header), plaintext).subarray(0, 16));
    },
    decrypt(messageKey, header, message, associatedData) {
      seen.push(Uint8Array.from(messageKey));
      if (message.length < 16) throw new MalformedMessageError('test.short', 'short');
      const plaintext = message.subarray(0, message.length - 16);
      const tag = hmacSha256(messageKey, headerAd(associatedData, header), plaintext).subarray(0, 16);
      if (!constantTimeEqual(tag, message.subarray(message.length - 16))) throw new VerificationError('test.bad-mac', 'bad mac');
      return Uint8Array.from(plaintext);
    },
  };
}

/** AES-256-CBC(plaintext) || HMAC-SHA256(auth key, AD || header || ciphertext)[:tagLength]. */
export function cbcHmacAead(info: string, tagLength: number): RatchetAead {
  return {
    encrypt(messageKey, header, plaintext, associatedData) {
      const { encryptionKey, authenticationKey, iv } = deriveMessageKeyMaterial(messageKey, info);
      const ciphertext = aes256CbcEncrypt(encryptionKey, iv, plaintext);
      const mac = hmacSha256(authenticationKey, headerAd(associatedData, header), ciphertext).subarray(0, tagLength);
      return concatBytes(ciphertext, mac);
    },
    decrypt(messageKey, header, message, associatedData) {
      if (message.length < tagLength + 16) throw new MalformedMessageError('test.short', 'short');
      const { encryptionKey, authenticationKey, iv } = deriveMessageKeyMaterial(messageKey, info);
      const ciphertext = message.subarray(0, message.length - tagLength);
      const mac = hmacSha256(authenticationKey, headerAd(associatedData, header), ciphertext).subarray(0, tagLength);
      if (!constantTimeEqual(mac, message.subarray(message.length - tagLength))) throw new VerificationError('test.bad-mac', 'bad mac');
      const plaintext = aes256CbcDecrypt(encryptionKey, iv, ciphertext);
      if (plaintext === undefined) throw new MalformedMessageError('test.bad-padding', 'bad padding');
      return plaintext;
    },
  };
}
