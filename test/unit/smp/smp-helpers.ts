/** Shared fixtures for the SMP tests: two parties' contexts and a loopback driver. */
import { hexToBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { ModpGroup } from '../../../lib/core/crypto/modp-group.js';
import type { RandomSource } from '../../../lib/core/random.js';
import { initialSmpState, receiveSmpTlv, type SmpContext, type SmpEvent, type SmpState, type SmpStep, type SmpTlv } from '../../../smp/index.js';

export const group = new ModpGroup();
export const aliceFingerprint = hexToBytes('a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1');
export const bobFingerprint = hexToBytes('b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2');
export const ssid = hexToBytes('0102030405060708');

/** Contexts of Alice and Bob in one OTR session, with fixed randomness per seed. */
export function pair(seed = 'smp'): { alice: SmpContext; bob: SmpContext } {
  return {
    alice: context(aliceFingerprint, bobFingerprint, deterministicRandom(`${seed}/alice`)),
    bob: context(bobFingerprint, aliceFingerprint, deterministicRandom(`${seed}/bob`)),
  };
}

export function context(ours: Uint8Array, theirs: Uint8Array, random: RandomSource): SmpContext {
  return { info: { ourFingerprint: ours, theirFingerprint: theirs, ssid }, random, group };
}

/** One party: its context, state and everything it reported. */
export interface Party {
  readonly ctx: SmpContext;
  state: SmpState;
  readonly events: SmpEvent[];
  readonly sent: SmpTlv[];
}

export function party(ctx: SmpContext): Party {
  return { ctx, state: initialSmpState(), events: [], sent: [] };
}

/** Applies a step to a party, recording what it sends and reports. */
export function apply(p: Party, step: SmpStep): SmpTlv[] {
  p.state = step.state;
  p.events.push(...step.events);
  p.sent.push(...step.toSend);
  return step.toSend;
}

/** Delivers TLVs to `to`, then its answers back to `from`, until both are quiet. */
export function deliver(from: Party, to: Party, tlvs: SmpTlv[]): void {
  let queue: [Party, Party, SmpTlv][] = tlvs.map((t) => [from, to, t]);
  while (queue.length > 0) {
    const next: [Party, Party, SmpTlv][] = [];
    for (const [sender, receiver, tlv] of queue) {
      for (const answer of apply(receiver, receiveSmpTlv(receiver.ctx, receiver.state, tlv))) next.push([receiver, sender, answer]);
    }
    queue = next;
  }
}

export function kinds(events: readonly SmpEvent[]): string[] {
  return events.map((e) => (e.kind === 'progress' ? `progress ${e.percent}` : e.kind));
}
