/**
 * The conformance kit's OMEMO family over XMPP (lib/conformance/*-xmpp-omemo.ts) run for real
 * through a throwaway Prosody (pep, carbons) over TLS: against our own echo bot
 * (examples/echo-bot, a separate process with the OMEMO plugin, which echoes OMEMO 0.3 and
 * omemo:2), where every scenario that can run passes in both versions; and against an OMEMO
 * client that decrypts but never answers, where nothing passes (no echo is never a pass).
 */
import { expect } from 'chai';
import type { XmppClientElement } from '@xmpp/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XmppOmemoWire } from '../../lib/conformance/party-xmpp-omemo.js';
import { runXmppOmemoConformance } from '../../lib/conformance/runner-xmpp-omemo.js';
import type { XmppConformanceReport } from '../../lib/conformance/runner-xmpp.js';
import { XMPP_OMEMO_SCENARIOS } from '../../lib/conformance/scenarios-xmpp-omemo.js';
import { formatXmppHtmlReport, formatXmppTextReport } from '../../lib/conformance/report-xmpp.js';
import { connectOmemo } from './omemo-xmpp/omemo-clients.js';
import { useProsody } from './prosody/prosody-mocha.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';

const botScript = fileURLToPath(new URL('../../examples/echo-bot/echo-bot.ts', import.meta.url));
const cliScript = fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url));
const TIMING = { settleMs: 1000, answerTimeoutMs: 20_000 };
const RUNNABLE = XMPP_OMEMO_SCENARIOS.filter((s) => s.kind === 'runs').map((s) => s.id);
const NOT_APPLICABLE = XMPP_OMEMO_SCENARIOS.filter((s) => s.kind === 'not-applicable').map((s) => s.id);

async function kitAgainst(server: ProsodyServer, peer: string, answerTimeoutMs = TIMING.answerTimeoutMs): Promise<XmppConformanceReport> {
  const kit = server.account('kit');
  const wire = await XmppOmemoWire.connect({ service: server.service, jid: kit.jid, password: kit.password, peer, tls: { ca: server.caPem } });
  try {
    return await runXmppOmemoConformance({ wire, scenarios: XMPP_OMEMO_SCENARIOS, options: { ...TIMING, answerTimeoutMs } });
  } finally {
    await wire.close();
  }
}

