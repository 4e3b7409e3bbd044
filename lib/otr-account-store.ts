/**
 * The OTR state of one account over a {@link KeyValueStore}: the long-term DSA key, our
 * instance tag (OTR v3 spec, "Instance Tags") and the peers' fingerprints with their trust
 * (libotr's otr.private_key, otr.instance_tags and otr.fingerprints). Each value is a small
 * versioned JSON document under `otr/<account>/...`; import and export of libotr's three
 * files use the codecs in otr/ so an identity moves between Pidgin/libotr and this library.
 */
import { bytesToHex, hexToBytes } from './core/bytes.js';
import { generateDsaKey, isValidDsaPublicKey, type DsaPrivateKey } from './core/crypto/dsa.js';
import { StorageError } from './core/errors.js';
import { systemRandom, type RandomSource } from './core/random.js';
import type { KeyValueStore } from './core/store/store.js';
import { parseFingerprintFile, writeFingerprintFile, type FingerprintEntry } from '../otr/fingerprint-file.js';
import { generateInstanceTag, isValidInstanceTag } from '../otr/instance-tag.js';
import { parseInstanceTagFile, writeInstanceTagFile } from '../otr/instance-tag-file.js';
import { parsePrivateKeyFile, writePrivateKeyFile } from '../otr/private-key-file.js';
import { otrFingerprint } from '../otr/public-key.js';

/**
 * How far a peer's fingerprint is trusted: never verified, verified by a successful SMP run,
 * or verified by the user comparing fingerprints. libotr's trust words are "", "smp" and
 * "verified" (Pidgin's manual check).
 */
export type FingerprintTrust = 'unverified' | 'smp' | 'manual';

/** A fingerprint we have seen for a peer. */
export interface KnownFingerprint {
  /** The peer's bare JID. */
  readonly peer: string;
  /** 20-byte OTR fingerprint. */
  readonly fingerprint: Uint8Array;
  readonly trust: FingerprintTrust;
}

/** libotr's files, as bytes/text (any may be omitted on import). */
export interface LibotrFiles {
  /** otr.private_key (S-expression). */
  readonly privateKey?: Uint8Array | string;
  /** otr.fingerprints (tab-separated). */
  readonly fingerprints?: Uint8Array | string;
  /** otr.instance_tags (tab-separated). */
  readonly instanceTags?: Uint8Array | string;
}

/** Which libotr account to read or write. */
export interface LibotrAccountSelector {
  /**
   * libotr's account name. On import, entries match when their bare JID equals this one's
   * (Pidgin writes "alice@example.org/Resource"); default: the store's account. On export,
   * written as given.
   */
  readonly accountName?: string;
  /** libotr protocol id; default "prpl-jabber" (Pidgin's XMPP) on export, any on import. */
  readonly protocol?: string;
}

/** What an import took. */
export interface LibotrImportSummary {
  readonly privateKey: boolean;
  readonly instanceTag: boolean;
  readonly fingerprints: number;
}

const DOC_VERSION = 1;
const LIBOTR_TRUST: Record<FingerprintTrust, string> = { unverified: '', smp: 'smp', manual: 'verified' };

function bare(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash < 0 ? jid : jid.slice(0, slash)).toLowerCase();
}

function checkPeer(peer: string): string {
  if (typeof peer !== 'string' || peer.length === 0 || /[\s\0]/.test(peer)) throw new TypeError('peer must be a JID');
  return bare(peer);
}

function checkFingerprint(fingerprint: Uint8Array): void {
  if (!(fingerprint instanceof Uint8Array) || fingerprint.length !== 20) throw new RangeError('fingerprint must be 20 bytes');
}

function trustFromLibotr(word: string): FingerprintTrust {
  if (word === '') return 'unverified';
  return word === 'smp' ? 'smp' : 'manual';
}

function parseDoc(raw: string, key: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (cause) {
    throw new StorageError('otr-store.corrupt', `stored ${key} is not JSON`, { cause });
  }
  if (typeof doc !== 'object' || doc === null) throw new StorageError('otr-store.corrupt', `stored ${key} is not an object`);
  const record = doc as Record<string, unknown>;
  if (record.version !== DOC_VERSION) throw new StorageError('otr-store.unknown-version', `stored ${key} has an unknown version`);
  return record;
}

function bigFromHex(value: unknown, key: string): bigint {
  if (typeof value !== 'string' || !/^[0-9a-f]{1,800}$/.test(value)) throw new StorageError('otr-store.corrupt', `stored ${key} has a bad number`);
  return BigInt('0x' + value);
}

/** Options of {@link OtrAccountStore}. */
export interface OtrAccountStoreOptions {
  /** Randomness for a new instance tag (default: the system CSPRNG). */
  readonly random?: RandomSource;
  /** Makes a new long-term key when none is stored (default: `generateDsaKey`, 1024-bit DSA). */
  readonly generateKey?: () => DsaPrivateKey;
}

