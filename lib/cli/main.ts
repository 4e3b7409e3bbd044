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
 *     --family otr|omemo         which scenario family (default otr; omemo when --only names only omemo.*)
 *     --list                     list the scenarios and exit
 *   conformance --xmpp --service URI --jid JID --peer JID [options]
 *                                run the OTR scenarios over XMPP against a client or bot that
 *                                echoes what it decrypts (docs/CONFORMANCE.md, "Over XMPP")
 *     --service xmpp://HOST:5222|xmpps://HOST:5223   the server (TLS always, certificate validated)
 *     --domain D                 XMPP domain (default: the JID's)
 *     --jid JID                  the kit's account (its password in CONFORMANCE_XMPP_PASSWORD
 *                                or XMPP_PASSWORD, or --password; it is never printed)
 *     --peer JID[/RES]           the implementation under test
 *     --ca FILE                  PEM CA to trust instead of the system roots
 *     --pin sha256/BASE64        the server key's SPKI pin, checked as well (repeatable)
 *     --smp-secret S             the secret the peer answers SMP with (CONFORMANCE_SMP_SECRET)
 *     --iut-fingerprint HEX      the peer's OTR fingerprint, checked after every AKE
 *     --settle-ms N              silence that counts as "no answer" (default 1500)
 *     --answer-timeout-ms N      wait for an answer that must come (default 20000)
 *     --otr-version 2|3          the version every session must reach (default 3; 2 for v2-only peers)
 *   conformance --xmpp --family omemo --service URI --jid JID --peer JID [options]
 *                                the OMEMO scenarios (0.3 and omemo:2) over XMPP: the kit logs in
 *                                with our OMEMO plugin (a fresh device), the peer echoes what it
 *                                decrypts (docs/CONFORMANCE.md, "OMEMO over XMPP"); the same
 *                                connection and report options (--only omemo.v03 / omemo.v2, --list)
 *   line-peer [--broken B[,B]]   our engine on stdin/stdout, speaking the line protocol
 *   line-peer --omemo [--broken B[,B]]   our OMEMO session manager, speaking the OMEMO line protocol
 *
 * OMEMO: `conformance --family omemo ...` (or `--only omemo...`) runs the OMEMO scenarios
 * instead, against a program speaking the OMEMO line protocol or `--iut ours`; the reference is
 * our OMEMO session manager in-process (or `--reference PROGRAM`).
 *
 * Exit status: 0 all scenarios passed, 1 some failed, 2 bad usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { buildLibotrHarness } from '../conformance/libotr-harness.js';
import { BROKEN_BEHAVIOURS, OurLineHandler, type BrokenBehaviour } from '../conformance/our-line-handler.js';
import { OMEMO_BROKEN_BEHAVIOURS, OurOmemoLineHandler, type OmemoBrokenBehaviour } from '../conformance/our-omemo-line-handler.js';
import { inProcessOurEngine, spawnLineProgram } from '../conformance/party.js';
import { inProcessOurOmemo } from '../conformance/party-omemo.js';
import { runOmemoConformance } from '../conformance/runner-omemo.js';
import { OMEMO_SCENARIOS } from '../conformance/scenarios-omemo.js';
import { formatHtmlReport } from '../conformance/report-html.js';
import { formatTextReport, progressLine } from '../conformance/report-text.js';
import { runConformance, type PartyFactory, type ProgressEvent } from '../conformance/runner.js';
import { XmppPeerWire, type XmppKitOptions } from '../conformance/party-xmpp.js';
import { XmppOmemoWire } from '../conformance/party-xmpp-omemo.js';
import { runXmppOmemoConformance } from '../conformance/runner-xmpp-omemo.js';
import { XMPP_OMEMO_SCENARIOS } from '../conformance/scenarios-xmpp-omemo.js';
import { formatXmppHtmlReport, formatXmppTextReport } from '../conformance/report-xmpp.js';
import { XMPP_DEFAULT_TIMING, runXmppConformance } from '../conformance/runner-xmpp.js';
import { XMPP_SCENARIOS, notApplicableReason } from '../conformance/scenarios-xmpp.js';
import { OTR_SCENARIOS, familyOfPatterns, selectScenarios } from '../conformance/scenarios.js';

class UsageError extends Error {}

function parseBroken(value: string | undefined): BrokenBehaviour[] {
  if (value === undefined || value === '') return [];
  const names = value.split(',');
  for (const n of names) if (!(BROKEN_BEHAVIOURS as readonly string[]).includes(n)) throw new UsageError(`unknown --broken behaviour: ${n} (known: ${BROKEN_BEHAVIOURS.join(', ')})`);
  return names as BrokenBehaviour[];
}

