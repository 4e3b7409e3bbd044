/**
 * The embedded default store: one file per account holding every key, written atomically
 * (temp file, fsync, rename, fsync of the directory), so that a crash at any instant leaves
 * either the old or the new file. Optionally encrypted at rest with a passphrase: AES-256-GCM
 * under a key from scrypt (RFC 7914), with a fresh salt per file and a fresh IV per write.
 */
import { randomBytes, scrypt as scryptCallback } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/aes.js';
import { base64ToBytes, bytesToBase64, utf8ToBytes, bytesToUtf8, wipe } from '../bytes.js';
import { StorageError } from '../errors.js';
import type { KeyValueStore } from './store.js';

/** scrypt cost parameters; N = 2^15 takes ~50-100 ms here, once per open. */
export interface ScryptParameters {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Options of {@link FileStore.open}. */
export interface FileStoreOptions {
  /** Encrypt the file at rest with a key derived from this passphrase. */
  readonly passphrase?: string;
  /** scrypt parameters for new files (existing files keep theirs). */
  readonly scrypt?: ScryptParameters;
}

const FORMAT_VERSION = 1;
const DEFAULT_SCRYPT: ScryptParameters = { N: 1 << 15, r: 8, p: 1 };
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const TEMP_MARKER = '.tmp-';

interface PlainFile {
  readonly format: 'xmpp-otr-omemo/store';
  readonly version: number;
  readonly entries: Record<string, string>;
}

interface EncryptedFile {
  readonly format: 'xmpp-otr-omemo/store-encrypted';
  readonly version: number;
  readonly kdf: { readonly name: 'scrypt'; readonly salt: string } & ScryptParameters;
  readonly iv: string;
  readonly tag: string;
  readonly ciphertext: string;
}

function scrypt(passphrase: string, salt: Uint8Array, params: ScryptParameters): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase.normalize('NFC'), salt, 32, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(new Uint8Array(key)),
    );
  });
}

/** A {@link KeyValueStore} persisted in one file, atomically, optionally encrypted. */
export class FileStore implements KeyValueStore {
  #entries: Map<string, string>;
  #writeQueue: Promise<void> = Promise.resolve();
  #key: Uint8Array | undefined;

  private constructor(
    readonly path: string,
    entries: Map<string, string>,
    key: Uint8Array | undefined,
    private readonly kdf: ({ name: 'scrypt'; salt: string } & ScryptParameters) | undefined,
  ) {
    this.#entries = entries;
    this.#key = key;
  }

