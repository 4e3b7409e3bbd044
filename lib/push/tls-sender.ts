/**
 * Sends one {@link PushRequest} over TLS with certificate validation always on (system roots
 * or a configured CA), optional RFC 7469 SPKI pins checked during the handshake, and a hard
 * timeout covering connect, TLS, request and response. HTTP/1.1 with node:https, HTTP/2 with
 * node:http2 (APNs). Never retries itself: relay.ts decides.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { normalizePin } from '../xmpp/tls-options.js';
import { PushRelayError } from './errors.js';
import type { PushRequest } from './push-services.js';

/** TLS settings towards the push services. `{}` = system roots, no pins. */
export interface PushTlsOptions {
  /** Trust anchors (PEM) that REPLACE the system roots for push services. */
  readonly ca?: readonly string[];
  /** base64 SHA-256 SPKI pins (optionally `sha256/`-prefixed); one must match the leaf. */
  readonly pins?: readonly string[];
  /** Per-request timeout in milliseconds (default 10000). */
  readonly timeoutMs?: number;
}

/** What came back from the push service. */
export interface PushResponse {
  readonly status: number;
  /** The response body, at most 64 KiB (longer bodies are cut off). */
  readonly body: Uint8Array;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

class PinMismatch extends Error {
  constructor() {
    super('push service key matches no configured pin');
    this.name = 'PinMismatch';
  }
}

/** base64 SHA-256 of the leaf's DER SubjectPublicKeyInfo (RFC 7469 §2.4); `pubkey` is not SPKI for EC keys. */
function spkiSha256(cert: PeerCertificate): string {
  try {
    const spki = new X509Certificate(cert.raw).publicKey.export({ type: 'spki', format: 'der' });
    return createHash('sha256').update(spki).digest('base64');
  } catch {
    return '';
  }
}

const CERT_CODES = /^(?:UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|INVALID_)/;

function classify(error: unknown): PushRelayError {
  if (error instanceof PushRelayError) return error;
  if (error instanceof PinMismatch) return new PushRelayError('push.tls-pin-mismatch', error.message, { retryable: false, cause: error });
  const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : '';
  // HTTP/2 reports a failed handshake first on the stream, as a cancel caused by the TLS error.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (code === 'ERR_HTTP2_STREAM_CANCEL' && cause !== undefined) return classify(cause);
  if (CERT_CODES.test(code)) {
    return new PushRelayError('push.tls-invalid', `push service certificate did not validate (${code})`, { retryable: false, cause: error });
  }
  return new PushRelayError('push.network', `push service unreachable (${code || 'error'})`, { retryable: true, cause: error });
}

function statusResult(status: number, body: Uint8Array): PushResponse {
  if (status >= 200 && status < 300) return { status, body };
  const retryable = status === 429 || status >= 500;
  throw new PushRelayError('push.http-status', `push service answered ${status}`, { status, retryable });
}

/** Sends `req`; resolves with a 2xx status or rejects with a {@link PushRelayError}. */
export function sendPushRequest(req: PushRequest, options: PushTlsOptions = {}): Promise<PushResponse> {
  if (req.url.protocol !== 'https:') return Promise.reject(new RangeError('push services are reached over https: only'));
  const pins = new Set((options.pins ?? []).map(normalizePin));
  const timeoutMs = options.timeoutMs ?? 10000;
  const host = req.url.hostname.replace(/^\[|\]$/g, '');
  const tlsOptions = {
    rejectUnauthorized: true, // explicit: NODE_TLS_REJECT_UNAUTHORIZED=0 cannot weaken it
    minVersion: 'TLSv1.2' as const,
    ...(options.ca ? { ca: [...options.ca] } : {}),
    ...(isIP(host) === 0 ? { servername: host } : {}),
    checkServerIdentity: (name: string, cert: PeerCertificate): Error | undefined => {
      const identity = checkServerIdentity(name, cert);
      if (identity) return identity;
      if (pins.size > 0 && !pins.has(spkiSha256(cert))) return new PinMismatch();
      return undefined;
    },
  };
  return new Promise<PushResponse>((resolve, reject) => {
    let settled = false;
    let abort: (e: Error) => void = () => undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer): boolean => {
      if (size + chunk.length > MAX_RESPONSE_BYTES) return false;
      size += chunk.length;
      chunks.push(chunk);
      return true;
    };
    const finish = (error: unknown, status?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) reject(classify(error));
      else {
        try {
          resolve(statusResult(status ?? 0, new Uint8Array(Buffer.concat(chunks))));
        } catch (e) {
          reject(e);
        }
      }
    };
    const timer = setTimeout(() => {
      const e = new PushRelayError('push.timeout', `push service did not answer within ${timeoutMs} ms`, { retryable: true });
      finish(e);
      abort(e);
    }, timeoutMs);

    if (!req.http2) {
      const r = httpsRequest(req.url, {
        method: req.method,
        headers: { ...req.headers, 'content-length': String(req.body.length) },
        agent: false,
        ...tlsOptions,
      });
      abort = (e) => r.destroy(e);
      r.on('error', (e) => finish(e));
      r.on('response', (res) => {
        res.on('data', (chunk: Buffer) => {
          if (!collect(chunk)) res.destroy();
        });
        res.on('error', () => undefined);
        res.on('close', () => finish(undefined, res.statusCode ?? 0));
        res.resume();
      });
      r.end(Buffer.from(req.body));
      return;
    }

    const session = http2Connect(req.url.origin, tlsOptions);
    abort = () => session.destroy();
    session.on('error', (e) => finish(e));
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: req.method,
      [h2.HTTP2_HEADER_PATH]: `${req.url.pathname}${req.url.search}`,
      ...req.headers,
    });
    let status = 0;
    stream.on('response', (headers) => {
      status = Number(headers[h2.HTTP2_HEADER_STATUS] ?? 0);
    });
    stream.on('error', (e) => finish(e));
    stream.on('data', (chunk: Buffer) => {
      if (!collect(chunk)) stream.close();
    });
    stream.on('end', () => {
      finish(undefined, status);
      session.close();
    });
    stream.on('close', () => {
      if (!settled) finish(new Error('stream closed without a response'));
      session.close();
    });
    stream.end(Buffer.from(req.body));
  });
}
