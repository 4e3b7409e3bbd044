/**
 * Drives a real python-omemo 1.0 peer (Debian's python3-omemo + oldmemo + twomemo) over
 * JSON lines: `/usr/bin/python3 omemo_peer.py serve --jid J`. One request per line, one
 * response per line, in order. The process is killed by `close()` (tests call it in `after`).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PeerDescription, PeerProbe } from '../peer-availability.js';

/** Namespace of OMEMO 0.3. */
export const NS_03 = 'eu.siacs.conversations.axolotl';
/** Namespace of omemo:2. */
export const NS_2 = 'urn:xmpp:omemo:2';
/** Either OMEMO namespace. */
export type OmemoNamespace = typeof NS_03 | typeof NS_2;

const PYTHON = '/usr/bin/python3';
/** Path of the Python peer script (modes `serve` and `selftest`). */
export const PEER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'omemo_peer.py');

/** The python-omemo peer and where it comes from. */
export const PYTHON_OMEMO_PEER: PeerDescription = {
  name: 'python-omemo 1.0 (python3-omemo, python3-oldmemo, python3-twomemo)',
  install: 'apt-get install -y python3-omemo python3-oldmemo python3-twomemo python3-xmlschema (Debian packages)',
};

/** Checks that Debian's python3 imports omemo, oldmemo, twomemo and xmlschema. */
export function probePythonOmemo(): PeerProbe {
  if (!existsSync(PYTHON)) return { available: false, reason: `${PYTHON} not found` };
  try {
    execFileSync(PYTHON, ['-c', 'import omemo, oldmemo, oldmemo.etree, twomemo, twomemo.etree, xmlschema'], { stdio: 'ignore' });
    return { available: true };
  } catch {
    return { available: false, reason: 'python modules omemo/oldmemo/twomemo/xmlschema cannot be imported' };
  }
}

/** Messages the library sent on its own (empty key-exchange completion / heartbeat messages). */
export interface OutboxMessage {
  readonly to: string;
  readonly from: string;
  readonly ns: OmemoNamespace;
  readonly xml: string;
}

/** Fields every response carries. */
export interface PeerResponseBase {
  readonly ok: true;
  readonly outbox: readonly OutboxMessage[];
  readonly published?: { readonly bundle?: Record<string, string>; readonly devicelist?: Record<string, string> };
}

/** The greeting / `info` response. */
export interface PeerInfo extends PeerResponseBase {
  readonly jid: string;
  readonly device_id: number;
  readonly identity_key_ed25519_b64: string;
  readonly devicelist: Record<OmemoNamespace, string>;
  readonly bundle: Record<OmemoNamespace, string>;
}

/** Protobuf fields as python decoded them (bytes in base64). */
export type PbFields = Readonly<Record<string, string | number>>;

/** One `<key>` of a message as python sees it. */
export interface DumpedKey {
  readonly rid: number;
  readonly jid?: string;
  readonly kex: boolean;
  readonly data: string;
  readonly key_exchange?: PbFields;
  /** 0.3: the SignalMessage fields (without version byte and MAC) and its MAC. */
  readonly signal_message?: PbFields;
  readonly mac?: string;
  /** omemo:2. */
  readonly authenticated_message?: PbFields;
  readonly omemo_message?: PbFields;
}

/** `dump_message` response. */
export interface DumpedMessage extends PeerResponseBase {
  readonly ns: OmemoNamespace;
  readonly sid: number;
  readonly keys: readonly DumpedKey[];
  readonly iv: string | null;
  readonly payload: string | null;
}

/** `dump_bundle` response. */
export interface DumpedBundle extends PeerResponseBase {
  readonly identity_key_ed25519: string;
  readonly signed_pre_key: string;
  readonly signed_pre_key_sig: string;
  readonly signed_pre_key_id: number;
  readonly pre_keys: Record<string, string>;
}

/** `export_private` response (TEST ONLY: the throwaway peer's private X3DH keys, base64). */
export interface ExportedPrivateKeys extends PeerResponseBase {
  readonly identity: { readonly kind: 'seed' | 'priv'; readonly key: string };
  readonly signed_pre_key: { readonly id: number; readonly priv: string };
  readonly old_signed_pre_key: { readonly id: number; readonly priv: string } | null;
  readonly pre_keys: Record<string, string>;
}

/** Error response of the peer, raised as an exception on the TypeScript side. */
export class PythonPeerError extends Error {
  constructor(readonly op: string, readonly peerError: string) {
    super(`python-omemo peer ${op}: ${peerError}`);
  }
}

type RawResponse = { ok: boolean; error?: string } & Record<string, unknown>;

type Waiter = { resolve: (r: RawResponse) => void; reject: (e: Error) => void };

/** One running python-omemo peer. */
export class PythonOmemoPeer {
  readonly #process: ChildProcessWithoutNullStreams;
  readonly #lines: RawResponse[] = [];
  readonly #waiters: Waiter[] = [];
  #stderr = '';
  #exited = false;
  #info: PeerInfo | undefined;

