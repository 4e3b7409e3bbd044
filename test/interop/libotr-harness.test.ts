/**
 * libotr vs libotr through the C harness: proves the harness itself (JSON protocol, child
 * contexts, fragmentation, TLV 8, SMP) before it is trusted as a reference peer for our engine.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIBOTR_PEER, probeLibotr, requirePeer } from './peer-availability.js';
import { LibotrPeer, buildHarness, libotrFactory } from './libotr/libotr-peer.js';
import { defineOtrInteropCases } from './otr-interop-cases.js';

describe('interop: libotr harness (libotr vs libotr)', function () {
  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    buildHarness();
  });

  describe('harness protocol', () => {
    it('reports JSON errors instead of crashing, and keeps the key across processes', async () => {
      const p = await LibotrPeer.start({ account: 'carol@example.org' });
      try {
        let failed: unknown;
        try {
          await p.request({ cmd: 'no-such-command', peer: 'x' });
        } catch (error) {
          failed = error;
        }
        expect(String(failed)).to.contain('unknown cmd');
        const again = await LibotrPeer.start({ account: 'carol@example.org' });
        expect(again.fingerprint).to.equal(p.fingerprint);
        expect(again.instanceTag).to.equal(p.instanceTag);
        expect(p.instanceTag).to.be.at.least(0x100);
        await again.close();
      } finally {
        await p.close();
      }
    });

    it('passes plaintext through before any AKE and shows received plaintext', async () => {
      const a = await LibotrPeer.start({ account: 'dave@example.org', policy: 'v2,v3' });
      const b = await LibotrPeer.start({ account: 'erin@example.org', policy: 'v2,v3' });
      try {
        const s = await a.send('erin@example.org', 'hi in clear');
        expect(s.wire).to.deep.equal(['hi in clear']);
        const r = await b.receive('dave@example.org', 'hi in clear');
        expect(r.show).to.equal('hi in clear');
        expect(r.decrypted).to.equal(false);
        const q = await a.startAke('erin@example.org');
        expect(q.wire[0]).to.match(/^\?OTRv23\?/);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('--bench mode runs two in-process accounts through AKE, data and SMP and prints JSON', () => {
      const dir = mkdtempSync(join(tmpdir(), 'libotr-bench-test-'));
      try {
        const out = execFileSync(buildHarness(), ['--bench', dir, 'v3', '2', '20', '20', '5', '1', '1'], { encoding: 'utf8' });
        const r = JSON.parse(out) as Record<string, unknown>;
        expect(r['libotr']).to.equal('4.1.1');
        for (const k of ['ake_ms', 'alt100_msgs_per_s', 'oneway100_msgs_per_s', 'oneway10k_msgs_per_s', 'smp_ms']) {
          expect(r[k], k).to.be.a('number').and.greaterThan(0);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  defineOtrInteropCases(libotrFactory, libotrFactory, { messagesPerDirection: 1000, maxBurst: 4 });
});
