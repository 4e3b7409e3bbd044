import { randomFillSync } from 'node:crypto';

/**
 * Source of randomness, injected everywhere so tests can replay fixed transcripts. Must return
 * a new array of `length` random bytes.
 */
export type RandomSource = (length: number) => Uint8Array;

/** The system CSPRNG (OpenSSL through node:crypto). */
export const systemRandom: RandomSource = (length: number): Uint8Array => {
  if (!Number.isInteger(length) || length < 0) throw new RangeError('systemRandom: length must be a non-negative integer');
  return randomFillSync(new Uint8Array(length));
};
