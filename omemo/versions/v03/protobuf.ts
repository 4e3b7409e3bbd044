/**
 * OMEMO 0.3 (libsignal) wire messages, XEP-0384 0.3.0 section 4.5 via libsignal's
 * WhisperTextProtocol.proto:
 *
 *   SignalMessage       = 0x33 || protobuf{ratchetKey=1, counter=2, previousCounter=3, ciphertext=4} || MAC(8)
 *   PreKeySignalMessage = 0x33 || protobuf{preKeyId=1, baseKey=2, identityKey=3, message=4,
 *                                          registrationId=5, signedPreKeyId=6}
 *
 * Public keys on the wire are 0x05 || 32-byte Curve25519 key; the decoded objects hold the raw
 * 32 bytes. Decoders are strict (see protobuf-fields.ts): the decoded form re-encodes to the
 * identical bytes.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { concatBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { parseCurve25519PublicKey, serializeCurve25519PublicKey } from '../../x3dh.js';
import {
  checkLength,
  checkUint32,
  decodeFields,
  optionalUint32,
  requiredBytes,
  requiredUint32,
} from '../protobuf-fields.js';

/** libsignal's CURRENT_VERSION << 4 | CURRENT_VERSION (version 3), first byte of both messages. */
export const VERSION_BYTE = 0x33;
/** Length of the truncated HMAC-SHA256 that ends a SignalMessage. */
export const SIGNAL_MESSAGE_MAC_LENGTH = 8;
/** Bound on a whole wire message, far above any real key-transport ratchet message. */
export const MAX_WIRE_MESSAGE_LENGTH = 4096;

/** The fields of a SignalMessage (keys raw, 32 bytes). */
export interface SignalMessage {
  /** Sender's current ratchet public key (raw X25519). */
  readonly ratchetKey: Uint8Array;
  /** n: index of this message in the sending chain. */
  readonly counter: number;
  /** pn: length of the sender's previous sending chain. */
  readonly previousCounter: number;
  /** AES-256-CBC ciphertext of the ratchet plaintext. */
  readonly ciphertext: Uint8Array;
}

/** A decoded SignalMessage with the parts its MAC needs. */
export interface DecodedSignalMessage {
  readonly message: SignalMessage;
  /** 0x33 || protobuf, exactly as received (the MAC input after the two identity keys). */
  readonly versionedBody: Uint8Array;
  /** The 8-byte truncated MAC as received. */
  readonly mac: Uint8Array;
}

/** The fields of a PreKeySignalMessage (keys raw, 32 bytes). */
export interface PreKeySignalMessage {
  /** libsignal registration id; python-oldmemo omits it, libsignal clients send it. */
  readonly registrationId?: number | undefined;
  /** Id of the one-time prekey used (required by OMEMO 0.3, which always uses one). */
  readonly preKeyId: number;
  /** Id of the signed prekey used. */
  readonly signedPreKeyId: number;
  /** The initiator's ephemeral key EK_A (raw X25519). */
  readonly baseKey: Uint8Array;
  /** The initiator's identity key IK_A (raw Curve25519). */
  readonly identityKey: Uint8Array;
  /** The whole embedded SignalMessage (0x33 || protobuf || MAC). */
  readonly message: Uint8Array;
}

function malformed(code: string, message: string): MalformedMessageError {
  return new MalformedMessageError(`omemo.v03.${code}`, message);
}

function checkWire(bytes: Uint8Array, minimum: number): void {
  if (bytes.length > MAX_WIRE_MESSAGE_LENGTH) throw malformed('oversized', 'Message too long');
  if (bytes.length < minimum) throw malformed('truncated', 'Message too short');
  if (bytes[0] !== VERSION_BYTE) throw malformed('bad-version', 'Unsupported message version byte');
}

