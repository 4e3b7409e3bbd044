/**
 * fast-check helpers for hostile-input properties of the OMEMO wire codecs: random mutations of
 * a valid encoding (bit flips, byte insertions/deletions/replacements, truncation, appended
 * garbage, range duplication), and the assertion that a decoder either throws a typed
 * ProtocolError or returns a value (never any other exception).
 */
import fc from 'fast-check';
import { ProtocolError } from '../../../lib/core/errors.js';

/** Number of random mutations each message type gets (the task's floor). */
export const MUTATION_RUNS = 10_000;

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0x05, 0x33, 0x08, 0x0a, 0x12, 0x1a, 0x22, 0x3c, 0x3e, 0x26, 0x22, 0x27, 0x3d) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 40 }) }),
);

function apply(input: Uint8Array, mutation: Mutation): Uint8Array {
  const len = input.length;
  const at = len === 0 ? 0 : mutation.at % (len + 1);
  switch (mutation.kind) {
    case 'flip': {
      if (len === 0) return input;
      const out = Uint8Array.from(input);
      const i = mutation.at % len;
      out[i] = (out[i] as number) ^ (1 << mutation.bit);
      return out;
    }
    case 'set': {
      if (len === 0) return input;
      const out = Uint8Array.from(input);
      out[mutation.at % len] = mutation.value;
      return out;
    }
    case 'insert':
      return Uint8Array.from([...input.subarray(0, at), ...mutation.bytes, ...input.subarray(at)]);
    case 'delete':
      return Uint8Array.from([...input.subarray(0, at), ...input.subarray(at + mutation.count)]);
    case 'truncate':
      return input.slice(0, at);
    case 'duplicate':
      return Uint8Array.from([...input.subarray(0, at), ...input.subarray(at, at + mutation.count), ...input.subarray(at)]);
  }
}

/** 1-4 random mutations of one of `samples`, as bytes. */
export function mutatedBytes(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat({ max: samples.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([i, mutations]) =>
    mutations.reduce((acc, m) => apply(acc, m), samples[i] as Uint8Array));
}

/** 1-4 random mutations of one of `samples`, as strings (mutated as UTF-8; invalid bytes -> U+FFFD). */
export function mutatedStrings(samples: readonly string[]): fc.Arbitrary<string> {
  const encoded = samples.map((s) => new Uint8Array(Buffer.from(s, 'utf8')));
  return mutatedBytes(encoded).map((bytes) => Buffer.from(bytes).toString('utf8'));
}

/**
 * Runs `decode` and returns its value, or undefined when it threw a ProtocolError. Any other
 * exception (TypeError, RangeError, ...) propagates and fails the property.
 */
export function decodeOrTypedError<T>(decode: () => T): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (error instanceof ProtocolError && typeof error.code === 'string' && error.code.startsWith('omemo.')) return undefined;
    throw error;
  }
}
