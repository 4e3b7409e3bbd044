/**
 * omemo:2 wire messages (XEP-0384 section 4.5, "the protobuf schema"):
 *
 *   OMEMOMessage              { n=1 uint32, pn=2 uint32, dh_pub=3 bytes(32), ciphertext=4 bytes }
 *   OMEMOAuthenticatedMessage { mac=1 bytes(16), message=2 bytes (an OMEMOMessage) }
 *   OMEMOKeyExchange          { pk_id=1 uint32, spk_id=2 uint32, ik=3 bytes(32, Ed25519),
 *                               ek=4 bytes(32), message=5 OMEMOAuthenticatedMessage }
 *
 * No version byte; keys raw. Decoders are strict (see protobuf-fields.ts), so a decoded
 * message re-encodes to the identical bytes python-protobuf produced.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { checkLength, checkUint32, decodeFields, requiredBytes, requiredUint32 } from '../protobuf-fields.js';

/** Length of the truncated HMAC in an OMEMOAuthenticatedMessage. */
export const AUTHENTICATED_MESSAGE_MAC_LENGTH = 16;
/** Length of every key on the omemo:2 wire. */
export const KEY_LENGTH = 32;
/** Bound on a whole wire message, far above any real ratchet message (48-byte plaintext). */
export const MAX_WIRE_MESSAGE_LENGTH = 4096;

/** OMEMOMessage: the ratchet header plus the ciphertext. */
export interface OmemoMessage {
  readonly n: number;
  readonly pn: number;
  /** Sender's ratchet public key (raw X25519). */
  readonly dhPub: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** OMEMOAuthenticatedMessage: the MAC and the serialized OMEMOMessage it covers. */
export interface OmemoAuthenticatedMessage {
  readonly mac: Uint8Array;
  /** The serialized OMEMOMessage, exactly as received (MAC input). */
  readonly message: Uint8Array;
}

/** OMEMOKeyExchange: X3DH header plus the first authenticated message. */
export interface OmemoKeyExchange {
  readonly pkId: number;
  readonly spkId: number;
  /** Initiator identity key, Ed25519 (32 bytes). */
  readonly ik: Uint8Array;
  /** Initiator ephemeral key (raw X25519). */
  readonly ek: Uint8Array;
  /** The serialized OMEMOAuthenticatedMessage. */
  readonly message: Uint8Array;
}

function checkWire(bytes: Uint8Array): void {
  if (bytes.length > MAX_WIRE_MESSAGE_LENGTH) throw new MalformedMessageError('omemo.v2.oversized', 'Message too long');
}

/** Serializes an OMEMOMessage. */
export function encodeOmemoMessage(message: OmemoMessage): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.Varint).uint32(checkUint32(message.n, 'n'))
    .tag(2, WireType.Varint).uint32(checkUint32(message.pn, 'pn'))
    .tag(3, WireType.LengthDelimited).bytes(checkLength(message.dhPub, KEY_LENGTH, 'dhPub'))
    .tag(4, WireType.LengthDelimited).bytes(message.ciphertext)
    .finish();
}

/** Parses an OMEMOMessage (all four fields required, dh_pub 32 bytes). */
export function decodeOmemoMessage(bytes: Uint8Array): OmemoMessage {
  checkWire(bytes);
  const fields = decodeFields(bytes, { 1: 'uint32', 2: 'uint32', 3: 'bytes', 4: 'bytes' });
  return {
    n: requiredUint32(fields, 1, 'n'),
    pn: requiredUint32(fields, 2, 'pn'),
    dhPub: requiredBytes(fields, 3, 'dh_pub', KEY_LENGTH),
    ciphertext: requiredBytes(fields, 4, 'ciphertext'),
  };
}

/** Serializes an OMEMOAuthenticatedMessage. */
export function encodeOmemoAuthenticatedMessage(message: OmemoAuthenticatedMessage): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited).bytes(checkLength(message.mac, AUTHENTICATED_MESSAGE_MAC_LENGTH, 'mac'))
    .tag(2, WireType.LengthDelimited).bytes(message.message)
    .finish();
}

/**
 * Parses an OMEMOAuthenticatedMessage; the inner OMEMOMessage is validated too (strictly), but
 * returned as raw bytes because the MAC covers exactly those bytes.
 */
export function decodeOmemoAuthenticatedMessage(bytes: Uint8Array): OmemoAuthenticatedMessage {
  checkWire(bytes);
  const fields = decodeFields(bytes, { 1: 'bytes', 2: 'bytes' });
  const mac = requiredBytes(fields, 1, 'mac', AUTHENTICATED_MESSAGE_MAC_LENGTH);
  const message = requiredBytes(fields, 2, 'message');
  decodeOmemoMessage(message);
  return { mac, message };
}

/** Serializes an OMEMOKeyExchange. */
export function encodeOmemoKeyExchange(keyExchange: OmemoKeyExchange): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.Varint).uint32(checkUint32(keyExchange.pkId, 'pkId'))
    .tag(2, WireType.Varint).uint32(checkUint32(keyExchange.spkId, 'spkId'))
    .tag(3, WireType.LengthDelimited).bytes(checkLength(keyExchange.ik, KEY_LENGTH, 'ik'))
    .tag(4, WireType.LengthDelimited).bytes(checkLength(keyExchange.ek, KEY_LENGTH, 'ek'))
    .tag(5, WireType.LengthDelimited).bytes(keyExchange.message)
    .finish();
}

/** Parses an OMEMOKeyExchange, including its embedded OMEMOAuthenticatedMessage. */
export function decodeOmemoKeyExchange(bytes: Uint8Array): OmemoKeyExchange {
  checkWire(bytes);
  const fields = decodeFields(bytes, { 1: 'uint32', 2: 'uint32', 3: 'bytes', 4: 'bytes', 5: 'bytes' });
  const message = requiredBytes(fields, 5, 'message');
  decodeOmemoAuthenticatedMessage(message);
  return {
    pkId: requiredUint32(fields, 1, 'pk_id'),
    spkId: requiredUint32(fields, 2, 'spk_id'),
    ik: requiredBytes(fields, 3, 'ik', KEY_LENGTH),
    ek: requiredBytes(fields, 4, 'ek', KEY_LENGTH),
    message,
  };
}
