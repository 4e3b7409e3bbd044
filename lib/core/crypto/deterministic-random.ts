import { sha256 } from './hash.js';
import type { RandomSource } from '../random.js';

/**
 * A deterministic random source for tests and known-answer transcripts ONLY: block i is
 * SHA-256(seed || i as 8-byte big-endian). Two sources with the same seed give the same bytes.
 */
export function deterministicRandom(seed: Uint8Array | string): RandomSource {
  const seedBytes = typeof seed === 'string' ? new TextEncoder().encode(seed) : Uint8Array.from(seed);
  let counter = 0n;
  let pool: Uint8Array = new Uint8Array(0);
  return (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      if (pool.length === 0) {
        const block = new Uint8Array(8);
        new DataView(block.buffer).setBigUint64(0, counter++);
        pool = sha256(seedBytes, block);
      }
      const take = Math.min(pool.length, length - filled);
      out.set(pool.subarray(0, take), filled);
      pool = pool.subarray(take);
      filled += take;
    }
    return out;
  };
}
