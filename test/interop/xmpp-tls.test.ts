/**
 * lib/xmpp/secure-client.ts against a real Prosody: custom CA and SPKI pins over STARTTLS and
 * direct TLS, every refusal as a typed TlsError, plaintext refused unless opted in, STARTTLS
 * before SASL even when the server would allow SASL in the clear, and the reported certificate
 * fingerprints equal to openssl's.
 */
import { expect } from 'chai';
import { TLSSocket } from 'node:tls';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { TlsError, secureClient } from '../../lib/xmpp/secure-client.js';
import type { SecureXmppClient, TlsErrorCode, TlsOptions } from '../../lib/xmpp/secure-client.js';
import { startProsody } from './prosody/prosody-harness.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';
import { PROSODY_PEER, probeProsody, useProsody } from './prosody/prosody-mocha.js';
import { requirePeer } from './peer-availability.js';

type Mode = 'starttls' | 'direct-tls';

function make(server: ProsodyServer, mode: Mode, tls: TlsOptions, user = 'alice'): SecureXmppClient {
  const account = server.account(user);
  const x = secureClient({
    service: mode === 'starttls' ? server.service : server.directTlsService,
    domain: server.domain,
    username: account.username,
    password: account.password,
    resource: 'tls-test',
    tls,
  });
  x.reconnect.stop(); // a refused certificate must not turn into a reconnect loop in tests
  return x;
}

/** Connects and expects success; returns the online client. */
async function online(server: ProsodyServer, mode: Mode, tls: TlsOptions, user = 'alice'): Promise<SecureXmppClient> {
  const x = make(server, mode, tls, user);
  const errors: unknown[] = [];
  x.on('error', (e: unknown) => errors.push(e));
  try {
    await x.start();
  } catch (error) {
    throw new Error(`expected to connect, got ${String((error as TlsError).code ?? error)}`, { cause: error });
  }
  expect(errors).to.deep.equal([]);
  return x;
}

/** Connects and expects a refusal; returns the error start() rejected with. */
async function refused(server: ProsodyServer, mode: Mode, tls: TlsOptions): Promise<TlsError> {
  const x = make(server, mode, tls);
  const errors: unknown[] = [];
  x.on('error', (e: unknown) => errors.push(e));
  let failure: unknown;
  try {
    await x.start();
  } catch (error) {
    failure = error;
  }
  await x.stop().catch(() => undefined);
  expect(failure, 'start() must reject').to.be.instanceOf(TlsError);
  expect(errors.filter((e) => e instanceof TlsError)).to.have.length(1); // reported once
  expect(x.status).not.to.equal('online');
  return failure as TlsError;
}

function nextBody(x: SecureXmppClient): Promise<string> {
  return new Promise((resolve) => {
    const on = (s: XmppClientElement): void => {
      const body = s.is('message') ? s.getChildText('body') : null;
      if (body !== null) {
        x.removeListener('stanza', on);
        resolve(body);
      }
    };
    x.on('stanza', on);
  });
}

const MODES: readonly Mode[] = ['starttls', 'direct-tls'];

