/**
 * OTR's wire data types (OTR v3 spec, "Data types"): BYTE, SHORT, INT, MPI, DATA, CTR, MAC,
 * all big-endian. `OtrReader` checks every length against what is left before reading, so a
 * truncated or oversized message becomes a `MalformedMessageError`, never an exception of
 * another kind or an allocation the sender chose.
 */
import { bigIntToBytes, bytesToBigInt } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';

/** Largest MPI we accept: OTR's are at most 192 bytes (1536 bits); DSA p is 128 bytes. */
export const MAX_MPI_BYTES = 192;

/** Sequential reader over a received byte array. */
export class OtrReader {
  #offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Bytes not yet read. */
  get remaining(): number {
    return this.bytes.length - this.#offset;
  }

  /** Current offset from the start. */
  get offset(): number {
    return this.#offset;
  }

  #take(length: number, what: string): Uint8Array {
    if (length > this.remaining) {
      throw new MalformedMessageError('otr.truncated', `truncated ${what}: need ${length} bytes, have ${this.remaining}`);
    }
    const out = this.bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  /** BYTE: 1 unsigned byte. */
  byte(): number {
    return this.#take(1, 'BYTE')[0] as number;
  }

  /** SHORT: 2-byte unsigned big-endian. */
  short(): number {
    const b = this.#take(2, 'SHORT');
    return ((b[0] as number) << 8) | (b[1] as number);
  }

  /** INT: 4-byte unsigned big-endian. */
  int(): number {
    const b = this.#take(4, 'INT');
    return (((b[0] as number) << 24) >>> 0) + ((b[1] as number) << 16) + ((b[2] as number) << 8) + (b[3] as number);
  }

  /** DATA: INT length then that many bytes; `maxLength` bounds what a peer may claim. */
  data(maxLength = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.int();
    if (length > maxLength) throw new MalformedMessageError('otr.oversized', `DATA of ${length} bytes exceeds ${maxLength}`);
    return this.#take(length, 'DATA');
  }

  /** MPI: INT length then big-endian magnitude; at most `maxBytes` bytes (default 192). */
  mpi(maxBytes = MAX_MPI_BYTES): bigint {
    const length = this.int();
    if (length > maxBytes) throw new MalformedMessageError('otr.oversized', `MPI of ${length} bytes exceeds ${maxBytes}`);
    return bytesToBigInt(this.#take(length, 'MPI'));
  }

  /** A fixed-length field such as CTR (8 bytes) or MAC (20 bytes). */
  fixed(length: number, what = 'field'): Uint8Array {
    return this.#take(length, what);
  }

  /** Everything left. */
  rest(): Uint8Array {
    return this.#take(this.remaining, 'rest');
  }

  /** Throws unless every byte was consumed: trailing garbage is a malformed message. */
  end(): void {
    if (this.remaining !== 0) throw new MalformedMessageError('otr.trailing-bytes', `${this.remaining} unexpected trailing bytes`);
  }
}

/** Growable writer producing OTR wire bytes. */
export class OtrWriter {
  #chunks: Uint8Array[] = [];
  #length = 0;

  #push(bytes: Uint8Array): this {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
    return this;
  }

  /** BYTE. */
  byte(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError('OtrWriter.byte: value must be 0..255');
    return this.#push(Uint8Array.of(value));
  }

  /** SHORT. */
  short(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError('OtrWriter.short: value must be 0..65535');
    return this.#push(Uint8Array.of(value >>> 8, value & 0xff));
  }

  /** INT. */
  int(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError('OtrWriter.int: value must be 0..2^32-1');
    return this.#push(Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff));
  }

  /** DATA. */
  data(bytes: Uint8Array): this {
    return this.int(bytes.length).#push(bytes);
  }

  /** MPI, minimal length (no leading zero bytes), as libotr writes them. */
  mpi(value: bigint): this {
    return this.data(bigIntToBytes(value));
  }

  /** Raw bytes (CTR, MAC, an already-encoded structure). */
  raw(bytes: Uint8Array): this {
    return this.#push(bytes);
  }

  /** The bytes written so far, as one array. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
