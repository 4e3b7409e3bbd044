/**
 * TLS policy for XMPP client connections (RFC 6120 §5 STARTTLS, §13.7 certificate checks;
 * RFC 7590 TLS in XMPP; XEP-0368 direct TLS; RFC 7469 SPKI pins), as pure data and pure
 * functions: option validation, the node:tls options a policy implies, pin checks and the
 * description of a secured connection. The sockets live in secure-socket.ts.
 *
 * Secure by default: certificates are always validated against the system roots (or the given
 * CA) and the XMPP domain; plaintext is refused. Weakening either needs an option under
 * `insecure`, whose names say what they do.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, rootCertificates } from 'node:tls';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { TlsError } from './tls-errors.js';

/** Options that weaken security. Each one is a deliberate, visible decision of the caller. */
export interface InsecureTlsOptions {
  /**
   * DANGER: when the server offers no STARTTLS (or on failure to find TLS), continue WITHOUT
   * encryption: the password and every stanza cross the network readable and modifiable.
   * A server that offers STARTTLS is still upgraded. Default false.
   */
  readonly allowPlaintext?: boolean;
  /**
   * DANGER: accept a server certificate that fails validation (untrusted issuer, expired,
   * wrong host). Pins, if given, are still enforced, so `{ pins, insecure: {
   * acceptInvalidCertificate: true } }` is "trust exactly this key". Default false.
   */
  readonly acceptInvalidCertificate?: boolean;
}

/** How a client secures its connection. All fields optional; `{}` is the secure default. */
export interface TlsOptions {
  /**
   * Trust anchors (PEM, one or more certificates per string). When given they REPLACE the
   * system roots, unless `includeSystemRoots` is true. No environment variable is needed.
   */
  readonly ca?: string | readonly string[];
  /** With `ca`: also trust Node's bundled roots. Default false. */
  readonly includeSystemRoots?: boolean;
  /**
   * RFC 7469 `pin-sha256` values: base64 SHA-256 of the DER SubjectPublicKeyInfo of the server's
   * (leaf) certificate, optionally prefixed `sha256/`. When non-empty, one must match, in
   * addition to normal validation. Compute with
   * `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`.
   */
  readonly pins?: readonly string[];
  /**
   * The reference identity checked against the certificate and sent as SNI. Default: the XMPP
   * domain (RFC 6120 §13.7.2.1: the domain, not the host connected to, e.g. after SRV).
   */
  readonly servername?: string;
  /** Lowest TLS version accepted. Default `'TLSv1.2'` (RFC 7590 §3.1 / RFC 9325). */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Opt-ins that weaken security; see {@link InsecureTlsOptions}. */
  readonly insecure?: InsecureTlsOptions;
}

/** A validated {@link TlsOptions}. */
export interface TlsPolicy {
  readonly ca: readonly string[] | undefined;
  readonly pins: ReadonlySet<string>;
  readonly servername: string | undefined;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly allowPlaintext: boolean;
  readonly acceptInvalidCertificate: boolean;
}

/** Facts about a server certificate, as an application would show or pin them. */
export interface ServerCertificateInfo {
  /** SHA-256 of the DER certificate, uppercase hex with colons (as `openssl x509 -fingerprint -sha256`). */
  readonly fingerprintSha256: string;
  /** base64 SHA-256 of the DER SubjectPublicKeyInfo: the RFC 7469 pin of this key. */
  readonly spkiSha256: string;
  readonly subject: string;
  readonly issuer: string;
  /** e.g. `DNS:localhost, IP Address:127.0.0.1`. */
  readonly subjectAltName: string | undefined;
  readonly validFrom: string;
  readonly validTo: string;
  /** The DER certificate. */
  readonly der: Uint8Array;
}

/** How the current connection is protected. */
export type ConnectionSecurity =
  | {
      readonly kind: 'tls';
      /** STARTTLS on the c2s port (RFC 6120 §5) or TLS from the first byte (XEP-0368). */
      readonly method: 'starttls' | 'direct-tls';
      /** e.g. `TLSv1.3`. */
      readonly protocol: string;
      /** OpenSSL cipher name, e.g. `TLS_AES_256_GCM_SHA384`. */
      readonly cipher: string;
      readonly certificate: ServerCertificateInfo;
      /** `verified`: chain and name checked; `unverified`: `insecure.acceptInvalidCertificate` let a failure through. */
      readonly validation: 'verified' | 'unverified';
      /** Why validation failed, when `validation` is `unverified` (Node/OpenSSL code). */
      readonly validationError: string | undefined;
      /** True when pins were configured (and therefore matched). */
      readonly pinned: boolean;
    }
  | { readonly kind: 'plaintext' };

const PIN = /^(?:sha256\/)?([A-Za-z0-9+/]{43}=)$/;

