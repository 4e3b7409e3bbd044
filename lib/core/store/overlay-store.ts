/**
 * A store that reads through to a base store and keeps every write in memory: the base is
 * never written. The ephemeral mode uses it so a long-term identity (DSA key, instance tag,
 * trusted fingerprints) can be read from the usual store while nothing new about the
 * conversation (fingerprints seen, trust changes) is written anywhere.
 */
import type { KeyValueStore } from './store.js';

/** Read-through, write-to-memory view of `base`. */
export class OverlayStore implements KeyValueStore {
  readonly #base: KeyValueStore | undefined;
  readonly #values = new Map<string, string>();
  readonly #deleted = new Set<string>();

  /** `base` may be omitted: then the overlay is a plain memory store. */
  constructor(base?: KeyValueStore) {
    this.#base = base;
  }

  async get(key: string): Promise<string | undefined> {
    if (this.#values.has(key)) return this.#values.get(key);
    if (this.#deleted.has(key) || this.#base === undefined) return undefined;
    return this.#base.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    if (typeof key !== 'string' || typeof value !== 'string') throw new TypeError('OverlayStore.set: key and value must be strings');
    this.#deleted.delete(key);
    this.#values.set(key, value);
  }

  async delete(key: string): Promise<void> {
    this.#values.delete(key);
    this.#deleted.add(key);
  }

  async keys(prefix = ''): Promise<string[]> {
    const base = this.#base === undefined ? [] : await this.#base.keys(prefix);
    const all = new Set(base.filter((key) => !this.#deleted.has(key)));
    for (const key of this.#values.keys()) if (key.startsWith(prefix)) all.add(key);
    return [...all].sort();
  }

  /** Forgets every in-memory change under `prefix` (all when omitted). */
  discard(prefix = ''): void {
    for (const key of [...this.#values.keys()]) if (key.startsWith(prefix)) this.#values.delete(key);
    for (const key of [...this.#deleted]) if (key.startsWith(prefix)) this.#deleted.delete(key);
  }
}
