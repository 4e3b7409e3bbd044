/**
 * OTR Error Messages (OTR v3 spec, "OTR Error Messages"): any message containing
 * "?OTR Error:" is an error message; what follows is human-readable. libotr 4.1.1 sends
 * `OTR_ERROR_PREFIX` ("?OTR Error: ", message.h) followed by a text the application chooses
 * for each `OtrlErrorCode`; `STANDARD_OTR_ERROR_TEXT` holds the texts pidgin-otr (and most
 * libotr-based clients after it) use, so our peers see familiar wording.
 */
import { OTR_MARKER } from './query.js';

/** What identifies an error message (spec). */
export const OTR_ERROR_MARKER = '?OTR Error:';
/** What libotr writes before the error text (message.h `OTR_ERROR_PREFIX`). */
export const OTR_ERROR_PREFIX = '?OTR Error: ';

/** The situations in which libotr sends an error message (message.h `OtrlErrorCode`). */
export const OTR_ERROR_CODE = {
  /** We could not encrypt an outgoing message. */
  encryptionError: 'encryption-error',
  /** We received a Data Message while not in an encrypted session. */
  messageNotInPrivate: 'message-not-in-private',
  /** We received a Data Message we could not decrypt (unknown keys, bad MAC, replay). */
  messageUnreadable: 'message-unreadable',
  /** We received a Data Message we could not parse. */
  messageMalformed: 'message-malformed',
} as const;

/** One of `OTR_ERROR_CODE`'s values. */
export type OtrErrorCode = (typeof OTR_ERROR_CODE)[keyof typeof OTR_ERROR_CODE];

/**
 * The texts pidgin-otr sends for each error (its `otr_error_message_cb`); libotr itself has
 * none. `messageNotInPrivate` names our own account, as pidgin-otr does.
 */
export const STANDARD_OTR_ERROR_TEXT = {
  [OTR_ERROR_CODE.encryptionError]: (): string => 'Error occurred encrypting message.',
  [OTR_ERROR_CODE.messageNotInPrivate]: (accountName: string): string => `You sent encrypted data to ${accountName}, who wasn't expecting it.`,
  [OTR_ERROR_CODE.messageUnreadable]: (): string => 'You transmitted an unreadable encrypted message.',
  [OTR_ERROR_CODE.messageMalformed]: (): string => 'You transmitted a malformed data message.',
} as const satisfies Record<OtrErrorCode, (accountName: string) => string>;

/**
 * An error message carrying `errorText`: `OTR_ERROR_PREFIX` + `errorText`, as libotr sends
 * it. Throws RangeError if `errorText` contains "?OTR", which would make the receiver read
 * a different message type or a fragment (caller bug).
 */
export function buildErrorMessage(errorText: string): string {
  if (errorText.includes(OTR_MARKER)) throw new RangeError('buildErrorMessage: the error text must not contain "?OTR"');
  return OTR_ERROR_PREFIX + errorText;
}

/** The standard error message for `code` (see `STANDARD_OTR_ERROR_TEXT`). */
export function buildStandardErrorMessage(code: OtrErrorCode, accountName = ''): string {
  return buildErrorMessage(STANDARD_OTR_ERROR_TEXT[code](accountName));
}

/**
 * The human-readable part of an error message, or `undefined` if `text` contains no
 * "?OTR Error:". As libotr reports it: everything after the marker, minus one space if one
 * follows. The text comes from the peer (or anyone on the path): show it as untrusted text.
 */
export function parseErrorMessage(text: string): string | undefined {
  const at = text.indexOf(OTR_ERROR_MARKER);
  if (at < 0) return undefined;
  const rest = text.slice(at + OTR_ERROR_MARKER.length);
  return rest.startsWith(' ') ? rest.slice(1) : rest;
}
