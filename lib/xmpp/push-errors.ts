/**
 * Typed errors of the client side of push (XEP-0357): what the account's server answered
 * (`condition`, the RFC 6120 §8.3.3 defined condition, and its `type`), or why a payload did
 * not decrypt. Messages carry no JIDs, nodes or secrets.
 */
import { ProtocolError } from '../core/errors.js';

/** Stable codes of {@link PushError}. */
export type PushErrorCode =
  /** The account's server does not advertise `urn:xmpp:push:0` (XEP-0357 §4). */
  | 'push.not-supported'
  /** Encryption was required but the server lacks `tigase:push:encrypt:0` with aes-128-gcm. */
  | 'push.encryption-not-supported'
  /** The server answered `<enable/>` with an error. */
  | 'push.enable-refused'
  /** The server answered `<disable/>` with an error. */
  | 'push.disable-refused'
  /** The server answered disco#info with an error. */
  | 'push.discovery-failed'
  /** No answer in time. */
  | 'push.timeout'
  /** An encrypted push payload failed authentication (wrong key or tampered). */
  | 'push.decrypt-failed'
  /** An encrypted push payload is not base64 / JSON of the expected shape, or is too large. */
  | 'push.malformed-payload'
  /** The app server refused the `register-push` / `unregister-push` command, or answered without node and secret. */
  | 'push.registration-refused'
  /** Stored registrations could not be read. */
  | 'push.store-corrupt';

/** A push operation that failed. */
export class PushError extends ProtocolError {
  declare readonly code: PushErrorCode;
  /** The stanza error condition (e.g. `not-authorized`, `feature-not-implemented`), when the server answered with one. */
  readonly condition: string | undefined;
  /** The stanza error type (`auth`, `cancel`, `modify`, `wait`), when given. */
  readonly errorType: string | undefined;
  /** The server's human-readable text, when given. */
  readonly text: string | undefined;

  constructor(
    code: PushErrorCode,
    message: string,
    options: { condition?: string | undefined; errorType?: string | undefined; text?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.condition = options.condition;
    this.errorType = options.errorType;
    this.text = options.text;
  }
}
