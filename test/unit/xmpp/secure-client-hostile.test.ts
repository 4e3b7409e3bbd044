/**
 * The secure client against a scripted HOSTILE server on 127.0.0.1 (behaviour Prosody never
 * shows): SASL and stanzas offered before TLS, STARTTLS refused, no answer, garbage instead of
 * a TLS handshake. Asserts the exact bytes the client put on the wire in the clear.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { TlsError, secureClient } from '../../../lib/xmpp/secure-client.js';
import type { SecureXmppClient, TlsOptions } from '../../../lib/xmpp/secure-client.js';
import { generateTestPki } from '../../interop/prosody/test-pki.js';
import type { TestPki } from '../../interop/prosody/test-pki.js';

const STREAM_HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='localhost' version='1.0'>";
const TLS_NS = 'urn:ietf:params:xml:ns:xmpp-tls';
const SASL_NS = 'urn:ietf:params:xml:ns:xmpp-sasl';
const STARTTLS_FEATURE = `<starttls xmlns='${TLS_NS}'/>`;
const PLAIN_FEATURE = `<mechanisms xmlns='${SASL_NS}'><mechanism>PLAIN</mechanism></mechanisms>`;

type Scenario = (socket: Socket, clear: { bytes: string }) => void;

/** Reads until `pattern` shows up in what the client sent in the clear. */
function when(socket: Socket, clear: { bytes: string }, pattern: RegExp, then: () => void): void {
  const check = (): void => {
    if (pattern.test(clear.bytes)) {
      socket.off('data', check);
      then();
    }
  };
  socket.on('data', check);
  check();
}

