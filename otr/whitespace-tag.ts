/**
 * Whitespace tags (OTR v3 spec, "Tagged plaintext messages"): a 16-byte base tag of spaces
 * and tabs followed by one or more 8-byte version tags, appended to a plaintext message to
 * say "I am willing to use OTR". Detection and stripping follow libotr 4.1.1
 * (`otrl_proto_whitespace_bestversion`, proto.c; tag bytes from proto.h), checked against
 * the installed library in test/unit/otr/libotr-outside.test.ts.
 */
import type { OtrVersion } from './message-types.js';
import type { OfferedOtrVersion } from './query.js';

/** The base tag: "\x20\x09\x20\x20\x09\x09\x09\x09" "\x20\x09\x20\x09\x20\x09\x20\x20". */
export const WHITESPACE_TAG_BASE = ' \t  \t\t\t\t \t \t \t  ';
/** Version 1 tag "\x20\x09\x20\x09\x20\x20\x09\x20" (recognized, never sent). */
export const WHITESPACE_TAG_V1 = ' \t \t  \t ';
/** Version 2 tag "\x20\x20\x09\x09\x20\x20\x09\x20". */
export const WHITESPACE_TAG_V2 = '  \t\t  \t ';
/** Version 3 tag "\x20\x20\x09\x09\x20\x20\x09\x09". */
export const WHITESPACE_TAG_V3 = '  \t\t  \t\t';

/** Length of one version tag. */
const VERSION_TAG_LENGTH = 8;

/**
 * The whitespace tag offering `versions`: the base tag then the version tags in the order
 * libotr writes them (2 before 3). Throws RangeError for an empty set or a version other
 * than 2 or 3 (caller bug).
 */
export function buildWhitespaceTag(versions: Iterable<OtrVersion>): string {
  const set = new Set<number>(versions);
  for (const version of set) {
    if (version !== 2 && version !== 3) throw new RangeError('buildWhitespaceTag: versions must be 2 and/or 3');
  }
  if (set.size === 0) throw new RangeError('buildWhitespaceTag: offer at least one version');
  return WHITESPACE_TAG_BASE + (set.has(2) ? WHITESPACE_TAG_V2 : '') + (set.has(3) ? WHITESPACE_TAG_V3 : '');
}

/** A whitespace tag found in a message. */
export interface WhitespaceTagMatch {
  /** Versions the tag offers (may be empty when it holds only unknown version tags). */
  readonly versions: Set<OfferedOtrVersion>;
  /** Index of the base tag in the text. */
  readonly start: number;
  /** Index just after the last 8-character version group. */
  readonly end: number;
  /** The text with the tag cut out, which is what the user should see. */
  readonly strippedText: string;
}

function isAllWhitespace(text: string, from: number, length: number): boolean {
  if (from + length > text.length) return false;
  for (let i = from; i < from + length; i += 1) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/**
 * Finds the first whitespace tag in `text`, or returns `undefined`. As libotr does: after
 * the base tag, every following group of 8 characters made only of spaces and tabs belongs
 * to the tag; groups equal to the v1/v2/v3 tags add that version, other groups (future
 * versions) are skipped. The tag spans from the base tag to the end of the last group, and
 * `strippedText` is `text` without it (only the first tag is removed).
 */
export function findWhitespaceTag(text: string): WhitespaceTagMatch | undefined {
  const start = text.indexOf(WHITESPACE_TAG_BASE);
  if (start < 0) return undefined;
  const versions = new Set<OfferedOtrVersion>();
  let end = start + WHITESPACE_TAG_BASE.length;
  while (isAllWhitespace(text, end, VERSION_TAG_LENGTH)) {
    const group = text.slice(end, end + VERSION_TAG_LENGTH);
    if (group === WHITESPACE_TAG_V1) versions.add(1);
    else if (group === WHITESPACE_TAG_V2) versions.add(2);
    else if (group === WHITESPACE_TAG_V3) versions.add(3);
    end += VERSION_TAG_LENGTH;
  }
  return { versions, start, end, strippedText: text.slice(0, start) + text.slice(end) };
}