function parseOmemoBroken(value: string | undefined): OmemoBrokenBehaviour[] {
  if (value === undefined || value === '') return [];
  const names = value.split(',');
  for (const n of names) if (!(OMEMO_BROKEN_BEHAVIOURS as readonly string[]).includes(n)) throw new UsageError(`unknown --broken behaviour: ${n} (known with --omemo: ${OMEMO_BROKEN_BEHAVIOURS.join(', ')})`);
  return names as OmemoBrokenBehaviour[];
}

async function omemoLinePeer(broken: OmemoBrokenBehaviour[]): Promise<number> {
  const handler = new OurOmemoLineHandler(broken);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    process.stdout.write(`${await handler.handleLine(line)}\n`);
    if (handler.quit) break;
  }
  lines.close();
  return 0;
}

async function linePeer(args: string[]): Promise<number> {
  let brokenText: string | undefined;
  let omemo = false;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--broken') brokenText = args[++i];
    else if (args[i] === '--omemo') omemo = true;
    else throw new UsageError(`line-peer: unknown argument ${String(args[i])}`);
  }
  if (omemo) return omemoLinePeer(parseOmemoBroken(brokenText));
  const broken: BrokenBehaviour[] = parseBroken(brokenText);
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
function factory(spec: string, label: string | undefined, family: 'otr' | 'omemo' = 'otr'): PartyFactory {
  if (family === 'omemo') {
    if (spec === 'ours') return { label: label ?? 'xmpp-otr-omemo OMEMO session manager (in-process)', create: () => inProcessOurOmemo() };
    if (spec === 'libotr') throw new UsageError('libotr has no OMEMO');
    return { label: label ?? spec, create: () => spawnLineProgram([spec]) };
  }
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
  let familyOption: string | undefined;
  const xmpp: XmppCliOptions = { enabled: false, pins: [] };
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
    else if (a === '--family') familyOption = value();
    else if (a === '--list') list = true;
    else if (a === '--xmpp') xmpp.enabled = true;
    else if (a === '--service') xmpp.service = value();
    else if (a === '--domain') xmpp.domain = value();
    else if (a === '--jid') xmpp.jid = value();
    else if (a === '--password') xmpp.password = value();
    else if (a === '--resource') xmpp.resource = value();
    else if (a === '--peer') xmpp.peer = value();
    else if (a === '--ca') xmpp.ca = value();
    else if (a === '--pin') xmpp.pins.push(value());
    else if (a === '--smp-secret') xmpp.smpSecret = value();
    else if (a === '--iut-fingerprint') xmpp.iutFingerprint = value();
    else if (a === '--settle-ms') xmpp.settleMs = positive(a, value());
    else if (a === '--answer-timeout-ms') xmpp.answerTimeoutMs = positive(a, value());
    else if (a === '--otr-version') {
      const v = value();
      if (v !== '2' && v !== '3') throw new UsageError('--otr-version must be 2 or 3');
      xmpp.version = v === '2' ? 2 : 3;
    }
    else throw new UsageError(`conformance: unknown option ${String(a)}`);
  }
  if (xmpp.enabled && (familyOption ?? familyOfPatterns(only)) === 'omemo') {
    if (program.length > 0 || iut !== undefined || reference !== 'ours') throw new UsageError('--xmpp: the implementation is --peer (no program, --iut or --reference)');
    return conformanceOmemoOverXmpp(xmpp, { only, json, html, label, list });
  }
  if (xmpp.enabled) {
    if (program.length > 0 || iut !== undefined || reference !== 'ours' || (familyOption !== undefined && familyOption !== 'otr')) {
      throw new UsageError('--xmpp: the implementation is --peer (no program, --iut, --reference or --family omemo)');
    }
    return conformanceOverXmpp(xmpp, { only, json, html, label, list });
  }
  if (familyOption !== undefined && familyOption !== 'otr' && familyOption !== 'omemo') throw new UsageError('--family must be otr or omemo');
  const family = familyOption ?? familyOfPatterns(only);
  const scenarios: readonly { readonly id: string; readonly title: string }[] = family === 'omemo' ? selectScenarios(only, OMEMO_SCENARIOS) : selectScenarios(only);
  if (list) {
    const shown = familyOption === undefined && only === undefined ? [...OTR_SCENARIOS, ...OMEMO_SCENARIOS] : scenarios;
    for (const s of shown) console.log(`${s.id.padEnd(40)} ${s.title}`);
    return 0;
  }
  if (scenarios.length === 0) throw new UsageError('no scenario matches --only');
  let implementation: PartyFactory;
  if (program.length > 0) {
    const [cmd] = program;
    implementation = { label: label ?? program.join(' '), create: () => spawnLineProgram(program, { label: cmd ?? 'program' }) };
  } else if (iut !== undefined) implementation = factory(iut, label, family);
  else throw new UsageError('conformance: give the implementation as -- PROGRAM [ARGS...] or --iut ours|libotr');
  const toStdout = json === '-';
  const onProgress = (event: ProgressEvent): void => {
    const line = progressLine(event);
    if (line !== undefined) (toStdout ? process.stderr : process.stdout).write(`${line}\n`);
  };
  const report = family === 'omemo'
    ? await runOmemoConformance({ implementation, reference: factory(reference, undefined, 'omemo'), scenarios: selectScenarios(only, OMEMO_SCENARIOS), onProgress })
    : await runConformance({ implementation, reference: factory(reference, undefined), scenarios: selectScenarios(only), onProgress });
  if (json !== undefined) {
    const text = `${JSON.stringify(report, null, 2)}\n`;
    if (toStdout) process.stdout.write(text);
    else writeFileSync(json, text);
  }
  if (html !== undefined) writeFileSync(html, formatHtmlReport(report));
  if (!toStdout) console.log(`\n${formatTextReport(report)}`);
  return report.summary.failed + report.summary.errors === 0 ? 0 : 1;
}

