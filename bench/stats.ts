/** Small statistics and timing helpers for the benchmark runner. */
import { performance } from 'node:perf_hooks';

/** Median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Monotonic milliseconds. */
export function nowMs(): number {
  return performance.now();
}

/** A 'a'..'z' repeating ASCII payload of `size` bytes (the same payload every side sends). */
export function payload(size: number): string {
  let s = '';
  for (let i = 0; i < size; i++) s += String.fromCharCode(97 + (i % 26));
  return s;
}

/** Medians measured for one implementation, in the runner's units. */
export interface ImplementationResults {
  /** AKE: query message -> both sides ENCRYPTED, milliseconds. */
  readonly akeMs: number;
  /** 100-byte messages, direction alternating every message, messages per second. */
  readonly alternating100: number;
  /** 100-byte one-way burst, messages per second. */
  readonly oneway100: number;
  /** 10 KiB one-way burst, messages per second. */
  readonly oneway10k: number;
  /** SMP: initiate -> both sides report success, milliseconds. */
  readonly smpMs: number | undefined;
}

/** Repetition counts (the same for every implementation unless noted). */
export interface BenchCounts {
  readonly akeRuns: number;
  readonly alternating: number;
  readonly oneway100: number;
  readonly oneway10k: number;
  readonly smpRuns: number;
  /** Timed trials of each data loop (the median trial is reported). */
  readonly trials: number;
}

/** The OMEMO versions benchmarked: 0.3 (`eu.siacs.conversations.axolotl`) and omemo:2. */
export type OmemoBenchVersion = 'v03' | 'v2';

/**
 * OMEMO medians for one implementation and one version. Every figure is milliseconds per
 * operation (the runner shows the per-message ones in microseconds).
 */
export interface OmemoVersionResults {
  /** Session set-up: active side builds the session from a parsed bundle (X3DH, signature check, first ratchet message carrying the key material, key-exchange encoding) + passive side decodes it, runs X3DH and opens the first message. */
  readonly x3dhMs: number;
  /** One 100-byte message to one device of an established session. */
  readonly encrypt100Ms: number;
  /** Opening one such message. */
  readonly decrypt100Ms: number;
  /** One 100-byte message to 10 devices: one payload encryption + one ratchet message per device. */
  readonly fanout10Ms: number;
  /** The same to 100 devices. */
  readonly fanout100Ms: number;
}

/** OMEMO results per version (a version an implementation does not speak is absent). */
export type OmemoResults = Partial<Record<OmemoBenchVersion, OmemoVersionResults>>;

/** Repetition counts of the OMEMO benchmark (the same for every implementation). */
export interface OmemoBenchCounts {
  /** Timed session set-ups (the median is reported; one untimed warm-up first). */
  readonly setupRuns: number;
  /** Messages encrypted then decrypted, each timed on its own (the median is reported). */
  readonly messages: number;
  /** Timed fan-out messages per device count (one untimed warm-up first). */
  readonly fanoutRuns: number;
}

/** Untimed session set-ups before the timed ones (JIT warm-up), in every OMEMO bench. */
export const SETUP_WARMUP = 3;
/** Messages encrypted and decrypted before the timed ones, in every OMEMO bench. */
export const MESSAGE_WARMUP = 100;
