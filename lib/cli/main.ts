#!/usr/bin/env node
/**
 * The package's command line (`npx xmpp-otr-omemo ...`):
 *
 *   conformance [options] -- PROGRAM [ARGS...]   run the OTR scenario matrix against a program
 *                                                 speaking the line protocol (docs/CONFORMANCE.md)
 *   conformance --iut ours|libotr [options]      ... against our engine or the system's libotr
 *     --reference ours|libotr|PROGRAM   the peer to test against (default: ours, in-process;
 *                                libotr: our harness, compiled against libotr5-dev on first use)
 *     --only ID[,ID...]          scenarios by id or prefix (e.g. smp,hostile.bad-mac)
 *     --json FILE|-              write the JSON report (- = stdout, then no matrix)
 *     --html FILE                write the self-contained HTML report
 *     --label NAME               name of the implementation in reports
 *     --list                     list the scenarios and exit
 *   line-peer [--broken B[,B]]   our engine on stdin/stdout, speaking the line protocol
 *
 * Exit status: 0 all scenarios passed, 1 some failed, 2 bad usage.
 */
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { buildLibotrHarness } from '../conformance/libotr-harness.js';
import { BROKEN_BEHAVIOURS, OurLineHandler, type BrokenBehaviour } from '../conformance/our-line-handler.js';
import { inProcessOurEngine, spawnLineProgram } from '../conformance/party.js';
import { formatHtmlReport } from '../conformance/report-html.js';
import { formatTextReport, progressLine } from '../conformance/report-text.js';
import { runConformance, type PartyFactory } from '../conformance/runner.js';
import { OTR_SCENARIOS, selectScenarios } from '../conformance/scenarios.js';

class UsageError extends Error {}

function parseBroken(value: string | undefined): BrokenBehaviour[] {
  if (value === undefined || value === '') return [];
  const names = value.split(',');
  for (const n of names) if (!(BROKEN_BEHAVIOURS as readonly string[]).includes(n)) throw new UsageError(`unknown --broken behaviour: ${n} (known: ${BROKEN_BEHAVIOURS.join(', ')})`);
  return names as BrokenBehaviour[];
}

async function linePeer(args: string[]): Promise<number> {
  let broken: BrokenBehaviour[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--broken') broken = parseBroken(args[++i]);
    else throw new UsageError(`line-peer: unknown argument ${String(args[i])}`);
  }
  const handler = new OurLineHandler(broken);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    process.stdout.write(`${handler.handleLine(line)}\n`);
    if (handler.quit) break;
  }
  lines.close();
  return 0;
}

/** `ours` (in-process), `libotr` (our harness, compiled on first use), or a program path. */
function factory(spec: string, label: string | undefined): PartyFactory {
  if (spec === 'ours') return { label: label ?? 'xmpp-otr-omemo (in-process)', create: () => inProcessOurEngine() };
  if (spec === 'libotr') {
    const binary = buildLibotrHarness();
    return { label: label ?? 'libotr (system library, through the harness)', create: () => spawnLineProgram([binary], { label: 'libotr' }) };
  }
  return { label: label ?? spec, create: () => spawnLineProgram([spec]) };
}

async function conformance(args: string[]): Promise<number> {
  const dashdash = args.indexOf('--');
  const program = dashdash >= 0 ? args.slice(dashdash + 1) : [];
  const options = dashdash >= 0 ? args.slice(0, dashdash) : args;
  let iut: string | undefined;
  let reference = 'ours';
  let only: string[] | undefined;
  let json: string | undefined;
  let html: string | undefined;
  let label: string | undefined;
  let list = false;
  for (let i = 0; i < options.length; i++) {
    const a = options[i];
    const value = (): string => {
      const v = options[++i];
      if (v === undefined) throw new UsageError(`${String(a)} needs a value`);
      return v;
    };
    if (a === '--iut') iut = value();
    else if (a === '--reference') reference = value();
    else if (a === '--only') only = value().split(',');
    else if (a === '--json') json = value();
    else if (a === '--html') html = value();
    else if (a === '--label') label = value();
    else if (a === '--list') list = true;
    else throw new UsageError(`conformance: unknown option ${String(a)}`);
  }
  const scenarios = selectScenarios(only);
  if (list) {
    for (const s of OTR_SCENARIOS) console.log(`${s.id.padEnd(32)} ${s.title}`);
    return 0;
  }
  if (scenarios.length === 0) throw new UsageError('no scenario matches --only');
  let implementation: PartyFactory;
  if (program.length > 0) {
    const [cmd] = program;
    implementation = { label: label ?? program.join(' '), create: () => spawnLineProgram(program, { label: cmd ?? 'program' }) };
  } else if (iut !== undefined) implementation = factory(iut, label);
  else throw new UsageError('conformance: give the implementation as -- PROGRAM [ARGS...] or --iut ours|libotr');
  const toStdout = json === '-';
  const report = await runConformance({
    implementation,
    reference: factory(reference, undefined),
    scenarios,
    onProgress: (event) => {
      const line = progressLine(event);
      if (line !== undefined) (toStdout ? process.stderr : process.stdout).write(`${line}\n`);
    },
  });
  if (json !== undefined) {
    const text = `${JSON.stringify(report, null, 2)}\n`;
    if (toStdout) process.stdout.write(text);
    else writeFileSync(json, text);
  }
  if (html !== undefined) writeFileSync(html, formatHtmlReport(report));
  if (!toStdout) console.log(`\n${formatTextReport(report)}`);
  return report.summary.failed + report.summary.errors === 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'conformance':
      return conformance(rest);
    case 'line-peer':
      return linePeer(rest);
    default:
      throw new UsageError('usage: xmpp-otr-omemo conformance [options] -- PROGRAM [ARGS...] | conformance --iut ours|libotr | line-peer [--broken ...]');
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(error.message);
      process.exitCode = 2;
    } else {
      console.error(error);
      process.exitCode = 1;
    }
  },
);
