/**
 * Runs the OMEMO scenarios over XMPP (scenarios-xmpp-omemo.ts) with the shared matrix runner:
 * one connection and one kit device for the whole run (party-xmpp-omemo.ts), so the
 * key-exchange scenario of each version comes first and the others continue its sessions.
 * Each scenario's evidence is the slice of the wire log written while it ran; after each
 * scenario the kit waits for the implementation to fall silent. The scenarios the echo
 * contract cannot decide are listed with their reason, never counted as passed.
 */
import { runGuarded, runMatrix, type ProgressEvent, type ScenarioResult } from './runner.js';
import type { NotApplicableResult, XmppConformanceReport } from './runner-xmpp.js';
import type { XmppOmemoWire } from './party-xmpp-omemo.js';
import type { XmppOmemoRunnableScenario, XmppOmemoScenario, XmppOmemoScenarioOptions } from './scenarios-xmpp-omemo.js';

/** Options of {@link runXmppOmemoConformance}. */
export interface XmppOmemoRunOptions {
  /** The kit's connection, online, its device published. */
  readonly wire: XmppOmemoWire;
  readonly scenarios: readonly XmppOmemoScenario[];
  readonly options: XmppOmemoScenarioOptions;
  /** Name of the implementation in reports (default: its JID). */
  readonly label?: string;
  /** Per scenario (default 120 s). */
  readonly timeoutMs?: number;
  readonly onProgress?: (event: ProgressEvent) => void;
}

function describeConnection(wire: XmppOmemoWire): string {
  const s = wire.security;
  if (s === undefined) return 'unknown';
  if (s.kind !== 'tls') return s.kind;
  return `${s.protocol} (${s.method}, certificate ${s.validation}${s.pinned ? ', pinned' : ''}), server key sha256/${s.certificate.spkiSha256}`;
}

async function quiet(wire: XmppOmemoWire, ms: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  let count = wire.log.length;
  let since = performance.now();
  while (performance.now() < deadline && performance.now() - since < ms) {
    await new Promise((r) => setTimeout(r, 50));
    if (wire.log.length !== count) {
      count = wire.log.length;
      since = performance.now();
    }
  }
}

function runOne(scenario: XmppOmemoRunnableScenario, run: XmppOmemoRunOptions): Promise<ScenarioResult> {
  const wire = run.wire;
  const from = wire.log.length;
  return runGuarded(scenario, run.timeoutMs ?? 120_000, async (guarded) => {
    guarded.parties.push({
      async close(): Promise<void> {
        await quiet(wire, run.options.settleMs);
        guarded.log = wire.log.slice(from);
      },
    });
    guarded.log = wire.log.slice(from);
    await scenario.run({ wire, options: run.options, note: (text: string) => guarded.notes.push(text) });
  });
}

/** Runs the applicable scenarios one after the other over `run.wire` and returns the report (the same shape as the OTR run over XMPP, family `omemo`). */
export async function runXmppOmemoConformance(run: XmppOmemoRunOptions): Promise<XmppConformanceReport> {
  const notApplicable: NotApplicableResult[] = [];
  const runnable: XmppOmemoRunnableScenario[] = [];
  for (const s of run.scenarios) {
    if (s.kind === 'runs') runnable.push(s);
    else notApplicable.push({ id: s.id, title: s.title, description: s.description, reason: s.reason });
  }
  const report = await runMatrix(
    {
      tool: 'xmpp-otr-omemo conformance (OMEMO over XMPP)',
      family: 'omemo',
      implementation: { label: run.label ?? `${run.wire.peerJid} (over XMPP, echo contract)` },
      reference: { label: `xmpp-otr-omemo OMEMO plugin (in-process) as ${run.wire.ownJid}, device ${run.wire.deviceId}` },
      scenarios: runnable,
      ...(run.onProgress === undefined ? {} : { onProgress: run.onProgress }),
    },
    (scenario) => runOne(scenario, run),
  );
  return { ...report, mode: 'xmpp', peer: run.wire.peerJid, connection: describeConnection(run.wire), notApplicable };
}
