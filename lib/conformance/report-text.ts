/** The conformance report as a terminal matrix, and the progress lines printed while it runs. */
import type { ConformanceReport, ProgressEvent, ScenarioResult } from './runner.js';

const MARK: Record<ScenarioResult['status'], string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR' };

/** One progress line per finished scenario: `[ 3/21] PASS  start.whitespace.reference  (412 ms)`. */
export function progressLine(event: ProgressEvent): string | undefined {
  if (event.kind !== 'done') return undefined;
  const width = String(event.total).length;
  const r = event.result;
  return `[${String(event.index + 1).padStart(width)}/${event.total}] ${MARK[r.status].padEnd(5)} ${r.id}  (${Math.round(r.durationMs)} ms)${r.message === undefined ? '' : `\n        ${r.message}`}`;
}

/** The whole report as a matrix: one row per scenario, then the summary. */
export function formatTextReport(report: ConformanceReport): string {
  const idWidth = Math.max(8, ...report.results.map((r) => r.id.length));
  const lines = [
    `${report.tool}`,
    `implementation under test: ${report.implementation}`,
    `reference peer:            ${report.reference}`,
    '',
    `${'scenario'.padEnd(idWidth)}  result  wire  title`,
    `${'-'.repeat(idWidth)}  ------  ----  -----`,
  ];
  for (const r of report.results) {
    lines.push(`${r.id.padEnd(idWidth)}  ${MARK[r.status].padEnd(6)}  ${String(r.wireCount).padStart(4)}  ${r.title}`);
    if (r.message !== undefined) lines.push(`${' '.repeat(idWidth)}          -> ${r.message}`);
  }
  const s = report.summary;
  lines.push('', `conformance: ${s.passed} passed, ${s.failed} failed, ${s.errors} errors (${(report.durationMs / 1000).toFixed(1)} s)`);
  return lines.join('\n');
}
