/**
 * HTTPS transfers for media sharing (XEP-0363 section 5 upload, XEP-0454 download) under the
 * library's TLS policy (tls-options.ts): certificates always validated against the system roots
 * or the given CA, the reference identity being the URL's host (RFC 2818 section 3.1, RFC 6125),
 * SPKI pins enforced after the handshake, TLS 1.2 at least. Plain `http:` is refused; redirects
 * are not followed (a redirect is a non-2xx answer).
 *
 * Bounded: an inactivity timeout and an overall deadline per request, and downloads counted
 * while streaming against a byte limit (a `Content-Length` above the limit is refused early,
 * but never trusted to stop reading). One fresh connection per request (no agent pooling, so
 * every connection is checked).
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { TlsError, classifyTlsError } from './tls-errors.js';
import { checkSecuredSocket, nodeTlsOptions, resolveTlsPolicy, type TlsOptions, type TlsPolicy } from './tls-options.js';
import { MediaError } from './media-errors.js';

/** Limits and trust of one transfer. */
export interface HttpsTransferOptions {
  /**
   * Trust for the HTTP server: `ca`, `pins`, `minVersion`, `insecure.acceptInvalidCertificate`
   * as for XMPP. `servername` is not used (the identity is the URL's host) and
   * `insecure.allowPlaintext` does not allow `http:`.
   */
  readonly tls?: TlsOptions | undefined;
  /** Milliseconds without any byte moving before the request fails (default 30 000). */
  readonly idleTimeoutMs?: number | undefined;
  /** Milliseconds for the whole request, connection to last byte (default 600 000). */
  readonly deadlineMs?: number | undefined;
}

const DEFAULT_IDLE_MS = 30_000;
const DEFAULT_DEADLINE_MS = 600_000;

