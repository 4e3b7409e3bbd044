/**
 * Instance tags (OTR v3 spec, "Instance Tags"): 32-bit values, the smallest valid one 0x100,
 * distinguishing the several clients of one account. libotr draws them at random
 * (`otrl_instag_generate`) and keeps them per account; so do we, with the source injected.
 */
import type { RandomSource } from '../lib/core/random.js';

/** The smallest valid instance tag. */
export const MIN_INSTANCE_TAG = 0x100;
/** The largest instance tag (an INT). */
export const MAX_INSTANCE_TAG = 0xffffffff;

/** Whether `tag` may be used as a sender instance tag (0x100 .. 2^32-1). */
export function isValidInstanceTag(tag: number): boolean {
  return Number.isInteger(tag) && tag >= MIN_INSTANCE_TAG && tag <= MAX_INSTANCE_TAG;
}

/** Draws a random instance tag >= 0x100 (values below are redrawn, as libotr does). */
export function generateInstanceTag(random: RandomSource): number {
  for (;;) {
    const bytes = random(4);
    if (bytes.length !== 4) throw new RangeError('generateInstanceTag: random source returned the wrong length');
    const tag = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    if (tag >= MIN_INSTANCE_TAG) return tag;
  }
}
