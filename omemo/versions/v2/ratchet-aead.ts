/**
 * The Double Ratchet AEAD of omemo:2 (XEP-0384 section 4.3, "Double Ratchet"), plugged into
 * the version-agnostic ratchet through {@link RatchetAead}: message key -> HKDF("OMEMO Message
 * Key Material") -> AES-256-CBC key, HMAC key, IV; the wire message is an
 * OMEMOAuthenticatedMessage{mac, message = OMEMOMessage} with
 * mac = HMAC-SHA256(AD || OMEMOMessage) truncated to 16 bytes, AD = IK_initiator || IK_responder.
 */
import { constantTimeEqual, wipe } from '../../../lib/core/bytes.js';
import { aes256CbcDecrypt, aes256CbcEncrypt } from '../../../lib/core/crypto/aes.js';
import { hmacSha256 } from '../../../lib/core/crypto/hash.js';
import { VerificationError } from '../../../lib/core/errors.js';
import { X25519PublicKey } from '../../crypto/curve25519.js';
import { OMEMO_2_INFO, deriveMessageKeyMaterial } from '../../kdf.js';
import type { RatchetAead, RatchetMessage } from '../../ratchet/double-ratchet.js';
import {
  AUTHENTICATED_MESSAGE_MAC_LENGTH, decodeOmemoAuthenticatedMessage, decodeOmemoMessage, encodeOmemoAuthenticatedMessage,
  encodeOmemoMessage,
} from './protobuf.js';

/** The omemo:2 AEAD: OMEMOAuthenticatedMessage encoding and its truncated MAC. */
export const OMEMO_2_RATCHET_AEAD: RatchetAead = {
  encrypt(messageKey, header, plaintext, associatedData) {
    const keys = deriveMessageKeyMaterial(messageKey, OMEMO_2_INFO.messageKeys);
    try {
      const ciphertext = aes256CbcEncrypt(keys.encryptionKey, keys.iv, plaintext);
      const message = encodeOmemoMessage({ n: header.n, pn: header.pn, dhPub: header.ratchetKey.bytes, ciphertext });
      const mac = hmacSha256(keys.authenticationKey, associatedData, message).subarray(0, AUTHENTICATED_MESSAGE_MAC_LENGTH);
      return encodeOmemoAuthenticatedMessage({ mac, message });
    } finally {
      wipe(keys.encryptionKey, keys.authenticationKey, keys.iv);
    }
  },

  decrypt(messageKey, header, wire, associatedData) {
    const authenticated = decodeOmemoAuthenticatedMessage(wire);
    const keys = deriveMessageKeyMaterial(messageKey, OMEMO_2_INFO.messageKeys);
    try {
      const mac = hmacSha256(keys.authenticationKey, associatedData, authenticated.message).subarray(0, AUTHENTICATED_MESSAGE_MAC_LENGTH);
      if (!constantTimeEqual(mac, authenticated.mac)) throw new VerificationError('omemo.v2.bad-mac', 'OMEMOAuthenticatedMessage MAC does not verify');
      const m = decodeOmemoMessage(authenticated.message);
      if (m.n !== header.n || m.pn !== header.pn || !constantTimeEqual(m.dhPub, header.ratchetKey.bytes)) {
        throw new VerificationError('omemo.v2.header-mismatch', 'OMEMOMessage header differs from the ratchet header');
      }
      const plaintext = aes256CbcDecrypt(keys.encryptionKey, keys.iv, m.ciphertext);
      if (plaintext === undefined) throw new VerificationError('omemo.v2.bad-padding', 'OMEMOMessage padding is invalid');
      return plaintext;
    } finally {
      wipe(keys.encryptionKey, keys.authenticationKey, keys.iv);
    }
  },
};

/**
 * A received OMEMOAuthenticatedMessage as the ratchet's input: header from the inner
 * OMEMOMessage, the whole wire message as the AEAD ciphertext.
 */
export function authenticatedMessageToRatchetMessage(wire: Uint8Array): RatchetMessage {
  const m = decodeOmemoMessage(decodeOmemoAuthenticatedMessage(wire).message);
  return { header: { ratchetKey: X25519PublicKey.fromBytes(m.dhPub), n: m.n, pn: m.pn }, ciphertext: wire };
}
