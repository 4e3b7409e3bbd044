/**
 * libotr's private key file (`otr.private_key` in Pidgin's profile directory), so users can
 * bring their existing OTR identity:
 *
 *   (privkeys
 *    (account
 *   (name "alice@example.org")
 *   (protocol prpl-jabber)
 *   (private-key
 *    (dsa
 *     (p #00FC...#)
 *     (q #00E4...#)
 *     (g #42B2...#)
 *     (y #4EB1...#)
 *     (x #00C6...#)
 *     )
 *    )
 *    )
 *   )
 *
 * `writePrivateKeyFile` produces exactly the bytes libotr 4.1's otrl_privkey_generate writes
 * (libgcrypt's advanced S-expression rendering, MPIs in two's complement with a leading 00 when
 * the top bit is set). Parsing checks the structure, decodes names as strict UTF-8 and checks
 * every key (ranges, 0 < x < q, y = g^x mod p): a damaged file is a MalformedMessageError,
 * never a wrong key.
 */
import { bigIntToBytes, bytesToBigInt } from '../lib/core/bytes.js';
import { isValidDsaPublicKey, type DsaPrivateKey } from '../lib/core/crypto/dsa.js';
import { ModExp } from '../lib/core/crypto/modexp.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import {
  formatSExpressionAdvanced, isAtomNamed, parseSExpression, sexpAtom, sexpList, type SExpLimits, type SExpList,
  type SExpression,
} from './sexp.js';

/** One account's long-term key, as libotr stores it. */
export interface OtrAccountKey {
  /** libotr's "accountname", e.g. "alice@example.org/Home" or "alice@example.org". */
  readonly accountName: string;
  /** libotr's protocol id, e.g. "prpl-jabber" (Pidgin) or "xmpp". */
  readonly protocol: string;
  /** The DSA key. */
  readonly privateKey: DsaPrivateKey;
}

/** Bounds for a key file: 1 MiB, nesting 8, ~1000 accounts. */
const FILE_LIMITS: SExpLimits = { maxBytes: 1 << 20, maxDepth: 8, maxNodes: 20_000 };
/** Largest accepted MPI in the file: 3072 bits plus a sign byte. */
const MAX_MPI_BYTES = 385;
const DSA_FIELDS = ['p', 'q', 'g', 'y', 'x'] as const;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(message: string): MalformedMessageError {
  return new MalformedMessageError('otr.keyfile.malformed', `private key file: ${message}`);
}

/** The sub-lists of `list` after its head, keyed by their head token; each at most once. */
function fieldsOf(list: SExpList, what: string, allowed: readonly string[]): Map<string, SExpList> {
  const fields = new Map<string, SExpList>();
  for (const item of list.items.slice(1)) {
    if (item.kind !== 'list') throw malformed(`unexpected value in ${what}`);
    const head = item.items[0];
    const name = allowed.find((candidate) => isAtomNamed(head, candidate));
    if (name === undefined) throw malformed(`unexpected field in ${what}`);
    if (fields.has(name)) throw malformed(`duplicate (${name}) in ${what}`);
    fields.set(name, item);
  }
  for (const name of allowed) if (!fields.has(name)) throw malformed(`missing (${name}) in ${what}`);
  return fields;
}

/** The single value of a `(name value)` list. */
function valueOf(field: SExpList | undefined, what: string): Uint8Array {
  const value = field?.items[1];
  if (!field || field.items.length !== 2 || value?.kind !== 'atom') throw malformed(`(${what}) must hold exactly one value`);
  return value.bytes;
}

function textOf(field: SExpList | undefined, what: string): string {
  try {
    return strictUtf8.decode(valueOf(field, what));
  } catch (error) {
    if (error instanceof MalformedMessageError) throw error;
    throw malformed(`(${what}) is not valid UTF-8`);
  }
}

/**
 * An MPI value. libotr reads DSA values unsigned (gcry_sexp_nth_mpi, GCRYMPI_FMT_USG);
 * libgcrypt writes them two's complement, so a leading 00 is normal and ignored here.
 */
function mpiOf(field: SExpList | undefined, what: string): bigint {
  const bytes = valueOf(field, what);
  if (bytes.length === 0 || bytes.length > MAX_MPI_BYTES) throw malformed(`(${what}) has a bad length`);
  return bytesToBigInt(bytes);
}

