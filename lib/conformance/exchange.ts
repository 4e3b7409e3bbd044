/**
 * The kit's wire between the implementation under test and the reference peer: it carries
 * every message both ways, in order, and records it as evidence. Scenarios that test hostile
 * input put their own (tampered) messages on it, recorded as coming from the kit.
 */
import type { Party } from './party.js';

/** Who put a message on the wire. */
export type WireSender = 'iut' | 'reference' | 'kit';

/** One recorded wire message. */
export interface WireRecord {
  readonly from: WireSender;
  readonly to: 'iut' | 'reference';
  readonly text: string;
  /** Why the kit sent it (tampered messages only). */
  readonly note?: string;
}

/** Stops an exchange that does not settle (two implementations answering each other forever). */
export const MAX_DELIVERIES = 20_000;

export class Exchange {
  readonly log: WireRecord[] = [];

  constructor(
    readonly iut: Party,
    readonly reference: Party,
  ) {}

  #other(party: Party): Party {
    return party === this.iut ? this.reference : this.iut;
  }

  #role(party: Party): 'iut' | 'reference' {
    return party === this.iut ? 'iut' : 'reference';
  }

  /**
   * Delivers `messages` sent by `from` to the other party, then every answer, until nothing
   * is in flight. Returns the number of messages delivered.
   */
  async pump(from: Party, messages: readonly string[]): Promise<number> {
    const queue: [Party, string][] = messages.map((m) => [this.#other(from), m]);
    let delivered = 0;
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [to, text] = next;
      this.log.push({ from: this.#role(this.#other(to)), to: this.#role(to), text });
      const answer = await to.receive(text);
      if (++delivered > MAX_DELIVERIES) throw new Error(`the exchange did not settle after ${MAX_DELIVERIES} messages`);
      for (const m of answer.wire) queue.push([this.#other(to), m]);
    }
    return delivered;
  }

  /**
   * Delivers one message the kit made to `to` and returns what `to` answered, without
   * delivering the answers (the scenario decides what to do with them).
   */
  async inject(to: Party, text: string, note: string): Promise<{ show: string | null; decrypted: boolean; wire: string[] }> {
    this.log.push({ from: 'kit', to: this.#role(to), text, note });
    const answer = await to.receive(text);
    for (const m of answer.wire) this.log.push({ from: this.#role(to), to: this.#role(this.#other(to)), text: m, note: 'answer to the kit (not delivered)' });
    return answer;
  }

  /** Messages recorded as sent by `sender`. */
  sentBy(sender: WireSender): string[] {
    return this.log.filter((r) => r.from === sender).map((r) => r.text);
  }
}