describe('xmpp/secure-client against a hostile server', function () {
  this.timeout(20000);
  let dir: string;
  let pki: TestPki;
  let server: Server | undefined;
  let client: SecureXmppClient | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'secure-client-hostile-'));
    pki = generateTestPki(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    client?.reconnect.stop();
    await client?.stop().catch(() => undefined);
    client = undefined;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function run(scenario: Scenario, tls: TlsOptions = {}, timeout = 2000): Promise<{ error: unknown; clear: string }> {
    const clear = { bytes: '' };
    const sockets: Socket[] = [];
    server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      const record = (d: Buffer): void => {
        clear.bytes += d.toString('latin1');
      };
      socket.on('data', record);
      (socket as Socket & { stopRecording?: () => void }).stopRecording = () => socket.off('data', record);
      scenario(socket, clear);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server?.once('listening', r));
    const port = (server.address() as AddressInfo).port;
    client = secureClient({
      service: `xmpp://127.0.0.1:${port}`, domain: 'localhost', username: 'alice', password: 'secret-password',
      timeout, tls: { ca: pki.ca.certPem, ...tls },
    });
    client.reconnect.stop();
    client.on('error', () => undefined);
    let error: unknown;
    try {
      await client.start();
    } catch (e) {
      error = e;
    }
    for (const s of sockets) s.destroy();
    return { error, clear: clear.bytes };
  }

  const onlyHeaderAndStartTls = /^<\?xml version='1\.0'\?><stream:stream [^>]*>(<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'\/>)?$/;

  it('SASL and a stanza offered before TLS: the client sends only <starttls/> in the clear, then authenticates over TLS', async () => {
    let overTls = '';
    const { error, clear } = await run((socket, c) => {
      when(socket, c, /<stream:stream[^>]*>/, () => {
        socket.write(`${STREAM_HEADER}<stream:features>${STARTTLS_FEATURE}${PLAIN_FEATURE}</stream:features>`);
        socket.write("<iq type='get' id='p1' from='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
        when(socket, c, /<starttls /, () => {
          (socket as Socket & { stopRecording: () => void }).stopRecording();
          socket.write(`<proceed xmlns='${TLS_NS}'/>`);
          const t = new TLSSocket(socket, {
            isServer: true,
            cert: readFileSync(pki.server.certPath),
            key: readFileSync(pki.server.keyPath),
          });
          t.on('error', () => undefined);
          t.on('data', (d: Buffer) => {
            overTls += d.toString('utf8');
            if (/<stream:stream[^>]*>$/.test(overTls)) {
              t.write(`${STREAM_HEADER}<stream:features>${PLAIN_FEATURE}</stream:features>`);
            }
            if (overTls.includes('</auth>')) t.write(`<failure xmlns='${SASL_NS}'><not-authorized/></failure>`);
          });
        });
      });
    });
    expect(clear).to.match(onlyHeaderAndStartTls);
    expect(clear).to.contain('<starttls');
    expect(clear).not.to.contain('secret-password');
    expect(clear).not.to.contain('<auth');
    expect(clear).not.to.contain('<iq');
    expect(overTls).to.match(/<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">/);
    expect(overTls).to.contain(Buffer.from('\0alice\0secret-password').toString('base64'));
    expect((error as { condition?: string }).condition).to.equal('not-authorized');
  });

  it('no STARTTLS offered, only SASL: tls.starttls-unavailable and nothing but the header in the clear', async () => {
    const { error, clear } = await run((socket, c) => {
      when(socket, c, /<stream:stream[^>]*>/, () => {
        socket.write(`${STREAM_HEADER}<stream:features>${PLAIN_FEATURE}</stream:features>`);
      });
    });
    expect(error).to.be.instanceOf(TlsError);
    expect((error as TlsError).code).to.equal('tls.starttls-unavailable');
    expect(clear).to.match(onlyHeaderAndStartTls);
    expect(clear).not.to.contain('<starttls');
  });

  it('the server answers <starttls/> with <failure/>: tls.starttls-failed', async () => {
    const { error, clear } = await run((socket, c) => {
      when(socket, c, /<stream:stream[^>]*>/, () => {
        socket.write(`${STREAM_HEADER}<stream:features>${STARTTLS_FEATURE}</stream:features>`);
        when(socket, c, /<starttls /, () => socket.write(`<failure xmlns='${TLS_NS}'/>`));
      });
    });
    expect((error as TlsError).code).to.equal('tls.starttls-failed');
    expect(clear).to.match(onlyHeaderAndStartTls);
  });

  it('the server never answers <starttls/>: tls.starttls-failed after the client timeout', async () => {
    const { error } = await run((socket, c) => {
      when(socket, c, /<stream:stream[^>]*>/, () => {
        socket.write(`${STREAM_HEADER}<stream:features>${STARTTLS_FEATURE}</stream:features>`);
      });
    }, {}, 300);
    expect((error as TlsError).code).to.equal('tls.starttls-failed');
  });

  it('<proceed/> followed by garbage instead of a TLS handshake: tls.handshake-failed', async () => {
    const { error } = await run((socket, c) => {
      when(socket, c, /<stream:stream[^>]*>/, () => {
        socket.write(`${STREAM_HEADER}<stream:features>${STARTTLS_FEATURE}</stream:features>`);
        when(socket, c, /<starttls /, () => {
          socket.write(`<proceed xmlns='${TLS_NS}'/>`);
          setTimeout(() => socket.write('HTTP/1.1 400 Bad Request\r\n\r\nnot tls at all, definitely not a ServerHello'), 20);
        });
      });
    });
    expect((error as TlsError).code).to.equal('tls.handshake-failed');
  });

  const serveAfterProceed = (cert: { certPath: string; keyPath: string }): Scenario => (socket, c) => {
    when(socket, c, /<stream:stream[^>]*>/, () => {
      socket.write(`${STREAM_HEADER}<stream:features>${STARTTLS_FEATURE}</stream:features>`);
      when(socket, c, /<starttls /, () => {
        (socket as Socket & { stopRecording: () => void }).stopRecording();
        socket.write(`<proceed xmlns='${TLS_NS}'/>`);
        const t = new TLSSocket(socket, { isServer: true, cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) });
        t.on('error', () => undefined);
      });
    });
  };

  it('a self-signed certificate after <proceed/>: tls.untrusted-certificate', async () => {
    const { error } = await run(serveAfterProceed(pki.selfSigned));
    expect((error as TlsError).code).to.equal('tls.untrusted-certificate');
    expect(((error as TlsError).cause as { code?: string }).code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it("a CA certificate used as the server's: tls.certificate-invalid (INVALID_PURPOSE)", async () => {
    const { error } = await run(serveAfterProceed(pki.otherCa), { ca: pki.otherCa.certPem });
    expect((error as TlsError).code).to.equal('tls.certificate-invalid');
  });
});