describe('conformance kit, OMEMO over XMPP (through Prosody)', function () {
  this.timeout(600_000);
  const prosody = useProsody({ accounts: ['kit', 'kitcli', 'bot', 'silent', 'replayer'], modules: ['pep', 'carbons'] });

  describe('examples/echo-bot (the OMEMO plugin, its own process)', () => {
    let bot: ChildProcess | undefined;
    let dir: string;
    const lines: string[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'kit-xmpp-omemo-bot-'));
      const account = prosody.server.account('bot');
      bot = spawn(process.execPath, ['--import', 'tsx', botScript,
        '--service', prosody.server.service, '--jid', account.jid, '--password', account.password, '--resource', 'bot',
        '--ca', prosody.server.caPath, '--ephemeral',
      ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: dir } });
      let buffer = '';
      bot.stdout?.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        lines.push(...parts);
      });
      const deadline = Date.now() + 30_000;
      while (!lines.some((l) => l.startsWith('online ')) || !lines.some((l) => l.startsWith('omemo device='))) {
        if (Date.now() > deadline || bot.exitCode !== null) throw new Error(`the echo bot did not come online with OMEMO: ${lines.join('\n')}`);
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

    it('passes every OMEMO scenario that can run over XMPP, in 0.3 and omemo:2, with wire evidence; the others are N/A with a reason', async () => {
      const report = await kitAgainst(prosody.server, 'bot@localhost/bot');
      expect(report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message ?? ''}`)).to.deep.equal([]);
      expect(report.results.map((r) => r.id)).to.deep.equal(RUNNABLE);
      expect(report.family).to.equal('omemo');
      expect(report.notApplicable.map((n) => n.id)).to.deep.equal(NOT_APPLICABLE);
      for (const n of report.notApplicable) expect(n.reason).to.not.equal('');
      const botDevice = /omemo device=(\d+)/.exec(lines.find((l) => l.startsWith('omemo device=')) ?? '')?.[1];
      // the key exchange really went to the bot's device, and the wire shows it
      const kex03 = report.results.find((r) => r.id === 'omemo.v03.key-exchange');
      expect(kex03?.notes.join(' ')).to.include(`device(s) ${String(botDevice)}`);
      expect(kex03?.evidence.some((e) => e.from === 'reference' && e.text.includes('prekey="true"'))).to.equal(true);
      const kex2 = report.results.find((r) => r.id === 'omemo.v2.key-exchange');
      expect(kex2?.evidence.some((e) => e.from === 'reference' && e.text.includes('kex="true"'))).to.equal(true);
      for (const r of report.results) {
        expect(r.evidence.some((e) => e.from === 'iut' && e.text.includes('<encrypted')), r.id).to.equal(true);
        expect(r.notes.join(' '), r.id).to.match(/echo/);
      }
      for (const id of ['omemo.v03.bad-mac', 'omemo.v2.bad-mac']) {
        expect(report.results.find((r) => r.id === id)?.evidence.some((e) => e.from === 'kit' && e.note === 'one byte of <payload> flipped'), id).to.equal(true);
      }
      // the bot really saw (and rejected or recognised) the hostile stanzas
      expect(lines.filter((l) => l.startsWith('omemo-message ') && / v0\.3 /.test(l)).length).to.equal(1 + 3 + 3 + 1 + 1 + 1);
      expect(lines.filter((l) => l.startsWith('omemo-message ') && / v2 /.test(l)).length).to.equal(1 + 3 + 3 + 1 + 1 + 1);
      expect(formatXmppTextReport(report)).to.match(/omemo\.v2\.fan-out +N\/A/);
      expect(formatXmppHtmlReport(report)).to.include('omemo.v03.replay-new-id');
      expect(report.connection).to.match(/^TLSv1\.[23] \(starttls, certificate verified\)/);
    });

    it('the CLI: --xmpp --family omemo with --ca and --pin, password from the environment (never printed), --only omemo.v2, JSON and HTML reports', async () => {
      const out = mkdtempSync(join(tmpdir(), 'kit-xmpp-omemo-cli-'));
      // another account: the bot fetches a contact's device list once per run and learns changes
      // only by PEP notifications (which need a presence subscription it never asks for), so a
      // second kit device on the 'kit' account would get echoes without a key for it
      const kit = prosody.server.account('kitcli');
      try {
        const json = join(out, 'report.json');
        const html = join(out, 'report.html');
        const child = spawn(process.execPath, ['--import', 'tsx', cliScript, 'conformance', '--xmpp', '--family', 'omemo',
          '--service', prosody.server.service, '--jid', kit.jid, '--peer', 'bot@localhost/bot', '--ca', prosody.server.caPath, '--pin', `sha256/${prosody.server.servedCertificate.spkiSha256}`,
          '--only', 'omemo.v2', '--settle-ms', '800', '--json', json, '--html', html,
        ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CONFORMANCE_XMPP_PASSWORD: kit.password } });
        let text = '';
        child.stdout.on('data', (c: Buffer) => {
          text += c.toString();
        });
        child.stderr.on('data', (c: Buffer) => {
          text += c.toString();
        });
        const code = await new Promise<number | null>((r) => child.once('exit', r));
        expect(code, text).to.equal(0);
        expect(text).to.match(/\[1\/6\] PASS +omemo\.v2\.key-exchange/);
        expect(text).to.match(/omemo\.v2\.fan-out +N\/A/);
        expect(text).to.include('conformance: 6 passed, 0 failed, 0 errors');
        expect(text).to.not.include(kit.password);
        const report = JSON.parse(readFileSync(json, 'utf8')) as XmppConformanceReport;
        expect(report.mode).to.equal('xmpp');
        expect(report.family).to.equal('omemo');
        expect(report.results.map((r) => r.id)).to.deep.equal(RUNNABLE.filter((id) => id.startsWith('omemo.v2.')));
        expect(report.notApplicable.map((n) => n.id)).to.deep.equal(['omemo.v2.iut-starts', 'omemo.v2.fan-out']);
        expect(JSON.stringify(report)).to.not.include(kit.password);
        expect(report.connection).to.match(/certificate verified, pinned\), server key sha256\//);
        expect(readFileSync(html, 'utf8')).to.include('Not applicable over XMPP');
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });

  it('an OMEMO client that decrypts but never echoes passes nothing', async () => {
    const silent = await connectOmemo(prosody.server, prosody.server.account('silent'), 'quiet');
    try {
      const report = await kitAgainst(prosody.server, silent.jid, 1500);
      expect(report.results.map((r) => r.id)).to.deep.equal(RUNNABLE);
      expect(report.results.filter((r) => r.status === 'pass').map((r) => r.id)).to.deep.equal([]);
      for (const r of report.results) expect(r.message, r.id).to.match(/^no echo of .* within 1500 ms/);
      // it did decrypt the kit's messages: the failure is the missing echo, not the kit's encryption
      expect(silent.messages.length).to.be.greaterThan(0);
    } finally {
      await silent.stop();
    }
  });

  it('an echo peer that shows a stanza again by its message id (accepts a replayed stanza) fails exactly omemo.v03.replay and omemo.v2.replay', async () => {
    const peer = await connectOmemo(prosody.server, prosody.server.account('replayer'), 'echo');
    const byId = new Map<string, { text: string; version: '0.3' | '2' }>();
    const echo = (text: string, version: '0.3' | '2'): void => {
      peer.omemo.send(prosody.server.account('kit').jid, `echo: ${text}`, { version }).catch(() => undefined);
    };
    peer.omemo.on('message', (m) => {
      if (m.id !== undefined) byId.set(m.id, { text: m.text, version: m.version });
      echo(m.text, m.version);
    });
    // the defect: a stanza whose message id it has seen is shown (echoed) again, without decrypting
    // (our plugin rejects it: the message key is used up, omemo.ratchet-duplicate)
    peer.xmpp.on('element', (element: XmppClientElement) => {
      const id = element.attrs['id'];
      const seen = element.name === 'message' && typeof id === 'string' ? byId.get(id) : undefined;
      if (seen !== undefined) echo(seen.text, seen.version);
    });
    try {
      const report = await kitAgainst(prosody.server, peer.jid);
      expect(report.results.map((r) => r.id)).to.deep.equal(RUNNABLE);
      expect(report.results.filter((r) => r.status !== 'pass').map((r) => r.id)).to.deep.equal(['omemo.v03.replay', 'omemo.v2.replay']);
      for (const r of report.results.filter((x) => x.status !== 'pass')) expect(r.message, r.id).to.equal('the implementation echoed the replayed stanza: 2 echoes');
      // both replays reached the plugin, which rejected them: the echo came from the defect only
      expect(peer.errors.filter((e) => e.error.code === 'omemo.ratchet-duplicate').length).to.equal(4);
    } finally {
      await peer.stop();
    }
  });
});
