/**
 * The conformance kit's "over XMPP" mode (lib/conformance/*-xmpp.ts) run for real through a
 * throwaway Prosody over TLS: against our own echo bot (examples/echo-bot, a separate process
 * with the OTR plugin), against libotr 4.1.1 (our C harness made an XMPP echo bot), and against
 * deliberately broken builds of our engine made echo bots, which must fail exactly the
 * scenarios that look for their defect. One run goes through the CLI, checking the reports and
 * that the password is never printed.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrokenBehaviour } from '../../lib/conformance/our-line-handler.js';
import { inProcessOurEngine, spawnLineProgram } from '../../lib/conformance/party.js';
import { XmppPeerWire } from '../../lib/conformance/party-xmpp.js';
import { runXmppConformance, type XmppConformanceReport } from '../../lib/conformance/runner-xmpp.js';
import { XMPP_SCENARIOS } from '../../lib/conformance/scenarios-xmpp.js';
import { LineEchoBot } from './clients/line-echo-bot.js';
import { PotrBot, POTR_BOT_PEER, probePotrBot } from './clients/potr-bot.js';
import { buildHarness } from './libotr/libotr-peer.js';
import { LIBOTR_PEER, probeLibotr, requirePeer } from './peer-availability.js';
import { useProsody } from './prosody/prosody-mocha.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';

const botScript = fileURLToPath(new URL('../../examples/echo-bot/echo-bot.ts', import.meta.url));
const cliScript = fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url));

const SMP_SECRET = 'kit and bot secret';
const TIMING = { settleMs: 1000, answerTimeoutMs: 20_000 };

/** Ids of the scenarios that can run over XMPP, with and without the SMP secret. */
const RUNNABLE = XMPP_SCENARIOS.filter((s) => s.kind === 'runs').map((s) => s.id);
const WITHOUT_SMP = XMPP_SCENARIOS.filter((s) => s.kind === 'runs' && s.needsSmpSecret !== true).map((s) => s.id);

