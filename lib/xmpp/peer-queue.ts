/**
 * Per-peer serial queues: tasks for one key run one at a time in the order they were added,
 * tasks for different keys run independently. Incoming middleware is async, so without this
 * two messages from one peer could be decrypted (and shown) out of order; OTR's counters also
 * require one peer's messages to reach the engine in arrival order.
 */
export class PeerQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Runs `task` after every earlier task of `key`; resolves or rejects with its result. */
  run<T>(key: string, task: () => T | Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    // Forget idle keys so the map stays bounded by the number of busy peers.
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Number of keys with queued or running tasks. */
  get busyKeys(): number {
    return this.#tails.size;
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all([...this.#tails.values()]);
  }
}
