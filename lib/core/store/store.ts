/**
 * The async key/value storage interface that every stateful part of the library persists
 * through (OTR keys and instance tags, fingerprints and trust, OMEMO identities and sessions).
 * Values are strings (versioned JSON documents); keys are '/'-separated paths such as
 * `otr/alice@example.org/private-key`. Implementations must make each `set` atomic: after a
 * crash a key holds either its old or its new value.
 */
export interface KeyValueStore {
  /** The value stored under `key`, or undefined. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` under `key`, replacing any previous value atomically. */
  set(key: string, value: string): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** All keys that start with `prefix` (all keys when omitted), sorted. */
  keys(prefix?: string): Promise<string[]>;
}

/** A store held in memory only: for tests and for the ephemeral (nothing written) mode. */
export class MemoryStore implements KeyValueStore {
  readonly #values = new Map<string, string>();

  async get(key: string): Promise<string | undefined> {
    return this.#values.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    if (typeof value !== 'string') throw new TypeError('MemoryStore.set: value must be a string');
    this.#values.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
  }

  async keys(prefix = ''): Promise<string[]> {
    return [...this.#values.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Forgets everything (ephemeral mode's wipe on end). */
  clear(): void {
    this.#values.clear();
  }
}
