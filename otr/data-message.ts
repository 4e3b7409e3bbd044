/**
 * Codec of the Data Message body (OTR v3 spec, "Data Message"): after the header (version,
 * type 0x03 and, in version 3, the instance tags) come
 *   Flags (BYTE), Sender keyid (INT), Recipient keyid (INT), DH y (MPI, the sender's *next*
 *   public key), Top half of counter init (CTR, 8 bytes), Encrypted message (DATA),
 *   Authenticator (MAC, 20 bytes), Old MAC keys to be revealed (DATA).
 * Version 2 has the same body; only the header differs (no instance tags). The MAC covers
 * "everything from the Protocol version to the end of the encrypted message", so this file
 * also builds the header bytes that `encoded-message.ts` writes, to MAC exactly those.
 */
import { concatBytes } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import { OtrReader, OtrWriter } from './codec.js';
import type { OtrMessageHeader } from './encoded-message.js';

/** Data message flags (spec, "Data Message"; libotr OTRL_MSGFLAGS_*). */
export const DATA_MESSAGE_FLAG = {
  /** Receiver that cannot decrypt or verify it should ignore it silently (heartbeats, SMP). */
  ignoreUnreadable: 0x01,
} as const;

/** Bytes of the top half of the counter (CTR). */
export const DATA_COUNTER_BYTES = 8;
/** Bytes of the authenticator (SHA1-HMAC). */
export const DATA_MAC_BYTES = 20;

/** The fields of a Data Message body that the MAC covers. */
export interface DataMessageAuthenticatedFields {
  /** Bitwise OR of `DATA_MESSAGE_FLAG` values. */
  readonly flags: number;
  /** Keyid of the sender's D-H key used for this message (> 0). */
  readonly senderKeyId: number;
  /** Keyid of the recipient's D-H key used for this message (> 0). */
  readonly recipientKeyId: number;
  /** The sender's next D-H public key (keyid senderKeyId + 1). */
  readonly nextDh: bigint;
  /** Top half of the AES-CTR initial counter, 8 bytes, never all zero. */
  readonly counter: Uint8Array;
  /** AES-128-CTR ciphertext of the plaintext message and TLVs. */
  readonly encryptedMessage: Uint8Array;
}

/** A whole Data Message body. */
export interface DataMessage extends DataMessageAuthenticatedFields {
  /** SHA1-HMAC of the header and the fields above. */
  readonly mac: Uint8Array;
  /** Concatenated 20-byte MAC keys the sender no longer uses (spec, "Revealing MAC keys"). */
  readonly oldMacKeys: Uint8Array;
}

/** The header bytes as `encodeOtrMessage` writes them: SHORT version, BYTE type, v3 tags. */
export function encodeOtrHeaderBytes(header: OtrMessageHeader): Uint8Array {
  const writer = new OtrWriter().short(header.version).byte(header.type);
  if (header.version === 3) writer.int(header.senderInstanceTag).int(header.receiverInstanceTag);
  return writer.finish();
}

function checkFields(fields: DataMessageAuthenticatedFields): void {
  if (fields.senderKeyId < 1 || fields.recipientKeyId < 1) throw new RangeError('Data Message keyids must be > 0');
  if (fields.counter.length !== DATA_COUNTER_BYTES) throw new RangeError('Data Message counter must be 8 bytes');
}

/** Serializes the MACed part of the body (flags .. encrypted message). */
export function encodeDataMessageAuthenticatedFields(fields: DataMessageAuthenticatedFields): Uint8Array {
  checkFields(fields);
  return new OtrWriter()
    .byte(fields.flags)
    .int(fields.senderKeyId)
    .int(fields.recipientKeyId)
    .mpi(fields.nextDh)
    .raw(fields.counter)
    .data(fields.encryptedMessage)
    .finish();
}

/**
 * The bytes the authenticator covers: the header bytes then the body up to and including
 * the encrypted message DATA field (spec, "Authenticator (MAC)").
 */
export function dataMessageMacInput(header: OtrMessageHeader, authenticatedBody: Uint8Array): Uint8Array {
  return concatBytes(encodeOtrHeaderBytes(header), authenticatedBody);
}

/** Serializes a whole Data Message body. */
export function encodeDataMessage(message: DataMessage): Uint8Array {
  return encodeDataMessageFromAuthenticatedBytes(encodeDataMessageAuthenticatedFields(message), message.mac, message.oldMacKeys);
}

/**
 * Serializes a whole Data Message body from the authenticated bytes already encoded (by
 * `encodeDataMessageAuthenticatedFields`, for the MAC), so a sender encodes them once.
 */
export function encodeDataMessageFromAuthenticatedBytes(authenticatedBody: Uint8Array, mac: Uint8Array, oldMacKeys: Uint8Array): Uint8Array {
  if (mac.length !== DATA_MAC_BYTES) throw new RangeError('Data Message MAC must be 20 bytes');
  return new OtrWriter().raw(authenticatedBody).raw(mac).data(oldMacKeys).finish();
}

/** A decoded body plus the exact received bytes the MAC covers (after the header). */
export interface DecodedDataMessage extends DataMessage {
  /** The received body bytes from the flags through the encrypted message. */
  readonly authenticatedBody: Uint8Array;
}

/**
 * Decodes a Data Message body. Throws `MalformedMessageError`: `otr.truncated` /
 * `otr.oversized` / `otr.trailing-bytes` from the reader, `otr.data.bad-key-id` for a keyid
 * of 0 (spec: "Must be strictly greater than 0"), `otr.data.zero-counter` for an all-zero
 * counter ("must not be all 0x00"). The MAC is not checked here.
 */
export function decodeDataMessage(body: Uint8Array): DecodedDataMessage {
  const reader = new OtrReader(body);
  const flags = reader.byte();
  const senderKeyId = reader.int();
  const recipientKeyId = reader.int();
  const nextDh = reader.mpi();
  const counter = reader.fixed(DATA_COUNTER_BYTES, 'CTR').slice();
  const encryptedMessage = reader.data().slice();
  const authenticatedLength = reader.offset;
  const mac = reader.fixed(DATA_MAC_BYTES, 'MAC').slice();
  const oldMacKeys = reader.data().slice();
  reader.end();
  if (senderKeyId === 0 || recipientKeyId === 0) throw new MalformedMessageError('otr.data.bad-key-id', 'Data Message keyid of 0');
  if (counter.every((b) => b === 0)) throw new MalformedMessageError('otr.data.zero-counter', 'Data Message counter is all zero');
  return {
    flags,
    senderKeyId,
    recipientKeyId,
    nextDh,
    counter,
    encryptedMessage,
    mac,
    oldMacKeys,
    authenticatedBody: body.slice(0, authenticatedLength),
  };
}

/**
 * Reads only the flags byte of a Data Message body, so that a message we cannot decode or
 * decrypt can still be recognised as IGNORE_UNREADABLE. Returns 0 for an empty body.
 */
export function peekDataMessageFlags(body: Uint8Array): number {
  return body[0] ?? 0;
}