/** Parses `url` and refuses anything but https (MediaError `media.insecure-url` / `media.bad-url`). */
export function requireHttpsUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new MediaError('media.bad-url', 'the URL does not parse', { cause: error });
  }
  if (parsed.protocol !== 'https:') throw new MediaError('media.insecure-url', `refusing a ${parsed.protocol.replace(/:$/, '')} URL: only https is allowed`);
  if (parsed.username !== '' || parsed.password !== '') throw new MediaError('media.bad-url', 'the URL carries userinfo');
  return parsed;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds`);
  return value;
}

interface RequestSpec {
  readonly method: 'GET' | 'PUT';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | undefined;
  /** GET: the most bytes accepted. */
  readonly maxBytes: number;
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED']);

function classify(error: unknown, verified: boolean): Error {
  if (error instanceof TlsError || error instanceof MediaError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code ?? '';
  // Before a verified handshake, anything but a TCP failure is a TLS refusal (certificate, alert).
  if (verified || NETWORK_ERRORS.has(code)) return new MediaError('media.network', `the HTTPS connection failed (${code || 'error'})`, { cause: error });
  return classifyTlsError(error);
}

/**
 * One request: the TLS connection is opened and checked (chain, name, pins) BEFORE any byte of
 * the request is written, so a refused server never sees the headers (Authorization) or body.
 */
function run(spec: RequestSpec, options: HttpsTransferOptions): Promise<{ status: number; body: Uint8Array }> {
  const policy: TlsPolicy = resolveTlsPolicy(options.tls ?? {});
  const idleMs = positive('idleTimeoutMs', options.idleTimeoutMs, DEFAULT_IDLE_MS);
  const deadlineMs = positive('deadlineMs', options.deadlineMs, DEFAULT_DEADLINE_MS);
  // The identity checked and sent as SNI: the URL's host (brackets off an IPv6 literal).
  const host = spec.url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = spec.url.port === '' ? 443 : Number(spec.url.port);
  return new Promise((resolve, reject) => {
    let settled = false;
    let verified = false;
    let req: ClientRequest | undefined;
    const socket = tlsConnect({ host, port, ALPNProtocols: ['http/1.1'], ...nodeTlsOptions(policy, host) });
    const deadline = setTimeout(() => fail(new MediaError('media.timeout', 'the HTTPS transfer did not finish in time')), deadlineMs);
    function fail(error: unknown): void {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      req?.destroy();
      socket.destroy();
      reject(classify(error, verified));
    }
    function done(status: number, body: Uint8Array): void {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve({ status, body });
    }
    socket.setTimeout(idleMs, () => fail(new MediaError('media.timeout', 'the HTTPS server stopped answering')));
    socket.on('error', (error) => fail(error));
    socket.once('secureConnect', () => {
      try {
        checkSecuredSocket(socket, policy, 'direct-tls', host);
      } catch (error) {
        fail(error);
        return;
      }
      verified = true;
      req = httpRequest({
        method: spec.method,
        host: spec.url.hostname,
        port,
        path: `${spec.url.pathname}${spec.url.search}`,
        headers: spec.headers,
        createConnection: () => socket,
      });
      req.on('error', (error) => fail(error));
      req.on('response', (res: IncomingMessage) => onResponse(res));
      if (spec.body !== undefined) req.end(spec.body);
      else req.end();
    });

    function onResponse(res: IncomingMessage): void {
      const status = res.statusCode ?? 0;
      const declared = res.headers['content-length'];
      const declaredLength = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined;
      if (status < 200 || status > 299) {
        res.resume();
        fail(new MediaError('media.http-status', `the HTTPS server answered ${status}`, { status }));
        return;
      }
      if (spec.method === 'GET' && declaredLength !== undefined && declaredLength > spec.maxBytes) {
        fail(new MediaError('media.too-large', `the file is larger than the limit of ${spec.maxBytes} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (spec.method === 'GET' && received > spec.maxBytes) {
          fail(new MediaError('media.too-large', `the file is larger than the limit of ${spec.maxBytes} bytes`));
          return;
        }
        // A PUT answer is not kept beyond a small bound.
        if (spec.method === 'GET' || received <= 65_536) chunks.push(chunk);
      });
      res.on('aborted', () => fail(new MediaError('media.truncated', 'the HTTPS response was cut off')));
      res.on('error', (error) => fail(new MediaError('media.truncated', 'the HTTPS response was cut off', { cause: error })));
      res.on('end', () => {
        if (!res.complete) return fail(new MediaError('media.truncated', 'the HTTPS response was cut off'));
        if (spec.method === 'GET' && declaredLength !== undefined && received !== declaredLength) {
          return fail(new MediaError('media.truncated', 'the HTTPS response is shorter than announced'));
        }
        const all = Buffer.concat(chunks);
        done(status, new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
      });
    }
  });
}

/**
 * PUTs `body` to `url` with exactly `headers` (plus Content-Length). Resolves with the status
 * (2xx); MediaError `media.http-status` for any other, `media.timeout`, `media.network`;
 * TlsError for a refused certificate or pin.
 */
export async function httpsPut(url: string | URL, body: Uint8Array, headers: Readonly<Record<string, string>>, options: HttpsTransferOptions = {}): Promise<number> {
  if (!(body instanceof Uint8Array)) throw new TypeError('httpsPut: body must be a Uint8Array');
  const target = requireHttpsUrl(url);
  const { status } = await run({ method: 'PUT', url: target, headers: { ...headers, 'Content-Length': String(body.length) }, body, maxBytes: 0 }, options);
  return status;
}

/**
 * GETs `url` and returns the body, at most `maxBytes` bytes (MediaError `media.too-large`
 * beyond, counted as it streams). Other failures as {@link httpsPut}, plus `media.truncated`.
 */
export async function httpsGet(url: string | URL, maxBytes: number, options: HttpsTransferOptions = {}): Promise<Uint8Array> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError('httpsGet: maxBytes must be a non-negative integer');
  const target = requireHttpsUrl(url);
  const { body } = await run({ method: 'GET', url: target, headers: { Accept: '*/*' }, body: undefined, maxBytes }, options);
  return body;
}
