/**
 * Framing of OTR's binary messages (OTR v3 spec, "Encoded messages"): the ASCII string
 * "?OTR:", the base-64 encoding of the binary message, then ".". The binary message starts
 * with a header: protocol version (SHORT), message type (BYTE) and, in version 3 only, the
 * sender and receiver instance tags (INT each; "Instance Tags"). This file frames and
 * unframes; the bodies are decoded by `ake-messages.ts` and the data-message codec.
 */
import { base64ToBytes, bytesToBase64, concatBytes } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import { OtrReader, OtrWriter } from './codec.js';
import { isOtrMessageType, isOtrVersion, type OtrMessageType, type OtrVersion } from './message-types.js';

/** The five bytes that start every encoded OTR message. */
export const OTR_ENCODED_PREFIX = '?OTR:';
/** The byte that ends every encoded OTR message. */
export const OTR_ENCODED_SUFFIX = '.';

/**
 * Default bound on the length (in UTF-16 code units) of an encoded message we agree to
 * decode: 4 MiB of base64 is 3 MiB of binary, far above any AKE message and any sane chat
 * message, and small enough that a hostile peer cannot make us allocate much.
 */
export const DEFAULT_MAX_ENCODED_MESSAGE_LENGTH = 4 * 1024 * 1024;

/** The header of an encoded OTR message. Instance tags are 0 for protocol version 2. */
export interface OtrMessageHeader {
  /** Protocol version (SHORT). */
  version: OtrVersion;
  /** Message type (BYTE). */
  type: OtrMessageType;
  /** Sender instance tag (INT, version 3 only; 0 for version 2). */
  senderInstanceTag: number;
  /** Receiver instance tag (INT, version 3 only; 0 for version 2, 0 when unknown in version 3). */
  receiverInstanceTag: number;
}

/** A decoded message: its header and the bytes that follow the header. */
export interface DecodedOtrMessage extends OtrMessageHeader {
  /** The binary message after the header (the type-specific fields). */
  body: Uint8Array;
}

/** Options of `decodeOtrMessage`. */
export interface DecodeOtrMessageOptions {
  /** Longest text accepted, in UTF-16 code units (default `DEFAULT_MAX_ENCODED_MESSAGE_LENGTH`). */
  readonly maxLength?: number;
}

/** Length of the binary header: 3 bytes for version 2, 11 bytes for version 3. */
export function otrHeaderLength(version: OtrVersion): number {
  return version === 3 ? 11 : 3;
}

/**
 * Serializes `header` followed by `body` and frames it as "?OTR:" + base64 + ".".
 * Throws RangeError for an invalid header (caller bug): a non-integer or out-of-range
 * instance tag, or non-zero instance tags with version 2.
 */
export function encodeOtrMessage(header: OtrMessageHeader, body: Uint8Array): string {
  if (!isOtrVersion(header.version)) throw new RangeError('encodeOtrMessage: version must be 2 or 3');
  if (!isOtrMessageType(header.type)) throw new RangeError('encodeOtrMessage: unknown message type');
  const writer = new OtrWriter().short(header.version).byte(header.type);
  if (header.version === 3) {
    writer.int(header.senderInstanceTag).int(header.receiverInstanceTag);
  } else if (header.senderInstanceTag !== 0 || header.receiverInstanceTag !== 0) {
    throw new RangeError('encodeOtrMessage: protocol version 2 has no instance tags; pass 0');
  }
  return OTR_ENCODED_PREFIX + bytesToBase64(concatBytes(writer.finish(), body)) + OTR_ENCODED_SUFFIX;
}

/**
 * Decodes an encoded OTR message. `text` must start with "?OTR:" and contain the terminating
 * "."; anything after the first "." is ignored, as libotr does (proto.c looks for the first
 * "." after the prefix). The base64 must be strict (standard alphabet, padding, no
 * whitespace). Throws `MalformedMessageError` with code:
 * - `otr.oversized`: `text` is longer than `maxLength`;
 * - `otr.not-encoded`: `text` does not start with "?OTR:";
 * - `otr.unterminated`: no "." after the prefix;
 * - `otr.bad-base64`: the base64 is not strict base64;
 * - `otr.truncated`: fewer bytes than the header;
 * - `otr.unsupported-version`: a protocol version other than 2 or 3 (version 1 included);
 * - `otr.unknown-message-type`: a message type byte not in `OTR_MESSAGE_TYPE`.
 * Instance tags are returned as received: checking them against the spec's rules
 * ("Instance Tags": sender >= 0x100, receiver 0 or >= 0x100) is `hasValidInstanceTags`'s job,
 * since a message for another instance must be identifiable before it is discarded.
 */
export function decodeOtrMessage(text: string, options: DecodeOtrMessageOptions = {}): DecodedOtrMessage {
  const maxLength = options.maxLength ?? DEFAULT_MAX_ENCODED_MESSAGE_LENGTH;
  if (text.length > maxLength) {
    throw new MalformedMessageError('otr.oversized', `encoded message of ${text.length} characters exceeds ${maxLength}`);
  }
  if (!text.startsWith(OTR_ENCODED_PREFIX)) throw new MalformedMessageError('otr.not-encoded', 'not an encoded OTR message');
  const end = text.indexOf(OTR_ENCODED_SUFFIX, OTR_ENCODED_PREFIX.length);
  if (end < 0) throw new MalformedMessageError('otr.unterminated', 'encoded OTR message without the final "."');
  const bytes = base64ToBytes(text.slice(OTR_ENCODED_PREFIX.length, end));
  if (bytes === undefined) throw new MalformedMessageError('otr.bad-base64', 'encoded OTR message is not valid base64');
  const reader = new OtrReader(bytes);
  const version = reader.short();
  if (!isOtrVersion(version)) throw new MalformedMessageError('otr.unsupported-version', `unsupported OTR protocol version ${version}`);
  const type = reader.byte();
  if (!isOtrMessageType(type)) throw new MalformedMessageError('otr.unknown-message-type', `unknown OTR message type 0x${type.toString(16)}`);
  let senderInstanceTag = 0;
  let receiverInstanceTag = 0;
  if (version === 3) {
    senderInstanceTag = reader.int();
    receiverInstanceTag = reader.int();
  }
  return { version, type, senderInstanceTag, receiverInstanceTag, body: reader.rest() };
}

/** The smallest valid instance tag (OTR v3 spec, "Instance Tags"). */
export const MIN_INSTANCE_TAG = 0x100;

/**
 * Whether a version 3 header's instance tags are acceptable (OTR v3 spec, "Instance Tags"):
 * the sender tag must be at least 0x100, the receiver tag 0 or at least 0x100. Version 2
 * headers have no tags and always pass. Whether the receiver tag is *ours* is the session's
 * decision.
 */
export function hasValidInstanceTags(header: OtrMessageHeader): boolean {
  if (header.version === 2) return true;
  const receiverOk = header.receiverInstanceTag === 0 || header.receiverInstanceTag >= MIN_INSTANCE_TAG;
  return header.senderInstanceTag >= MIN_INSTANCE_TAG && receiverOk;
}
