/**
 * TLS policy: option validation, the node:tls options it implies, error classification, and the
 * SecureSocket plaintext guard (bytes actually written to a loopback TCP sink).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client } from '@xmpp/client';
import { secureClient, secureTransport } from '../../../lib/xmpp/secure-client.js';
import { SecureSocket } from '../../../lib/xmpp/secure-socket.js';
import { TlsError, classifyTlsError } from '../../../lib/xmpp/tls-errors.js';
import type { TlsErrorCode } from '../../../lib/xmpp/tls-errors.js';
import { nodeTlsOptions, normalizePin, resolveTlsPolicy } from '../../../lib/xmpp/tls-options.js';
import { generateTestPki } from '../../interop/prosody/test-pki.js';
import type { TestPki } from '../../interop/prosody/test-pki.js';

describe('xmpp/tls-options', () => {
  let dir: string;
  let pki: TestPki;
  before(function () {
    this.timeout(20000);
    dir = mkdtempSync(join(tmpdir(), 'tls-options-test-'));
    pki = generateTestPki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('resolveTlsPolicy', () => {
    it('defaults to validation on, plaintext refused, TLS 1.2+, system roots', () => {
      const p = resolveTlsPolicy();
      expect(p).to.deep.include({ ca: undefined, minVersion: 'TLSv1.2', allowPlaintext: false, acceptInvalidCertificate: false });
      expect(p.pins.size).to.equal(0);
    });

    it('only a literal true under `insecure` weakens anything', () => {
      const p = resolveTlsPolicy({ insecure: { allowPlaintext: 'yes' as unknown as boolean, acceptInvalidCertificate: 1 as unknown as boolean } });
      expect(p.allowPlaintext).to.equal(false);
      expect(p.acceptInvalidCertificate).to.equal(false);
      const q = resolveTlsPolicy({ insecure: { allowPlaintext: true, acceptInvalidCertificate: true } });
      expect(q.allowPlaintext).to.equal(true);
      expect(q.acceptInvalidCertificate).to.equal(true);
    });

    it('takes PEM CAs (replacing the system roots unless includeSystemRoots) and rejects junk', () => {
      expect(resolveTlsPolicy({ ca: pki.ca.certPem }).ca).to.deep.equal([pki.ca.certPem]);
      const both = resolveTlsPolicy({ ca: [pki.ca.certPem, pki.otherCa.certPem], includeSystemRoots: true }).ca ?? [];
      expect(both.length).to.be.greaterThan(100);
      expect(both.slice(0, 2)).to.deep.equal([pki.ca.certPem, pki.otherCa.certPem]);
      expect(() => resolveTlsPolicy({ ca: 'not a pem' })).to.throw(TypeError, /PEM/);
      expect(() => resolveTlsPolicy({ ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })).to.throw(RangeError, /X\.509/);
      expect(() => resolveTlsPolicy({ ca: [] })).to.throw(RangeError, /empty/);
      expect(() => resolveTlsPolicy({ includeSystemRoots: true })).to.throw(TypeError, /tls\.ca/);
    });

    it('normalizes pins (bare base64 or sha256/ prefix) and rejects wrong lengths', () => {
      const pin = pki.server.spkiSha256;
      expect(normalizePin(pin)).to.equal(pin);
      expect(normalizePin(`sha256/${pin}`)).to.equal(pin);
      expect([...resolveTlsPolicy({ pins: [pin, `sha256/${pin}`] }).pins]).to.deep.equal([pin]);
      expect(() => normalizePin(pin.slice(4))).to.throw(RangeError);
      expect(() => normalizePin(Buffer.alloc(20).toString('base64'))).to.throw(RangeError);
      expect(() => normalizePin(pki.server.fingerprintSha256)).to.throw(RangeError);
    });

    it('rejects a bad minVersion or servername', () => {
      expect(() => resolveTlsPolicy({ minVersion: 'TLSv1' as 'TLSv1.2' })).to.throw(RangeError);
      expect(() => resolveTlsPolicy({ servername: '' })).to.throw(TypeError);
    });
  });

  describe('nodeTlsOptions', () => {
    it('always sets rejectUnauthorized explicitly (so NODE_TLS_REJECT_UNAUTHORIZED cannot flip it)', () => {
      const o = nodeTlsOptions(resolveTlsPolicy({ ca: pki.ca.certPem }), 'localhost');
      expect(o).to.deep.include({ rejectUnauthorized: true, minVersion: 'TLSv1.2', servername: 'localhost' });
      expect(o.ca).to.deep.equal([pki.ca.certPem]);
      expect(o.checkServerIdentity).to.equal(undefined);
      const weak = nodeTlsOptions(resolveTlsPolicy({ insecure: { acceptInvalidCertificate: true } }), 'localhost');
      expect(weak.rejectUnauthorized).to.equal(false);
      expect(weak.checkServerIdentity).to.be.a('function');
    });

    it('sends no SNI for an IP literal reference identity (RFC 6066 §3)', () => {
      expect(nodeTlsOptions(resolveTlsPolicy(), '127.0.0.1')).not.to.have.property('servername');
    });
  });

  describe('classifyTlsError', () => {
    const cases: [string, TlsErrorCode][] = [
      ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls.untrusted-certificate'],
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls.untrusted-certificate'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'tls.untrusted-certificate'],
      ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls.untrusted-certificate'],
      ['CERT_HAS_EXPIRED', 'tls.certificate-expired'],
      ['CERT_NOT_YET_VALID', 'tls.certificate-not-yet-valid'],
      ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls.hostname-mismatch'],
      ['CERT_REVOKED', 'tls.certificate-invalid'],
      ['CERT_SIGNATURE_FAILURE', 'tls.certificate-invalid'],
      ['INVALID_PURPOSE', 'tls.certificate-invalid'],
      ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'tls.handshake-failed'],
      ['ECONNRESET', 'tls.handshake-failed'],
    ];
    for (const [nodeCode, code] of cases) {
      it(`${nodeCode} -> ${code}`, () => {
        const e = Object.assign(new Error('x'), { code: nodeCode });
        const t = classifyTlsError(e);
        expect(t).to.be.instanceOf(TlsError);
        expect(t.code).to.equal(code);
        expect(t.cause).to.equal(e);
      });
    }
    it('returns a TlsError unchanged', () => {
      const t = new TlsError('tls.pin-mismatch', 'x');
      expect(classifyTlsError(t)).to.equal(t);
    });
  });

  describe('SecureSocket plaintext guard', () => {
    let sink: Server;
    let received: string;
    let peer: Socket | undefined;
    beforeEach(async () => {
      received = '';
      sink = createServer((s) => {
        peer = s;
        s.on('error', () => undefined); // our side may reset the connection
        s.on('data', (d: Buffer) => {
          received += d.toString('utf8');
        });
      });
      sink.listen(0, '127.0.0.1');
      await once(sink, 'listening');
    });
    afterEach(async () => {
      peer?.destroy();
      await new Promise<void>((r) => sink.close(() => r()));
    });

    const open = async (allowPlaintext: boolean): Promise<SecureSocket> => {
      const socket = new SecureSocket({ policy: resolveTlsPolicy({ insecure: { allowPlaintext } }), servername: () => 'localhost' });
      socket.connect({ mode: 'starttls', host: '127.0.0.1', port: (sink.address() as AddressInfo).port });
      await once(socket, 'connect');
      return socket;
    };
    const write = (socket: SecureSocket, data: string): Promise<Error | null | undefined> =>
      new Promise((resolve) => socket.write(data, (e) => resolve(e ?? undefined)));
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

    it('lets only the stream header, <starttls/> and the footer through before TLS', async () => {
      const socket = await open(false);
      const header = "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
      expect(await write(socket, header)).to.equal(undefined);
      const auth = await write(socket, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>");
      expect(auth).to.be.instanceOf(TlsError);
      expect((auth as TlsError).code).to.equal('tls.plaintext-refused');
      const msg = await write(socket, "<message to='bob@localhost'><body>hi</body></message>");
      expect((msg as TlsError).code).to.equal('tls.plaintext-refused');
      expect(socket.plaintextPending).to.equal(true);
      expect(socket.startTlsRequested).to.equal(false);
      await socket.requestStartTls();
      expect(socket.startTlsRequested).to.equal(true);
      let again: unknown;
      await socket.requestStartTls().catch((e: unknown) => {
        again = e;
      });
      expect(String(again)).to.match(/awaiting STARTTLS/); // <starttls/> goes out once
      expect(await write(socket, '</stream:stream>')).to.equal(undefined);
      await settle();
      expect(received).to.equal(`${header}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>`);
      expect(socket.secure).to.equal(false);
      expect(socket.security).to.equal(undefined);
      expect(() => socket.acceptPlaintext()).to.throw(TlsError, /not allowed/);
      socket.destroy();
    });

    it('carries XMPP in the clear only after acceptPlaintext() under insecure.allowPlaintext', async () => {
      const socket = await open(true);
      expect((await write(socket, '<presence/>') as TlsError).code).to.equal('tls.plaintext-refused');
      socket.acceptPlaintext();
      expect(await write(socket, '<presence/>')).to.equal(undefined);
      await settle();
      expect(received).to.equal('<presence/>');
      expect(socket.security).to.deep.equal({ kind: 'plaintext' });
      expect(socket.secure).to.equal(false);
      socket.destroy();
    });

    it('refuses an unsupported transport with a typed error', async () => {
      const socket = new SecureSocket({ policy: resolveTlsPolicy(), servername: () => 'localhost' });
      const errored = once(socket, 'error');
      socket.connect({ mode: 'unsupported', service: 'ws://127.0.0.1:1/xmpp' });
      const [e] = (await errored) as [TlsError];
      expect(e.code).to.equal('tls.unsupported-transport');
    });
  });
});

describe('xmpp/secure-client: hooking', () => {
  it('replaces the transports, refuses a second policy and a started entity', () => {
    const x = client({ service: 'xmpp://127.0.0.1:1', domain: 'localhost' });
    const before = [...x.transports];
    const handle = secureTransport({ entity: x });
    expect(x.transports).to.have.length(3);
    expect(x.transports.some((T) => before.includes(T))).to.equal(false);
    expect(handle.security).to.equal(undefined);
    expect(handle.policy.allowPlaintext).to.equal(false);
    expect(() => secureTransport({ entity: x }, { insecure: { allowPlaintext: true } })).to.throw(TypeError, /already secured/);
    const y = secureClient({ service: 'xmpp://127.0.0.1:1', domain: 'localhost' });
    expect(() => secureTransport({ entity: y })).to.throw(TypeError, /already secured/);
    expect(() => secureClient({ service: 'xmpp://127.0.0.1:1', domain: 'localhost', tls: { pins: ['nope'] } })).to.throw(RangeError);
    const z = client({ service: 'xmpp://127.0.0.1:1', domain: 'localhost' });
    (z as unknown as { status: string }).status = 'online';
    expect(() => secureTransport({ entity: z })).to.throw(TypeError, /before start/);
  });
});

describe('xmpp/tls-options: properties', () => {
  const codes: readonly string[] = [
    'tls.untrusted-certificate', 'tls.certificate-expired', 'tls.certificate-not-yet-valid', 'tls.hostname-mismatch',
    'tls.pin-mismatch', 'tls.certificate-invalid', 'tls.handshake-failed', 'tls.starttls-unavailable',
    'tls.starttls-failed', 'tls.plaintext-refused', 'tls.unsupported-transport',
  ];

  it('classifyTlsError maps anything thrown to a TlsError with a known code, keeping the cause', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.constantFrom('CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'X_CERT_Y')), fc.anything({ withNullPrototype: true }), (code, junk) => {
      for (const thrown of [Object.assign(new Error('m'), { code }), junk, { code: junk }]) {
        const t = classifyTlsError(thrown);
        expect(t).to.be.instanceOf(TlsError);
        expect(codes).to.include(t.code);
        expect(t.cause).to.equal(thrown);
      }
    }));
  });

  it('normalizePin accepts exactly base64 of 32 bytes (optionally sha256/-prefixed)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.boolean(), (bytes, prefixed) => {
      const b64 = Buffer.from(bytes).toString('base64');
      const pin = prefixed ? `sha256/${b64}` : b64;
      if (bytes.length === 32) expect(normalizePin(pin)).to.equal(b64);
      else expect(() => normalizePin(pin)).to.throw(RangeError);
    }));
    fc.assert(fc.property(fc.string(), (s) => {
      try {
        const out = normalizePin(s);
        expect(Buffer.from(out, 'base64')).to.have.length(32);
      } catch (error) {
        expect(error).to.be.instanceOf(RangeError);
      }
    }));
  });

  it('resolveTlsPolicy weakens nothing unless a flag is literally true; nodeTlsOptions always validates then', () => {
    fc.assert(fc.property(fc.anything(), fc.anything(), (allowPlaintext, acceptInvalidCertificate) => {
      const p = resolveTlsPolicy({ insecure: { allowPlaintext, acceptInvalidCertificate } as never });
      expect(p.allowPlaintext).to.equal(allowPlaintext === true);
      expect(p.acceptInvalidCertificate).to.equal(acceptInvalidCertificate === true);
      const o = nodeTlsOptions(p, 'localhost');
      expect(o.rejectUnauthorized).to.equal(acceptInvalidCertificate !== true);
    }));
  });
});
