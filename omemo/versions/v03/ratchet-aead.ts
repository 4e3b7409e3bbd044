/**
 * The Double Ratchet AEAD of OMEMO 0.3 (libsignal's SessionCipher as python-oldmemo mirrors
 * it), plugged into the version-agnostic ratchet through {@link RatchetAead}:
 * message key -> HKDF("WhisperMessageKeys") -> AES-256-CBC key, HMAC key, IV; the wire message
 * is the SignalMessage 0x33 || protobuf || MAC(8) with
 * MAC = HMAC-SHA256(senderIK33 || receiverIK33 || 0x33 || protobuf) truncated to 8 bytes.
 * The associated data handed in by the ratchet is already sender-first (x3dh.ts).
 */
import { constantTimeEqual, wipe } from '../../../lib/core/bytes.js';
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../../../lib/core/crypto/aes.js';
import { hmacSha256 } from '../../../lib/core/crypto/hash.js';
import { VerificationError } from '../../../lib/core/errors.js';
import { X25519PublicKey } from '../../crypto/curve25519.js';
import { OMEMO_03_INFO, deriveMessageKeyMaterial } from '../../kdf.js';
import type { RatchetAead, RatchetMessage } from '../../ratchet/double-ratchet.js';
import { SIGNAL_MESSAGE_MAC_LENGTH, decodeSignalMessage, encodeSignalMessage, encodeSignalMessageBody } from './protobuf.js';

/** The 0.3 AEAD: SignalMessage encoding and its truncated MAC. */
export const OMEMO_03_RATCHET_AEAD: RatchetAead = {
  encrypt(messageKey, header, plaintext, associatedData) {
    const keys = deriveMessageKeyMaterial(messageKey, OMEMO_03_INFO.messageKeys);
    try {
      const ciphertext = aes256CbcEncrypt(keys.encryptionKey, keys.iv, plaintext);
      const body = encodeSignalMessageBody({ ratchetKey: header.ratchetKey.bytes, counter: header.n, previousCounter: header.pn, ciphertext });
      const mac = hmacSha256(keys.authenticationKey, associatedData, body).subarray(0, SIGNAL_MESSAGE_MAC_LENGTH);
      return encodeSignalMessage(body, mac);
    } finally {
      wipe(keys.encryptionKey, keys.authenticationKey, keys.iv);
    }
  },

  decrypt(messageKey, header, message, associatedData) {
    const decoded = decodeSignalMessage(message);
    const keys = deriveMessageKeyMaterial(messageKey, OMEMO_03_INFO.messageKeys);
    try {
      // The MAC covers the bytes as received (never a re-serialization).
      const mac = hmacSha256(keys.authenticationKey, associatedData, decoded.versionedBody).subarray(0, SIGNAL_MESSAGE_MAC_LENGTH);
      if (!constantTimeEqual(mac, decoded.mac)) throw new VerificationError('omemo.v03.bad-mac', 'SignalMessage MAC does not verify');
      const m = decoded.message;
      if (m.counter !== header.n || m.previousCounter !== header.pn || !constantTimeEqual(m.ratchetKey, header.ratchetKey.bytes)) {
        throw new VerificationError('omemo.v03.header-mismatch', 'SignalMessage header differs from the ratchet header');
      }
      const plaintext = aes256CbcDecrypt(keys.encryptionKey, keys.iv, m.ciphertext);
      if (plaintext === undefined) throw new VerificationError('omemo.v03.bad-padding', 'SignalMessage padding is invalid');
      return plaintext;
    } finally {
      wipe(keys.encryptionKey, keys.authenticationKey, keys.iv);
    }
  },
};

/**
 * A received SignalMessage as the ratchet's input: the header from the decoded fields, the
 * whole wire message as the AEAD ciphertext. MalformedMessageError for a bad encoding.
 */
export function signalMessageToRatchetMessage(wire: Uint8Array): RatchetMessage {
  const { message } = decodeSignalMessage(wire);
  return {
    header: { ratchetKey: X25519PublicKey.fromBytes(message.ratchetKey), n: message.counter, pn: message.previousCounter },
    ciphertext: wire,
  };
}
