/**
 * Classification of an incoming chat message (OTR v3 spec, "Unencoded messages",
 * "Encoded messages", "Fragmentation"), with libotr 4.1.1's precedence (message.c
 * `otrl_message_receiving`, proto.c `otrl_proto_fragment_accumulate` and
 * `otrl_proto_message_type`):
 * 1. a fragment marker anywhere ("?OTR|" first, then "?OTR,") makes it a fragment, checked
 *    before anything else (spec: "check for this _before_ checking for any of the other
 *    ?OTR: markers");
 * 2. otherwise only the FIRST "?OTR" counts: "?OTR:" is an encoded message, "?OTR?" or
 *    "?OTRv" a Query Message, "?OTR Error:" an Error Message, anything else an unrecognized
 *    OTR message (libotr ignores it);
 * 3. without "?OTR", a whitespace tag makes it tagged plaintext, else plain text.
 * So text that contains a query after an encoded message is an encoded message, and an
 * error text that quotes "?OTRv2?" after the marker is an error message.
 */
import { MalformedMessageError } from '../lib/core/errors.js';
import { decodeOtrMessage, type DecodedOtrMessage } from './encoded-message.js';
import { parseErrorMessage, OTR_ERROR_MARKER } from './error-message.js';
import { findFragmentMarker, parseFragment, type ParsedFragment } from './fragment.js';
import { OTR_MARKER, parseQueryVersions, type OfferedOtrVersion } from './query.js';
import { findWhitespaceTag } from './whitespace-tag.js';

/** Plain text, possibly carrying a whitespace tag. */
export interface PlaintextIncoming {
  readonly kind: 'plaintext';
  /** The text as received. */
  readonly text: string;
  /** The text to show the user: `text` without the whitespace tag (equal to `text` if none). */
  readonly strippedText: string;
  /** Versions the whitespace tag offers; absent when there is no tag. */
  readonly whitespaceVersions?: ReadonlySet<OfferedOtrVersion>;
}

/** A Query Message. Never shown to the user (libotr). */
export interface QueryIncoming {
  readonly kind: 'query';
  /** Versions offered (possibly empty: "?OTRv?"). */
  readonly versions: ReadonlySet<OfferedOtrVersion>;
  /** The text as received. */
  readonly text: string;
}

/** An OTR Error Message. */
export interface ErrorIncoming {
  readonly kind: 'error';
  /** The peer's human-readable error text (untrusted). */
  readonly errorText: string;
}

/** A fragment, to be routed (`fragmentDestination`) then given to a `FragmentReassembler`. */
export interface FragmentIncoming extends ParsedFragment {
  readonly kind: 'fragment';
}

/** An encoded message whose header decoded; its body is not yet parsed. */
export interface EncodedIncoming {
  readonly kind: 'encoded';
  readonly message: DecodedOtrMessage;
}

/**
 * An OTR message we cannot use: bad base64, unknown version or type, a broken fragment
 * header, an unrecognized "?OTR" marker. libotr drops these without showing them; the
 * error's `code` says why (`otr.bad-base64`, `otr.bad-fragment`, `otr.unrecognized`, ...).
 */
export interface MalformedIncoming {
  readonly kind: 'malformed';
  readonly error: MalformedMessageError;
}

/** What `classifyIncoming` found. */
export type IncomingMessage = PlaintextIncoming | QueryIncoming | ErrorIncoming | FragmentIncoming | EncodedIncoming | MalformedIncoming;

/** Options of `classifyIncoming`. */
export interface ClassifyOptions {
  /**
   * True for a message a `FragmentReassembler` just completed: fragments are not looked
   * for, since a fragment cannot itself be fragmented (spec); libotr then sees such text as
   * an unrecognized OTR message.
   */
  readonly reassembled?: boolean;
  /** Bound on an encoded message's length (default: `decodeOtrMessage`'s default). */
  readonly maxEncodedLength?: number;
}

function malformed(error: unknown): MalformedIncoming {
  if (error instanceof MalformedMessageError) return { kind: 'malformed', error };
  // Our decoders only throw MalformedMessageError; anything else is a bug worth surfacing
  // as a typed result too, so that hostile input can never crash the caller.
  return { kind: 'malformed', error: new MalformedMessageError('otr.malformed', 'unparsable OTR message', { cause: error }) };
}

/** Classifies one incoming message. Never throws. */
export function classifyIncoming(text: string, options: ClassifyOptions = {}): IncomingMessage {
  try {
    if (options.reassembled !== true && findFragmentMarker(text) !== undefined) {
      return { kind: 'fragment', ...parseFragment(text) };
    }
    const at = text.indexOf(OTR_MARKER);
    if (at < 0) {
      const tag = findWhitespaceTag(text);
      if (tag === undefined) return { kind: 'plaintext', text, strippedText: text };
      return { kind: 'plaintext', text, strippedText: tag.strippedText, whitespaceVersions: tag.versions };
    }
    const otrText = text.slice(at);
    if (otrText.startsWith('?OTR:')) {
      const decodeOptions = options.maxEncodedLength === undefined ? {} : { maxLength: options.maxEncodedLength };
      return { kind: 'encoded', message: decodeOtrMessage(otrText, decodeOptions) };
    }
    const versions = parseQueryVersions(otrText);
    if (versions !== undefined) return { kind: 'query', versions, text };
    if (otrText.startsWith(OTR_ERROR_MARKER)) return { kind: 'error', errorText: parseErrorMessage(otrText) ?? '' };
    return { kind: 'malformed', error: new MalformedMessageError('otr.unrecognized', 'unrecognized OTR message') };
  } catch (error) {
    return malformed(error);
  }
}
