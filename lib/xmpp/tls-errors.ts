/**
 * Typed errors of the transport-security layer (lib/xmpp/secure-client.ts). Every refusal to
 * connect (bad certificate, pin mismatch, no TLS) is a `TlsError` with a stable `code`, so an
 * application can tell "the server's certificate expired" from "the network is down".
 */
import { ProtocolError } from '../core/errors.js';
import type { ServerCertificateInfo } from './tls-options.js';

/** Stable codes of {@link TlsError}. */
export type TlsErrorCode =
  /** The chain does not lead to a trusted CA (unknown issuer, self-signed, wrong CA configured). */
  | 'tls.untrusted-certificate'
  /** A certificate's notAfter is in the past (RFC 5280 §4.1.2.5). */
  | 'tls.certificate-expired'
  /** A certificate's notBefore is in the future. */
  | 'tls.certificate-not-yet-valid'
  /** The certificate is not valid for the XMPP domain (RFC 6120 §13.7.2, RFC 6125 §6). */
  | 'tls.hostname-mismatch'
  /** Validation passed but no configured SPKI pin matched the server's key (RFC 7469 §2.4). */
  | 'tls.pin-mismatch'
  /** Any other certificate verification failure (bad signature, revoked, wrong key usage, ...). */
  | 'tls.certificate-invalid'
  /** The TLS handshake failed for a non-certificate reason (alert, protocol version, reset). */
  | 'tls.handshake-failed'
  /** The server offered no STARTTLS (RFC 6120 §5) and plaintext was not explicitly allowed. */
  | 'tls.starttls-unavailable'
  /** The server answered `<starttls/>` with `<failure/>` (RFC 6120 §5.4.2.2). */
  | 'tls.starttls-failed'
  /** Something tried to write XMPP data on a connection that is not (yet) encrypted. */
  | 'tls.plaintext-refused'
  /** The service URI uses a transport this layer cannot secure (only xmpp: and xmpps:). */
  | 'tls.unsupported-transport';

/** A refused or failed secure connection. Messages carry no JIDs or secrets. */
export class TlsError extends ProtocolError {
  declare readonly code: TlsErrorCode;
  /** The certificate the server presented, when the handshake got that far (pin mismatch). */
  readonly certificate: ServerCertificateInfo | undefined;

  constructor(
    code: TlsErrorCode,
    message: string,
    options?: { cause?: unknown; certificate?: ServerCertificateInfo | undefined },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.certificate = options?.certificate;
  }
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_UNTRUSTED',
  'CERT_CHAIN_TOO_LONG',
]);

/**
 * Maps an error node:tls raised during a handshake (OpenSSL verify codes, `ERR_TLS_*`,
 * `ERR_SSL_*`, socket errors) to a {@link TlsError}. A `TlsError` is returned unchanged.
 */
export function classifyTlsError(error: unknown): TlsError {
  if (error instanceof TlsError) return error;
  const raw = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
  const code = typeof raw === 'string' ? raw : '';
  const detail = code || (error instanceof Error ? error.message : 'unknown error');
  if (UNTRUSTED.has(code)) {
    return new TlsError('tls.untrusted-certificate', `server certificate is not trusted (${detail})`, { cause: error });
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return new TlsError('tls.certificate-expired', 'server certificate has expired', { cause: error });
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return new TlsError('tls.certificate-not-yet-valid', 'server certificate is not yet valid', { cause: error });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsError('tls.hostname-mismatch', 'server certificate is not valid for the XMPP domain', { cause: error });
  }
  if (code.startsWith('CERT_') || code.startsWith('INVALID_') || code.endsWith('_CERT') || code.includes('_CERT_')) {
    return new TlsError('tls.certificate-invalid', `server certificate failed verification (${detail})`, { cause: error });
  }
  return new TlsError('tls.handshake-failed', `TLS handshake failed (${detail})`, { cause: error });
}
