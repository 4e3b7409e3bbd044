/**
 * The HTTPS side of media sharing (lib/xmpp/https-transfer.ts, and the XEP-0363 PUT of
 * http-upload.ts) against local node:https servers on 127.0.0.1 with the per-run test PKI
 * (openssl): what a hostile or broken HTTP server can do — stream more than the limit without
 * or despite Content-Length, cut the body short, stall, redirect, present an expired, wrong-host
 * or unpinned certificate — ends in a typed error; a refused server never sees the request; the
 * PUT carries only the headers XEP-0363 allows.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parseStanza } from '../unit/xmpp/loopback.js';
import { generateTestPki, type TestCertificate, type TestPki } from './prosody/test-pki.js';
import { requirePeer } from './peer-availability.js';
import { PROSODY_PEER, probeProsody } from './prosody/prosody-mocha.js';
import { httpsGet, httpsPut } from '../../lib/xmpp/https-transfer.js';
import { HttpUpload, NS_HTTP_UPLOAD, readSlot } from '../../lib/xmpp/http-upload.js';
import { MediaError } from '../../lib/xmpp/media-errors.js';
import { TlsError } from '../../lib/xmpp/tls-errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface TestServer {
  readonly url: string;
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[];
  handler: Handler;
  close(): Promise<void>;
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; status?: number } & Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('interop: media HTTPS transfers against local HTTPS servers (test PKI)', function () {
  this.timeout(30_000);
  let dir: string;
  let pki: TestPki;
  const servers: TestServer[] = [];

  before(function () {
    // Only openssl is needed (for the PKI); the same probe as the Prosody harness.
    requirePeer(this, PROSODY_PEER, probeProsody());
    dir = mkdtempSync(join(tmpdir(), 'media-https-'));
    pki = generateTestPki(join(dir, 'pki'));
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function serve(cert: TestCertificate, handler: Handler): Promise<TestServer> {
    const requests: TestServer['requests'] = [];
    const state: { handler: Handler } = { handler };
    const server: Server = createServer({ cert: cert.certPem, key: readFileSync(cert.keyPath) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        state.handler(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const t: TestServer = {
      url: `https://127.0.0.1:${port}`,
      requests,
      get handler() {
        return state.handler;
      },
      set handler(h: Handler) {
        state.handler = h;
      },
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
    servers.push(t);
    return t;
  }

  const trust = (): { tls: { ca: string } } => ({ tls: { ca: pki.ca.certPem } });

  it('GETs the body over a verified connection', async () => {
    const s = await serve(pki.server, (_req, res) => res.end(Buffer.from('ciphertext')));
    expect(Buffer.from(await httpsGet(`${s.url}/f`, 100, trust())).toString()).to.equal('ciphertext');
    expect(s.requests.map((r) => [r.method, r.url])).to.deep.equal([['GET', '/f']]);
  });

  it('counts streamed bytes against the limit (no Content-Length), and refuses a declared length above it early', async () => {
    const chunk = Buffer.alloc(16 * 1024, 7);
    let written = 0;
    const s = await serve(pki.server, (_req, res) => {
      // Chunked, endless: only the client's limit stops it.
      const pump = (): void => {
        while (res.write(chunk)) {
          written += chunk.length;
          if (written > 64 * 1024 * 1024) return void res.end();
        }
        res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
    });
    const error = await rejection(httpsGet(`${s.url}/endless`, 100_000, trust()));
    expect(error).to.be.instanceOf(MediaError);
    expect(error.code).to.equal('media.too-large');
    expect(written).to.be.below(64 * 1024 * 1024);
    s.handler = (_req, res) => {
      res.setHeader('Content-Length', '1000000');
      res.write(Buffer.alloc(10));
    };
    expect((await rejection(httpsGet(`${s.url}/declared`, 100_000, trust()))).code).to.equal('media.too-large');
  });

  it('a body cut short of its Content-Length is media.truncated; a stalled server media.timeout', async () => {
    const s = await serve(pki.server, (_req, res) => {
      res.setHeader('Content-Length', '1000');
      res.write(Buffer.alloc(100));
      setImmediate(() => res.socket?.destroy());
    });
    expect((await rejection(httpsGet(`${s.url}/cut`, 10_000, trust()))).code).to.equal('media.truncated');
    s.handler = () => undefined; // never answers
    expect((await rejection(httpsGet(`${s.url}/stall`, 10_000, { ...trust(), idleTimeoutMs: 300 }))).code).to.equal('media.timeout');
    expect((await rejection(httpsGet(`${s.url}/stall`, 10_000, { ...trust(), deadlineMs: 300 }))).code).to.equal('media.timeout');
  });

  it('redirects are not followed; error statuses are media.http-status', async () => {
    const s = await serve(pki.server, (_req, res) => {
      res.writeHead(302, { Location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    });
    const error = await rejection(httpsGet(`${s.url}/moved`, 100, trust()));
    expect([error.code, error.status]).to.deep.equal(['media.http-status', 302]);
    expect(s.requests.length).to.equal(1);
  });

  it('expired, wrong-host, self-signed and unpinned certificates are refused before the request is written', async () => {
    const cases: [TestCertificate, string, object][] = [
      [pki.expired, 'tls.certificate-expired', trust()],
      [pki.wrongHost, 'tls.hostname-mismatch', trust()],
      [pki.selfSigned, 'tls.untrusted-certificate', trust()],
      [pki.server, 'tls.untrusted-certificate', { tls: { ca: pki.otherCa.certPem } }],
      [pki.server, 'tls.pin-mismatch', { tls: { ca: pki.ca.certPem, pins: [pki.otherCa.spkiSha256] } }],
    ];
    for (const [cert, code, options] of cases) {
      const s = await serve(cert, (_req, res) => res.end('x'));
      const error = await rejection(httpsPut(`${s.url}/put`, Buffer.from('body'), { Authorization: 'Bearer secret' }, options));
      expect(error, code).to.be.instanceOf(TlsError);
      expect(error.code).to.equal(code);
      expect(s.requests, `${code}: the server saw no request`).to.deep.equal([]);
    }
    // Accepting an invalid certificate is possible only by name, and pins still hold.
    const s = await serve(pki.selfSigned, (_req, res) => res.end('x'));
    expect(Buffer.from(await httpsGet(`${s.url}/f`, 10, { tls: { pins: [pki.selfSigned.spkiSha256], insecure: { acceptInvalidCertificate: true } } })).toString()).to.equal('x');
  });

  it('http: URLs are refused without connecting', async () => {
    expect((await rejection(httpsGet('http://127.0.0.1:9/f', 10))).code).to.equal('media.insecure-url');
    expect((await rejection(httpsPut('http://127.0.0.1:9/f', new Uint8Array(1), {}))).code).to.equal('media.insecure-url');
    expect((await rejection(httpsGet('not a url', 10))).code).to.equal('media.bad-url');
  });

  it('the XEP-0363 PUT sends the bytes with only Authorization, Cookie and Expires from the slot', async () => {
    const s = await serve(pki.server, (_req, res) => {
      res.statusCode = 201;
      res.end();
    });
    const slot = readSlot(parseStanza(`<slot xmlns='${NS_HTTP_UPLOAD}'><put url='${s.url}/upload/slot1/f.bin'>
      <header name='Authorization'>Bearer token</header><header name='Cookie'>c=1</header><header name='Expires'>never</header>
      <header name='X-Evil'>1</header><header name='Host'>evil.example</header><header name='Content-Length'>1</header></put>
      <get url='${s.url}/upload/slot1/f.bin'/></slot>`));
    const upload = new HttpUpload({ domain: 'localhost', iqCaller: { request: () => Promise.reject(new Error('unused')) } }, trust());
    await upload.put(slot, Buffer.from('encrypted bytes'), 'application/octet-stream');
    const [req] = s.requests;
    expect(req?.method).to.equal('PUT');
    expect(req?.url).to.equal('/upload/slot1/f.bin');
    expect(req?.body.toString()).to.equal('encrypted bytes');
    expect(req?.headers).to.include({ authorization: 'Bearer token', cookie: 'c=1', expires: 'never', 'content-type': 'application/octet-stream', 'content-length': '15' });
    expect(req?.headers['x-evil']).to.equal(undefined);
    expect(req?.headers.host).to.equal(s.url.slice('https://'.length));
    s.handler = (_req, res) => {
      res.statusCode = 413;
      res.end();
    };
    const error = await rejection(upload.put(slot, Buffer.from('x')));
    expect([error.code, error.status]).to.deep.equal(['media.http-status', 413]);
  });
});
