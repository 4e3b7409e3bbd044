/**
 * Runs OMEMO conformance scenarios (scenarios-omemo.ts) with the shared matrix runner: for each,
 * a fresh implementation under test and reference peer, initialised with the scenario's version
 * and device counts, the scenario's body, then both closed whatever happened.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OmemoExchange } from './exchange-omemo.js';
import { OmemoParty } from './party-omemo.js';
import { runGuarded, runMatrix, type ConformanceReport, type PartyFactory, type ProgressEvent, type ScenarioResult } from './runner.js';
import type { OmemoScenario } from './scenario-omemo.js';

/** Options of {@link runOmemoConformance}. */
export interface OmemoRunOptions {
  readonly implementation: PartyFactory;
  readonly reference: PartyFactory;
  readonly scenarios: readonly OmemoScenario[];
  /** Where the parties may keep state (default: a temp dir, removed at the end); one subdirectory per scenario and side. */
  readonly workDir?: string;
  /** Per scenario (default 120 s). */
  readonly timeoutMs?: number;
  readonly onProgress?: (event: ProgressEvent) => void;
}

/** JID of the implementation under test. */
export const OMEMO_IUT_JID = 'iut@conformance.test';
/** JID of the reference peer. */
export const OMEMO_REFERENCE_JID = 'reference@conformance.test';

function runOne(scenario: OmemoScenario, options: OmemoRunOptions, workDir: string, index: number): Promise<ScenarioResult> {
  return runGuarded(scenario, options.timeoutMs, async (run) => {
    const iut = new OmemoParty('implementation', options.implementation.create());
    run.parties.push(iut);
    const reference = new OmemoParty('reference', options.reference.create());
    run.parties.push(reference);
    const dir = (side: string): string => {
      const d = join(workDir, `${index}-${side}`);
      mkdirSync(d, { recursive: true });
      return d;
    };
    await iut.init({ jid: OMEMO_IUT_JID, version: scenario.setup.version, stateDir: dir('iut'), devices: scenario.setup.iutDevices ?? 1 });
    await reference.init({ jid: OMEMO_REFERENCE_JID, version: scenario.setup.version, stateDir: dir('reference'), devices: scenario.setup.referenceDevices ?? 1 });
    const exchange = new OmemoExchange(iut, reference);
    run.log = exchange.log;
    await scenario.run({ version: scenario.setup.version, iut, reference, exchange, note: (text: string) => run.notes.push(text) });
  });
}

/** Runs `options.scenarios` one after the other and returns the report. */
export function runOmemoConformance(options: OmemoRunOptions): Promise<ConformanceReport> {
  return runMatrix({ ...options, tool: 'xmpp-otr-omemo conformance (OMEMO)', family: 'omemo' }, (scenario, workDir, index) => runOne(scenario, options, workDir, index));
}