/** 0x33 || protobuf of the SignalMessage fields: the part the MAC covers (after the identity keys). */
export function encodeSignalMessageBody(message: SignalMessage): Uint8Array {
  const body = new BinaryWriter()
    .tag(1, WireType.LengthDelimited).bytes(serializeCurve25519PublicKey(checkLength(message.ratchetKey, 32, 'ratchetKey')))
    .tag(2, WireType.Varint).uint32(checkUint32(message.counter, 'counter'))
    .tag(3, WireType.Varint).uint32(checkUint32(message.previousCounter, 'previousCounter'))
    .tag(4, WireType.LengthDelimited).bytes(message.ciphertext)
    .finish();
  return concatBytes(Uint8Array.of(VERSION_BYTE), body);
}

/** The full wire SignalMessage: versioned body || 8-byte MAC. */
export function encodeSignalMessage(versionedBody: Uint8Array, mac: Uint8Array): Uint8Array {
  return concatBytes(versionedBody, checkLength(mac, SIGNAL_MESSAGE_MAC_LENGTH, 'mac'));
}

/**
 * Parses a wire SignalMessage. MalformedMessageError for a wrong version byte, a bad protobuf,
 * missing fields or a ratchet key that is not 0x05 || 32 bytes. Does not check the MAC.
 */
export function decodeSignalMessage(bytes: Uint8Array): DecodedSignalMessage {
  checkWire(bytes, 1 + SIGNAL_MESSAGE_MAC_LENGTH);
  const versionedBody = bytes.slice(0, bytes.length - SIGNAL_MESSAGE_MAC_LENGTH);
  const mac = bytes.slice(bytes.length - SIGNAL_MESSAGE_MAC_LENGTH);
  const fields = decodeFields(versionedBody.subarray(1), { 1: 'bytes', 2: 'uint32', 3: 'uint32', 4: 'bytes' });
  const message: SignalMessage = {
    ratchetKey: parseCurve25519PublicKey(requiredBytes(fields, 1, 'ratchetKey')),
    counter: requiredUint32(fields, 2, 'counter'),
    previousCounter: requiredUint32(fields, 3, 'previousCounter'),
    ciphertext: requiredBytes(fields, 4, 'ciphertext'),
  };
  return { message, versionedBody, mac };
}

/** Encodes a PreKeySignalMessage (fields in number order, as python-protobuf and libsignal do). */
export function encodePreKeySignalMessage(message: PreKeySignalMessage): Uint8Array {
  const writer = new BinaryWriter()
    .tag(1, WireType.Varint).uint32(checkUint32(message.preKeyId, 'preKeyId'))
    .tag(2, WireType.LengthDelimited).bytes(serializeCurve25519PublicKey(checkLength(message.baseKey, 32, 'baseKey')))
    .tag(3, WireType.LengthDelimited).bytes(serializeCurve25519PublicKey(checkLength(message.identityKey, 32, 'identityKey')))
    .tag(4, WireType.LengthDelimited).bytes(message.message);
  if (message.registrationId !== undefined) {
    writer.tag(5, WireType.Varint).uint32(checkUint32(message.registrationId, 'registrationId'));
  }
  writer.tag(6, WireType.Varint).uint32(checkUint32(message.signedPreKeyId, 'signedPreKeyId'));
  return concatBytes(Uint8Array.of(VERSION_BYTE), writer.finish());
}

/**
 * Parses a PreKeySignalMessage. The embedded SignalMessage is checked too (decodeSignalMessage),
 * so a key exchange with a broken inner message is rejected before any X3DH work.
 */
export function decodePreKeySignalMessage(bytes: Uint8Array): PreKeySignalMessage {
  checkWire(bytes, 1);
  const fields = decodeFields(bytes.subarray(1), {
    1: 'uint32', 2: 'bytes', 3: 'bytes', 4: 'bytes', 5: 'uint32', 6: 'uint32',
  });
  const message = requiredBytes(fields, 4, 'message');
  decodeSignalMessage(message);
  return {
    registrationId: optionalUint32(fields, 5),
    preKeyId: requiredUint32(fields, 1, 'preKeyId'),
    signedPreKeyId: requiredUint32(fields, 6, 'signedPreKeyId'),
    baseKey: parseCurve25519PublicKey(requiredBytes(fields, 2, 'baseKey')),
    identityKey: parseCurve25519PublicKey(requiredBytes(fields, 3, 'identityKey')),
    message,
  };
}