  /**
   * Opens (or creates on first write) the store at `path`. Throws StorageError with code
   * `store.wrong-passphrase` when the passphrase does not decrypt the file,
   * `store.passphrase-required` for an encrypted file opened without one, `store.corrupt` for
   * a file that is not a store.
   */
  static async open(path: string, options: FileStoreOptions = {}): Promise<FileStore> {
    await removeStaleTemporaries(path);
    let raw: Uint8Array | undefined;
    try {
      raw = new Uint8Array(await readFile(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (raw === undefined) {
      if (options.passphrase === undefined) return new FileStore(path, new Map(), undefined, undefined);
      const params = options.scrypt ?? DEFAULT_SCRYPT;
      const salt = new Uint8Array(randomBytes(16));
      const key = await scrypt(options.passphrase, salt, params);
      return new FileStore(path, new Map(), key, { name: 'scrypt', salt: bytesToBase64(salt), ...params });
    }
    if (raw.length > MAX_FILE_BYTES) throw new StorageError('store.corrupt', 'store file is larger than the limit');
    let document: unknown;
    try {
      document = JSON.parse(bytesToUtf8(raw));
    } catch (cause) {
      throw new StorageError('store.corrupt', 'store file is not JSON', { cause });
    }
    if (isEncryptedFile(document)) {
      if (options.passphrase === undefined) throw new StorageError('store.passphrase-required', 'store file is encrypted');
      const salt = base64ToBytes(document.kdf.salt);
      const iv = base64ToBytes(document.iv);
      const tag = base64ToBytes(document.tag);
      const ciphertext = base64ToBytes(document.ciphertext);
      if (!salt || !iv || !tag || !ciphertext) throw new StorageError('store.corrupt', 'store file has bad base64');
      const params = { N: document.kdf.N, r: document.kdf.r, p: document.kdf.p };
      const key = await scrypt(options.passphrase, salt, params);
      const plaintext = aesGcmDecrypt(key, iv, ciphertext, tag, utf8ToBytes('xmpp-otr-omemo/store-encrypted/1'));
      if (!plaintext) {
        wipe(key);
        throw new StorageError('store.wrong-passphrase', 'the passphrase does not open this store');
      }
      const inner = parsePlain(bytesToUtf8(plaintext));
      wipe(plaintext);
      return new FileStore(path, inner, key, document.kdf);
    }
    if (options.passphrase !== undefined) {
      throw new StorageError('store.not-encrypted', 'store file is not encrypted; open it without a passphrase');
    }
    return new FileStore(path, entriesOf(document), undefined, undefined);
  }

  /** True when the file is encrypted at rest. */
  get encrypted(): boolean {
    return this.#key !== undefined;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#entries.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    if (typeof key !== 'string' || typeof value !== 'string') throw new TypeError('FileStore.set: key and value must be strings');
    const next = new Map(this.#entries);
    next.set(key, value);
    await this.#commit(next);
  }

  async delete(key: string): Promise<void> {
    if (!this.#entries.has(key)) return;
    const next = new Map(this.#entries);
    next.delete(key);
    await this.#commit(next);
  }

  async keys(prefix = ''): Promise<string[]> {
    return [...this.#entries.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Waits for pending writes, then forgets the derived key. */
  async close(): Promise<void> {
    await this.#writeQueue;
    wipe(this.#key);
    this.#key = undefined;
    this.#entries = new Map();
  }

  /** Writes are serialised; the in-memory view changes only once the file is durable. */
  #commit(next: Map<string, string>): Promise<void> {
    const write = this.#writeQueue.then(async () => {
      await writeAtomically(this.path, this.#serialize(next));
      this.#entries = next;
    });
    this.#writeQueue = write.catch(() => undefined);
    return write;
  }

  #serialize(entries: Map<string, string>): Uint8Array {
    const plain: PlainFile = { format: 'xmpp-otr-omemo/store', version: FORMAT_VERSION, entries: Object.fromEntries(entries) };
    const plainBytes = utf8ToBytes(JSON.stringify(plain));
    if (this.#key === undefined || this.kdf === undefined) return plainBytes;
    const iv = new Uint8Array(randomBytes(12));
    const { ciphertext, tag } = aesGcmEncrypt(this.#key, iv, plainBytes, utf8ToBytes('xmpp-otr-omemo/store-encrypted/1'));
    wipe(plainBytes);
    const file: EncryptedFile = {
      format: 'xmpp-otr-omemo/store-encrypted',
      version: FORMAT_VERSION,
      kdf: this.kdf,
      iv: bytesToBase64(iv),
      tag: bytesToBase64(tag),
      ciphertext: bytesToBase64(ciphertext),
    };
    return utf8ToBytes(JSON.stringify(file));
  }
}

function isEncryptedFile(document: unknown): document is EncryptedFile {
  if (typeof document !== 'object' || document === null) return false;
  const d = document as Partial<EncryptedFile>;
  if (d.format !== 'xmpp-otr-omemo/store-encrypted') return false;
  if (d.version !== FORMAT_VERSION) throw new StorageError('store.unknown-version', `unknown encrypted store version ${String(d.version)}`);
  const kdf = d.kdf;
  if (
    !kdf ||
    kdf.name !== 'scrypt' ||
    typeof kdf.salt !== 'string' ||
    ![kdf.N, kdf.r, kdf.p].every((n) => Number.isInteger(n) && n > 0) ||
    kdf.N > 1 << 22 ||
    kdf.r > 32 ||
    kdf.p > 16 ||
    typeof d.iv !== 'string' ||
    typeof d.tag !== 'string' ||
    typeof d.ciphertext !== 'string'
  ) {
    throw new StorageError('store.corrupt', 'encrypted store file has a bad header');
  }
  return true;
}

function parsePlain(text: string): Map<string, string> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new StorageError('store.corrupt', 'store contents are not JSON', { cause });
  }
  return entriesOf(document);
}

function entriesOf(document: unknown): Map<string, string> {
  const d = document as Partial<PlainFile> | null;
  if (typeof d !== 'object' || d === null || d.format !== 'xmpp-otr-omemo/store') {
    throw new StorageError('store.corrupt', 'not a store file');
  }
  if (d.version !== FORMAT_VERSION) throw new StorageError('store.unknown-version', `unknown store version ${String(d.version)}`);
  const entries = new Map<string, string>();
  if (typeof d.entries !== 'object' || d.entries === null) throw new StorageError('store.corrupt', 'store file has no entries');
  for (const [key, value] of Object.entries(d.entries)) {
    if (typeof value !== 'string') throw new StorageError('store.corrupt', 'store entry is not a string');
    entries.set(key, value);
  }
  return entries;
}

/** temp file in the same directory, fsync, rename over the target, fsync the directory. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporary = join(directory, `${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(6).toString('hex')}`);
  const handle = await open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  const directoryHandle = await open(directory, 'r');
  try {
    await directoryHandle.sync();
  } finally {
    await directoryHandle.close();
  }
}

/** A crash between creating and renaming a temporary leaves it behind; remove such leftovers. */
async function removeStaleTemporaries(path: string): Promise<void> {
  const prefix = basename(path) + TEMP_MARKER;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return;
  }
  await Promise.all(names.filter((name) => name.startsWith(prefix)).map((name) => unlink(join(dirname(path), name)).catch(() => undefined)));
}