describe('interop: TLS policy of the secure @xmpp/client (Prosody)', function () {
  this.timeout(60000);

  describe('valid server certificate', () => {
    const fixture = useProsody({ accounts: ['alice', 'bob'] });

    for (const mode of MODES) {
      it(`${mode}: the test CA works, and the reported certificate equals openssl's`, async () => {
        const { server } = fixture;
        const x = await online(server, mode, { ca: server.caPem });
        try {
          expect(x.isSecure()).to.equal(true);
          const sec = x.transportSecurity.security;
          if (sec?.kind !== 'tls') throw new Error('expected a TLS connection');
          expect(sec.method).to.equal(mode);
          expect(sec.validation).to.equal('verified');
          expect(sec.pinned).to.equal(false);
          expect(sec.protocol).to.equal('TLSv1.3');
          expect(sec.cipher).to.match(/^TLS_/);
          expect(sec.certificate.fingerprintSha256).to.equal(server.servedCertificate.fingerprintSha256);
          expect(sec.certificate.spkiSha256).to.equal(server.servedCertificate.spkiSha256);
          expect(sec.certificate.subjectAltName).to.contain('IP Address:127.0.0.1');
          expect(Buffer.from(sec.certificate.der).toString('base64')).to.equal(
            server.servedCertificate.certPem.replace(/-----[A-Z ]+-----|\s/g, ''),
          );
          const socket = (x.socket as { socket: unknown }).socket;
          expect(socket).to.be.instanceOf(TLSSocket);
          expect((socket as TLSSocket).authorized).to.equal(true);
        } finally {
          await x.stop();
        }
      });
    }

    it('a STARTTLS client and a direct-TLS client exchange messages both ways', async () => {
      const { server } = fixture;
      const a = await online(server, 'starttls', { ca: server.caPem }, 'alice');
      const b = await online(server, 'direct-tls', { ca: server.caPem, pins: [server.servedCertificate.spkiSha256] }, 'bob');
      try {
        await a.send(xml('presence'));
        await b.send(xml('presence'));
        const atB = nextBody(b);
        await a.send(xml('message', { to: 'bob@localhost/tls-test', type: 'chat' }, xml('body', {}, 'over starttls')));
        expect(await atB).to.equal('over starttls');
        const atA = nextBody(a);
        await b.send(xml('message', { to: 'alice@localhost/tls-test', type: 'chat' }, xml('body', {}, 'over direct tls')));
        expect(await atA).to.equal('over direct tls');
      } finally {
        await a.stop();
        await b.stop();
      }
    });

    for (const mode of MODES) {
      it(`${mode}: a matching SPKI pin connects (also "sha256/"-prefixed); a wrong one is tls.pin-mismatch`, async () => {
        const { server } = fixture;
        const pin = server.servedCertificate.spkiSha256;
        const x = await online(server, mode, { ca: server.caPem, pins: [server.pki.otherCa.spkiSha256, `sha256/${pin}`] });
        const sec = x.transportSecurity.security;
        expect(sec?.kind === 'tls' && sec.pinned).to.equal(true);
        await x.stop();
        // Pins are of the server's own key: the CA's key (or any other) does not match.
        const e = await refused(server, mode, { ca: server.caPem, pins: [server.pki.ca.spkiSha256] });
        expect(e.code).to.equal('tls.pin-mismatch');
        expect(e.certificate?.spkiSha256).to.equal(pin);
        expect(e.certificate?.fingerprintSha256).to.equal(server.servedCertificate.fingerprintSha256);
      });

      it(`${mode}: an unrelated CA, or the system roots, is tls.untrusted-certificate`, async () => {
        const { server } = fixture;
        expect((await refused(server, mode, { ca: server.pki.otherCa.certPem })).code).to.equal('tls.untrusted-certificate');
        expect((await refused(server, mode, {})).code).to.equal('tls.untrusted-certificate');
      });

      it(`${mode}: NODE_TLS_REJECT_UNAUTHORIZED=0 does not bypass validation`, async () => {
        const { server } = fixture;
        const saved = process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
        const savedEmit = process.emitWarning;
        process.emitWarning = () => undefined; // node warns once about the variable
        process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
        try {
          expect((await refused(server, mode, { ca: server.pki.otherCa.certPem })).code).to.equal('tls.untrusted-certificate');
        } finally {
          if (saved === undefined) delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
          else process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = saved;
          process.emitWarning = savedEmit;
        }
      });

      it(`${mode}: pin-only trust needs insecure.acceptInvalidCertificate and is reported as unverified`, async () => {
        const { server } = fixture;
        const pin = server.servedCertificate.spkiSha256;
        expect((await refused(server, mode, { pins: [pin] })).code).to.equal('tls.untrusted-certificate');
        const x = await online(server, mode, { pins: [pin], insecure: { acceptInvalidCertificate: true } });
        const sec = x.transportSecurity.security;
        if (sec?.kind !== 'tls') throw new Error('expected TLS');
        expect(sec.validation).to.equal('unverified');
        expect(sec.validationError).to.equal('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
        expect(sec.pinned).to.equal(true);
        await x.stop();
        const wrongPin = await refused(server, mode, { pins: [server.pki.otherCa.spkiSha256], insecure: { acceptInvalidCertificate: true } });
        expect(wrongPin.code).to.equal('tls.pin-mismatch');
      });
    }

    it('a WebSocket service is refused: only xmpp: and xmpps: can be secured', async () => {
      const { server } = fixture;
      const x = secureClient({ service: `ws://127.0.0.1:${server.c2sPort}/xmpp-websocket`, domain: 'localhost', username: 'alice', password: 'x' });
      x.reconnect.stop();
      x.on('error', () => undefined);
      let failure: unknown;
      try {
        await x.start();
      } catch (e) {
        failure = e;
      }
      expect((failure as TlsError).code).to.equal('tls.unsupported-transport');
    });
  });

  describe('bad server certificates', () => {
    const expired = useProsody({ served: 'expired', accounts: ['alice'] });
    const wrongHost = useProsody({ served: 'wrongHost', accounts: ['alice'] });

    for (const mode of MODES) {
      it(`${mode}: an expired certificate is tls.certificate-expired`, async () => {
        const { server } = expired;
        expect((await refused(server, mode, { ca: server.caPem })).code).to.equal('tls.certificate-expired');
      });

      it(`${mode}: a certificate for another host is tls.hostname-mismatch`, async () => {
        const { server } = wrongHost;
        const e = await refused(server, mode, { ca: server.caPem });
        expect(e.code satisfies TlsErrorCode).to.equal('tls.hostname-mismatch');
      });
    }

    it('insecure.acceptInvalidCertificate connects to the expired server but reports why it is unverified', async () => {
      const { server } = expired;
      const x = await online(server, 'starttls', { ca: server.caPem, insecure: { acceptInvalidCertificate: true } });
      const sec = x.transportSecurity.security;
      expect(sec?.kind === 'tls' && sec.validation).to.equal('unverified');
      expect(sec?.kind === 'tls' && sec.validationError).to.equal('CERT_HAS_EXPIRED');
      await x.stop();
    });

    it('insecure.acceptInvalidCertificate on the wrong-host server reports the name mismatch', async () => {
      const { server } = wrongHost;
      const x = await online(server, 'direct-tls', { ca: server.caPem, insecure: { acceptInvalidCertificate: true } });
      const sec = x.transportSecurity.security;
      expect(sec?.kind === 'tls' && sec.validationError).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
      await x.stop();
    });
  });

  describe('reconnects', () => {
    const fixture = useProsody({ accounts: ['alice'], modules: ['smacks'] });

    it('after a dropped connection, @xmpp/reconnect comes back secured again (new handshake, same checks)', async () => {
      const { server } = fixture;
      const x = make(server, 'starttls', { ca: server.caPem, pins: [server.servedCertificate.spkiSha256] });
      x.reconnect.start();
      x.on('error', () => undefined);
      const secured: string[] = [];
      const off = x.transportSecurity.onSecured((s) => secured.push(s.kind === 'tls' ? s.certificate.spkiSha256 : s.kind));
      await x.start();
      expect(secured).to.deep.equal([server.servedCertificate.spkiSha256]);
      try {
        const first = (x.socket as { socket: TLSSocket }).socket;
        for (let i = 0; i < 100 && !x.streamManagement.enabled; i++) await new Promise((r) => setTimeout(r, 20));
        expect(x.streamManagement.enabled, 'XEP-0198 enabled').to.equal(true);
        const resumed = new Promise<void>((r) => x.streamManagement.once('resumed', () => r()));
        first.destroy(); // the network drops the connection
        await resumed; // XEP-0198 resumption over a NEW secured socket
        const second = (x.socket as { socket: TLSSocket }).socket;
        expect(second).to.be.instanceOf(TLSSocket);
        expect(second).not.to.equal(first);
        const sec = x.transportSecurity.security;
        expect(sec?.kind === 'tls' && sec.pinned && sec.certificate.spkiSha256).to.equal(server.servedCertificate.spkiSha256);
        expect(x.status).to.equal('online');
        expect(secured).to.deep.equal([server.servedCertificate.spkiSha256, server.servedCertificate.spkiSha256]);
        off();
      } finally {
        x.reconnect.stop();
        await x.stop();
      }
    });
  });

  describe('plaintext', () => {
    before(function () {
      requirePeer(this, PROSODY_PEER, probeProsody());
    });

    it('a server without TLS is tls.starttls-unavailable unless insecure.allowPlaintext', async () => {
      // SCRAM: @xmpp/client never picks PLAIN on an unencrypted stream.
      const server = await startProsody({ tls: false, sasl: 'scram', accounts: ['alice'] });
      try {
        const e = await refused(server, 'starttls', { ca: server.caPem });
        expect(e.code).to.equal('tls.starttls-unavailable');
        const x = make(server, 'starttls', { insecure: { allowPlaintext: true } });
        const secured: unknown[] = [];
        x.transportSecurity.onSecured((s) => secured.push(s));
        x.on('error', () => undefined);
        await x.start();
        expect(secured).to.deep.equal([{ kind: 'plaintext' }]);
        expect(x.isSecure()).to.equal(false);
        expect(x.transportSecurity.security).to.deep.equal({ kind: 'plaintext' });
        await x.stop();
      } finally {
        await server.stop();
      }
    });

    it('STARTTLS comes first even when the server would allow SASL before TLS', async () => {
      // c2s_require_encryption = false: Prosody offers <starttls/> AND SASL mechanisms in the clear.
      const server = await startProsody({ sasl: 'scram', accounts: ['alice'], extraConfig: 'c2s_require_encryption = false' });
      try {
        for (const tls of [{ ca: server.caPem }, { ca: server.caPem, insecure: { allowPlaintext: true } }]) {
          const x = await online(server, 'starttls', tls);
          const sec = x.transportSecurity.security;
          expect(sec?.kind === 'tls' && sec.method).to.equal('starttls');
          expect(x.isSecure()).to.equal(true);
          await x.stop();
        }
      } finally {
        await server.stop();
      }
    });
  });
});
