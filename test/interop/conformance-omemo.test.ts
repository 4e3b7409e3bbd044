/**
 * The conformance kit's OMEMO half (lib/conformance/*omemo*.ts) run for real: the REAL
 * python-omemo 1.0 (python3-omemo + oldmemo + twomemo, through test/interop/conformance/
 * python-omemo-line.ts) as the implementation under test against our session manager, and the
 * other way round; our manager against itself; deliberately broken builds of our handler, which
 * must fail exactly the scenarios that look for their defect; and the command line with a
 * spawned `line-peer --omemo`.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OmemoBrokenBehaviour } from '../../lib/conformance/our-omemo-line-handler.js';
import { inProcessOurOmemo } from '../../lib/conformance/party-omemo.js';
import { runOmemoConformance } from '../../lib/conformance/runner-omemo.js';
import type { ConformanceReport, PartyFactory } from '../../lib/conformance/runner.js';
import { OMEMO_SCENARIOS } from '../../lib/conformance/scenarios-omemo.js';
import { requirePeer } from './peer-availability.js';
import { pythonOmemoTransport } from './conformance/python-omemo-line.js';
import { PYTHON_OMEMO_PEER, probePythonOmemo } from './omemo/python-omemo-peer.js';

const ours = (broken: OmemoBrokenBehaviour[] = []): PartyFactory => ({
  label: `ours${broken.length ? ` broken:${broken.join(',')}` : ''}`,
  create: () => inProcessOurOmemo(broken),
});
const python: PartyFactory = { label: 'python-omemo 1.0', create: () => pythonOmemoTransport() };

function failing(report: ConformanceReport): string[] {
  return report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.message ?? ''}`);
}

/** Checks a fully passing report's evidence: the kit really tampered, replayed and fanned out. */
function checkEvidence(report: ConformanceReport): void {
  for (const v of ['v03', 'v2']) {
    const badMac = report.results.find((r) => r.id === `omemo.${v}.bad-mac`);
    expect(badMac?.evidence.filter((e) => e.from === 'kit').map((e) => e.note)).to.deep.equal(['one bit of the MAC flipped', 'one bit of the payload flipped']);
    expect(badMac?.notes.join(' ')).to.match(/bad MAC rejected: .+ bad payload rejected: .+/);
    const replay = report.results.find((r) => r.id === `omemo.${v}.replay`);
    expect(replay?.evidence.some((e) => e.from === 'kit' && e.note === 'the same message again' && e.text.startsWith('<encrypted'))).to.equal(true);
    const fanOut = report.results.find((r) => r.id === `omemo.${v}.fan-out`);
    expect(fanOut?.notes.join(' ')).to.match(/keys for devices \d+, \d+, \d+: all three decrypted/);
  }
}

