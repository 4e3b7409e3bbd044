/**
 * OTR Query Messages (OTR v3 spec, "OTR Query Messages"): "?OTR" followed by the versions
 * the sender is willing to use ("?" for version 1, "v" + version digits + "?" for the
 * others), optionally with an explanatory text for people whose client does not speak OTR.
 * Building and parsing follow libotr 4.1.1 (`otrl_proto_default_query_msg`,
 * `otrl_proto_query_bestversion` in proto.c), checked against the installed library in
 * test/unit/otr/libotr-outside.test.ts.
 */
import type { OtrVersion } from './message-types.js';

/**
 * A protocol version a peer can offer in a Query Message or whitespace tag. Version 1 is
 * reported (the peer offered it) but never spoken by this library.
 */
export type OfferedOtrVersion = 1 | 2 | 3;

/** The string that starts every Query Message and every other OTR marker. */
export const OTR_MARKER = '?OTR';

/**
 * libotr 4.1.1's explanatory text after the version string, upstream wording (Debian's
 * build adds a Pidgin-specific line; we do not). `%s` stands for the sender's account name.
 */
export const LIBOTR_QUERY_EXPLANATION =
  '<b>%s</b> has requested an <a href="https://otr.cypherpunks.ca/">Off-the-Record private conversation</a>.' +
  '  However, you do not have a plugin to support that.\n' +
  'See <a href="https://otr.cypherpunks.ca/">https://otr.cypherpunks.ca/</a> for more information.';

/** Options of `buildQueryMessage`. */
export interface BuildQueryMessageOptions {
  /**
   * Our account name (e.g. a bare JID) for libotr's explanatory text. Without it, the
   * message is the bare version string ("?OTRv23?"), which every OTR client understands.
   */
  readonly accountName?: string;
}

/** HTML-escapes the account name: libotr inserts it verbatim, but a JID resource may hold `<`. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

/**
 * The version string for `versions`, as libotr writes it: "?OTRv" + "2" if offered + "3" if
 * offered + "?" (e.g. "?OTRv23?", "?OTRv3?"). Version 1 is never offered. Throws RangeError
 * for an empty set or a version other than 2 or 3 (caller bug).
 */
export function buildQueryVersionString(versions: Iterable<OtrVersion>): string {
  const set = new Set<number>(versions);
  for (const version of set) {
    if (version !== 2 && version !== 3) throw new RangeError('buildQueryVersionString: versions must be 2 and/or 3');
  }
  if (set.size === 0) throw new RangeError('buildQueryVersionString: offer at least one version');
  return `${OTR_MARKER}v${set.has(2) ? '2' : ''}${set.has(3) ? '3' : ''}?`;
}

/**
 * A Query Message offering `versions`. With `accountName`, the same text libotr 4.1.1's
 * `otrl_proto_default_query_msg` produces: the version string, a newline, then
 * `LIBOTR_QUERY_EXPLANATION` with the (HTML-escaped) account name.
 */
export function buildQueryMessage(versions: Iterable<OtrVersion>, options: BuildQueryMessageOptions = {}): string {
  const versionString = buildQueryVersionString(versions);
  if (options.accountName === undefined) return versionString;
  return `${versionString}\n${LIBOTR_QUERY_EXPLANATION.replace('%s', () => escapeHtml(options.accountName ?? ''))}`;
}

/**
 * The versions offered by the Query Message that starts at the first "?OTR" of `text`, or
 * `undefined` when that "?OTR" is not followed by "?" or "v" (not a Query Message).
 *
 * Same reading as libotr's `otrl_proto_query_bestversion` (OTR v3 spec, "OTR Query
 * Messages"): "?OTR?" offers version 1; a following "v" starts a list of version
 * identifiers running to the next "?" (or the end of the text); "2" and "3" are recorded and
 * every other character (future versions such as "4" or "x") is ignored. So "?OTR?" -> {1},
 * "?OTRv2?" -> {2}, "?OTR?v2?" -> {1, 2}, "?OTRv23?" and "?OTRv32?" -> {2, 3},
 * "?OTRv24x?" -> {2}, "?OTRv?" -> {} (a query offering nothing we speak).
 */
export function parseQueryVersions(text: string): Set<OfferedOtrVersion> | undefined {
  const start = text.indexOf(OTR_MARKER);
  if (start < 0) return undefined;
  let at = start + OTR_MARKER.length;
  const first = text[at];
  if (first !== '?' && first !== 'v') return undefined;
  const versions = new Set<OfferedOtrVersion>();
  if (first === '?') {
    versions.add(1);
    at += 1;
  }
  if (text[at] === 'v') {
    for (at += 1; at < text.length && text[at] !== '?'; at += 1) {
      if (text[at] === '2') versions.add(2);
      else if (text[at] === '3') versions.add(3);
    }
  }
  return versions;
}

/**
 * The best version both sides speak: the highest of `offered` that is in `allowed` (3 before
 * 2, as libotr chooses), or `undefined` when there is none. Version 1 is never chosen.
 */
export function selectOtrVersion(offered: ReadonlySet<OfferedOtrVersion>, allowed: ReadonlySet<OtrVersion>): OtrVersion | undefined {
  if (offered.has(3) && allowed.has(3)) return 3;
  if (offered.has(2) && allowed.has(2)) return 2;
  return undefined;
}
