/**
 * A REAL libotr 4.1.1 peer for interop tests: builds lib/conformance/libotr-harness.c into
 * `test/.build/libotr-harness` and drives one harness process per libotr account.
 *
 * Protocol (documented in full at the top of libotr-harness.c): JSON lines on stdin/stdout, one
 * flat JSON object per command, one JSON line per answer (`{"ok":true,...}` or
 * `{"ok":false,"error"}`). Commands: init, send, receive, start_ake, end, status,
 * extra_symkey, smp_start, smp_respond, smp_abort, fingerprint, quit. Every acting command
 * answers with `wire` (messages libotr wants sent to the peer, in order) and `events` (what
 * libotr reported through its callbacks). `libotr-harness --bench ...` is the benchmark mode.
 */
import { spawn } from 'node:child_process';
import { buildLibotrHarness, libotrHarnessSource } from '../../../lib/conformance/libotr-harness.js';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { HarnessEndpoint } from '../harness-endpoint.js';
import type { EndpointFactory } from '../otr-interop-cases.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Path of the harness C source (shipped with the conformance kit). */
export const HARNESS_SOURCE = libotrHarnessSource();
/** Path of the compiled harness (git-ignored build directory). */
export const HARNESS_BINARY = resolve(here, '..', '..', '.build', 'libotr-harness');

/**
 * Compiles the harness when the binary is missing or older than its source.
 * Returns the binary path. Throws (with gcc's output) when compilation fails.
 */
export function buildHarness(): string {
  return buildLibotrHarness(HARNESS_BINARY);
}

let sharedKeyDir: string | undefined;

/**
 * A temp directory shared by every libotr peer of this test process, so each account's
 * DSA key and instance tag are generated once per run. Removed when the process exits.
 */
export function libotrKeyDir(): string {
  if (sharedKeyDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'libotr-keys-'));
    sharedKeyDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return sharedKeyDir;
}

/** An event reported by libotr during one command. */
export type LibotrEvent =
  | { readonly type: 'gone_secure' }
  | { readonly type: 'gone_insecure' }
  | { readonly type: 'still_secure'; readonly reply: boolean }
  | { readonly type: 'new_fingerprint'; readonly fingerprint: string }
  | { readonly type: 'smp'; readonly event: string; readonly progress: number; readonly question?: string }
  | { readonly type: 'msg'; readonly event: string; readonly message?: string; readonly error?: string }
  | { readonly type: 'symkey'; readonly use: number; readonly usedata: string; readonly key: string };

/** Result of a command that may make libotr send messages. */
export interface LibotrAction {
  readonly wire: string[];
  readonly events: LibotrEvent[];
}

/** Result of `receive`. */
export interface LibotrReceived extends LibotrAction {
  readonly ignore: boolean;
  /** What a client would display, or null when libotr swallowed the message. */
  readonly show: string | null;
  /** True when `show` came out of an encrypted data message. */
  readonly decrypted: boolean;
  readonly tlvs: { readonly type: number; readonly data: string }[];
}

/** Result of `status` (of the best child context). */
export interface LibotrStatus {
  readonly msgstate: 'plaintext' | 'encrypted' | 'finished';
  readonly protocol_version: number;
  readonly their_instance: number;
  readonly our_instance?: number;
  readonly their_fingerprint: string | null;
  readonly ssid: string | null;
  readonly ssid_half: 'first' | 'second' | 'none';
  readonly smp_in_progress: boolean;
  readonly fingerprint: string;
}

/** Options of `LibotrPeer.start`. */
export interface LibotrPeerOptions {
  readonly account: string;
  readonly protocol?: string;
  /** Comma-separated tokens: v2, v3, require, whitespace, whitespace_start, error_start, default... */
  readonly policy?: string;
  /** Defaults to `<libotrKeyDir()>/<account>.key` (generated when absent). */
  readonly keyFile?: string;
  /** Defaults to `<libotrKeyDir()>/<account>.instag`. */
  readonly instagFile?: string;
  readonly fragmentSize?: number;
}

type Json = Record<string, unknown>;

/** One libotr account in its own harness process. */
export class LibotrPeer {
  readonly account: string;
  /** Our fingerprint (40 lowercase hex digits), set by `init`. */
  fingerprint = '';
  /** Our instance tag, set by `init`. */
  instanceTag = 0;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  private exited = false;

  private constructor(child: ChildProcessWithoutNullStreams, account: string) {
    this.child = child;
    this.account = account;
  }

