/**
 * The plugin's outgoing queue. Stanzas are built (and OTR-encrypted) exactly once, when the
 * application sends; the outbox then writes them in order while the connection is online and
 * keeps them while it is not. After a stream-management resume, @xmpp/stream-management
 * resends what the server had not acknowledged (the same, already encrypted elements); when a
 * resume fails it reports those stanzas as `fail`, and the outbox puts ours back at the front,
 * in their original order, for the fresh session. So nothing queued is lost, nothing is
 * encrypted twice, and nothing is ever rebuilt as plaintext. A stanza that reached the server
 * just before the failure may be written twice; receivers drop a repeated stanza id.
 */
import type { Element } from '@xmpp/xml';

/** Where the outbox writes. */
export interface OutboxSink {
  /** True when the stream is up and stanzas can be written. */
  isOnline(): boolean;
  /** Writes one stanza (rejects when the socket is gone). */
  write(element: Element): Promise<unknown>;
}

/** An ordered outbox. */
export class Outbox {
  readonly #sink: OutboxSink;
  /** Stanzas of a failed stream-management session, to go first. */
  #retry: Element[] = [];
  #pending: Element[] = [];
  readonly #ours = new WeakSet<Element>();
  #flushing: Promise<void> | undefined;
  #again = false;

  constructor(sink: OutboxSink) {
    this.#sink = sink;
  }

  /** Number of stanzas not yet written. */
  get size(): number {
    return this.#retry.length + this.#pending.length;
  }

  /** Queues `element` and writes what can be written now; resolves when the queue is drained or blocked. */
  push(element: Element): Promise<void> {
    this.#ours.add(element);
    this.#pending.push(element);
    return this.flush();
  }

  /** A stanza the stream-management layer gave up on: if it is ours, it goes out again first. */
  requeueFailed(element: Element): boolean {
    if (!this.#ours.has(element)) return false;
    if (this.#retry.includes(element) || this.#pending.includes(element)) return true;
    this.#retry.push(element);
    return true;
  }

  /** Writes queued stanzas in order until the queue is empty or the connection is down. */
  flush(): Promise<void> {
    if (this.#flushing !== undefined) {
      this.#again = true;
      return this.#flushing;
    }
    this.#flushing = (async () => {
      do {
        this.#again = false;
        await this.#drain();
      } while (this.#again && this.#sink.isOnline());
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (!this.#sink.isOnline()) return;
      const fromRetry = this.#retry.length > 0;
      const next = fromRetry ? this.#retry[0] : this.#pending[0];
      if (next === undefined) return;
      try {
        await this.#sink.write(next);
      } catch {
        // The socket went away; keep the stanza for the next 'online'.
        return;
      }
      if (fromRetry) this.#retry.shift();
      else this.#pending.shift();
    }
  }

  /** Drops everything queued (ephemeral wipe or explicit discard); returns how many. */
  clear(): number {
    const count = this.size;
    this.#retry = [];
    this.#pending = [];
    return count;
  }
}