describe('conformance kit (OMEMO scenarios, 0.3 and omemo:2)', function () {
  this.timeout(180_000);

  describe('python-omemo 1.0 (the real library)', () => {
    before(function () {
      requirePeer(this, PYTHON_OMEMO_PEER, probePythonOmemo());
    });

    it('python-omemo as the implementation under test passes every OMEMO scenario against our manager', async () => {
      const report = await runOmemoConformance({ implementation: python, reference: ours(), scenarios: OMEMO_SCENARIOS });
      expect(failing(report)).to.deep.equal([]);
      expect(report.summary.passed).to.equal(OMEMO_SCENARIOS.length);
      expect(report.family).to.equal('omemo');
      checkEvidence(report);
      // python-omemo's own words for the rejections (not ours)
      expect(report.results.find((r) => r.id === 'omemo.v2.bad-mac')?.notes.join(' ')).to.include('DecryptionFailed');
    });

    it('our manager as the implementation under test passes the key-exchange and fan-out scenarios with python-omemo as the reference (three python devices)', async () => {
      // (the other directions of our manager with python-omemo are test/interop/omemo-manager.test.ts's)
      const scenarios = OMEMO_SCENARIOS.filter((s) => /\.(key-exchange\.reference-first|fan-out)$/.test(s.id));
      expect(scenarios).to.have.length(4);
      const report = await runOmemoConformance({ implementation: ours(), reference: python, scenarios });
      expect(failing(report)).to.deep.equal([]);
      for (const r of report.results.filter((x) => x.id.endsWith('fan-out'))) expect(r.notes.join(' ')).to.match(/keys for devices \d+, \d+, \d+: all three decrypted/);
    });
  });

  describe('our session manager in-process', () => {
    it('passes every OMEMO scenario against itself', async () => {
      const report = await runOmemoConformance({ implementation: ours(), reference: ours(), scenarios: OMEMO_SCENARIOS });
      expect(failing(report)).to.deep.equal([]);
      expect(report.results.map((r) => r.id)).to.include.members(['omemo.v03.key-exchange.iut-first', 'omemo.v2.key-exchange.reference-first', 'omemo.v03.out-of-order', 'omemo.v2.fan-out']);
      checkEvidence(report);
      // the first message of key-exchange.iut-first carries the key exchange, the second does not
      const kex = report.results.find((r) => r.id === 'omemo.v2.key-exchange.iut-first');
      const sent = kex?.evidence.filter((e) => e.from === 'iut' && e.note?.startsWith('encrypted')) ?? [];
      // (evidence texts are shortened: look at the <key> start tag only)
      expect(sent.map((e) => /<key [^>]*kex="true"/.test(e.text))).to.deep.equal([true, false]);
    });

    const brokenCases: [OmemoBrokenBehaviour, string[]][] = [
      ['omemo-accept-replay', ['omemo.v03.replay', 'omemo.v2.replay']],
      ['omemo-drop-session-on-bad-mac', ['omemo.v03.bad-mac', 'omemo.v2.bad-mac']],
    ];
    for (const [broken, expected] of brokenCases) {
      it(`a build with the defect ${broken} fails exactly ${expected.join(', ')}`, async () => {
        const report = await runOmemoConformance({ implementation: ours([broken]), reference: ours(), scenarios: OMEMO_SCENARIOS });
        expect(report.results.filter((r) => r.status !== 'pass').map((r) => [r.id, r.status])).to.deep.equal(expected.map((id) => [id, 'fail']));
        expect(report.summary.passed).to.equal(OMEMO_SCENARIOS.length - expected.length);
      });
    }

    it('the scenarios judge the implementation only: a conforming one passes against a replay-accepting reference', async () => {
      const report = await runOmemoConformance({ implementation: ours(), reference: ours(['omemo-accept-replay']), scenarios: OMEMO_SCENARIOS });
      expect(failing(report)).to.deep.equal([]);
    });
  });

  describe('the command line', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const cli = ['--import', 'tsx', 'lib/cli/main.ts'];

    it('conformance --only omemo... -- line-peer --omemo --broken writes the JSON report and exits 1', () => {
      const dir = mkdtempSync(join(tmpdir(), 'conformance-omemo-cli-'));
      try {
        const json = join(dir, 'report.json');
        const html = join(dir, 'report.html');
        const run = spawnSync(
          process.execPath,
          [...cli, 'conformance', '--only', 'omemo.v2.bad-mac,omemo.v2.replay', '--json', json, '--html', html, '--label', 'broken omemo peer', '--', process.execPath, ...cli, 'line-peer', '--omemo', '--broken', 'omemo-accept-replay'],
          { cwd: root, encoding: 'utf8' },
        );
        expect(run.status, run.stderr).to.equal(1);
        expect(run.stdout).to.match(/\[1\/2\] PASS +omemo\.v2\.bad-mac/);
        expect(run.stdout).to.match(/\[2\/2\] FAIL +omemo\.v2\.replay/);
        expect(run.stdout).to.include('xmpp-otr-omemo conformance (OMEMO)');
        const report = JSON.parse(readFileSync(json, 'utf8')) as ConformanceReport;
        expect(report.family).to.equal('omemo');
        expect(report.implementation).to.equal('broken omemo peer');
        expect(report.results.map((r) => [r.id, r.status])).to.deep.equal([
          ['omemo.v2.bad-mac', 'pass'],
          ['omemo.v2.replay', 'fail'],
        ]);
        const page = readFileSync(html, 'utf8');
        expect(page).to.match(/^<!doctype html>/);
        expect(page).to.include('<tr class="fail"><td><a href="#omemo.v2.replay">');
        expect(page).to.include('&lt;encrypted xmlns=&quot;urn:xmpp:omemo:2&quot;');
        expect(page).to.not.match(/<script|src=|href="http/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('line-peer --omemo answers the OMEMO line protocol and survives bad requests', () => {
      const input = [
        { cmd: 'info' },
        { cmd: 'init', jid: 'a@example.org', version: '2', devices: 2 },
        { cmd: 'init', jid: 'a@example.org', version: '2' },
        { cmd: 'decrypt', from_jid: 'b@example.org', xml: '<encrypted xmlns="urn:xmpp:omemo:2"><header sid="7"><keys jid="a@example.org"><key rid="1">AAAA</key></keys></header></encrypted>' },
        { cmd: 'decrypt', from_jid: 'b@example.org', xml: '<not-xml' },
        { cmd: 'encrypt', to_jid: 'b@example.org', plaintext: 'hi' },
        { cmd: 'bogus' },
        { cmd: 'quit' },
      ]
        .map((o) => JSON.stringify(o))
        .join('\n');
      const run = spawnSync(process.execPath, [...cli, 'line-peer', '--omemo'], { cwd: root, encoding: 'utf8', input: `${input}\nnot json\n` });
      expect(run.status, run.stderr).to.equal(0);
      const answers = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(answers).to.have.length(8); // stops after quit
      expect(answers[0]).to.deep.equal({ ok: false, error: 'init first' });
      expect(answers[1]?.['ok']).to.equal(true);
      const devices = answers[1]?.['devices'] as { device_id: number }[];
      expect(devices).to.have.length(2);
      expect(answers[1]?.['device_list']).to.match(/^<devices xmlns="urn:xmpp:omemo:2">/);
      expect(Object.keys(answers[1]?.['bundles'] as object).map(Number).sort()).to.deep.equal(devices.map((d) => d.device_id).sort());
      expect(answers[2]).to.deep.equal({ ok: false, error: 'already initialised' });
      // a message for none of our devices: no results; garbage: every device rejects it, typed
      expect(answers[3]).to.include({ ok: true });
      expect(answers[3]?.['results']).to.deep.equal([]);
      const garbage = answers[4]?.['results'] as { plaintext: string | null; error: string }[];
      expect(garbage).to.have.length(2);
      for (const r of garbage) {
        expect(r.plaintext).to.equal(null);
        expect(r.error).to.match(/^omemo\.xml/);
      }
      // nothing known about b: a typed refusal, not a crash
      expect(answers[5]?.['ok']).to.equal(false);
      expect(answers[5]?.['error']).to.match(/recipient|device/i);
      expect(answers[6]).to.deep.equal({ ok: false, error: 'unknown cmd bogus' });
    });
  });
});