  /** Builds the harness if needed, spawns it and runs `init`. */
  static async start(options: LibotrPeerOptions): Promise<LibotrPeer> {
    const binary = buildHarness();
    const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    const dir = libotrKeyDir();
    const safe = options.account.replace(/[^A-Za-z0-9_.@-]/g, '_');
    const peer = new LibotrPeer(child, options.account);
    let init: Json;
    try {
      init = await peer.request({
      cmd: 'init',
      account: options.account,
      protocol: options.protocol ?? 'xmpp',
      policy: options.policy ?? 'default',
      keyfile: options.keyFile ?? join(dir, `${safe}.key`),
      instagfile: options.instagFile ?? join(dir, `${safe}.instag`),
      fragment_size: options.fragmentSize ?? 0,
      });
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    peer.fingerprint = String(init['fingerprint']);
    peer.instanceTag = Number(init['instance_tag']);
    return peer;
  }

  private attach(): void {
    const rl = createInterface({ input: this.child.stdout });
    rl.on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w('');
    });
  }

  private attached = false;

  /** Sends one raw command; rejects when the harness answers `ok: false`. */
  async request(command: Json): Promise<Json> {
    if (!this.attached) {
      this.attach();
      this.attached = true;
    }
    if (this.exited) throw new Error(`libotr harness exited; stderr: ${this.stderr}`);
    const line = await new Promise<string>((resolveLine) => {
      this.waiting.push(resolveLine);
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
    if (line === '') throw new Error(`libotr harness exited; stderr: ${this.stderr}`);
    const answer = JSON.parse(line) as Json;
    if (answer['ok'] !== true) {
      throw new Error(`libotr harness ${String(command['cmd'])} failed: ${String(answer['error'])}`);
    }
    return answer;
  }

  /** Encrypts (or passes through) `text` for `peer`; returns every wire message. */
  async send(peer: string, text: string, tlvs?: string): Promise<LibotrAction> {
    return (await this.request(tlvs === undefined ? { cmd: 'send', peer, text } : { cmd: 'send', peer, text, tlvs })) as unknown as LibotrAction;
  }

  /** Feeds one wire message from `peer` into libotr. */
  async receive(peer: string, wire: string): Promise<LibotrReceived> {
    return (await this.request({ cmd: 'receive', peer, wire })) as unknown as LibotrReceived;
  }

  /** Produces libotr's OTR query message for this account's policy. */
  async startAke(peer: string): Promise<LibotrAction> {
    return (await this.request({ cmd: 'start_ake', peer })) as unknown as LibotrAction;
  }

  /** Ends the private conversation (sends the disconnect TLV when encrypted). */
  async end(peer: string): Promise<LibotrAction> {
    return (await this.request({ cmd: 'end', peer })) as unknown as LibotrAction;
  }

  /** State of the best child context for `peer`. */
  async status(peer: string): Promise<LibotrStatus> {
    return (await this.request({ cmd: 'status', peer })) as unknown as LibotrStatus;
  }

  /** Asks libotr for the extra symmetric key (and tells the peer, TLV 8). */
  async extraSymKey(peer: string, use: number, usedataHex: string): Promise<LibotrAction & { key: string }> {
    return (await this.request({ cmd: 'extra_symkey', peer, use, usedata: usedataHex })) as unknown as LibotrAction & {
      key: string;
    };
  }

  /** Starts SMP (optionally with a question). */
  async smpStart(peer: string, secret: string, question?: string): Promise<LibotrAction> {
    const cmd: Json = { cmd: 'smp_start', peer, secret };
    if (question !== undefined) cmd['question'] = question;
    return (await this.request(cmd)) as unknown as LibotrAction;
  }

  /**
   * Starts SMP with libotr's own message 1, then flips the last byte of MPI `mpi` (0 g2a,
   * 1 c2, 2 D2, 3 g3a, 4 c3, 5 D3) before encryption: a proof that must not verify.
   */
  async smpStartTampered(peer: string, secret: string, mpi: number): Promise<LibotrAction> {
    return (await this.request({ cmd: 'smp_start_tampered', peer, secret, mpi })) as unknown as LibotrAction;
  }

  /** Answers an SMP request. */
  async smpRespond(peer: string, secret: string): Promise<LibotrAction> {
    return (await this.request({ cmd: 'smp_respond', peer, secret })) as unknown as LibotrAction;
  }

  /** Aborts the SMP in progress (sends TLV 6). */
  async smpAbort(peer: string): Promise<LibotrAction> {
    return (await this.request({ cmd: 'smp_abort', peer })) as unknown as LibotrAction;
  }

  /** Stops the harness process. */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((res) => this.child.once('exit', () => res()));
    try {
      this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(timer);
  }
}

/**
 * A libotr account as an `OtrEndpoint` talking to one peer: records shown plaintexts, TLV 8
 * notifications and SMP events from the harness answers.
 */
export class LibotrEndpoint extends HarnessEndpoint<LibotrEvent, LibotrPeer> {
  private constructor(peer: LibotrPeer, peerAccount: string) {
    super('libotr', peer, peerAccount);
  }

  /** Starts a peer process for `options.account` that talks to `peerAccount`. */
  static async create(options: LibotrPeerOptions, peerAccount: string): Promise<LibotrEndpoint> {
    return new LibotrEndpoint(await LibotrPeer.start(options), peerAccount);
  }
}

/** libotr endpoints; "v2" means an ALLOW_V2-only policy. */
export const libotrFactory: EndpointFactory = {
  label: 'libotr',
  create: (account, peerAccount, options) =>
    LibotrEndpoint.create(
      {
        account,
        policy: options.versions === 'v2' ? 'v2' : 'default',
        ...(options.fragmentSize === undefined ? {} : { fragmentSize: options.fragmentSize }),
      },
      peerAccount,
    ),
  canBeV2Only: true,
  acceptsV2: true,
  supportsSmp: true,
  smallFragmentSize: 150,
};

