/**
 * The throwaway Prosody harness itself: TLS ports present the certificates it generated, stock
 * @xmpp/client logs in over STARTTLS with the test CA and chats, accounts can be added while
 * running, opt-in features load, and stop() leaves nothing behind.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ALL_PROSODY_FEATURES, startProsody } from './prosody/prosody-harness.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';
import { PROSODY_PEER, probeProsody, useProsody } from './prosody/prosody-mocha.js';
import { requirePeer } from './peer-availability.js';
import { nodeFingerprint } from './prosody/test-pki.js';
import { probeMcabber } from './clients/mcabber.js';

const execFileP = promisify(execFile);
const chatScript = fileURLToPath(new URL('./prosody/stock-client-chat.ts', import.meta.url));

interface TlsProbe {
  readonly authorized: boolean;
  readonly error: string | undefined;
  readonly cert: PeerCertificate | undefined;
}

/** A direct TLS handshake with node:tls and the given CA; never throws. */
function probeTls(port: number, ca: string, servername = 'localhost', ignoreName = false): Promise<TlsProbe> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1', port, ca, servername, rejectUnauthorized: true,
      ...(ignoreName ? { checkServerIdentity: () => undefined } : {}),
    });
    s.once('secureConnect', () => {
      const cert = s.getPeerCertificate();
      s.destroy();
      resolve({ authorized: s.authorized, error: undefined, cert });
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ authorized: false, error: e.code ?? e.message, cert: undefined }));
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface ChatResult {
  atA: { from: string; body: string };
  atB: { from: string; body: string };
  secure: boolean;
  authorized: boolean;
  protocol: string;
  loginMs: number;
  serverFeatures: string[];
  accountFeatures: string[];
  items: string[];
  streamManagement: boolean;
}

