/**
 * Runs conformance scenarios: for each, fresh processes (or in-process engines) for the
 * implementation under test and the reference peer, initialised with the scenario's policies
 * and long-term keys kept in a work directory for the whole run, then the scenario's body,
 * then both closed whatever happened. Results carry the wire evidence.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Exchange, type WireRecord } from './exchange.js';
import { Party, type LineTransport } from './party.js';
import { ScenarioFailure, type Scenario } from './scenario.js';

/** Makes a fresh endpoint for one scenario. */
export interface PartyFactory {
  /** Shown in reports, e.g. "libotr 4.1.1 (harness)" or "ours (in-process)". */
  readonly label: string;
  create(): LineTransport;
}

export type ScenarioStatus = 'pass' | 'fail' | 'error';

/** A wire record as kept in reports (long texts shortened). */
export interface EvidenceRecord extends WireRecord {
  /** Characters of `text` left out. */
  readonly omitted: number;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly status: ScenarioStatus;
  readonly durationMs: number;
  /** Why it failed or errored. */
  readonly message?: string;
  readonly notes: readonly string[];
  /** The first wire messages of the scenario (at most `MAX_EVIDENCE`). */
  readonly evidence: readonly EvidenceRecord[];
  /** Wire messages exchanged in all. */
  readonly wireCount: number;
}

/** The scenario families: OTR (scenarios.ts) and OMEMO (scenarios-omemo.ts). */
export type ScenarioFamily = 'otr' | 'omemo';

export interface ConformanceReport {
  readonly tool: string;
  /** Which scenarios ran (absent in reports written before OMEMO scenarios existed: OTR). */
  readonly family?: ScenarioFamily;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly implementation: string;
  readonly reference: string;
  readonly results: readonly ScenarioResult[];
  readonly summary: { readonly passed: number; readonly failed: number; readonly errors: number };
}

/** What the runner and the reports need of a scenario of any family (OTR or OMEMO). */
export interface ScenarioInfo {
  readonly id: string;
  readonly title: string;
  readonly description: string;
}

export type ProgressEvent =
  | { readonly kind: 'start'; readonly index: number; readonly total: number; readonly scenario: ScenarioInfo }
  | { readonly kind: 'done'; readonly index: number; readonly total: number; readonly result: ScenarioResult };

export interface RunOptions {
  readonly implementation: PartyFactory;
  readonly reference: PartyFactory;
  readonly scenarios: readonly Scenario[];
  /** Where long-term keys live during the run (default: a temp dir, removed at the end). */
  readonly workDir?: string;
  /** Per scenario (default 120 s). */
  readonly timeoutMs?: number;
  readonly onProgress?: (event: ProgressEvent) => void;
}

/** Most wire records kept per scenario in the report. */
export const MAX_EVIDENCE = 40;
/** Longest wire text kept in the report. */
export const MAX_EVIDENCE_TEXT = 400;

const IUT_ACCOUNT = 'iut@conformance.test';
const REFERENCE_ACCOUNT = 'reference@conformance.test';

/** The first wire records of a scenario, shortened for the report. */
export function evidence(log: readonly WireRecord[]): EvidenceRecord[] {
  return log.slice(0, MAX_EVIDENCE).map((r) => ({
    ...r,
    text: r.text.slice(0, MAX_EVIDENCE_TEXT),
    omitted: Math.max(0, r.text.length - MAX_EVIDENCE_TEXT),
  }));
}

/** `work`, or a rejection after `ms`. */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a scenario's set-up hands {@link runGuarded}: the parties to close and the wire log. */
export interface GuardedRun {
  /** Every party created so far (closed at the end, whatever happened). */
  readonly parties: { close(): Promise<void> }[];
  /** Set once the exchange exists, for the evidence. */
  log?: readonly WireRecord[];
  readonly notes: string[];
}

/**
 * Runs one scenario's set-up and body under the timeout, turns a `ScenarioFailure` into
 * "fail" and anything else into "error", always closes the parties, and builds the result.
 */
