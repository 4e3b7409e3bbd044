/**
 * The kit's wire in the "over XMPP" mode: between the kit's OTR engine (a line-protocol
 * `Party`, our engine in-process) and the implementation under test at the far end of an
 * `XmppPeerWire`. Every body the implementation sends is recorded and, unless the scenario
 * holds them, delivered to the kit's engine in arrival order; whatever the engine answers goes
 * back over XMPP, in order. Messages the kit makes itself (tampered or forged) are recorded as
 * coming from the kit. Nothing here decides pass or fail: the scenarios do, from the log, what
 * the kit's engine showed (the echoes) and what it reported.
 */
import type { WireRecord, WireSender } from './exchange.js';
import type { Party } from './party.js';
import type { XmppPeerWire } from './party-xmpp.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Most bodies the kit takes from the implementation in one scenario (two peers answering each other forever). */
export const MAX_XMPP_DELIVERIES = 5_000;

export class XmppExchange {
  readonly log: WireRecord[] = [];
  /** Bodies from the implementation not delivered to the kit's engine (while holding). */
  readonly held: string[] = [];
  /** Why a delivery to the kit's engine failed (reported by scenarios that stall). */
  readonly errors: string[] = [];
  #holding = false;
  #work: Promise<void> = Promise.resolve();
  #lastActivity = performance.now();
  #received = 0;
  #closed = false;
  #detach: () => void;

  constructor(
    readonly kit: Party,
    readonly wire: XmppPeerWire,
  ) {
    this.#detach = wire.onBody(({ body }) => this.#arrive(body));
  }

  #arrive(body: string): void {
    if (this.#closed) return;
    this.#lastActivity = performance.now();
    if (++this.#received > MAX_XMPP_DELIVERIES) {
      if (this.#received === MAX_XMPP_DELIVERIES + 1) this.errors.push(`more than ${MAX_XMPP_DELIVERIES} messages from the implementation: not delivered any more`);
      return;
    }
    if (this.#holding) {
      this.log.push({ from: 'iut', to: 'reference', text: body, note: 'held by the kit (not delivered)' });
      this.held.push(body);
      return;
    }
    this.log.push({ from: 'iut', to: 'reference', text: body });
    this.#enqueue(async () => {
      const answer = await this.kit.receive(body);
      for (const m of answer.wire) await this.#send('reference', m);
    });
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.#work.then(step).catch((error: unknown) => {
      this.errors.push(error instanceof Error ? error.message : String(error));
    });
    this.#work = next;
    return next;
  }

  async #send(from: WireSender, text: string, note?: string): Promise<void> {
    if (this.#closed) return; // a scenario that timed out must not talk into the next one
    this.log.push(note === undefined ? { from, to: 'iut', text } : { from, to: 'iut', text, note });
    this.#lastActivity = performance.now();
    await this.wire.send(text);
  }

  /** Sends what the kit's engine produced (e.g. the answer of `kit.send`), in order, after anything still being delivered. */
  transmit(messages: readonly string[]): Promise<void> {
    return this.#enqueue(async () => {
      for (const m of messages) await this.#send('reference', m);
    });
  }

  /** Sends a message the kit made itself (tampered, replayed or forged), recorded with `note`. */
  inject(text: string, note: string): Promise<void> {
    return this.#enqueue(() => this.#send('kit', text, note));
  }

  /** From now on, bodies from the implementation are kept in `held` instead of delivered. */
  hold(): void {
    this.#holding = true;
  }

  /** Delivers bodies again from now on (the held ones stay held: `deliver` them or drop them). */
  release(): void {
    this.#holding = false;
  }

  /** Delivers one body to the kit's engine, as if it had just arrived, and sends the engine's answers. */
  deliver(body: string, note = 'held earlier, delivered now'): Promise<void> {
    this.log.push({ from: 'iut', to: 'reference', text: body, note });
    return this.#enqueue(async () => {
      const answer = await this.kit.receive(body);
      for (const m of answer.wire) await this.#send('reference', m);
    });
  }

  /** Resolves once everything queued has been delivered and sent. */
  idle(): Promise<void> {
    return this.#work;
  }

  /** Waits until nothing has come from the implementation (or gone to it) for `quietMs`, and the queue is idle. */
  async settle(quietMs: number, maxMs = 30_000): Promise<void> {
    const deadline = performance.now() + maxMs;
    for (;;) {
      await this.idle();
      const quietFor = performance.now() - this.#lastActivity;
      if (quietFor >= quietMs || performance.now() > deadline) return;
      await sleep(Math.min(quietMs - quietFor, 100) + 5);
    }
  }

  /** Polls `probe` (every 25 ms) until it returns a value other than undefined, or undefined after `timeoutMs`. */
  async waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      await this.idle();
      const value = await probe();
      if (value !== undefined) return value;
      if (performance.now() > deadline) return undefined;
      await sleep(25);
    }
  }

  /** Bodies recorded as sent by `sender`. */
  sentBy(sender: WireSender): string[] {
    return this.log.filter((r) => r.from === sender).map((r) => r.text);
  }

  /** Stops listening to the wire and sending on it (the next scenario gets a new exchange). */
  detach(): void {
    this.#closed = true;
    this.#detach();
  }
}
