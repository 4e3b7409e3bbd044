/**
 * Typed errors of encrypted media sharing: XEP-0363 HTTP File Upload (discovery, slot refusal,
 * the HTTP transfer) and XEP-0454 `aesgcm://` URLs. TLS refusals are `TlsError`s
 * (tls-errors.ts) and a file that fails authentication is a `VerificationError`
 * `media.auth-failed` (lib/core/crypto/media-encryption.ts). Messages carry no URLs, keys or JIDs.
 */
import { ProtocolError } from '../core/errors.js';

/** Stable codes of {@link MediaError}. */
export type MediaErrorCode =
  /** The account's server offers no `urn:xmpp:http:upload:0` service (XEP-0363 section 3). */
  | 'upload.unavailable'
  /** The file is larger than the service allows; `maxFileSize` says how large it may be (XEP-0363 section 4/5). */
  | 'upload.file-too-large'
  /** The service refused the slot: `not-allowed` or `forbidden` (XEP-0363 section 5). */
  | 'upload.not-allowed'
  /** The service refused the slot for now (`resource-constraint`, quota); `retryAt` when it said. */
  | 'upload.quota'
  /** Any other slot refusal; `condition` names it. */
  | 'upload.refused'
  /** The slot answer is not a `<slot>` with a `<put>` and a `<get>` URL, or a header is malformed. */
  | 'upload.malformed-slot'
  /** A slot or download URL is not `https:` (XEP-0363 section 10: no plaintext transfer). */
  | 'media.insecure-url'
  /** Not a well-formed `aesgcm://` URL (XEP-0454 section 4): scheme, host, userinfo, fragment. */
  | 'media.bad-url'
  /** The HTTP server answered with a status that is not 2xx; `status` holds it. */
  | 'media.http-status'
  /** The download exceeded the size limit (counted while streaming; Content-Length is not trusted). */
  | 'media.too-large'
  /** The response ended before the length it announced. */
  | 'media.truncated'
  /** No answer (XMPP or HTTP) within the time limit. */
  | 'media.timeout'
  /** The HTTP connection failed (refused, reset, DNS), not for a TLS reason. */
  | 'media.network';

/** An upload, a download or a URL that failed. */
export class MediaError extends ProtocolError {
  declare readonly code: MediaErrorCode;
  /** `upload.file-too-large`: the service's limit in bytes, when known. */
  readonly maxFileSize: number | undefined;
  /** `media.http-status`: the HTTP status code. */
  readonly status: number | undefined;
  /** Slot refusals: the stanza error condition (RFC 6120 section 8.3.3), e.g. `not-acceptable`. */
  readonly condition: string | undefined;
  /** `upload.quota`: when the service said the client may retry (XEP-0363 `<retry stamp>`). */
  readonly retryAt: string | undefined;

  constructor(
    code: MediaErrorCode,
    message: string,
    options: { maxFileSize?: number | undefined; status?: number | undefined; condition?: string | undefined; retryAt?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.maxFileSize = options.maxFileSize;
    this.status = options.status;
    this.condition = options.condition;
    this.retryAt = options.retryAt;
  }
}