function readAccount(account: SExpression, engine: ModExp): OtrAccountKey {
  if (account.kind !== 'list' || !isAtomNamed(account.items[0], 'account')) throw malformed('expected (account ...)');
  const fields = fieldsOf(account, 'account', ['name', 'protocol', 'private-key']);
  const accountName = textOf(fields.get('name'), 'name');
  const protocol = textOf(fields.get('protocol'), 'protocol');
  const privateKeyList = fields.get('private-key') as SExpList;
  const dsa = privateKeyList.items[1];
  if (privateKeyList.items.length !== 2 || dsa?.kind !== 'list' || !isAtomNamed(dsa.items[0], 'dsa')) {
    throw malformed('(private-key) must hold exactly one (dsa ...) key');
  }
  const dsaFields = fieldsOf(dsa, 'dsa', DSA_FIELDS);
  const [p, q, g, y, x] = DSA_FIELDS.map((name) => mpiOf(dsaFields.get(name), name)) as [bigint, bigint, bigint, bigint, bigint];
  const privateKey: DsaPrivateKey = { p, q, g, y, x };
  if (!isValidDsaPublicKey(privateKey) || x <= 0n || x >= q) {
    throw new MalformedMessageError('otr.keyfile.bad-key', 'private key file: DSA key parameters out of range');
  }
  if (engine.modPow(g, x, p) !== y) {
    throw new MalformedMessageError('otr.keyfile.bad-key', 'private key file: y does not match x');
  }
  return { accountName, protocol, privateKey };
}

/**
 * Parses libotr's `otr.private_key` (bytes, or a string taken as UTF-8) into its accounts, in
 * file order. Throws MalformedMessageError ('sexp.*' for bad syntax, 'otr.keyfile.malformed'
 * for a wrong structure, 'otr.keyfile.bad-key' for a key that fails the checks).
 */
export function parsePrivateKeyFile(content: Uint8Array | string, engine: ModExp = new ModExp()): OtrAccountKey[] {
  const root = parseSExpression(content, FILE_LIMITS);
  if (root.kind !== 'list' || !isAtomNamed(root.items[0], 'privkeys')) throw malformed('expected (privkeys ...)');
  return root.items.slice(1).map((account) => readAccount(account, engine));
}

/** libgcrypt's two's-complement MPI bytes: minimal, with a 00 prefix when the top bit is set. */
function mpiBytes(value: bigint): Uint8Array {
  const bytes = bigIntToBytes(value);
  return bytes.length > 0 && ((bytes[0] as number) & 0x80) !== 0 ? Uint8Array.of(0, ...bytes) : bytes;
}

/**
 * Writes `accounts` as libotr's `otr.private_key`, byte for byte as libotr writes it (its
 * privkeys header and account lines around libgcrypt's advanced rendering). Throws RangeError
 * for a key that fails `isValidDsaPublicKey` or 0 < x < q (a caller bug).
 */
export function writePrivateKeyFile(accounts: readonly OtrAccountKey[]): Uint8Array {
  const parts: Uint8Array[] = [ascii('(privkeys\n')];
  for (const { accountName, protocol, privateKey: key } of accounts) {
    if (!isValidDsaPublicKey(key) || key.x <= 0n || key.x >= key.q) throw new RangeError('writePrivateKeyFile: invalid DSA key');
    if (accountName.includes('\0') || protocol.includes('\0')) throw new RangeError('writePrivateKeyFile: names cannot contain NUL');
    // libotr writes " (account\n", then each of (name), (protocol) and (private-key) as its own
    // gcry_sexp_sprint, then " )\n".
    parts.push(ascii(' (account\n'));
    parts.push(formatSExpressionAdvanced(sexpList(sexpAtom('name'), sexpAtom(accountName))));
    parts.push(formatSExpressionAdvanced(sexpList(sexpAtom('protocol'), sexpAtom(protocol))));
    parts.push(formatSExpressionAdvanced(sexpList(sexpAtom('private-key'), sexpList(sexpAtom('dsa'),
      ...DSA_FIELDS.map((name) => sexpList(sexpAtom(name), sexpAtom(mpiBytes(key[name]))))))));
    parts.push(ascii(' )\n'));
  }
  parts.push(ascii(')\n'));
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The key of `accountName` on `protocol`, or undefined (libotr's otrl_privkey_find). */
export function findAccountKey(accounts: readonly OtrAccountKey[], accountName: string, protocol: string): OtrAccountKey | undefined {
  return accounts.find((account) => account.accountName === accountName && account.protocol === protocol);
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