function failing(report: XmppConformanceReport): string[] {
  return report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message ?? ''}`);
}

async function kitAgainst(server: ProsodyServer, peer: string, options: { smpSecret?: string; only?: readonly string[]; version?: 2; answerTimeoutMs?: number } = {}): Promise<XmppConformanceReport> {
  const kit = server.account('kit');
  const wire = await XmppPeerWire.connect({ service: server.service, jid: kit.jid, password: kit.password, peer, tls: { ca: server.caPem } });
  try {
    return await runXmppConformance({
      wire,
      scenarios: options.only === undefined ? XMPP_SCENARIOS : XMPP_SCENARIOS.filter((s) => options.only?.includes(s.id)),
      options: { ...TIMING, ...(options.answerTimeoutMs === undefined ? {} : { answerTimeoutMs: options.answerTimeoutMs }), ...(options.smpSecret === undefined ? {} : { smpSecret: options.smpSecret }), ...(options.version === undefined ? {} : { version: options.version }) },
    });
  } finally {
    await wire.close();
  }
}

describe('conformance kit over XMPP (through Prosody)', function () {
  this.timeout(600_000);
  const prosody = useProsody({ accounts: ['kit', 'bot', 'line', 'libotr', 'potr'], modules: ['pep'] });

  describe('examples/echo-bot (the OTR plugin, its own process)', () => {
    let bot: ChildProcess | undefined;
    let dir: string;
    const lines: string[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kit-xmpp-bot-'));
      const account = prosody.server.account('bot');
      bot = spawn(process.execPath, ['--import', 'tsx', botScript,
        '--service', prosody.server.service, '--jid', account.jid, '--password', account.password, '--resource', 'bot',
        '--ca', prosody.server.caPath, '--ephemeral', '--smp-secret', SMP_SECRET, '--policy', 'opportunistic',
      ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: dir } });
      let buffer = '';
      bot.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        lines.push(...parts);
      });
      const deadline = Date.now() + 30_000;
      while (!lines.some((l) => l.startsWith('online '))) {
        if (Date.now() > deadline || bot.exitCode !== null) throw new Error(`the echo bot did not come online: ${lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    after(async () => {
      if (bot !== undefined && bot.exitCode === null) {
        const exited = new Promise((r) => bot?.once('exit', r));
        bot.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it('passes every scenario that can run over XMPP, SMP included (with its secret); the others are N/A with a reason', async () => {
      const report = await kitAgainst(prosody.server, 'bot@localhost/bot', { smpSecret: SMP_SECRET });
      expect(failing(report)).to.deep.equal([]);
      expect(report.results.map((r) => r.id)).to.deep.equal(RUNNABLE);
      expect(report.notApplicable.map((n) => n.id)).to.have.members(XMPP_SCENARIOS.filter((s) => s.kind === 'not-applicable').map((s) => s.id));
      for (const n of report.notApplicable) expect(n.reason).to.not.equal('');
      const fp = /fingerprint=([0-9a-f]{40})/.exec(lines.find((l) => l.startsWith('online ')) ?? '')?.[1];
      expect(report.results[0]?.notes.join(' ')).to.include(`fingerprint ${String(fp)}`);
      expect(report.results.find((r) => r.id === 'data.mac-keys-revealed')?.notes.join(' ')).to.match(/[1-9]\d* MAC keys revealed/);
      expect(report.connection).to.match(/^TLSv1\.[23] \(starttls, certificate verified\)/);
    });

    it('with a secret other than the bot\'s, exactly the SMP scenarios that expect success fail', async () => {
      const report = await kitAgainst(prosody.server, 'bot@localhost/bot', { smpSecret: 'not the bot secret', only: ['smp.same-secret', 'smp.different-secret', 'smp.question', 'smp.abort-and-restart'] });
      expect(report.results.map((r) => [r.id, r.status])).to.deep.equal([
        ['smp.same-secret', 'fail'],
        ['smp.different-secret', 'pass'],
        ['smp.question', 'fail'],
        ['smp.abort-and-restart', 'fail'],
      ]);
      for (const r of report.results.filter((x) => x.status === 'fail')) expect(r.message, r.id).to.match(/reported failure, expected success/);
    });
  });

  describe('our engine and libotr as XMPP echo bots (line-protocol programs behind test/interop/clients/line-echo-bot.ts)', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'kit-xmpp-line-'));
    });
    after(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    async function withLineBot<T>(account: string, transport: ReturnType<typeof inProcessOurEngine>, body: (jid: string) => Promise<T>, smpSecret?: string, endWhenPeerEnds = true): Promise<T> {
      const bot = await LineEchoBot.start({
        endWhenPeerEnds,
        server: prosody.server,
        account: prosody.server.account(account),
        peer: prosody.server.account('kit').jid,
        transport,
        keyfile: join(dir, `${account}.key`),
        instagfile: join(dir, `${account}.instag`),
        ...(smpSecret === undefined ? {} : { smpSecret }),
      });
      try {
        return await body(bot.fullJid);
      } finally {
        await bot.stop();
      }
    }

    it('libotr 4.1.1 (the harness as an echo bot, left FINISHED after each scenario) passes every scenario that can run over XMPP', async function () {
      requirePeer(this, LIBOTR_PEER, probeLibotr());
      const harness = buildHarness();
      const report = await withLineBot('libotr', spawnLineProgram([harness], { label: 'libotr' }), (jid) => kitAgainst(prosody.server, jid, { smpSecret: SMP_SECRET }), SMP_SECRET, false);
      expect(failing(report)).to.deep.equal([]);
      expect(report.results.map((r) => r.id)).to.deep.equal(RUNNABLE);
    });

    for (const [broken, expected, why] of [
      ['no-mac-reveal', 'data.mac-keys-revealed', /revealed no MAC keys/],
      ['accept-replay', 'hostile.replayed-counter', /echoed the replayed Data Message/],
    ] as const satisfies readonly (readonly [BrokenBehaviour, string, RegExp])[]) {
      it(`our engine with --broken ${broken} fails exactly ${expected}`, async () => {
        const report = await withLineBot('line', inProcessOurEngine([broken]), (jid) => kitAgainst(prosody.server, jid));
        expect(report.results.map((r) => r.id)).to.deep.equal(WITHOUT_SMP);
        expect(report.results.filter((r) => r.status !== 'pass').map((r) => r.id)).to.deep.equal([expected]);
        const failure = report.results.find((r) => r.id === expected);
        expect(failure?.status).to.equal('fail');
        expect(failure?.message).to.match(why);
        expect(report.notApplicable.map((n) => n.id)).to.include('smp.same-secret');
      });
    }
  });

  it('python-potr 1.0.2 (slixmpp echo bot, OTR v2 only): passes exactly version.v2.reference, failing the version 3 ones; in the version 2 mode passes every scenario that can run', async function () {
    requirePeer(this, POTR_BOT_PEER, probePotrBot());
    const { bot, online } = await PotrBot.start(prosody.server, prosody.server.account('potr'));
    try {
      const report = await kitAgainst(prosody.server, online.jid);
      expect(report.results.map((r) => r.id)).to.deep.equal(WITHOUT_SMP);
      expect(report.results.filter((r) => r.status === 'pass').map((r) => r.id)).to.deep.equal(['version.v2.reference']);
      for (const r of report.results.filter((x) => x.status !== 'pass')) {
        expect(r.status, r.id).to.equal('fail');
        expect(r.message, r.id).to.match(/version 2( D-H Commit)?, expected 3|sent a version 2 D-H Commit/);
      }
      expect(report.results.find((r) => r.id === 'version.v2.reference')?.notes.join(' ')).to.include(`fingerprint ${online.fingerprint}`);


      // the version 2 mode: every scenario that can run, in version 2
      const v2 = await kitAgainst(prosody.server, online.jid, { version: 2 });
      expect(v2.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message ?? ''}`)).to.deep.equal([]);
      expect(v2.results.map((r) => r.id)).to.deep.equal(WITHOUT_SMP.filter((id) => id !== 'version.v2.reference'));
      for (const r of v2.results) expect(r.notes[0], r.id).to.match(/^encrypted, version 2,/);
      expect(v2.notApplicable.map((n) => n.id)).to.include('version.v2.reference');
    } finally {
      await bot.stop();
    }
  });

  it('a peer that never answers passes nothing (no echo is never taken for a pass)', async () => {
    const report = await kitAgainst(prosody.server, 'nobody@localhost/gone', { answerTimeoutMs: 1500, smpSecret: 'x' });
    expect(report.results.map((r) => r.id)).to.deep.equal(RUNNABLE);
    expect(report.results.filter((r) => r.status === 'pass').map((r) => r.id)).to.deep.equal([]);
    for (const r of report.results) expect(r.message, r.id).to.match(/^no OTR session within 1500 ms|did not answer the Query Message/);
  });

  it('the CLI: --xmpp with --ca, password from the environment (never printed), --only, JSON and HTML reports, exit status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-xmpp-cli-'));
    const kit = prosody.server.account('kit');
    try {
      const bot = await LineEchoBot.start({
        server: prosody.server,
        account: prosody.server.account('line'),
        peer: kit.jid,
        transport: inProcessOurEngine(),
        keyfile: join(dir, 'line.key'),
        instagfile: join(dir, 'line.instag'),
      });
      try {
        const json = join(dir, 'report.json');
        const html = join(dir, 'report.html');
        const child = spawn(process.execPath, ['--import', 'tsx', cliScript, 'conformance', '--xmpp',
          '--service', prosody.server.service, '--jid', kit.jid, '--peer', bot.fullJid, '--ca', prosody.server.caPath, '--pin', `sha256/${prosody.server.servedCertificate.spkiSha256}`,
          '--only', 'start.query,hostile.bad-mac,smp,session', '--settle-ms', '800', '--json', json, '--html', html,
        ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONFORMANCE_XMPP_PASSWORD: kit.password } });
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          out += c.toString();
        });
        const code = await new Promise<number | null>((r) => child.once('exit', r));
        expect(code, out).to.equal(0);
        expect(out).to.match(/\[1\/2\] PASS +start\.query\.reference/);
        expect(out).to.match(/smp\.same-secret +N\/A/);
        expect(out).to.include('conformance: 2 passed, 0 failed, 0 errors');
        expect(out).to.not.include(kit.password);
        const report = JSON.parse(readFileSync(json, 'utf8')) as XmppConformanceReport;
        expect(report.mode).to.equal('xmpp');
        expect(report.results.map((r) => r.id)).to.deep.equal(['start.query.reference', 'hostile.bad-mac']);
        expect(report.notApplicable.map((n) => n.id)).to.deep.equal(['start.query.iut', 'session.disconnect.iut', 'session.disconnect.reference', 'smp.same-secret', 'smp.different-secret', 'smp.question', 'smp.abort-and-restart']);
        expect(JSON.stringify(report)).to.not.include(kit.password);
        expect(report.connection).to.match(/certificate verified, pinned\), server key sha256\//);
        const page = readFileSync(html, 'utf8');
        expect(page).to.include('Not applicable over XMPP');
        expect(page).to.include('hostile.bad-mac');

        // a pin that is not the server's key: no login, exit status 1, a TLS error named
        const wrong = spawn(process.execPath, ['--import', 'tsx', cliScript, 'conformance', '--xmpp',
          '--service', prosody.server.service, '--jid', kit.jid, '--peer', bot.fullJid, '--ca', prosody.server.caPath, '--pin', `sha256/${prosody.server.pki.otherCa.spkiSha256}`,
        ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONFORMANCE_XMPP_PASSWORD: kit.password } });
        let wrongOut = '';
        wrong.stdout.on('data', (c: Buffer) => {
          wrongOut += c.toString();
        });
        wrong.stderr.on('data', (c: Buffer) => {
          wrongOut += c.toString();
        });
        expect(await new Promise<number | null>((r) => wrong.once('exit', r)), wrongOut).to.equal(1);
        expect(wrongOut).to.match(/cannot log in as kit@localhost .*\(tls\.[a-z-]+\)/);
        expect(wrongOut).to.not.include(kit.password);
      } finally {
        await bot.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
