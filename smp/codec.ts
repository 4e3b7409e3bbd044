/**
 * Wire codec of SMP TLV values (OTR v3 spec, "TLV Types": "SMP Message TLVs (types 2-5) all
 * carry data sharing the same general format": an INT count, then that many MPIs) and of the
 * question prefix of type 7. Decoding is strict: the count must be exactly the message's, no
 * MPI may be longer than the group's 192 bytes (nothing valid is), nothing may trail. Every
 * failure is a `MalformedMessageError`; nothing is allocated from an unchecked length.
 */
import { bigIntToBytes, bytesToBigInt, bytesToUtf8, concatBytes, utf8ToBytes } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import { MODP_1536_BYTES } from '../lib/core/crypto/modp-group.js';
import { SMP_MPI_COUNT, type Smp1Message, type Smp2Message, type Smp3Message, type Smp4Message } from './messages.js';

/**
 * Largest MPI accepted: group elements are < p and exponents < q, both at most 192 bytes;
 * hashes are 32. libotr reads any length; no honest peer sends longer.
 */
export const SMP_MAX_MPI_BYTES = MODP_1536_BYTES;

/** Largest TLV value (a SHORT length). */
const MAX_TLV_VALUE_BYTES = 0xffff;

/** Serializes `values` as INT count then MPIs (minimal big-endian, 4-byte length). */
export function encodeSmpMpis(values: readonly bigint[]): Uint8Array {
  const parts: Uint8Array[] = [int32(values.length)];
  for (const value of values) {
    if (value < 0n) throw new RangeError('encodeSmpMpis: values must be non-negative');
    const bytes = bigIntToBytes(value);
    parts.push(int32(bytes.length), bytes);
  }
  return concatBytes(...parts);
}

/**
 * Parses an INT count and exactly `expectedCount` MPIs filling `bytes`. Throws
 * MalformedMessageError: `smp.truncated`, `smp.mpi-count`, `smp.oversized`,
 * `smp.trailing-bytes`.
 */
export function decodeSmpMpis(bytes: Uint8Array, expectedCount: number): bigint[] {
  let offset = 0;
  const readInt = (): number => {
    if (bytes.length - offset < 4) throw new MalformedMessageError('smp.truncated', 'SMP message is truncated');
    const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4);
    offset += 4;
    return view.getUint32(0);
  };
  const count = readInt();
  if (count !== expectedCount) {
    throw new MalformedMessageError('smp.mpi-count', `SMP message has ${count} MPIs, expected ${expectedCount}`);
  }
  const values: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const length = readInt();
    if (length > SMP_MAX_MPI_BYTES) throw new MalformedMessageError('smp.oversized', 'SMP MPI is longer than 192 bytes');
    if (bytes.length - offset < length) throw new MalformedMessageError('smp.truncated', 'SMP message is truncated');
    values.push(bytesToBigInt(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  if (offset !== bytes.length) throw new MalformedMessageError('smp.trailing-bytes', 'SMP message has trailing bytes');
  return values;
}

/** Payload of SMP message 1 (type 2, or after the question of type 7). */
export function encodeSmp1(m: Smp1Message): Uint8Array {
  return encodeSmpMpis([m.g2a, m.c2, m.d2, m.g3a, m.c3, m.d3]);
}

/** Parses an SMP message 1 payload (strict; see `decodeSmpMpis`). */
export function decodeSmp1(bytes: Uint8Array): Smp1Message {
  const [g2a, c2, d2, g3a, c3, d3] = decodeSmpMpis(bytes, SMP_MPI_COUNT.smp1) as [bigint, bigint, bigint, bigint, bigint, bigint];
  return { g2a, c2, d2, g3a, c3, d3 };
}

/** Payload of SMP message 2 (type 3). */
export function encodeSmp2(m: Smp2Message): Uint8Array {
  return encodeSmpMpis([m.g2b, m.c2, m.d2, m.g3b, m.c3, m.d3, m.pb, m.qb, m.cp, m.d5, m.d6]);
}

/** Parses an SMP message 2 payload (strict). */
export function decodeSmp2(bytes: Uint8Array): Smp2Message {
  const v = decodeSmpMpis(bytes, SMP_MPI_COUNT.smp2);
  const at = (i: number): bigint => v[i] as bigint;
  return { g2b: at(0), c2: at(1), d2: at(2), g3b: at(3), c3: at(4), d3: at(5), pb: at(6), qb: at(7), cp: at(8), d5: at(9), d6: at(10) };
}

/** Payload of SMP message 3 (type 4). */
export function encodeSmp3(m: Smp3Message): Uint8Array {
  return encodeSmpMpis([m.pa, m.qa, m.cp, m.d5, m.d6, m.ra, m.cr, m.d7]);
}

/** Parses an SMP message 3 payload (strict). */
export function decodeSmp3(bytes: Uint8Array): Smp3Message {
  const v = decodeSmpMpis(bytes, SMP_MPI_COUNT.smp3);
  const at = (i: number): bigint => v[i] as bigint;
  return { pa: at(0), qa: at(1), cp: at(2), d5: at(3), d6: at(4), ra: at(5), cr: at(6), d7: at(7) };
}

/** Payload of SMP message 4 (type 5). */
export function encodeSmp4(m: Smp4Message): Uint8Array {
  return encodeSmpMpis([m.rb, m.cr, m.d7]);
}

/** Parses an SMP message 4 payload (strict). */
export function decodeSmp4(bytes: Uint8Array): Smp4Message {
  const [rb, cr, d7] = decodeSmpMpis(bytes, SMP_MPI_COUNT.smp4) as [bigint, bigint, bigint];
  return { rb, cr, d7 };
}

/**
 * Value of a type 7 TLV: the UTF-8 question, a NUL, then the SMP message 1 payload (spec,
 * "Type 7: SMP Message 1Q"; libotr message.c writes strlen(question)+1 bytes then the
 * payload). Throws RangeError if the question contains NUL or the value would not fit a TLV.
 */
export function encodeSmp1WithQuestion(question: string, smp1Payload: Uint8Array): Uint8Array {
  const questionBytes = utf8ToBytes(question);
  if (questionBytes.includes(0)) throw new RangeError('encodeSmp1WithQuestion: question must not contain NUL');
  const value = concatBytes(questionBytes, Uint8Array.of(0), smp1Payload);
  if (value.length > MAX_TLV_VALUE_BYTES) throw new RangeError('encodeSmp1WithQuestion: question too long for a TLV');
  return value;
}

/**
 * Splits a type 7 TLV value at its first NUL into the question (UTF-8; invalid sequences
 * become U+FFFD) and the SMP message 1 payload. Throws MalformedMessageError
 * `smp.question-unterminated` when there is no NUL.
 */
export function splitSmp1WithQuestion(value: Uint8Array): { question: string; payload: Uint8Array } {
  const nul = value.indexOf(0);
  if (nul < 0) throw new MalformedMessageError('smp.question-unterminated', 'SMP question is not NUL-terminated');
  return { question: bytesToUtf8(value.subarray(0, nul)), payload: value.subarray(nul + 1) };
}

function int32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}