/** Runs stock-client-chat.ts in a child with NODE_EXTRA_CA_CERTS (stock @xmpp/client has no CA option). */
async function chat(server: ProsodyServer, a: { jid: string; password: string }, b: { jid: string; password: string }): Promise<ChatResult> {
  const { stdout } = await execFileP(
    process.execPath,
    ['--import', 'tsx', chatScript, server.service, server.domain, a.jid, a.password, b.jid, b.password],
    { env: { ...process.env, NODE_EXTRA_CA_CERTS: server.caPath }, timeout: 30000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChatResult;
}

describe('interop: Prosody test harness', function () {
  this.timeout(60000);

  describe('default server', () => {
    const fixture = useProsody({ accounts: ['alice', 'bob'] });

    it('serves its fresh certificate on the direct TLS port, valid for the test CA only', async () => {
      const { server } = fixture;
      const ok = await probeTls(server.directTlsPort, server.caPem);
      expect(ok.error).to.equal(undefined);
      expect(ok.authorized).to.equal(true);
      expect(ok.cert?.fingerprint256).to.equal(server.servedCertificate.fingerprintSha256);
      expect(ok.cert?.subjectaltname).to.contain('IP Address:127.0.0.1');
      const other = await probeTls(server.directTlsPort, server.pki.otherCa.certPem);
      expect(other.authorized).to.equal(false);
      expect(other.error).to.match(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    });

    it('openssl and node agree on the certificate fingerprints the tests compare against', () => {
      const { pki } = fixture.server;
      for (const c of [pki.ca, pki.otherCa, pki.server, pki.expired, pki.wrongHost]) {
        expect(nodeFingerprint(c.certPem)).to.deep.equal({ fingerprintSha256: c.fingerprintSha256, spkiSha256: c.spkiSha256 });
        expect(c.fingerprintSha256).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      }
      expect(new Set([pki.ca, pki.otherCa, pki.server, pki.expired, pki.wrongHost].map((c) => c.spkiSha256)).size).to.equal(5);
    });

    it('stock @xmpp/client logs two accounts in over STARTTLS with the CA and they chat both ways', async () => {
      const { server } = fixture;
      const carol = await server.register('carol');
      const bob = server.account('bob');
      const out = await chat(server, carol, bob);
      expect(out.atA).to.deep.equal({ from: `${bob.jid}/chat`, body: 'hello alice' });
      expect(out.atB).to.deep.equal({ from: `${carol.jid}/chat`, body: 'hello bob' });
      expect(out.secure).to.equal(true);
      expect(out.authorized).to.equal(true);
      expect(out.protocol).to.match(/^TLSv1\.[23]$/);
    });

    it('refuses a wrong password (accounts are real, not open)', async () => {
      const { server } = fixture;
      const bob = server.account('bob');
      let failed: unknown;
      try {
        await execFileP(
          process.execPath,
          ['--import', 'tsx', chatScript, server.service, server.domain, bob.jid, 'wrong-password', bob.jid, bob.password],
          { env: { ...process.env, NODE_EXTRA_CA_CERTS: server.caPath }, timeout: 30000 },
        );
      } catch (error) {
        failed = error;
      }
      expect(String((failed as { stderr?: string } | undefined)?.stderr)).to.match(/not-authorized/);
    });
  });

  describe('peer probes', () => {
    before(function () {
      requirePeer(this, PROSODY_PEER, probeProsody());
    });

    it('report prosody and mcabber as missing when they are not on PATH (what makes CI fail loudly)', () => {
      const saved = process.env['PATH'];
      process.env['PATH'] = '/nonexistent';
      try {
        const p = probeProsody();
        expect(p.available).to.equal(false);
        expect(p.available ? '' : p.reason).to.match(/not found/);
        expect(probeMcabber().available).to.equal(false);
      } finally {
        process.env['PATH'] = saved;
      }
      expect(probeProsody().available).to.equal(true);
    });
  });

  describe('certificates and features', () => {
    before(function () {
      requirePeer(this, PROSODY_PEER, probeProsody());
    });

    it('serves the expired and the wrong-host certificates on request', async () => {
      const expired = await startProsody({ served: 'expired', accounts: [] });
      let wrong: ProsodyServer | undefined;
      try {
        wrong = await startProsody({ served: 'wrongHost', accounts: [], pki: expired.pki });
        expect((await probeTls(expired.directTlsPort, expired.caPem)).error).to.equal('CERT_HAS_EXPIRED');
        expect((await probeTls(wrong.directTlsPort, wrong.caPem)).error).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
        // The chain is fine: only the name is wrong.
        expect((await probeTls(wrong.directTlsPort, wrong.caPem, 'localhost', true)).authorized).to.equal(true);
      } finally {
        await wrong?.stop();
        await expired.stop();
      }
    });

    it('opt-in features are really served: carbons, MAM, PEP, smacks, MUC, upload, push, and a component port', async () => {
      const s = await startProsody({
        modules: ALL_PROSODY_FEATURES,
        components: [{ name: 'push.localhost', secret: 'push-secret' }],
      });
      try {
        expect(await accepts(s.componentPort ?? 0)).to.equal(true);
        expect(await accepts(s.httpPort ?? 0)).to.equal(true);
        const out = await chat(s, s.account('alice'), s.account('bob'));
        expect(out.serverFeatures).to.include.members([
          'urn:xmpp:carbons:2', 'urn:xmpp:blocking', 'msgoffline',
        ]);
        expect(out.accountFeatures).to.include.members([
          'urn:xmpp:mam:2', 'http://jabber.org/protocol/pubsub#publish', 'urn:xmpp:push:0',
        ]);
        expect(out.items).to.include.members(['conference.localhost', 'upload.localhost']);
        expect(out.streamManagement).to.equal(true);
        expect(s.log()).not.to.match(/\terror\t/);
      } finally {
        await s.stop();
      }
    });

    it('the default server is minimal: no carbons, MAM, push or stream management', async () => {
      const s = await startProsody({});
      try {
        const out = await chat(s, s.account('alice'), s.account('bob'));
        expect(out.serverFeatures).not.to.include('urn:xmpp:carbons:2');
        expect(out.serverFeatures).not.to.include('msgoffline');
        expect(out.accountFeatures).not.to.include('urn:xmpp:push:0');
        expect(out.accountFeatures).not.to.include('urn:xmpp:mam:2');
        expect(out.items).to.deep.equal([]);
        expect(out.streamManagement).to.equal(false);
      } finally {
        await s.stop();
      }
    });

    it('stop() kills the server and removes its directory', async () => {
      const s = await startProsody({ accounts: ['dave'] });
      expect(await accepts(s.c2sPort)).to.equal(true);
      expect(existsSync(s.dir)).to.equal(true);
      await s.stop();
      await s.stop();
      expect(existsSync(s.dir)).to.equal(false);
      expect(await accepts(s.c2sPort)).to.equal(false);
    });
  });
});
