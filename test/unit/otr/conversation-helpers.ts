/** Loopback helpers for OtrConversation tests: two (or more) parties and a wire between them. */
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { generateDsaKey, type DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { ModpGroup } from '../../../lib/core/crypto/modp-group.js';
import { OtrConversation, type OtrSessionOptions } from '../../../otr/conversation.js';
import type { OtrEvent, OtrResult } from '../../../otr/events.js';
import { OTR_POLICY_OPPORTUNISTIC, type OtrPolicy } from '../../../otr/policy.js';

export const group = new ModpGroup();

let keys: Promise<DsaPrivateKey[]> | undefined;
/** Three DSA keys, made once per process (DSA key generation is slow). */
export function testKeys(): Promise<DsaPrivateKey[]> {
  keys ??= Promise.all([generateDsaKey(), generateDsaKey(), generateDsaKey()]);
  return keys;
}

/** A party: its conversation, what it was shown and every event. */
export interface Party {
  readonly name: string;
  conversation: OtrConversation;
  readonly shown: { text: string; encrypted: boolean }[];
  readonly events: OtrEvent[];
  /** Fake clock in ms. */
  clock: { now: number };
}

export function makeParty(
  name: string,
  privateKey: DsaPrivateKey,
  instanceTag: number,
  policy: OtrPolicy = OTR_POLICY_OPPORTUNISTIC,
  extra: Partial<OtrSessionOptions> = {},
): Party {
  const clock = { now: 1_000_000 };
  const conversation = new OtrConversation({
    accountName: `${name}@example.org`,
    protocol: 'xmpp',
    peerName: 'peer@example.org',
    privateKey,
    instanceTag,
    policy,
    random: deterministicRandom(`party-${name}-${instanceTag}`),
    group,
    now: () => clock.now,
    ...extra,
  });
  return { name, conversation, shown: [], events: [], clock };
}

/** A wire message in flight. */
export interface InFlight {
  readonly from: Party;
  readonly to: Party[];
  readonly text: string;
}

/** Every message ever put on the wire, for "no plaintext leaked" assertions. */
export class Wire {
  readonly queue: InFlight[] = [];
  readonly log: { from: string; text: string }[] = [];

  /** Records a result of `from`'s operation and queues its messages to `to`. */
  take(from: Party, to: Party | Party[], result: OtrResult): OtrResult {
    if (result.show !== undefined) from.shown.push(result.show);
    from.events.push(...result.events);
    for (const text of result.toSend) {
      this.queue.push({ from, to: Array.isArray(to) ? to : [to], text });
      this.log.push({ from: from.name, text });
    }
    return result;
  }

  /** Delivers until nothing is in flight (bounded). `peers` maps a party to whom it talks to. */
  pump(peersOf: (p: Party) => Party[], limit = 10_000): void {
    for (let i = 0; this.queue.length > 0; i++) {
      if (i > limit) throw new Error('pump: no quiescence');
      const next = this.queue.shift() as InFlight;
      for (const to of next.to) this.take(to, peersOf(to), to.conversation.receive(next.text));
    }
  }
}

/** A two-party wire. */
export function twoParty(a: Party, b: Party): { wire: Wire; pump: () => void } {
  const wire = new Wire();
  return { wire, pump: () => wire.pump((p) => (p === a ? [b] : [a])) };
}

export function eventsOf<K extends OtrEvent['kind']>(party: Party, kind: K): Extract<OtrEvent, { kind: K }>[] {
  return party.events.filter((e): e is Extract<OtrEvent, { kind: K }> => e.kind === kind);
}
