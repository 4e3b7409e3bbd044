/**
 * The delivery queue between the XMPP component and the push services. Every notification is a
 * job: sent over TLS (tls-sender.ts), retried with exponential backoff and jitter when the
 * failure is transient (timeout, network, 429, 5xx), up to `maxAttempts`; permanent failures
 * (4xx, certificate or pin refusal) stop at once. The queue and the number of requests in
 * flight are bounded, so a failing or hanging push service costs memory and sockets only up to
 * those bounds and never blocks the component. A job's request body is wiped and dropped as
 * soon as it is delivered or given up (nothing of a notification is kept).
 */
import { EventEmitter } from 'node:events';
import type { RandomSource } from '../core/random.js';
import { systemRandom } from '../core/random.js';
import { PushRelayError } from './errors.js';
import type { DeviceTarget, PushRequest } from './push-services.js';
import { sendPushRequest } from './tls-sender.js';
import type { PushTlsOptions } from './tls-sender.js';

/** Tuning of the relay; every field optional. */
export interface RelayOptions {
  /** Attempts per notification, first one included (default 5). */
  readonly maxAttempts?: number;
  /** Delay before the second attempt (default 500 ms); doubles each time. */
  readonly baseDelayMs?: number;
  /** Upper bound of one delay (default 30000 ms). */
  readonly maxDelayMs?: number;
  /** Jobs waiting or in flight (default 1000); when full the oldest waiting job is dropped. */
  readonly maxQueue?: number;
  /** Requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** CA, pins and timeout towards the push services. */
  readonly tls?: PushTlsOptions;
  /** Randomness for the jitter. */
  readonly random?: RandomSource;
}

/**
 * One notification to deliver. `build` makes the request (it may encrypt, Web Push, or fetch
 * an access token, FCM); a PushRelayError it throws counts as a failed attempt.
 */
export interface RelayJob {
  /** The registration's node, for events (never logged above debug by the app server). */
  readonly node: string;
  readonly service: DeviceTarget['service'];
  readonly build: () => PushRequest | Promise<PushRequest>;
}

/** Emitted once per job. */
export type RelayOutcome =
  | { readonly kind: 'delivered'; readonly node: string; readonly service: DeviceTarget['service']; readonly status: number; readonly attempts: number }
  | { readonly kind: 'failed'; readonly node: string; readonly service: DeviceTarget['service']; readonly error: PushRelayError; readonly attempts: number };

interface Entry {
  readonly job: RelayJob;
  request: PushRequest | undefined;
  attempts: number;
  timer: NodeJS.Timeout | undefined;
}

/** See the module comment. Events: `outcome` ({@link RelayOutcome}), `attempt-failed`. */
export class PushRelay extends EventEmitter {
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxQueue: number;
  readonly #concurrency: number;
  readonly #tls: PushTlsOptions;
  readonly #random: RandomSource;
  readonly #ready: Entry[] = [];
  readonly #waiting = new Set<Entry>();
  #inFlight = 0;
  #stopped = false;

  constructor(options: RelayOptions = {}) {
    super();
    const int = (v: number | undefined, d: number, name: string, min: number): number => {
      const x = v ?? d;
      if (!Number.isInteger(x) || x < min) throw new RangeError(`relay.${name}: integer >= ${min}`);
      return x;
    };
    this.#maxAttempts = int(options.maxAttempts, 5, 'maxAttempts', 1);
    this.#baseDelayMs = int(options.baseDelayMs, 500, 'baseDelayMs', 0);
    this.#maxDelayMs = int(options.maxDelayMs, 30000, 'maxDelayMs', 0);
    this.#maxQueue = int(options.maxQueue, 1000, 'maxQueue', 1);
    this.#concurrency = int(options.concurrency, 8, 'concurrency', 1);
    this.#tls = options.tls ?? {};
    this.#random = options.random ?? systemRandom;
  }

  /** Jobs not yet finished (queued, backing off or in flight). */
  get pending(): number {
    return this.#ready.length + this.#waiting.size + this.#inFlight;
  }

