/**
 * Strict reader for the tiny proto2 messages of both OMEMO versions (only `uint32` and `bytes`
 * fields). Encoding goes through `@bufbuild/protobuf/wire`'s BinaryWriter, which writes exactly
 * what python-protobuf writes for these types (fields in number order, minimal varints).
 *
 * Decoding is hand-written instead of BinaryReader because BinaryReader is lenient in ways a
 * hostile-input parser must not be: it accepts 10-byte varints for uint32 and silently
 * truncates them, accepts over-long (non-minimal) varints and unknown fields. Everything here
 * is rejected with a MalformedMessageError instead. Fields must also come in ascending
 * field-number order, which every protobuf serializer (python, Java/libsignal, C++) produces;
 * so a message that decodes re-encodes to the identical bytes (the MAC is computed over the
 * received bytes anyway, but nothing ambiguous ever reaches the layers above).
 */
import { MalformedMessageError } from '../../lib/core/errors.js';

/** The two field kinds OMEMO's protobufs use. */
export type FieldKind = 'uint32' | 'bytes';

/** Field number -> kind of every field a message may carry. */
export type FieldSchema = Readonly<Record<number, FieldKind>>;

/** Decoded field values by field number (each present at most once). */
export type DecodedFields = ReadonlyMap<number, number | Uint8Array>;

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

function malformed(code: string, message: string): MalformedMessageError {
  return new MalformedMessageError(`omemo.protobuf.${code}`, message);
}

/**
 * Reads a minimal varint of at most 32 bits at `pos`. Returns the value and the next position.
 * Over-long encodings (a trailing 0x00 continuation group) and values >= 2^32 are rejected.
 */
function readVarint32(bytes: Uint8Array, pos: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[pos + i];
    if (b === undefined) throw malformed('truncated', 'Truncated varint');
    if (i === 4 && b > 0x0f) throw malformed('varint-overflow', 'Varint exceeds 32 bits');
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw malformed('non-canonical', 'Over-long varint');
      return [value, pos + i + 1];
    }
  }
  throw malformed('varint-overflow', 'Varint exceeds 32 bits');
}

/**
 * Parses `bytes` as a protobuf message whose fields are all described by `schema`. Unknown
 * field numbers, wrong wire types, repeated or out-of-order fields, truncation and bad varints throw
 * MalformedMessageError (`omemo.protobuf.*`). Required-field and length checks are the caller's.
 */
export function decodeFields(bytes: Uint8Array, schema: FieldSchema): DecodedFields {
  const fields = new Map<number, number | Uint8Array>();
  let pos = 0;
  let lastFieldNumber = 0;
  while (pos < bytes.length) {
    const [tag, afterTag] = readVarint32(bytes, pos);
    const fieldNumber = tag >>> 3;
    const wireType = tag & 7;
    const kind = schema[fieldNumber];
    if (kind === undefined) throw malformed('unknown-field', `Unknown field ${fieldNumber}`);
    if (fields.has(fieldNumber)) throw malformed('duplicate-field', `Duplicate field ${fieldNumber}`);
    if (fieldNumber < lastFieldNumber) throw malformed('field-order', 'Fields out of order');
    lastFieldNumber = fieldNumber;
    if (kind === 'uint32') {
      if (wireType !== WIRE_VARINT) throw malformed('wire-type', `Field ${fieldNumber} must be a varint`);
      const [value, next] = readVarint32(bytes, afterTag);
      fields.set(fieldNumber, value);
      pos = next;
    } else {
      if (wireType !== WIRE_LENGTH_DELIMITED) throw malformed('wire-type', `Field ${fieldNumber} must be length-delimited`);
      const [length, start] = readVarint32(bytes, afterTag);
      if (length > bytes.length - start) throw malformed('truncated', `Field ${fieldNumber} runs past the end`);
      fields.set(fieldNumber, bytes.slice(start, start + length));
      pos = start + length;
    }
  }
  return fields;
}

/** A required uint32 field; MalformedMessageError `omemo.protobuf.missing-field` when absent. */
export function requiredUint32(fields: DecodedFields, fieldNumber: number, name: string): number {
  const value = fields.get(fieldNumber);
  if (typeof value !== 'number') throw malformed('missing-field', `Missing field ${name}`);
  return value;
}

/** An optional uint32 field. */
export function optionalUint32(fields: DecodedFields, fieldNumber: number): number | undefined {
  const value = fields.get(fieldNumber);
  return typeof value === 'number' ? value : undefined;
}

/** A required bytes field, optionally of an exact length (`omemo.protobuf.bad-length`). */
export function requiredBytes(fields: DecodedFields, fieldNumber: number, name: string, exactLength?: number): Uint8Array {
  const value = fields.get(fieldNumber);
  if (!(value instanceof Uint8Array)) throw malformed('missing-field', `Missing field ${name}`);
  if (exactLength !== undefined && value.length !== exactLength) {
    throw malformed('bad-length', `Field ${name} must be ${exactLength} bytes`);
  }
  return value;
}

/** Caller-side check for values we encode: uint32 range (RangeError, a caller bug). */
export function checkUint32(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${name} must be a uint32`);
  return value;
}

/** Caller-side check for byte fields we encode (RangeError, a caller bug). */
export function checkLength(value: Uint8Array, length: number, name: string): Uint8Array {
  if (value.length !== length) throw new RangeError(`${name} must be ${length} bytes`);
  return value;
}