/** The `--xmpp` options as given. */
interface XmppCliOptions {
  enabled: boolean;
  service?: string;
  domain?: string;
  jid?: string;
  password?: string;
  resource?: string;
  peer?: string;
  ca?: string;
  pins: string[];
  smpSecret?: string;
  iutFingerprint?: string;
  settleMs?: number;
  answerTimeoutMs?: number;
  version?: 2 | 3;
}

function positive(option: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${option} needs a positive integer (milliseconds)`);
  return n;
}

/** `conformance --xmpp`: the kit logs in and drives the peer by messages (echo contract). */
async function conformanceOverXmpp(
  x: XmppCliOptions,
  report: { only: string[] | undefined; json: string | undefined; html: string | undefined; label: string | undefined; list: boolean },
): Promise<number> {
  const smpSecret = x.smpSecret ?? process.env['CONFORMANCE_SMP_SECRET'];
  const scenarios = selectScenarios(report.only, XMPP_SCENARIOS);
  if (report.list) {
    for (const s of scenarios) {
      const na = notApplicableReason(s, { ...(smpSecret === undefined ? {} : { smpSecret }), ...(x.version === undefined ? {} : { version: x.version }) });
      console.log(`${s.id.padEnd(32)} ${na === undefined ? 'runs' : 'N/A '}  ${s.title}`);
    }
    return 0;
  }
  if (scenarios.length === 0) throw new UsageError('no scenario matches --only');
  if (x.iutFingerprint !== undefined && !/^[0-9a-fA-F]{40}$/.test(x.iutFingerprint.replace(/\s+/g, ''))) throw new UsageError('--iut-fingerprint needs 40 hex digits');
  const wire = await xmppLogin(x, (options) => XmppPeerWire.connect(options));
  if (wire === undefined) return 1;
  const toStdout = report.json === '-';
  const progress = toStdout ? process.stderr : process.stdout;
  progress.write(`logged in as ${wire.ownJid}; testing ${x.peer}\n`);
  let result;
  try {
    result = await runXmppConformance({
      wire,
      scenarios,
      options: {
        settleMs: x.settleMs ?? XMPP_DEFAULT_TIMING.settleMs,
        answerTimeoutMs: x.answerTimeoutMs ?? XMPP_DEFAULT_TIMING.answerTimeoutMs,
        ...(smpSecret === undefined ? {} : { smpSecret }),
        ...(x.version === undefined ? {} : { version: x.version }),
        ...(x.iutFingerprint === undefined ? {} : { iutFingerprint: x.iutFingerprint.replace(/\s+/g, '').toLowerCase() }),
      },
      ...(report.label === undefined ? {} : { label: report.label }),
      onProgress: (event) => {
        const line = progressLine(event);
        if (line !== undefined) progress.write(`${line}\n`);
      },
    });
  } finally {
    await wire.close();
  }
  if (report.json !== undefined) {
    const text = `${JSON.stringify(result, null, 2)}\n`;
    if (toStdout) process.stdout.write(text);
    else writeFileSync(report.json, text);
  }
  if (report.html !== undefined) writeFileSync(report.html, formatXmppHtmlReport(result));
  if (!toStdout) console.log(`\n${formatXmppTextReport(result)}`);
  return result.summary.failed + result.summary.errors === 0 ? 0 : 1;
}

/**
 * The login both `--xmpp` families share: checks the account options, takes the password from
 * the environment (never printed), reads the CA and pins, and connects; a failed login is
 * printed with its TLS or SASL reason and gives undefined (exit code 1).
 */
async function xmppLogin<W>(x: XmppCliOptions, connect: (options: XmppKitOptions) => Promise<W>): Promise<W | undefined> {
  const password = x.password ?? process.env['CONFORMANCE_XMPP_PASSWORD'] ?? process.env['XMPP_PASSWORD'];
  if (x.service === undefined || x.jid === undefined || x.peer === undefined) throw new UsageError('--xmpp needs --service, --jid and --peer');
  if (password === undefined) throw new UsageError('--xmpp needs the password of --jid: CONFORMANCE_XMPP_PASSWORD (or XMPP_PASSWORD, or --password)');
  const tls = {
    ...(x.ca === undefined ? {} : { ca: readFileSync(x.ca, 'utf8') }),
    ...(x.pins.length === 0 ? {} : { pins: x.pins }),
  };
  try {
    return await connect({
      service: x.service,
      jid: x.jid,
      password,
      peer: x.peer,
      tls,
      ...(x.domain === undefined ? {} : { domain: x.domain }),
      ...(x.resource === undefined ? {} : { resource: x.resource }),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    console.error(`conformance --xmpp: cannot log in as ${x.jid} at ${x.service}: ${error instanceof Error ? error.message : String(error)}${typeof code === 'string' ? ` (${code})` : ''}`);
    return undefined;
  }
}

/** `conformance --xmpp --family omemo`: the kit logs in with our OMEMO plugin and drives the peer by OMEMO messages (echo contract). */
async function conformanceOmemoOverXmpp(
  x: XmppCliOptions,
  report: { only: string[] | undefined; json: string | undefined; html: string | undefined; label: string | undefined; list: boolean },
): Promise<number> {
  const scenarios = selectScenarios(report.only, XMPP_OMEMO_SCENARIOS);
  if (report.list) {
    for (const s of scenarios) console.log(`${s.id.padEnd(32)} ${s.kind === 'runs' ? 'runs' : 'N/A '}  ${s.title}`);
    return 0;
  }
  if (scenarios.length === 0) throw new UsageError('no scenario matches --only');
  if (x.smpSecret !== undefined || x.iutFingerprint !== undefined || x.version !== undefined) throw new UsageError('--xmpp --family omemo: --smp-secret, --iut-fingerprint and --otr-version are OTR options');
  const wire = await xmppLogin(x, (options) => XmppOmemoWire.connect(options));
  if (wire === undefined) return 1;
  const toStdout = report.json === '-';
  const progress = toStdout ? process.stderr : process.stdout;
  progress.write(`logged in as ${wire.ownJid} (OMEMO device ${wire.deviceId}); testing ${x.peer}\n`);
  let result;
  try {
    result = await runXmppOmemoConformance({
      wire,
      scenarios,
      options: { settleMs: x.settleMs ?? XMPP_DEFAULT_TIMING.settleMs, answerTimeoutMs: x.answerTimeoutMs ?? XMPP_DEFAULT_TIMING.answerTimeoutMs },
      ...(report.label === undefined ? {} : { label: report.label }),
      onProgress: (event) => {
        const line = progressLine(event);
        if (line !== undefined) progress.write(`${line}\n`);
      },
    });
  } finally {
    await wire.close();
  }
  if (report.json !== undefined) {
    const text = `${JSON.stringify(result, null, 2)}\n`;
    if (toStdout) process.stdout.write(text);
    else writeFileSync(report.json, text);
  }
  if (report.html !== undefined) writeFileSync(report.html, formatXmppHtmlReport(result));
  if (!toStdout) console.log(`\n${formatXmppTextReport(result)}`);
  return result.summary.failed + result.summary.errors === 0 ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'conformance':
      return conformance(rest);
    case 'line-peer':
      return linePeer(rest);
    default:
      throw new UsageError('usage: xmpp-otr-omemo conformance [options] -- PROGRAM [ARGS...] | conformance --iut ours|libotr | conformance --xmpp --service URI --jid JID --peer JID | line-peer [--omemo] [--broken ...]');
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