  /** Queues a notification; returns at once. */
  enqueue(job: RelayJob): void {
    if (this.#stopped) return;
    if (this.pending >= this.#maxQueue) {
      const victim = this.#ready.shift() ?? this.#oldestWaiting();
      const full = new PushRelayError('push.queue-full', 'delivery queue full; notification dropped', { retryable: false });
      if (!victim) {
        // Everything is in flight: the new notification is the one dropped.
        this.#finish({ job, request: undefined, attempts: 0, timer: undefined }, full);
        return;
      }
      this.#finish(victim, full);
    }
    this.#ready.push({ job, request: undefined, attempts: 0, timer: undefined });
    this.#pump();
  }

  /** Cancels timers and drops every job that is not in flight. */
  stop(): void {
    this.#stopped = true;
    for (const e of this.#waiting) {
      clearTimeout(e.timer);
      this.#wipe(e);
    }
    this.#waiting.clear();
    for (const e of this.#ready) this.#wipe(e);
    this.#ready.length = 0;
  }

  #oldestWaiting(): Entry | undefined {
    for (const e of this.#waiting) {
      clearTimeout(e.timer);
      this.#waiting.delete(e);
      return e;
    }
    return undefined;
  }

  #pump(): void {
    while (!this.#stopped && this.#inFlight < this.#concurrency && this.#ready.length > 0) {
      const entry = this.#ready.shift() as Entry;
      this.#inFlight++;
      void this.#attempt(entry).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #attempt(entry: Entry): Promise<void> {
    entry.attempts++;
    let buildError: PushRelayError | undefined;
    try {
      entry.request ??= await entry.job.build();
    } catch (error) {
      if (!(error instanceof PushRelayError)) {
        this.#finish(entry, new PushRelayError('push.gave-up', 'could not build the push request', { retryable: false, cause: error }));
        return;
      }
      buildError = error; // e.g. the token exchange failed: an attempt like any other
    }
    try {
      if (buildError || !entry.request) throw buildError;
      const response = await sendPushRequest(entry.request, this.#tls);
      this.#wipe(entry);
      this.emit('outcome', {
        kind: 'delivered',
        node: entry.job.node,
        service: entry.job.service,
        status: response.status,
        attempts: entry.attempts,
      } satisfies RelayOutcome);
    } catch (caught) {
      // Anything but a PushRelayError is a bug or a bad configuration (e.g. an http: URL): permanent.
      const error = caught instanceof PushRelayError ? caught : new PushRelayError('push.network', 'push request failed', { retryable: false, cause: caught });
      this.emit('attempt-failed', { node: entry.job.node, service: entry.job.service, error, attempt: entry.attempts });
      if (!error.retryable) {
        this.#finish(entry, error);
        return;
      }
      if (entry.attempts >= this.#maxAttempts) {
        this.#finish(entry, new PushRelayError('push.gave-up', `gave up after ${entry.attempts} attempts (${error.code})`, { retryable: false, cause: error }));
        return;
      }
      if (this.#stopped) {
        this.#wipe(entry);
        return;
      }
      const delay = this.#delay(entry.attempts);
      this.#waiting.add(entry);
      entry.timer = setTimeout(() => {
        this.#waiting.delete(entry);
        entry.timer = undefined;
        this.#ready.push(entry);
        this.#pump();
      }, delay);
      entry.timer.unref();
    }
  }

  /** base * 2^(n-1), capped, minus up to 25 % jitter (so retries of many jobs spread out). */
  #delay(attempt: number): number {
    const exp = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    const r = (this.#random(1)[0] ?? 0) / 255;
    return Math.round(exp * (1 - 0.25 * r));
  }

  #finish(entry: Entry, error: PushRelayError): void {
    this.#wipe(entry);
    this.emit('outcome', { kind: 'failed', node: entry.job.node, service: entry.job.service, error, attempts: entry.attempts } satisfies RelayOutcome);
  }

  #wipe(entry: Entry): void {
    entry.request?.body.fill(0);
    entry.request = undefined;
  }
}
