/**
 * Encryption and decryption of Data Messages with the key state of `key-management.ts`
 * (OTR v3 spec, "Exchanging data" and "Data Message"): AES-128-CTR with the initial counter
 * block = top half (8 bytes) || 8 zero bytes, and a SHA1-HMAC authenticator over the header
 * and the body up to the end of the encrypted message. On receipt the MAC is verified (in
 * constant time) before anything is decrypted, and before the counter is checked.
 */
import { concatBytes, constantTimeEqual, wipe } from '../lib/core/bytes.js';
import { aesCtr } from '../lib/core/crypto/aes.js';
import { hmacSha1 } from '../lib/core/crypto/hash.js';
import { VerificationError } from '../lib/core/errors.js';
import {
  decodeDataMessage,
  encodeDataMessageAuthenticatedFields,
  encodeDataMessageFromAuthenticatedBytes,
  encodeOtrHeaderBytes,
  DATA_COUNTER_BYTES,
} from './data-message.js';
import { encodeOtrMessage, type OtrMessageHeader } from './encoded-message.js';
import type { DataKeyManager } from './key-management.js';
import { OTR_MESSAGE_TYPE, type OtrVersion } from './message-types.js';

/** The header fields of a Data Message we send. */
export interface DataMessageAddress {
  readonly version: OtrVersion;
  /** Our instance tag (v3), 0 for v2. */
  readonly senderInstanceTag: number;
  /** The peer's instance tag (v3), 0 for v2. */
  readonly receiverInstanceTag: number;
}

/** A Data Message ready for the wire. */
export interface EncryptedDataMessage {
  /** The encoded "?OTR:...." text. */
  readonly text: string;
  /** The extra symmetric key of the pairing that protected it (a copy; wipe when done). */
  readonly extraSymmetricKey: Uint8Array;
}

/** The AES-CTR initial counter block: top half || 8 zero bytes. */
function initialCounter(topHalf: Uint8Array): Uint8Array {
  return concatBytes(topHalf, new Uint8Array(16 - DATA_COUNTER_BYTES));
}

/**
 * Encrypts `plaintext` (message and TLVs, already encoded) into a Data Message with the next
 * sending keys, revealing the MAC keys of forgotten pairings.
 */
export function encryptDataMessage(keys: DataKeyManager, address: DataMessageAddress, plaintext: Uint8Array, flags = 0): EncryptedDataMessage {
  const sending = keys.nextSending();
  const encryptedMessage = aesCtr(sending.keys.sendingAesKey, initialCounter(sending.counter), plaintext);
  const fields = {
    flags,
    senderKeyId: sending.senderKeyId,
    recipientKeyId: sending.recipientKeyId,
    nextDh: sending.nextDh,
    counter: sending.counter,
    encryptedMessage,
  };
  const header: OtrMessageHeader = { ...address, type: OTR_MESSAGE_TYPE.data };
  const authenticatedBody = encodeDataMessageAuthenticatedFields(fields);
  const mac = hmacSha1(sending.keys.sendingMacKey, encodeOtrHeaderBytes(header), authenticatedBody);
  const oldMacKeys = keys.takeMacKeysToReveal();
  const body = encodeDataMessageFromAuthenticatedBytes(authenticatedBody, mac, oldMacKeys);
  return { text: encodeOtrMessage(header, body), extraSymmetricKey: sending.keys.extraSymmetricKey.slice() };
}

/** What a verified, decrypted Data Message gives. */
export interface DecryptedDataMessage {
  /** The decrypted plaintext (message, then optionally NUL and TLVs). */
  readonly plaintext: Uint8Array;
  /** The message's flags. */
  readonly flags: number;
  /** The MAC keys the peer revealed (concatenated 20-byte values). */
  readonly oldMacKeys: Uint8Array;
  /** The extra symmetric key of the pairing that protected it (a copy; wipe when done). */
  readonly extraSymmetricKey: Uint8Array;
  /** The keyids it used. */
  readonly senderKeyId: number;
  readonly recipientKeyId: number;
}

/**
 * Verifies and decrypts a received Data Message body (spec, "When you receive a Data
 * Message"): decode, select keys by keyid, verify the MAC over `header` and the received
 * authenticated bytes, check the counter and next D-H key, decrypt, then rotate keys.
 * Throws a `ProtocolError` (`MalformedMessageError` for bad encoding, `StateError`
 * `otr.data.unknown-key-id` / `otr.data.replay`, `VerificationError` `otr.data.bad-mac` /
 * `otr.data.bad-dh-public`); the key state is unchanged when it throws.
 */
export function decryptDataMessage(keys: DataKeyManager, header: OtrMessageHeader, body: Uint8Array): DecryptedDataMessage {
  const message = decodeDataMessage(body);
  const slot = keys.prepareReceive(message.senderKeyId, message.recipientKeyId);
  const expected = hmacSha1(slot.keys.receivingMacKey, encodeOtrHeaderBytes(header), message.authenticatedBody);
  const macOk = constantTimeEqual(expected, message.mac);
  wipe(expected);
  if (!macOk) throw new VerificationError('otr.data.bad-mac', 'Data Message MAC does not verify');
  const aesKey = slot.keys.receivingAesKey.slice();
  const extraSymmetricKey = slot.keys.extraSymmetricKey.slice();
  try {
    keys.acceptReceived(slot, message.counter, message.nextDh);
  } catch (error) {
    wipe(aesKey, extraSymmetricKey);
    throw error;
  }
  const plaintext = aesCtr(aesKey, initialCounter(message.counter), message.encryptedMessage);
  wipe(aesKey);
  return {
    plaintext,
    flags: message.flags,
    oldMacKeys: message.oldMacKeys,
    extraSymmetricKey,
    senderKeyId: message.senderKeyId,
    recipientKeyId: message.recipientKeyId,
  };
}
