/**
 * Benchmark runner, same-run comparisons with the real peers:
 * - OTR: OUR engine, libotr 4.1.1 (C, timed inside the harness' --bench mode, no IPC measured)
 *   and otr.js 0.2.16;
 * - OMEMO: OUR stack (0.3 and omemo:2), python-omemo 1.0 (Debian; timed inside Python, see
 *   bench/omemo_python_bench.py) and Signal's libsignal-client (native, in-process; the 0.3
 *   rows only).
 *
 *   npm run bench                      table (both halves)
 *   npm run bench -- --only otr        only the OTR half (or --only omemo)
 *   npm run bench -- --json            [{"name","ours","peer","peerValue","unit","ratio"}]
 *   npm run bench -- --quick           fewer repetitions (smoke run)
 *
 * ratio = ours / peer's value. Units: "ms" and "us" (lower is better: AKE, SMP, OMEMO
 * operations) and "msg/s" (higher is better: OTR data). Targets vs libotr: otr.ake <= 0.7,
 * otr.data.alternating.100B >= 1.5, otr.data.oneway.* >= 0.5, smp.full <= 0.7. Targets for
 * every omemo.* row: <= 0.2 vs python-omemo (5x faster), <= 2 vs libsignal. Every figure is a
 * median of several repetitions; the OMEMO implementations take turns over 2 rounds and each
 * shows the best of its 2 medians. A missing libsignal is reported and its rows skipped; a
 * missing python-omemo is reported and makes the run exit non-zero.
 */
import { runLibotrBench } from './libotr-bench.js';
import { runOmemoOursBench } from './omemo-ours-bench.js';
import { loadLibsignal, runOmemoLibsignalBench } from './omemo-libsignal-bench.js';
import { runOmemoPythonBench } from './omemo-python-bench.js';
import { runOtrjsBench } from './otrjs-bench.js';
import type { BenchCounts, ImplementationResults, OmemoBenchCounts, OmemoBenchVersion, OmemoResults, OmemoVersionResults } from './stats.js';

type Unit = 'ms' | 'us' | 'msg/s';

interface Row {
  readonly name: string;
  readonly ours: number | null;
  readonly peer: string;
  readonly peerValue: number;
  readonly unit: Unit;
  readonly ratio: number | null;
}

interface Target {
  readonly op: '<=' | '>=';
  readonly value: number;
}

const argv = process.argv.slice(2);
const args = new Set(argv);
const json = args.has('--json');
const quick = args.has('--quick');
const onlyIndex = argv.findIndex((a) => a === '--only' || a.startsWith('--only='));
const only = onlyIndex < 0 ? undefined : argv[onlyIndex]?.startsWith('--only=') ? argv[onlyIndex]?.slice('--only='.length) : argv[onlyIndex + 1];
if (onlyIndex >= 0 && only !== 'otr' && only !== 'omemo') {
  console.error('usage: npm run bench -- [--json] [--quick] [--only otr|omemo]');
  process.exit(2);
}
const runOtr = only === undefined || only === 'otr';
const runOmemo = only === undefined || only === 'omemo';

const counts: BenchCounts = quick
  ? { akeRuns: 5, alternating: 200, oneway100: 200, oneway10k: 50, smpRuns: 5, trials: 3 }
  : { akeRuns: 30, alternating: 2000, oneway100: 2000, oneway10k: 500, smpRuns: 20, trials: 5 };
// otr.js does a pure-JS DH per direction change (~60 ms) and CryptoJS AES (~12 ms per 10 KB)
const otrjsCounts: BenchCounts = quick
  ? { akeRuns: 3, alternating: 20, oneway100: 200, oneway10k: 20, smpRuns: 3, trials: 3 }
  : { akeRuns: 15, alternating: 60, oneway100: 1000, oneway10k: 100, smpRuns: 10, trials: 5 };
// the same for the three OMEMO implementations
const omemoCounts: OmemoBenchCounts = quick
  ? { setupRuns: 5, messages: 100, fanoutRuns: 3 }
  : { setupRuns: 20, messages: 500, fanoutRuns: 8 };
// every OMEMO implementation runs this many times, taking turns (python-omemo ~15-20 s a round)
const OMEMO_ROUNDS = quick ? 1 : 2;

const log = (s: string): void => {
  if (!json) console.log(s);
  else console.error(s);
};
const reason = (error: unknown): string => (error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error));