/** One account's OTR identity and trust store. */
export class OtrAccountStore {
  readonly #kv: KeyValueStore;
  readonly #prefix: string;
  readonly #random: RandomSource;
  readonly #generateKey: () => DsaPrivateKey;
  /** The account's bare JID. */
  readonly account: string;
  #key: Promise<DsaPrivateKey> | undefined;
  #tag: Promise<number> | undefined;

  constructor(kv: KeyValueStore, account: string, options: OtrAccountStoreOptions = {}) {
    this.#kv = kv;
    this.account = checkPeer(account);
    this.#prefix = `otr/${this.account}/`;
    this.#random = options.random ?? systemRandom;
    this.#generateKey = options.generateKey ?? generateDsaKey;
  }

  /** The underlying store. */
  get store(): KeyValueStore {
    return this.#kv;
  }

  /** Our long-term DSA key; made and saved on first use. */
  privateKey(): Promise<DsaPrivateKey> {
    this.#key ??= this.#loadOrCreateKey().catch((error: unknown) => {
      this.#key = undefined;
      throw error;
    });
    return this.#key;
  }

  async #loadOrCreateKey(): Promise<DsaPrivateKey> {
    const stored = await this.#readKey();
    if (stored !== undefined) return stored;
    const key = this.#generateKey();
    await this.#writeKey(key);
    return key;
  }

  async #readKey(): Promise<DsaPrivateKey | undefined> {
    const name = this.#prefix + 'private-key';
    const raw = await this.#kv.get(name);
    if (raw === undefined) return undefined;
    const doc = parseDoc(raw, 'private key');
    const key: DsaPrivateKey = {
      p: bigFromHex(doc.p, 'private key'),
      q: bigFromHex(doc.q, 'private key'),
      g: bigFromHex(doc.g, 'private key'),
      y: bigFromHex(doc.y, 'private key'),
      x: bigFromHex(doc.x, 'private key'),
    };
    if (!isValidDsaPublicKey(key) || key.x <= 0n || key.x >= key.q) throw new StorageError('otr-store.corrupt', 'stored private key is not a valid DSA key');
    return key;
  }

  async #writeKey(key: DsaPrivateKey): Promise<void> {
    const doc = { version: DOC_VERSION, kind: 'dsa', p: key.p.toString(16), q: key.q.toString(16), g: key.g.toString(16), y: key.y.toString(16), x: key.x.toString(16) };
    await this.#kv.set(this.#prefix + 'private-key', JSON.stringify(doc));
  }

  /** Our fingerprint (20 bytes). */
  async ourFingerprint(): Promise<Uint8Array> {
    const key = await this.privateKey();
    return otrFingerprint({ p: key.p, q: key.q, g: key.g, y: key.y });
  }

  /** Our instance tag; drawn and saved on first use. */
  instanceTag(): Promise<number> {
    this.#tag ??= this.#loadOrCreateTag().catch((error: unknown) => {
      this.#tag = undefined;
      throw error;
    });
    return this.#tag;
  }

  async #loadOrCreateTag(): Promise<number> {
    const raw = await this.#kv.get(this.#prefix + 'instance-tag');
    if (raw !== undefined) {
      const tag = parseDoc(raw, 'instance tag').instanceTag;
      if (typeof tag !== 'number' || !isValidInstanceTag(tag)) throw new StorageError('otr-store.corrupt', 'stored instance tag is invalid');
      return tag;
    }
    const tag = generateInstanceTag(this.#random);
    await this.#writeTag(tag);
    return tag;
  }

  async #writeTag(tag: number): Promise<void> {
    await this.#kv.set(this.#prefix + 'instance-tag', JSON.stringify({ version: DOC_VERSION, instanceTag: tag }));
  }

  #fingerprintKey(peer: string, fingerprint: Uint8Array): string {
    return `${this.#prefix}fingerprint/${peer}/${bytesToHex(fingerprint)}`;
  }

  /** The trust of a peer's fingerprint, or undefined if never seen. */
  async trustOf(peer: string, fingerprint: Uint8Array): Promise<FingerprintTrust | undefined> {
    checkFingerprint(fingerprint);
    const raw = await this.#kv.get(this.#fingerprintKey(checkPeer(peer), fingerprint));
    if (raw === undefined) return undefined;
    const trust = parseDoc(raw, 'fingerprint').trust;
    if (trust !== 'unverified' && trust !== 'smp' && trust !== 'manual') throw new StorageError('otr-store.corrupt', 'stored trust is invalid');
    return trust;
  }

  /** Records a fingerprint the AKE authenticated; a known one keeps its trust. */
  async addFingerprint(peer: string, fingerprint: Uint8Array): Promise<{ trust: FingerprintTrust; isNew: boolean }> {
    const known = await this.trustOf(peer, fingerprint);
    if (known !== undefined) return { trust: known, isNew: false };
    await this.setTrust(peer, fingerprint, 'unverified');
    return { trust: 'unverified', isNew: true };
  }

  /** Sets the trust of a peer's fingerprint (adding it if new). */
  async setTrust(peer: string, fingerprint: Uint8Array, trust: FingerprintTrust): Promise<void> {
    checkFingerprint(fingerprint);
    if (trust !== 'unverified' && trust !== 'smp' && trust !== 'manual') throw new TypeError('setTrust: unknown trust level');
    await this.#kv.set(this.#fingerprintKey(checkPeer(peer), fingerprint), JSON.stringify({ version: DOC_VERSION, trust }));
  }

  /** Forgets a peer's fingerprint. */
  async forgetFingerprint(peer: string, fingerprint: Uint8Array): Promise<void> {
    checkFingerprint(fingerprint);
    await this.#kv.delete(this.#fingerprintKey(checkPeer(peer), fingerprint));
  }

  /** Every known fingerprint (of one peer, or of all), sorted by peer then fingerprint. */
  async fingerprints(peer?: string): Promise<KnownFingerprint[]> {
    const base = `${this.#prefix}fingerprint/`;
    const prefix = peer === undefined ? base : `${base}${checkPeer(peer)}/`;
    const out: KnownFingerprint[] = [];
    for (const key of await this.#kv.keys(prefix)) {
      const rest = key.slice(base.length);
      const slash = rest.lastIndexOf('/');
      const hex = rest.slice(slash + 1);
      if (slash <= 0 || !/^[0-9a-f]{40}$/.test(hex)) throw new StorageError('otr-store.corrupt', 'bad fingerprint key');
      const who = rest.slice(0, slash);
      const fingerprint = hexToBytes(hex);
      const trust = await this.trustOf(who, fingerprint);
      if (trust !== undefined) out.push({ peer: who, fingerprint, trust });
    }
    return out;
  }

  /** Forgets everything about `peer` (ephemeral wipe). */
  async forgetPeer(peer: string): Promise<void> {
    for (const key of await this.#kv.keys(`${this.#prefix}fingerprint/${checkPeer(peer)}/`)) await this.#kv.delete(key);
  }

  /**
   * Imports libotr's files for this account: the key of the matching account (replacing
   * ours), its instance tag, and the fingerprints our account saw, with their trust. Parsing
   * errors are MalformedMessageError from the codecs; nothing is written unless every given
   * file parses.
   */
  async importLibotr(files: LibotrFiles, selector: LibotrAccountSelector = {}): Promise<LibotrImportSummary> {
    const accountName = bare(selector.accountName ?? this.account);
    const matches = (entry: { accountName: string; protocol: string }): boolean =>
      bare(entry.accountName) === accountName && (selector.protocol === undefined || entry.protocol === selector.protocol);
    const key = files.privateKey === undefined ? undefined : parsePrivateKeyFile(files.privateKey).find(matches)?.privateKey;
    const tag = files.instanceTags === undefined ? undefined : parseInstanceTagFile(files.instanceTags).find(matches)?.instanceTag;
    const fingerprints = files.fingerprints === undefined ? [] : parseFingerprintFile(files.fingerprints).filter(matches);
    if (key !== undefined) {
      await this.#writeKey(key);
      this.#key = Promise.resolve(key);
    }
    if (tag !== undefined) {
      await this.#writeTag(tag);
      this.#tag = Promise.resolve(tag);
    }
    for (const entry of fingerprints) await this.setTrust(entry.username, entry.fingerprint, trustFromLibotr(entry.trust));
    return { privateKey: key !== undefined, instanceTag: tag !== undefined, fingerprints: fingerprints.length };
  }

  /** Exports this account as libotr's three files (the key and tag are made first if missing). */
  async exportLibotr(selector: LibotrAccountSelector = {}): Promise<{ privateKey: Uint8Array; fingerprints: string; instanceTags: string }> {
    const accountName = selector.accountName ?? this.account;
    const protocol = selector.protocol ?? 'prpl-jabber';
    const privateKey = writePrivateKeyFile([{ accountName, protocol, privateKey: await this.privateKey() }]);
    const instanceTags = writeInstanceTagFile([{ accountName, protocol, instanceTag: await this.instanceTag() }]);
    const entries: FingerprintEntry[] = (await this.fingerprints()).map((known) => ({
      username: known.peer,
      accountName,
      protocol,
      fingerprint: known.fingerprint,
      trust: LIBOTR_TRUST[known.trust],
    }));
    return { privateKey, fingerprints: writeFingerprintFile(entries), instanceTags };
  }
}