/** Normalizes one pin to bare base64; RangeError unless it is 32 bytes of base64. */
export function normalizePin(pin: string): string {
  if (typeof pin !== 'string') throw new TypeError('pins: each pin must be a string');
  const m = PIN.exec(pin.trim());
  if (!m?.[1] || Buffer.from(m[1], 'base64').length !== 32) {
    throw new RangeError('pins: expected base64 SHA-256 (44 characters), optionally prefixed "sha256/"');
  }
  return m[1];
}

/** Validates options (TypeError/RangeError for caller bugs) and fills in defaults. */
export function resolveTlsPolicy(options: TlsOptions = {}): TlsPolicy {
  if (typeof options !== 'object' || options === null) throw new TypeError('tls: options must be an object');
  let ca: string[] | undefined;
  if (options.ca !== undefined) {
    const list = typeof options.ca === 'string' ? [options.ca] : [...options.ca];
    if (list.length === 0) throw new RangeError('tls.ca: empty list (omit it to use the system roots)');
    for (const pem of list) {
      if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) {
        throw new TypeError('tls.ca: expected PEM certificate text');
      }
      try {
        new X509Certificate(pem);
      } catch (error) {
        throw new RangeError('tls.ca: PEM does not parse as an X.509 certificate', { cause: error });
      }
    }
    ca = options.includeSystemRoots === true ? [...list, ...rootCertificates] : list;
  } else if (options.includeSystemRoots !== undefined) {
    throw new TypeError('tls.includeSystemRoots: only meaningful together with tls.ca');
  }
  const minVersion = options.minVersion ?? 'TLSv1.2';
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3') throw new RangeError('tls.minVersion: TLSv1.2 or TLSv1.3');
  if (options.servername !== undefined && (typeof options.servername !== 'string' || options.servername === '')) {
    throw new TypeError('tls.servername: non-empty string');
  }
  const insecure = options.insecure ?? {};
  return {
    ca,
    pins: new Set((options.pins ?? []).map(normalizePin)),
    servername: options.servername,
    minVersion,
    allowPlaintext: insecure.allowPlaintext === true,
    acceptInvalidCertificate: insecure.acceptInvalidCertificate === true,
  };
}

/**
 * The node:tls options for a handshake under `policy` with reference identity `servername`.
 * `rejectUnauthorized` is always explicit, so `NODE_TLS_REJECT_UNAUTHORIZED=0` cannot weaken it.
 */
export function nodeTlsOptions(policy: TlsPolicy, servername: string): ConnectionOptions {
  const options: ConnectionOptions = {
    rejectUnauthorized: !policy.acceptInvalidCertificate,
    minVersion: policy.minVersion,
    // SNI must be a host name, never an IP literal (RFC 6066 §3); the identity check still uses it.
    ...(isIP(servername) === 0 ? { servername } : {}),
  };
  if (policy.ca) options.ca = [...policy.ca];
  if (policy.acceptInvalidCertificate) options.checkServerIdentity = () => undefined;
  return options;
}

/** Describes an X.509 certificate (fingerprints computed here, with node:crypto). */
export function describeCertificate(cert: X509Certificate): ServerCertificateInfo {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return {
    fingerprintSha256: cert.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    subject: cert.subject,
    issuer: cert.issuer,
    subjectAltName: cert.subjectAltName,
    validFrom: cert.validFrom,
    validTo: cert.validTo,
    der: new Uint8Array(cert.raw),
  };
}

/**
 * After a completed handshake: enforces the pins and describes the connection. Throws
 * `TlsError('tls.pin-mismatch')` (or `tls.handshake-failed` when no certificate is available).
 */
export function checkSecuredSocket(
  socket: TLSSocket,
  policy: TlsPolicy,
  method: 'starttls' | 'direct-tls',
  servername: string,
): ConnectionSecurity & { kind: 'tls' } {
  const x509 = socket.getPeerX509Certificate();
  if (!x509) throw new TlsError('tls.handshake-failed', 'server presented no certificate');
  const certificate = describeCertificate(x509);
  if (policy.pins.size > 0 && !policy.pins.has(certificate.spkiSha256)) {
    throw new TlsError('tls.pin-mismatch', 'server key does not match any configured pin', { certificate });
  }
  // With acceptInvalidCertificate the handshake skipped the name check: redo it, to report.
  const identityError = policy.acceptInvalidCertificate ? checkServerIdentity(servername, socket.getPeerCertificate()) : undefined;
  const validationError = !socket.authorized
    ? String(socket.authorizationError)
    : identityError
      ? String((identityError as NodeJS.ErrnoException).code ?? identityError.message)
      : undefined;
  if (validationError !== undefined && !policy.acceptInvalidCertificate) {
    // Unreachable with rejectUnauthorized: true; kept so a future refactor cannot fail open.
    throw new TlsError('tls.certificate-invalid', `server certificate failed verification (${validationError})`, {
      certificate,
    });
  }
  return {
    kind: 'tls',
    method,
    protocol: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher().name,
    certificate,
    validation: validationError === undefined ? 'verified' : 'unverified',
    validationError,
    pinned: policy.pins.size > 0,
  };
}
