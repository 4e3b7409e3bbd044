/**
 * python-omemo's numbers: bench/omemo_python_bench.py runs Debian's python-omemo 1.0 backends
 * (oldmemo for 0.3, twomemo for omemo:2) in one Python process and times its own loops
 * (interpreter start-up and the pipe are not measured), reporting medians as JSON.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OmemoBenchCounts, OmemoResults, OmemoVersionResults } from './stats.js';

/** Debian's interpreter: the one that sees python3-omemo & co. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'omemo_python_bench.py');

interface PythonVersionOutput {
  readonly x3dh_ms: number;
  readonly encrypt100_ms: number;
  readonly decrypt100_ms: number;
  readonly fanout10_ms: number;
  readonly fanout100_ms: number;
}

interface PythonOutput {
  readonly python_omemo: string;
  readonly v03: PythonVersionOutput;
  readonly v2: PythonVersionOutput;
}

function convert(r: PythonVersionOutput): OmemoVersionResults {
  return {
    x3dhMs: r.x3dh_ms,
    encrypt100Ms: r.encrypt100_ms,
    decrypt100Ms: r.decrypt100_ms,
    fanout10Ms: r.fanout10_ms,
    fanout100Ms: r.fanout100_ms,
  };
}

/**
 * Runs the python-omemo benchmark; throws with python's stderr if the interpreter or the
 * packages (python3-omemo python3-oldmemo python3-twomemo) are missing.
 */
export function runOmemoPythonBench(counts: OmemoBenchCounts): OmemoResults & { version: string } {
  const out = execFileSync(
    DEBIAN_PYTHON,
    [SCRIPT, String(counts.setupRuns), String(counts.messages), String(counts.fanoutRuns)],
    { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const r = JSON.parse(out.trim()) as PythonOutput;
  return { version: r.python_omemo, v03: convert(r.v03), v2: convert(r.v2) };
}
