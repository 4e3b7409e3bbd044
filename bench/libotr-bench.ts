/**
 * libotr's numbers: the C harness' `--bench` mode runs two libotr accounts in one process
 * and times its own loops (no IPC in the measurement), reporting medians as JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHarness } from '../test/interop/libotr/libotr-peer.js';
import type { BenchCounts, ImplementationResults } from './stats.js';

interface HarnessBenchOutput {
  readonly libotr: string;
  readonly ake_ms: number;
  readonly alt100_msgs_per_s: number;
  readonly oneway100_msgs_per_s: number;
  readonly oneway10k_msgs_per_s: number;
  readonly smp_ms: number;
}

/** Runs the libotr benchmark; returns its medians and libotr's version string. */
export function runLibotrBench(counts: BenchCounts): ImplementationResults & { version: string } {
  const binary = buildHarness();
  const keyDir = mkdtempSync(join(tmpdir(), 'libotr-bench-'));
  try {
    const out = execFileSync(
      binary,
      [
        '--bench',
        keyDir,
        'v2,v3',
        String(counts.akeRuns),
        String(counts.alternating),
        String(counts.oneway100),
        String(counts.oneway10k),
        String(counts.smpRuns),
        String(counts.trials),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(out.trim()) as HarnessBenchOutput;
    return {
      version: r.libotr,
      akeMs: r.ake_ms,
      alternating100: r.alt100_msgs_per_s,
      oneway100: r.oneway100_msgs_per_s,
      oneway10k: r.oneway10k_msgs_per_s,
      smpMs: r.smp_ms,
    };
  } finally {
    rmSync(keyDir, { recursive: true, force: true });
  }
}
