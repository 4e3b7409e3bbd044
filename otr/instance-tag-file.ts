/**
 * libotr 4's instance tag store (`otr.instance_tags`): our instance tag per account, so a
 * client keeps the same tag across restarts (OTR v3 spec, "Instance Tags"). One line per
 * account, as otrl_instag_write writes it:
 *
 *   accountname TAB protocol TAB instance tag (8 lower-case hex digits) LF
 *
 * after a comment line (INSTANCE_TAG_FILE_HEADER) that libotr writes first. libotr skips
 * lines without tabs, so a "#" line without tabs is a comment; a line starting with "#" that
 * has tabs is an entry (libotr reads it as one too).
 *
 * Tags below 0x100 are reserved (OTRL_MIN_VALID_INSTAG) and rejected.
 */
import { MalformedMessageError } from '../lib/core/errors.js';
import { checkField, decodeText, splitLines } from './fingerprint-file.js';
import { isValidInstanceTag } from './instance-tag.js';

/** One account's instance tag. */
export interface InstanceTagEntry {
  /** Our account, e.g. "alice@example.org". */
  readonly accountName: string;
  /** Protocol id, e.g. "prpl-jabber". */
  readonly protocol: string;
  /** The tag, 0x100 .. 0xffffffff. */
  readonly instanceTag: number;
}

const MAX_FILE_BYTES = 1 << 20;

/** The comment libotr 4.1 writes as the first line of the file. */
export const INSTANCE_TAG_FILE_HEADER =
  "# WARNING! You shouldn't copy this file to another computer. It is unnecessary and can cause problems.\n";

/**
 * Parses the store into entries in file order. Throws MalformedMessageError
 * 'otr.instance-tags.malformed' naming the first bad line (not three tab-separated fields,
 * a tag that is not exactly 8 hex digits, or a tag below 0x100).
 */
export function parseInstanceTagFile(content: Uint8Array | string): InstanceTagEntry[] {
  const text = decodeText(content, 'otr.instance-tags.malformed', MAX_FILE_BYTES);
  const entries: InstanceTagEntry[] = [];
  splitLines(text).forEach((line, index) => {
    if (line.length === 0 || (line.startsWith('#') && !line.includes('\t'))) return;
    const bad = (why: string): MalformedMessageError =>
      new MalformedMessageError('otr.instance-tags.malformed', `instance tag store line ${index + 1}: ${why}`);
    const fields = line.split('\t');
    if (fields.length !== 3) throw bad('expected account, protocol and tag separated by tabs');
    const [accountName, protocol, hex] = fields as [string, string, string];
    if (accountName.length === 0 || protocol.length === 0) throw bad('empty account or protocol');
    if (/[\r\0]/.test(line)) throw bad('stray CR or NUL');
    if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw bad('the tag must be 8 hex digits');
    const instanceTag = Number.parseInt(hex, 16);
    if (!isValidInstanceTag(instanceTag)) throw bad('instance tags below 0x100 are reserved');
    entries.push({ accountName, protocol, instanceTag });
  });
  return entries;
}

/**
 * Writes entries as libotr does, header line included. Throws RangeError for a bad name or
 * tag (a caller bug).
 */
export function writeInstanceTagFile(entries: readonly InstanceTagEntry[]): string {
  let out = INSTANCE_TAG_FILE_HEADER;
  for (const entry of entries) {
    checkField(entry.accountName, 'writeInstanceTagFile');
    checkField(entry.protocol, 'writeInstanceTagFile');
    if (!isValidInstanceTag(entry.instanceTag)) throw new RangeError('writeInstanceTagFile: instance tag must be 0x100..0xffffffff');
    out += `${entry.accountName}\t${entry.protocol}\t${entry.instanceTag.toString(16).padStart(8, '0')}\n`;
  }
  return out;
}

/** The tag of `accountName` on `protocol`, or undefined (libotr's otrl_instag_find). */
export function findInstanceTag(entries: readonly InstanceTagEntry[], accountName: string, protocol: string): number | undefined {
  return entries.find((entry) => entry.accountName === accountName && entry.protocol === protocol)?.instanceTag;
}