  private constructor(readonly jid: string, statePath?: string) {
    const args = [PEER_SCRIPT, 'serve', '--jid', jid, ...(statePath === undefined ? [] : ['--state', statePath])];
    this.#process = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#process.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-8000);
    });
    createInterface({ input: this.#process.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as RawResponse;
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(parsed);
      else this.#lines.push(parsed);
    });
    this.#process.on('exit', (code) => {
      this.#exited = true;
      for (const waiter of this.#waiters.splice(0)) waiter.reject(new Error(`python-omemo peer exited (${code}): ${this.#stderr}`));
    });
  }

  #next(): Promise<RawResponse> {
    return new Promise<RawResponse>((resolve, reject) => {
      const line = this.#lines.shift();
      if (line) resolve(line);
      else if (this.#exited) reject(new Error(`python-omemo peer has exited: ${this.#stderr}`));
      else this.#waiters.push({ resolve, reject });
    });
  }

  /**
   * Spawns a peer for `jid` and waits for its greeting (its `info`). With `statePath`, the
   * peer's python-omemo storage is mirrored to that JSON file, so a peer started again with the
   * same path is the same device with the same sessions (a restart).
   */
  static async start(jid: string, options: { readonly statePath?: string } = {}): Promise<PythonOmemoPeer> {
    const peer = new PythonOmemoPeer(jid, options.statePath);
    peer.#info = (await peer.#next()) as unknown as PeerInfo;
    return peer;
  }

  /** The greeting: own device id, identity key, published device lists and bundles. */
  get info(): PeerInfo {
    if (this.#info === undefined) throw new Error('peer not started');
    return this.#info;
  }

  /** Sends one request and returns its response; PythonPeerError when the peer reports failure. */
  async call<T extends PeerResponseBase>(request: { readonly op: string } & Record<string, unknown>): Promise<T> {
    if (this.#exited) throw new Error(`python-omemo peer has exited: ${this.#stderr}`);
    const response = this.#next();
    this.#process.stdin.write(`${JSON.stringify(request)}\n`);
    const result = await response;
    if (!result.ok) throw new PythonPeerError(request.op, String(result.error));
    return result as unknown as T;
  }

  /** Stores another party's published device list (XML string) on the peer's fake PEP. */
  pepDeviceList(ns: OmemoNamespace, jid: string, xml: string): Promise<PeerResponseBase> {
    return this.call({ op: 'pep_devicelist', ns, jid, xml });
  }

  /** Stores another party's bundle (XML string). */
  pepBundle(ns: OmemoNamespace, jid: string, deviceId: number, xml: string): Promise<PeerResponseBase> {
    return this.call({ op: 'pep_bundle', ns, jid, device_id: deviceId, xml });
  }

  /** python-omemo encrypts `plaintext` for `to` in version `ns`; returns the `<encrypted>` XML. */
  async encrypt(ns: OmemoNamespace, to: readonly string[], plaintext: string): Promise<PeerResponseBase & { xml: string }> {
    return this.call({ op: 'encrypt', ns, to, plaintext });
  }

  /** python-omemo decrypts an `<encrypted>` XML from `from`. */
  decrypt(from: string, xml: string): Promise<PeerResponseBase & { plaintext: string | null; sender_device: number; sender_identity_key_ed25519: string }> {
    return this.call({ op: 'decrypt', from, xml });
  }

  /** python's view of an `<encrypted>` element (raw bytes and decoded protobuf fields). */
  dumpMessage(xml: string): Promise<DumpedMessage> {
    return this.call({ op: 'dump_message', xml });
  }

  /** python's view of a bundle. */
  dumpBundle(ns: OmemoNamespace, xml: string): Promise<DumpedBundle> {
    return this.call({ op: 'dump_bundle', ns, xml });
  }

  /** python-x3dh's signed-prekey signature check on a bundle (as python's etree parser reads it). */
  async verifyBundle(ns: OmemoNamespace, xml: string): Promise<boolean> {
    return (await this.call<PeerResponseBase & { valid: boolean }>({ op: 'verify_bundle', ns, xml })).valid;
  }

  /** python's parse of a device list: id -> label. */
  parseDeviceList(ns: OmemoNamespace, xml: string): Promise<PeerResponseBase & { devices: Record<string, string | null> }> {
    return this.call({ op: 'parse_devicelist', ns, xml });
  }

  /** python's XML-schema validation of an `<encrypted>` element (throws PythonPeerError if invalid). */
  validateMessage(ns: OmemoNamespace, xml: string): Promise<PeerResponseBase> {
    return this.call({ op: 'validate_message', ns, xml });
  }

  /** python-protobuf's serialization of `fields` as message `type` (bytes fields in base64). */
  async pbEncode(ns: OmemoNamespace, type: string, fields: Record<string, string | number>): Promise<string> {
    return (await this.call<PeerResponseBase & { b64: string }>({ op: 'pb_encode', ns, type, fields })).b64;
  }

  /** The backend's own payload encryption (oldmemo: AES-128-GCM; twomemo: HKDF + AES-CBC + HMAC). */
  payloadEncrypt(ns: OmemoNamespace, plaintextB64: string): Promise<PeerResponseBase & { key_material: string; iv: string | null; payload: string }> {
    return this.call({ op: 'payload_encrypt', ns, plaintext: plaintextB64 });
  }

  /** The backend's own payload decryption (throws PythonPeerError when it rejects the input). */
  async payloadDecrypt(ns: OmemoNamespace, keyMaterialB64: string, ivB64: string | null, payloadB64: string): Promise<string> {
    const r = await this.call<PeerResponseBase & { plaintext: string }>({ op: 'payload_decrypt', ns, key_material: keyMaterialB64, iv: ivB64, payload: payloadB64 });
    return r.plaintext;
  }

  /**
   * TEST ONLY: the peer's private identity, signed prekey and prekeys for `ns`, so our stack can
   * decrypt messages addressed to this (throwaway, in-memory) device.
   */
  exportPrivate(ns: OmemoNamespace): Promise<ExportedPrivateKeys> {
    return this.call({ op: 'export_private', ns });
  }

  /** Last stderr output of the peer (for failure messages). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Asks the peer to quit and kills it if it does not exit promptly. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#process.once('exit', () => resolve()));
    this.#process.stdin.end();
    const timer = setTimeout(() => this.#process.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
