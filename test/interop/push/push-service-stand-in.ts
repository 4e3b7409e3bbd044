/**
 * A local stand-in for the push services, on 127.0.0.1 over TLS with a certificate of the
 * test CA: an HTTPS (HTTP/1.1) server for Web Push and FCM, and an HTTP/2 TLS server for APNs.
 * Every request is recorded (path, headers, body). Paths starting with `/status/NNN` answer
 * NNN; paths starting with `/hang` never answer (the socket is held until the client gives up
 * or the server stops); `/token` is an OAuth 2.0 token endpoint. Everything else answers 201
 * (Web Push, RFC 8030 §5) or 200.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { Http2SecureServer, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { TestCertificate } from '../prosody/test-pki.js';

/** One request as the push service saw it. */
export interface RecordedPush {
  readonly protocol: 'http/1.1' | 'h2';
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** The running stand-in. */
export interface PushServiceStandIn {
  readonly httpsPort: number;
  readonly h2Port: number;
  readonly hits: RecordedPush[];
  /** Hits whose path starts with `prefix`. */
  hitsFor(prefix: string): RecordedPush[];
  stop(): Promise<void>;
}

function statusFor(path: string, fallback: number): number | 'hang' {
  if (path.startsWith('/hang')) return 'hang';
  const m = /^\/status\/(\d{3})/.exec(path);
  return m ? Number(m[1]) : fallback;
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Starts both servers with `cert` (signed by the test CA). */
export async function startPushServiceStandIn(cert: TestCertificate): Promise<PushServiceStandIn> {
  const tls = { cert: readFileSync(cert.certPath), key: readFileSync(cert.keyPath) };
  const hits: RecordedPush[] = [];
  const sockets = new Set<Socket>();
  const https: HttpsServer = createHttpsServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      hits.push({ protocol: 'http/1.1', method: req.method ?? '', path, headers: flatHeaders(req.headers), body: Buffer.concat(chunks) });
      if (path === '/token') {
        // An OAuth 2.0 token endpoint (RFC 6749 §5.1) for the FCM service-account exchange.
        const n = hits.filter((h) => h.path === '/token').length; // 1 for the first exchange
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `minted-token-${n}`, expires_in: 3600, token_type: 'Bearer' }));
        return;
      }
      const status = statusFor(path, path.startsWith('/v1/') ? 200 : 201);
      if (status === 'hang') return;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'error');
    });
  });
  https.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const h2: Http2SecureServer = createSecureServer(tls);
  h2.on('stream', (stream: ServerHttp2Stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const path = String(headers[':path'] ?? '/');
      const plain: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (typeof v === 'string' && !k.startsWith(':')) plain[k] = v;
      hits.push({ protocol: 'h2', method: String(headers[':method']), path, headers: plain, body: Buffer.concat(chunks) });
      const status = statusFor(path, 200);
      if (status === 'hang') return;
      stream.respond({ ':status': status, 'apns-id': '00000000-0000-0000-0000-000000000001' });
      stream.end();
    });
    stream.on('error', () => undefined);
  });
  h2.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (srv: HttpsServer | Http2SecureServer): Promise<number> =>
    new Promise((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const a = srv.address();
        if (a === null || typeof a === 'string') reject(new Error('no port'));
        else resolve(a.port);
      });
    });
  const httpsPort = await listen(https);
  const h2Port = await listen(h2);
  return {
    httpsPort,
    h2Port,
    hits,
    hitsFor: (prefix) => hits.filter((h) => h.path.startsWith(prefix)),
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise((r) => https.close(r)), new Promise((r) => h2.close(r))]);
    },
  };
}