const METRICS: readonly { name: string; unit: 'ms' | 'msg/s'; pick: (r: ImplementationResults) => number | undefined }[] = [
  { name: 'otr.ake', unit: 'ms', pick: (r) => r.akeMs },
  { name: 'otr.data.alternating.100B', unit: 'msg/s', pick: (r) => r.alternating100 },
  { name: 'otr.data.oneway.100B', unit: 'msg/s', pick: (r) => r.oneway100 },
  { name: 'otr.data.oneway.10KB', unit: 'msg/s', pick: (r) => r.oneway10k },
  { name: 'smp.full', unit: 'ms', pick: (r) => r.smpMs },
];

const TARGETS: Readonly<Record<string, Target>> = {
  'otr.ake': { op: '<=', value: 0.7 },
  'otr.data.alternating.100B': { op: '>=', value: 1.5 },
  'otr.data.oneway.100B': { op: '>=', value: 0.5 },
  'otr.data.oneway.10KB': { op: '>=', value: 0.5 },
  'smp.full': { op: '<=', value: 0.7 },
};

/** OMEMO metrics: name suffix, unit (per-message figures in microseconds) and the field. */
const OMEMO_METRICS: readonly { suffix: string; unit: 'ms' | 'us'; pick: (r: OmemoVersionResults) => number }[] = [
  { suffix: 'x3dh', unit: 'ms', pick: (r) => r.x3dhMs },
  { suffix: 'encrypt.100B', unit: 'us', pick: (r) => r.encrypt100Ms * 1000 },
  { suffix: 'decrypt.100B', unit: 'us', pick: (r) => r.decrypt100Ms * 1000 },
  { suffix: 'fanout.10', unit: 'ms', pick: (r) => r.fanout10Ms },
  { suffix: 'fanout.100', unit: 'ms', pick: (r) => r.fanout100Ms },
];

const OMEMO_TARGETS: Readonly<Record<string, Target>> = {
  'python-omemo': { op: '<=', value: 0.2 },
  libsignal: { op: '<=', value: 2 },
};

function targetFor(row: Row): Target | undefined {
  if (row.name.startsWith('omemo.')) return OMEMO_TARGETS[row.peer];
  return row.peer === 'libotr' ? TARGETS[row.name] : undefined;
}

async function otrRows(): Promise<Row[]> {
  let ours: ImplementationResults | undefined;
  try {
    // imported lazily, by a computed path: the peers' side must run (and this file must
    // type-check) even when our engine is missing or does not load
    const oursModule = './ours-bench.js';
    const { runOursBench } = (await import(oursModule)) as {
      runOursBench(c: BenchCounts): Promise<ImplementationResults>;
    };
    log('otr: running ours...');
    ours = await runOursBench(counts);
  } catch (error) {
    log(`otr: ours NOT MEASURED (${reason(error)})`);
  }
  log('otr: running libotr (C, in-process timing)...');
  const libotr = runLibotrBench(counts);
  log(`otr: libotr ${libotr.version}`);
  log('otr: running otr.js...');
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
      rows.push({ name: m.name, ours: o ?? null, peer, peerValue, unit: m.unit, ratio: o === undefined ? null : o / peerValue });
    }
  }
  return rows;
}

/** Field-wise minimum of several rounds' medians (a version missing from a round is skipped). */
function bestOf(rounds: readonly OmemoResults[]): OmemoResults {
  const out: OmemoResults = {};
  for (const version of ['v03', 'v2'] as const) {
    const present = rounds.map((r) => r[version]).filter((r): r is OmemoVersionResults => r !== undefined);
    if (present.length === 0) continue;
    const min = (pick: (r: OmemoVersionResults) => number): number => Math.min(...present.map(pick));
    out[version] = {
      x3dhMs: min((r) => r.x3dhMs),
      encrypt100Ms: min((r) => r.encrypt100Ms),
      decrypt100Ms: min((r) => r.decrypt100Ms),
      fanout10Ms: min((r) => r.fanout10Ms),
      fanout100Ms: min((r) => r.fanout100Ms),
    };
  }
  return out;
}

/**
 * The OMEMO implementations take turns (ours, libsignal, python-omemo) for `OMEMO_ROUNDS`
 * rounds; each figure is the best of its `OMEMO_ROUNDS` medians, so a noisy neighbour during
 * one implementation's turn does not decide a ratio.
 */