export async function runGuarded(scenario: ScenarioInfo, timeoutMs: number | undefined, body: (run: GuardedRun) => Promise<void>): Promise<ScenarioResult> {
  const started = performance.now();
  const run: GuardedRun = { parties: [], notes: [] };
  let status: ScenarioStatus = 'pass';
  let message: string | undefined;
  try {
    await withTimeout(body(run), timeoutMs ?? 120_000);
  } catch (error) {
    status = error instanceof ScenarioFailure ? 'fail' : 'error';
    message = error instanceof Error ? error.message : String(error);
  } finally {
    for (const party of run.parties) {
      try {
        await party.close();
      } catch {
        // a crashed party is already reported by the scenario's error
      }
    }
  }
  return {
    id: scenario.id,
    title: scenario.title,
    description: scenario.description,
    status,
    durationMs: performance.now() - started,
    notes: run.notes,
    evidence: evidence(run.log ?? []),
    wireCount: run.log?.length ?? 0,
    ...(message === undefined ? {} : { message }),
  };
}

function runOne(scenario: Scenario, options: RunOptions, workDir: string): Promise<ScenarioResult> {
  return runGuarded(scenario, options.timeoutMs, async (run) => {
    const iut = new Party('implementation', REFERENCE_ACCOUNT, options.implementation.create());
    run.parties.push(iut);
    const reference = new Party('reference', IUT_ACCOUNT, options.reference.create());
    run.parties.push(reference);
    const fragmentSize = scenario.setup.fragmentSize ?? 0;
    const iutInit = await iut.init({
      account: IUT_ACCOUNT,
      policy: scenario.setup.iutPolicy,
      keyfile: join(workDir, 'iut.key'),
      instagfile: join(workDir, 'iut.instag'),
      fragmentSize,
    });
    const refInit = await reference.init({
      account: REFERENCE_ACCOUNT,
      policy: scenario.setup.referencePolicy,
      keyfile: join(workDir, 'reference.key'),
      instagfile: join(workDir, 'reference.instag'),
      fragmentSize,
    });
    const exchange = new Exchange(iut, reference);
    run.log = exchange.log;
    await scenario.run({
      iut,
      reference,
      exchange,
      iutInstanceTag: iutInit.instance_tag ?? 0,
      referenceInstanceTag: refInit.instance_tag ?? 0,
      note: (text: string) => run.notes.push(text),
    });
  });
}

/** Options of {@link runMatrix}: the family-independent part of a run. */
export interface MatrixOptions<S extends ScenarioInfo> {
  /** Report title, e.g. `xmpp-otr-omemo conformance (OTR)`. */
  readonly tool: string;
  readonly family: ScenarioFamily;
  readonly implementation: { readonly label: string };
  readonly reference: { readonly label: string };
  readonly scenarios: readonly S[];
  readonly workDir?: string;
  readonly onProgress?: (event: ProgressEvent) => void;
}

/**
 * Runs `options.scenarios` one after the other with `runOne` (which never throws: it turns
 * failures into results) in a work directory, and returns the report. Shared by the OTR and
 * OMEMO families.
 */
export async function runMatrix<S extends ScenarioInfo>(options: MatrixOptions<S>, runOne: (scenario: S, workDir: string, index: number) => Promise<ScenarioResult>): Promise<ConformanceReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const ownDir = options.workDir === undefined;
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'otr-conformance-'));
  const results: ScenarioResult[] = [];
  try {
    const total = options.scenarios.length;
    for (const [index, scenario] of options.scenarios.entries()) {
      options.onProgress?.({ kind: 'start', index, total, scenario });
      const result = await runOne(scenario, workDir, index);
      results.push(result);
      options.onProgress?.({ kind: 'done', index, total, result });
    }
  } finally {
    if (ownDir) rmSync(workDir, { recursive: true, force: true });
  }
  return {
    tool: options.tool,
    family: options.family,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - t0,
    implementation: options.implementation.label,
    reference: options.reference.label,
    results,
    summary: {
      passed: results.filter((r) => r.status === 'pass').length,
      failed: results.filter((r) => r.status === 'fail').length,
      errors: results.filter((r) => r.status === 'error').length,
    },
  };
}

/** Runs `options.scenarios` (OTR) one after the other and returns the report. */
export async function runConformance(options: RunOptions): Promise<ConformanceReport> {
  return runMatrix({ ...options, tool: 'xmpp-otr-omemo conformance (OTR)', family: 'otr' }, (scenario, workDir) => runOne(scenario, options, workDir));
}
