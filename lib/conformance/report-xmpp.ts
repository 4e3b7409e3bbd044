/**
 * Reports of a run over XMPP: the common text and HTML reports (report-text.ts,
 * report-html.ts), with the connection and the scenarios that are not applicable over XMPP,
 * each with its reason. (The JSON report is the `XmppConformanceReport` itself.)
 */
import { escapeHtml, formatHtmlReport } from './report-html.js';
import { formatTextReport } from './report-text.js';
import type { XmppConformanceReport } from './runner-xmpp.js';

/** The matrix, then one `N/A` line per scenario not run, with its reason. */
export function formatXmppTextReport(report: XmppConformanceReport): string {
  const lines = [formatTextReport(report), `kit connection: ${report.connection}`];
  if (report.notApplicable.length > 0) {
    const width = Math.max(8, ...report.notApplicable.map((n) => n.id.length));
    lines.push('', `not applicable over XMPP (${report.notApplicable.length}, not counted):`);
    for (const n of report.notApplicable) lines.push(`${n.id.padEnd(width)}  N/A     ${n.reason}`);
  }
  return lines.join('\n');
}

/** The HTML report with a section listing the connection and the scenarios not applicable. */
export function formatXmppHtmlReport(report: XmppConformanceReport): string {
  const rows = report.notApplicable
    .map((n) => `<tr><td><code>${escapeHtml(n.id)}</code></td><td>N/A</td><td>${escapeHtml(n.title)}</td><td>${escapeHtml(n.reason)}</td></tr>`)
    .join('\n');
  const section = `<section id="not-applicable"><h2>Over XMPP</h2>
<p>The implementation under test (<code>${escapeHtml(report.peer)}</code>) was reached over XMPP; what it showed was read through the echo contract. Kit connection: ${escapeHtml(report.connection)}.</p>
${report.notApplicable.length === 0 ? '' : `<h3>Not applicable over XMPP (not counted)</h3>
<table><thead><tr><th>scenario</th><th>result</th><th>what</th><th>why not</th></tr></thead><tbody>
${rows}
</tbody></table>`}
</section>
`;
  const page = formatHtmlReport(report);
  const at = page.lastIndexOf('<p><small>');
  return at < 0 ? page : `${page.slice(0, at)}${section}${page.slice(at)}`;
}
