/**
 * The conformance report as one self-contained HTML page (no scripts, no external files):
 * the matrix, then each scenario's description, notes and wire evidence.
 */
import type { ConformanceReport, ScenarioResult } from './runner.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1b1b}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
.pass{background:#e5f6e5}.fail{background:#fde2e2}.error{background:#fff1cc}
code,pre{font:12px/1.35 ui-monospace,monospace}pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.5em;margin:.2em 0}
details{margin:.4em 0 1em}summary{cursor:pointer;font-weight:600}.kit{color:#8a4b00}`;

function scenarioSection(r: ScenarioResult): string {
  const evidence = r.evidence
    .map(
      (e) =>
        `<pre class="${e.from === 'kit' ? 'kit' : ''}">${escapeHtml(`${e.from} -> ${e.to}${e.note === undefined ? '' : ` (${e.note})`}: ${e.text}`)}${e.omitted > 0 ? escapeHtml(` … (${e.omitted} more characters)`) : ''}</pre>`,
    )
    .join('\n');
  return `<section id="${escapeHtml(r.id)}"><h3>${escapeHtml(r.id)} — ${escapeHtml(r.status.toUpperCase())}</h3>
<p>${escapeHtml(r.description)}</p>
${r.message === undefined ? '' : `<p><strong>${escapeHtml(r.message)}</strong></p>`}
${r.notes.length === 0 ? '' : `<ul>${r.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`}
<details><summary>wire evidence (${r.evidence.length} of ${r.wireCount} messages)</summary>
${evidence}
</details></section>`;
}

/** The report as a complete HTML document. */
export function formatHtmlReport(report: ConformanceReport): string {
  const s = report.summary;
  const rows = report.results
    .map(
      (r) =>
        `<tr class="${r.status}"><td><a href="#${escapeHtml(r.id)}"><code>${escapeHtml(r.id)}</code></a></td><td>${escapeHtml(r.status.toUpperCase())}</td><td>${escapeHtml(r.title)}</td><td>${Math.round(r.durationMs)} ms</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`OTR conformance: ${report.implementation}`)}</title><style>${STYLE}</style></head>
<body>
<h1>OTR conformance report</h1>
<p>Implementation under test: <strong>${escapeHtml(report.implementation)}</strong><br>
Reference peer: ${escapeHtml(report.reference)}<br>
Run: ${escapeHtml(report.startedAt)}, ${(report.durationMs / 1000).toFixed(1)} s<br>
<strong>${s.passed} passed, ${s.failed} failed, ${s.errors} errors</strong></p>
<table><thead><tr><th>scenario</th><th>result</th><th>what</th><th>time</th></tr></thead><tbody>
${rows}
</tbody></table>
${report.results.map(scenarioSection).join('\n')}
<p><small>${escapeHtml(report.tool)}</small></p>
</body></html>
`;
}
