/**
 * Benchmark runner: OUR OTR engine, libotr 4.1.1 (C, timed inside the harness' --bench mode,
 * no IPC measured) and otr.js 0.2.16, in the SAME run, with same-run ratios.
 *
 *   npm run bench              table
 *   npm run bench -- --json    [{"name","ours","peer","peerValue","unit","ratio"}]
 *   npm run bench -- --quick   fewer repetitions (smoke run)
 *
 * ratio = ours / peer's value. Units: "ms" (lower is better: AKE, SMP) and "msg/s" (higher
 * is better: data). Targets vs libotr: otr.ake <= 0.7, otr.data.alternating.100B >= 1.5,
 * otr.data.oneway.* >= 0.5, smp.full <= 0.7. Every figure is a median of several repetitions.
 */
import { runLibotrBench } from './libotr-bench.js';
import { runOtrjsBench } from './otrjs-bench.js';
import type { BenchCounts, ImplementationResults } from './stats.js';

interface Row {
  readonly name: string;
  readonly ours: number | null;
  readonly peer: string;
  readonly peerValue: number;
  readonly unit: 'ms' | 'msg/s';
  readonly ratio: number | null;
}

const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const quick = args.has('--quick');

const counts: BenchCounts = quick
  ? { akeRuns: 5, alternating: 200, oneway100: 200, oneway10k: 50, smpRuns: 5, trials: 3 }
  : { akeRuns: 30, alternating: 2000, oneway100: 2000, oneway10k: 500, smpRuns: 20, trials: 5 };
// otr.js does a pure-JS DH per direction change (~60 ms) and CryptoJS AES (~12 ms per 10 KB)
const otrjsCounts: BenchCounts = quick
  ? { akeRuns: 3, alternating: 20, oneway100: 200, oneway10k: 20, smpRuns: 3, trials: 3 }
  : { akeRuns: 15, alternating: 60, oneway100: 1000, oneway10k: 100, smpRuns: 10, trials: 5 };

const log = (s: string): void => {
  if (!json) console.log(s);
  else console.error(s);
};

const METRICS: readonly { name: string; unit: 'ms' | 'msg/s'; pick: (r: ImplementationResults) => number | undefined }[] = [
  { name: 'otr.ake', unit: 'ms', pick: (r) => r.akeMs },
  { name: 'otr.data.alternating.100B', unit: 'msg/s', pick: (r) => r.alternating100 },
  { name: 'otr.data.oneway.100B', unit: 'msg/s', pick: (r) => r.oneway100 },
  { name: 'otr.data.oneway.10KB', unit: 'msg/s', pick: (r) => r.oneway10k },
  { name: 'smp.full', unit: 'ms', pick: (r) => r.smpMs },
];

const TARGETS: Readonly<Record<string, { op: '<=' | '>='; value: number }>> = {
  'otr.ake': { op: '<=', value: 0.7 },
  'otr.data.alternating.100B': { op: '>=', value: 1.5 },
  'otr.data.oneway.100B': { op: '>=', value: 0.5 },
  'otr.data.oneway.10KB': { op: '>=', value: 0.5 },
  'smp.full': { op: '<=', value: 0.7 },
};

async function main(): Promise<void> {
  log(`bench: Node ${process.version}${quick ? ' (quick)' : ''}`);
  let ours: ImplementationResults | undefined;
  try {
    // imported lazily, by a computed path: the peers' side must run (and this file must
    // type-check) even when our engine is missing or does not load
    const oursModule = './ours-bench.js';
    const { runOursBench } = (await import(oursModule)) as {
      runOursBench(c: BenchCounts): Promise<ImplementationResults>;
    };
    log('running ours...');
    ours = await runOursBench(counts);
  } catch (error) {
    log(`ours: NOT MEASURED (${error instanceof Error ? error.message : String(error)})`);
  }
  log('running libotr (C, in-process timing)...');
  const libotr = runLibotrBench(counts);
  log(`libotr ${libotr.version}`);
  log('running otr.js...');
  const otrjs = runOtrjsBench(otrjsCounts);

  const rows: Row[] = [];
  for (const m of METRICS) {
    for (const [peer, results] of [
      ['libotr', libotr],
      ['otr.js', otrjs],
    ] as const) {
      const peerValue = m.pick(results);
      if (peerValue === undefined) continue;
      const o = ours === undefined ? undefined : m.pick(ours);
      rows.push({
        name: m.name,
        ours: o ?? null,
        peer,
        peerValue,
        unit: m.unit,
        ratio: o === undefined ? null : o / peerValue,
      });
    }
  }

  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const fmt = (v: number | null): string => (v === null ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(3));
  console.log('');
  console.log(`${'metric'.padEnd(28)}${'unit'.padEnd(7)}${'ours'.padStart(11)}${'peer'.padStart(9)}${'peer value'.padStart(12)}${'ratio'.padStart(9)}  target (vs libotr)`);
  for (const r of rows) {
    const t = TARGETS[r.name];
    let verdict = '';
    if (r.peer === 'libotr' && t !== undefined) {
      const ok = r.ratio !== null && (t.op === '<=' ? r.ratio <= t.value : r.ratio >= t.value);
      verdict = `${t.op} ${t.value}  ${r.ratio === null ? '-' : ok ? 'MET' : 'MISSED'}`;
    }
    console.log(
      `${r.name.padEnd(28)}${r.unit.padEnd(7)}${fmt(r.ours).padStart(11)}${r.peer.padStart(9)}${fmt(r.peerValue).padStart(12)}${(r.ratio === null ? 'n/a' : r.ratio.toFixed(2)).padStart(9)}  ${verdict}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
