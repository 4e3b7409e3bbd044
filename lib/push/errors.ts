/**
 * Typed errors of the push app server (lib/push/). Messages carry no message content, device
 * tokens or secrets.
 */
import { ProtocolError } from '../core/errors.js';

/** Stable codes of {@link PushRelayError}. */
export type PushRelayErrorCode =
  /** The push service's certificate did not validate (chain, expiry, host name). */
  | 'push.tls-invalid'
  /** The certificate validated but no configured SPKI pin (RFC 7469) matched its key. */
  | 'push.tls-pin-mismatch'
  /** No answer within the request timeout. */
  | 'push.timeout'
  /** Connection refused, reset, DNS, ... */
  | 'push.network'
  /** The push service answered with a status that is not a success. */
  | 'push.http-status'
  /** The bounded delivery queue was full; the oldest notification was dropped. */
  | 'push.queue-full'
  /** Retries exhausted. */
  | 'push.gave-up';

/** A failed delivery attempt (or a final failure) towards a push service. */
export class PushRelayError extends ProtocolError {
  declare readonly code: PushRelayErrorCode;
  /** HTTP status for `push.http-status`. */
  readonly status: number | undefined;
  /** Whether trying again later may succeed (5xx, 429, timeouts, network). */
  readonly retryable: boolean;

  constructor(code: PushRelayErrorCode, message: string, options: { status?: number; retryable: boolean; cause?: unknown }) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.retryable = options.retryable;
  }
}

/** Codes of {@link PushConfigError}. */
export type PushConfigErrorCode = 'push.config-invalid';

/** A configuration file or registration that does not validate. */
export class PushConfigError extends ProtocolError {
  declare readonly code: PushConfigErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super('push.config-invalid', message, options);
  }
}
