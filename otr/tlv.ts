/**
 * Type/Length/Value records carried in the plaintext of OTR Data Messages (OTR v3 spec,
 * "Data Message" and "TLV Types"): each is a SHORT type, a SHORT length and that many bytes
 * of value. A data message's plaintext is the human-readable message, optionally followed by
 * a NUL byte and a sequence of TLVs.
 */
import { concatBytes, indexOfByte } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';

/** TLV record types (OTR v3 spec, "TLV Types"; libotr tlv.h `OTRL_TLV_*`). */
export const TLV_TYPE = {
  /** Type 0: padding, to be ignored; hides the length of the message. */
  padding: 0,
  /** Type 1: the sender has ended the private conversation. */
  disconnected: 1,
  /** Types 2..5: Socialist Millionaires' Protocol messages 1 to 4. */
  smp1: 2,
  smp2: 3,
  smp3: 4,
  smp4: 5,
  /** Type 6: abort the SMP in progress. */
  smpAbort: 6,
  /** Type 7: SMP message 1 preceded by a NUL-terminated question. */
  smp1WithQuestion: 7,
  /** Type 8: use the extra symmetric key; value starts with a 4-byte use indicator. */
  extraSymmetricKey: 8,
} as const;

/** One TLV record. `type` and `value.length` must each fit in a SHORT. */
export interface Tlv {
  readonly type: number;
  readonly value: Uint8Array;
}

/** Size of a TLV's type and length fields. */
const TLV_HEADER_BYTES = 4;
/** A SHORT's largest value: the largest type and value length. */
const MAX_SHORT = 0xffff;

/**
 * Serializes `tlvs` back to back: SHORT type, SHORT length, value (OTR v3 spec, "Data
 * Message"). Throws RangeError for a type outside 0..65535 or a value longer than 65535 bytes
 * (caller bug).
 */
export function encodeTlvs(tlvs: readonly Tlv[]): Uint8Array {
  let total = 0;
  for (const tlv of tlvs) {
    if (!Number.isInteger(tlv.type) || tlv.type < 0 || tlv.type > MAX_SHORT) throw new RangeError('encodeTlvs: type must be 0..65535');
    if (tlv.value.length > MAX_SHORT) throw new RangeError('encodeTlvs: value must be at most 65535 bytes');
    total += TLV_HEADER_BYTES + tlv.value.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const tlv of tlvs) {
    out[offset] = tlv.type >>> 8;
    out[offset + 1] = tlv.type & 0xff;
    out[offset + 2] = tlv.value.length >>> 8;
    out[offset + 3] = tlv.value.length & 0xff;
    out.set(tlv.value, offset + TLV_HEADER_BYTES);
    offset += TLV_HEADER_BYTES + tlv.value.length;
  }
  return out;
}

/** Result of a lenient TLV parse: the complete records and the bytes that formed none. */
interface TlvParse {
  readonly tlvs: Tlv[];
  readonly ignoredTrailingBytes: number;
}

/** Parses complete TLVs and stops at the first one that does not fit (libotr's rule). */
function parseTlvs(bytes: Uint8Array): TlvParse {
  const tlvs: Tlv[] = [];
  let offset = 0;
  while (bytes.length - offset >= TLV_HEADER_BYTES) {
    const type = ((bytes[offset] as number) << 8) | (bytes[offset + 1] as number);
    const length = ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number);
    const start = offset + TLV_HEADER_BYTES;
    if (bytes.length - start < length) break;
    // slice, not subarray: callers may wipe the plaintext buffer while keeping a TLV.
    tlvs.push({ type, value: bytes.slice(start, start + length) });
    offset = start + length;
  }
  return { tlvs, ignoredTrailingBytes: bytes.length - offset };
}

/**
 * Parses a sequence of TLVs strictly: every byte must belong to a complete record. Throws
 * `MalformedMessageError` code `otr.truncated` when the last record is cut short (its header,
 * or a value shorter than its length field). See `decodeMessageWithTlvs` for libotr's
 * lenient variant used on received data messages.
 */
export function decodeTlvs(bytes: Uint8Array): Tlv[] {
  const { tlvs, ignoredTrailingBytes } = parseTlvs(bytes);
  if (ignoredTrailingBytes !== 0) {
    throw new MalformedMessageError('otr.truncated', `truncated TLV: ${ignoredTrailingBytes} bytes do not form a complete record`);
  }
  return tlvs;
}

/**
 * Builds a data message's plaintext (OTR v3 spec, "Data Message"): the message bytes, then,
 * only if there are TLVs, a NUL byte and the serialized TLVs. The message must not contain
 * a NUL byte, since the receiver takes the first NUL as the start of the TLVs (TypeError).
 */
export function encodeMessageWithTlvs(message: Uint8Array, tlvs: readonly Tlv[]): Uint8Array {
  if (indexOfByte(message, 0) >= 0) throw new TypeError('encodeMessageWithTlvs: message must not contain a NUL byte');
  if (tlvs.length === 0) return message.slice();
  return concatBytes(message, Uint8Array.of(0), encodeTlvs(tlvs));
}

/**
 * Splits a received data message's plaintext into the message (the bytes before the first
 * NUL, or everything when there is none) and the TLVs after that NUL, as libotr's
 * `otrl_proto_accept_data` does. (libotr 4.1.1 itself always sends the NUL, even without
 * TLVs; `encodeMessageWithTlvs` omits it then, which the spec and libotr both accept.)
 *
 * Deliberately lenient, like libotr 4.1.1's `otrl_tlv_parse` (compared with the installed
 * library in test/unit/otr/libotr-outside.test.ts): parsing stops at the first TLV that does not fit
 * (fewer than 4 bytes left, or a length field larger than what is left), keeps the records
 * before it, and drops the rest. A peer whose TLVs libotr accepts is therefore accepted here;
 * `ignoredTrailingBytes` tells how many bytes were dropped, so a caller can log it. Never
 * throws.
 */
export function decodeMessageWithTlvs(plaintext: Uint8Array): { message: Uint8Array; tlvs: Tlv[]; ignoredTrailingBytes: number } {
  const nul = indexOfByte(plaintext, 0);
  if (nul < 0) return { message: plaintext.slice(), tlvs: [], ignoredTrailingBytes: 0 };
  const { tlvs, ignoredTrailingBytes } = parseTlvs(plaintext.subarray(nul + 1));
  return { message: plaintext.slice(0, nul), tlvs, ignoredTrailingBytes };
}
