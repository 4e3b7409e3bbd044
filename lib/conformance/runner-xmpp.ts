/**
 * Runs the OTR scenarios over XMPP (scenarios-xmpp.ts) with the shared matrix runner: one XMPP
 * connection for the whole run (party-xmpp.ts), and for each scenario a fresh kit engine (our
 * engine in-process, the long-term key and instance tag kept in the run's work directory) on
 * a fresh `XmppExchange`. After each scenario, whatever happened, the kit ends its OTR session
 * (Disconnected TLV) and waits for the implementation to fall silent, so that the next
 * scenario starts from a clean state. The scenarios that cannot run over XMPP are listed in
 * the report with their reason, never counted as passed.
 */
import { join } from 'node:path';
import type { WireRecord } from './exchange.js';
import { XmppExchange } from './exchange-xmpp.js';
import { Party, inProcessOurEngine } from './party.js';
import { splitJid, type XmppPeerWire } from './party-xmpp.js';
import { runGuarded, runMatrix, type ConformanceReport, type ProgressEvent, type ScenarioResult } from './runner.js';
import { kitPolicyFor, notApplicableReason, type XmppRunnableScenario, type XmppScenario, type XmppScenarioOptions } from './scenarios-xmpp.js';

/** A scenario that was not run over XMPP, and why. */
export interface NotApplicableResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly reason: string;
}

/** The report of a run over XMPP: the common report, plus the scenarios not applicable. */
export interface XmppConformanceReport extends ConformanceReport {
  readonly mode: 'xmpp';
  /** The implementation under test's JID. */
  readonly peer: string;
  /** How the kit's connection was protected, e.g. `TLSv1.3, server key pin-sha256 ...`. */
  readonly connection: string;
  readonly notApplicable: readonly NotApplicableResult[];
}

/** Options of {@link runXmppConformance}. */
export interface XmppRunOptions {
  /** The kit's connection, online. */
  readonly wire: XmppPeerWire;
  readonly scenarios: readonly XmppScenario[];
  readonly options: XmppScenarioOptions;
  /** Name of the implementation in reports (default: its JID). */
  readonly label?: string;
  /** Where the kit's long-term key lives during the run (default: a temp dir, removed at the end). */
  readonly workDir?: string;
  /** Per scenario (default 180 s). */
  readonly timeoutMs?: number;
  readonly onProgress?: (event: ProgressEvent) => void;
}

/** Default timings: silence that counts as "no answer", and the wait for an answer that must come. */
export const XMPP_DEFAULT_TIMING = { settleMs: 1500, answerTimeoutMs: 20_000 } as const;

function describeConnection(wire: XmppPeerWire): string {
  const s = wire.security;
  if (s === undefined) return 'unknown';
  if (s.kind !== 'tls') return s.kind;
  return `${s.protocol} (${s.method}, certificate ${s.validation}${s.pinned ? ', pinned' : ''}), server key sha256/${s.certificate.spkiSha256}`;
}

function runOne(scenario: XmppRunnableScenario, run: XmppRunOptions, workDir: string, history: WireRecord[]): Promise<ScenarioResult> {
  return runGuarded(scenario, run.timeoutMs ?? 180_000, async (guarded) => {
    const wire = run.wire;
    const kit = new Party('kit', splitJid(wire.peerJid).bare, inProcessOurEngine());
    guarded.parties.push(kit);
    const init = await kit.init({
      account: splitJid(wire.ownJid).bare,
      policy: kitPolicyFor(scenario.setup, run.options),
      keyfile: join(workDir, 'kit.key'),
      instagfile: join(workDir, 'kit.instag'),
      fragmentSize: scenario.setup.fragmentSize ?? 0,
    });
    const exchange = new XmppExchange(kit, wire);
    guarded.log = exchange.log;
    guarded.parties.unshift({
      // before the kit itself: end the session so the next scenario starts clean
      async close(): Promise<void> {
        try {
          const status = await kit.status();
          if (status.msgstate !== 'plaintext') await exchange.transmit((await kit.end()).wire);
          await exchange.settle(run.options.settleMs, 10_000);
        } finally {
          exchange.detach();
          history.push(...exchange.log);
        }
      },
    });
    await scenario.run({
      kit,
      exchange,
      options: run.options,
      kitInstanceTag: init.instance_tag ?? 0,
      earlierLog: [...history],
      note: (text: string) => guarded.notes.push(text),
    });
  });
}

/** Runs the applicable scenarios one after the other over `run.wire` and returns the report. */
export async function runXmppConformance(run: XmppRunOptions): Promise<XmppConformanceReport> {
  const notApplicable: NotApplicableResult[] = [];
  const runnable: XmppRunnableScenario[] = [];
  const history: WireRecord[] = [];
  for (const s of run.scenarios) {
    const reason = notApplicableReason(s, run.options);
    if (reason !== undefined || s.kind !== 'runs') notApplicable.push({ id: s.id, title: s.title, description: s.description, reason: reason ?? '' });
    else runnable.push(s);
  }
  const report = await runMatrix(
    {
      tool: 'xmpp-otr-omemo conformance (OTR over XMPP)',
      family: 'otr',
      implementation: { label: run.label ?? `${run.wire.peerJid} (over XMPP, echo contract)` },
      reference: { label: `xmpp-otr-omemo (in-process) as ${run.wire.ownJid}` },
      scenarios: runnable,
      ...(run.workDir === undefined ? {} : { workDir: run.workDir }),
      ...(run.onProgress === undefined ? {} : { onProgress: run.onProgress }),
    },
    (scenario, workDir) => runOne(scenario, run, workDir, history),
  );
  return { ...report, mode: 'xmpp', peer: run.wire.peerJid, connection: describeConnection(run.wire), notApplicable };
}
