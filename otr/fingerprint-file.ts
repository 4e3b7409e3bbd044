/**
 * libotr's fingerprint store (`otr.fingerprints`): the peers' long-term key fingerprints we
 * have seen and how far each is trusted. One line per fingerprint, as libotr's
 * otrl_privkey_write_fingerprints writes it:
 *
 *   username TAB accountname TAB protocol TAB fingerprint (40 lower-case hex) TAB trust LF
 *
 * where trust is empty (never verified), "verified" (Pidgin's manual check), "smp" (an SMP
 * success), or any other word an application chose. libotr counts a fingerprint as trusted
 * when trust is non-empty (otrl_context_is_fingerprint_trusted).
 *
 * libotr silently skips lines it cannot parse; we reject the file instead (a damaged trust
 * store should be noticed), but accept what libotr accepts: upper-case hex, CRLF line ends,
 * a missing trust field, blank lines, and a last line without LF (which libotr skips).
 */
import { bytesToHex, hexToBytes } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';

/** One line of the store. */
export interface FingerprintEntry {
  /** The peer's account (libotr's "username"), e.g. "bob@example.org". */
  readonly username: string;
  /** Our account that saw it. */
  readonly accountName: string;
  /** Protocol id, e.g. "prpl-jabber". */
  readonly protocol: string;
  /** The 20-byte fingerprint (see otr/public-key.ts, otrFingerprint). */
  readonly fingerprint: Uint8Array;
  /** Trust level; "" when not trusted. */
  readonly trust: string;
}

/** Largest store we read (16 MiB). */
const MAX_FILE_BYTES = 16 << 20;
/** libotr reads lines with fgets into a 1000-byte buffer: longer lines would be cut in two. */
export const MAX_FINGERPRINT_LINE_BYTES = 999;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** Whether libotr counts the entry as trusted: a non-empty trust level. */
export function isTrustedFingerprint(entry: FingerprintEntry): boolean {
  return entry.trust.length > 0;
}

/**
 * Parses the store (bytes, or an already decoded string) into entries in file order.
 * Throws MalformedMessageError 'otr.fingerprints.malformed' naming the first bad line.
 */
export function parseFingerprintFile(content: Uint8Array | string): FingerprintEntry[] {
  const text = decodeText(content, 'otr.fingerprints.malformed', MAX_FILE_BYTES);
  const entries: FingerprintEntry[] = [];
  splitLines(text).forEach((line, index) => {
    if (line.length === 0) return;
    const bad = (why: string): MalformedMessageError =>
      new MalformedMessageError('otr.fingerprints.malformed', `fingerprint store line ${index + 1}: ${why}`);
    // The trust level is the rest of the line after the fourth tab, as in libotr.
    const fields = splitTabs(line, 5);
    if (fields.length < 4) throw bad('expected username, account, protocol and fingerprint separated by tabs');
    const [username, accountName, protocol, hex, trust = ''] = fields as [string, string, string, string, string?];
    // C strings end at NUL and libotr ends a line at the first CR: such bytes cannot round-trip.
    if (/[\r\0]/.test(line)) throw bad('stray CR or NUL');
    if (username.length === 0 || accountName.length === 0 || protocol.length === 0) throw bad('empty username, account or protocol');
    if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw bad('the fingerprint must be 40 hex digits');
    entries.push({ username, accountName, protocol, fingerprint: hexToBytes(hex), trust });
  });
  return entries;
}

/**
 * Writes entries as libotr does (lower-case hex, a tab before the trust level even when it is
 * empty, LF line ends). Throws RangeError for a field containing a tab, CR, LF or NUL, a
 * fingerprint that is not 20 bytes, or a line libotr could not read in one piece.
 */
export function writeFingerprintFile(entries: readonly FingerprintEntry[]): string {
  let out = '';
  for (const entry of entries) {
    for (const field of [entry.username, entry.accountName, entry.protocol]) checkField(field, 'writeFingerprintFile');
    if (/[\n\r\0]/.test(entry.trust)) throw new RangeError('writeFingerprintFile: trust cannot contain CR, LF or NUL');
    if (entry.fingerprint.length !== 20) throw new RangeError('writeFingerprintFile: fingerprint must be 20 bytes');
    const line = `${entry.username}\t${entry.accountName}\t${entry.protocol}\t${bytesToHex(entry.fingerprint)}\t${entry.trust}\n`;
    if (encoder.encode(line).length > MAX_FINGERPRINT_LINE_BYTES) throw new RangeError('writeFingerprintFile: line too long for libotr');
    out += line;
  }
  return out;
}

/** Rejects values libotr's tab-separated files cannot hold. */
export function checkField(value: string, who: string): void {
  if (typeof value !== 'string' || value.length === 0 || /[\t\n\r\0]/.test(value)) {
    throw new RangeError(`${who}: names must be non-empty without tab, CR, LF or NUL`);
  }
}

/** Strict UTF-8 decoding of a file's bytes, bounded; strings pass through. */
export function decodeText(content: Uint8Array | string, code: string, maxBytes: number): string {
  if (typeof content === 'string') {
    if (content.length > maxBytes) throw new MalformedMessageError(code, 'file too large');
    return content;
  }
  if (content.length > maxBytes) throw new MalformedMessageError(code, 'file too large');
  try {
    return strictUtf8.decode(content);
  } catch {
    throw new MalformedMessageError(code, 'file is not valid UTF-8');
  }
}

/** Lines split at LF, a trailing CR removed (libotr ends a line at the first CR or LF). */
export function splitLines(text: string): string[] {
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Splits at tabs into at most `limit` fields, the last keeping any further tabs. */
function splitTabs(line: string, limit: number): string[] {
  const fields: string[] = [];
  let rest = line;
  while (fields.length < limit - 1) {
    const tab = rest.indexOf('\t');
    if (tab < 0) break;
    fields.push(rest.slice(0, tab));
    rest = rest.slice(tab + 1);
  }
  fields.push(rest);
  return fields;
}
