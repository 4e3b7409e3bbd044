/**
 * The chat client's terminal: a readline prompt, and output lines written over the prompt
 * line in order (lines whose text needs a store look-up first are queued, so they never
 * overtake each other).
 */
import { createInterface, type Interface } from 'node:readline';

/** Prints lines over the prompt and puts the prompt back. */
export class Terminal {
  readonly rl: Interface;
  #queue: Promise<void> = Promise.resolve();

  constructor() {
    this.rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });
  }

  /** Prints `lines` now (after anything queued before). */
  print(...lines: string[]): void {
    this.later(async () => lines);
  }

  /** Prints what `make` resolves to, in the order of the calls; a failure prints as `! message`. */
  later(make: () => Promise<readonly string[]>): void {
    const run = async (): Promise<void> => {
      let lines: readonly string[];
      try {
        lines = await make();
      } catch (error) {
        lines = [`! ${(error as Error).message}`];
      }
      if (lines.length === 0) return;
      process.stdout.write(`\r${lines.join('\n')}\n`);
      this.rl.prompt(true);
    };
    this.#queue = this.#queue.then(run, run);
  }

  /** Resolves once every queued line is out. */
  flushed(): Promise<void> {
    return this.#queue;
  }
}