async function omemoRows(): Promise<Row[]> {
  let libsignal: Awaited<ReturnType<typeof loadLibsignal>> | undefined;
  try {
    libsignal = await loadLibsignal();
  } catch (error) {
    log(`omemo: libsignal-client SKIPPED (${reason(error)}); it is the devDependency @signalapp/libsignal-client (prebuilt native binaries)`);
  }
  // one small untimed pass of each in-process implementation first: JIT warm-up
  const warmup: OmemoBenchCounts = { setupRuns: 2, messages: 200, fanoutRuns: 1 };
  try {
    runOmemoOursBench(warmup);
    if (libsignal !== undefined) await runOmemoLibsignalBench(libsignal.lib, warmup);
  } catch {
    // reported by the timed rounds below
  }
  const collected = new Map<string, OmemoResults[]>([['ours', []], ['python-omemo', []], ['libsignal', []]]);
  let pythonVersion: string | undefined;
  for (let round = 1; round <= OMEMO_ROUNDS; round++) {
    const tag = `omemo (round ${round}/${OMEMO_ROUNDS})`;
    try {
      log(`${tag}: running ours (0.3 and omemo:2)...`);
      collected.get('ours')?.push(runOmemoOursBench(omemoCounts));
    } catch (error) {
      log(`${tag}: ours NOT MEASURED (${reason(error)})`);
      process.exitCode = 1;
    }
    if (libsignal !== undefined) {
      try {
        log(`${tag}: running libsignal-client ${libsignal.version} (native, in-process; 0.3 rows)...`);
        collected.get('libsignal')?.push({ v03: await runOmemoLibsignalBench(libsignal.lib, omemoCounts) });
      } catch (error) {
        log(`${tag}: libsignal-client NOT MEASURED (${reason(error)})`);
      }
    }
    try {
      log(`${tag}: running python-omemo (Debian, timed inside Python)...`);
      const python = runOmemoPythonBench(omemoCounts);
      pythonVersion = python.version;
      collected.get('python-omemo')?.push(python);
    } catch (error) {
      log(`${tag}: python-omemo NOT MEASURED (${reason(error)}); install: apt-get install -y python3-omemo python3-oldmemo python3-twomemo`);
      process.exitCode = 1;
    }
  }
  if (pythonVersion !== undefined) log(`omemo: python-omemo ${pythonVersion}`);
  const oursRounds = collected.get('ours') ?? [];
  const ours = oursRounds.length === 0 ? undefined : bestOf(oursRounds);
  const peers: [string, OmemoResults][] = [];
  for (const peer of ['python-omemo', 'libsignal']) {
    const rounds = collected.get(peer) ?? [];
    if (rounds.length > 0) peers.push([peer, bestOf(rounds)]);
  }

  const rows: Row[] = [];
  for (const version of ['v03', 'v2'] as const satisfies readonly OmemoBenchVersion[]) {
    for (const m of OMEMO_METRICS) {
      for (const [peer, results] of peers) {
        const theirs = results[version];
        if (theirs === undefined) continue;
        const peerValue = m.pick(theirs);
        const mine = ours?.[version];
        const o = mine === undefined ? null : m.pick(mine);
        rows.push({ name: `omemo.${version}.${m.suffix}`, ours: o, peer, peerValue, unit: m.unit, ratio: o === null ? null : o / peerValue });
      }
    }
  }
  return rows;
}

async function main(): Promise<void> {
  log(`bench: Node ${process.version}${quick ? ' (quick)' : ''}${only === undefined ? '' : ` (only ${only})`}`);
  const rows: Row[] = [];
  if (runOtr) rows.push(...(await otrRows()));
  if (runOmemo) rows.push(...(await omemoRows()));

  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const fmt = (v: number | null): string => (v === null ? 'n/a' : v >= 100 ? v.toFixed(0) : v.toFixed(3));
  console.log('');
  console.log(`${'metric'.padEnd(28)}${'unit'.padEnd(7)}${'ours'.padStart(11)}${'peer'.padStart(14)}${'peer value'.padStart(12)}${'ratio'.padStart(9)}  target`);
  for (const r of rows) {
    const t = targetFor(r);
    let verdict = '';
    if (t !== undefined) {
      const ok = r.ratio !== null && (t.op === '<=' ? r.ratio <= t.value : r.ratio >= t.value);
      verdict = `${t.op} ${t.value}  ${r.ratio === null ? '-' : ok ? 'MET' : 'MISSED'}`;
    }
    console.log(
      `${r.name.padEnd(28)}${r.unit.padEnd(7)}${fmt(r.ours).padStart(11)}${r.peer.padStart(14)}${fmt(r.peerValue).padStart(12)}${(r.ratio === null ? 'n/a' : r.ratio.toFixed(2)).padStart(9)}  ${verdict}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
