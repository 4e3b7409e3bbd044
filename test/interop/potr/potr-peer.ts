/**
 * A REAL python-potr 1.0.2 peer for interop tests (Debian's python3-potr, an independent OTR
 * protocol version 2 implementation in Python): drives one `potr_peer.py` process (next to
 * this file, run by Debian's /usr/bin/python3) per potr account.
 *
 * Protocol (documented in full at the top of potr_peer.py, mirroring the libotr harness): JSON
 * lines on stdin/stdout, one JSON object per command, one JSON line per answer
 * (`{"ok":true,...}` or `{"ok":false,"error"}`). Commands: init, send, receive, start_ake, end,
 * status, extra_symkey, smp_start, smp_respond, smp_abort, fingerprint, quit. Every acting
 * command answers with `wire` (messages potr wants sent to the peer, in order) and `events`
 * (derived from potr's state, in libotr's vocabulary).
 *
 * potr speaks only OTR v2 (no instance tags); its DSA, AES-CTR and key generation need the
 * in-memory pycryptodome patches of `potr_compat.py`, applied by the peer at start-up.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { HarnessEndpoint } from '../harness-endpoint.js';
import type { EndpointFactory } from '../otr-interop-cases.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Debian's interpreter: the one that sees python3-potr and python3-pycryptodome. */
export const POTR_PYTHON = '/usr/bin/python3';
/** Path of the peer script. */
export const POTR_PEER_SCRIPT = join(here, 'potr_peer.py');

/** Longest stderr tail kept for error messages (potr logs every failed check). */
const STDERR_TAIL = 16_384;

let sharedKeyDir: string | undefined;

/**
 * A temp directory shared by every potr peer of this test process, so each account's DSA key
 * is generated once per run. Removed when the process exits.
 */
export function potrKeyDir(): string {
  if (sharedKeyDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'potr-keys-'));
    sharedKeyDir = dir;
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return sharedKeyDir;
}

/** An event derived from potr's state during one command. */
export type PotrEvent =
  | { readonly type: 'gone_secure' }
  | { readonly type: 'gone_insecure' }
  | { readonly type: 'still_secure' }
  | { readonly type: 'new_fingerprint'; readonly fingerprint: string }
  | { readonly type: 'smp'; readonly event: string; readonly question?: string }
  | { readonly type: 'msg'; readonly event: string; readonly message?: string; readonly error?: string }
  | { readonly type: 'symkey'; readonly use: number; readonly usedata: string; readonly key: string };

/** Result of a command that may make potr send messages. */
export interface PotrAction {
  readonly wire: string[];
  readonly events: PotrEvent[];
}

/** Result of `receive`. */
export interface PotrReceived extends PotrAction {
  readonly ignore: boolean;
  /** What a client would display, or null when potr swallowed the message. */
  readonly show: string | null;
  /** True when `show` came out of an encrypted data message. */
  readonly decrypted: boolean;
  readonly tlvs: { readonly type: number; readonly data: string }[];
}

/** Result of `status`. */
export interface PotrStatus {
  readonly msgstate: 'plaintext' | 'encrypted' | 'finished';
  /** 2 once an AKE completed (potr speaks no other version), 0 in plaintext. */
  readonly protocol_version: number;
  readonly fingerprint: string;
  readonly their_fingerprint: string | null;
  readonly ssid: string | null;
  readonly ssid_half: 'first' | 'second' | 'none';
  readonly smp_in_progress: boolean;
  /** potr's trust for their fingerprint: '' untrusted, 'smp' after a successful SMP. */
  readonly trust: string | null;
  /** potr's current D-H key id (grows by one each time potr rotates its key). */
  readonly our_keyid: number;
  /** The peer's current D-H key id as potr knows it. */
  readonly their_keyid: number;
}

/** Options of `PotrPeer.start`. */
export interface PotrPeerOptions {
  readonly account: string;
  readonly protocol?: string;
  /** Comma-separated tokens: v2, v1, require, whitespace, default (= v2), never. */
  readonly policy?: string;
  /** Defaults to `<potrKeyDir()>/<account>.key` (generated when absent). */
  readonly keyFile?: string;
  /** potr's maxMessageSize: larger messages leave as v2 fragments; 0 = never fragment. */
  readonly fragmentSize?: number;
}

type Json = Record<string, unknown>;

/** One potr account in its own Python process. */
export class PotrPeer {
  readonly account: string;
  /** Our fingerprint (40 lowercase hex digits), set by `init`. */
  fingerprint = '';
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  private exited = false;

  private constructor(child: ChildProcessWithoutNullStreams, account: string) {
    this.child = child;
    this.account = account;
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      const next = this.waiting.shift();
      if (next) next(line);
    });
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w('');
    });
  }

  /** Spawns the peer and runs `init`. */
  static async start(options: PotrPeerOptions): Promise<PotrPeer> {
    const child = spawn(POTR_PYTHON, [POTR_PEER_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const safe = options.account.replace(/[^A-Za-z0-9_.@-]/g, '_');
    const peer = new PotrPeer(child, options.account);
    try {
      const init = await peer.request({
        cmd: 'init',
        account: options.account,
        protocol: options.protocol ?? 'xmpp',
        policy: options.policy ?? 'default',
        keyfile: options.keyFile ?? join(potrKeyDir(), `${safe}.key`),
        fragment_size: options.fragmentSize ?? 0,
      });
      peer.fingerprint = String(init['fingerprint']);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return peer;
  }

  /** Sends one raw command; rejects when the peer answers `ok: false`. */
  async request(command: Json): Promise<Json> {
    if (this.exited) throw new Error(`potr peer exited; stderr: ${this.stderr}`);
    const line = await new Promise<string>((resolveLine) => {
      this.waiting.push(resolveLine);
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    });
    if (line === '') throw new Error(`potr peer exited; stderr: ${this.stderr}`);
    const answer = JSON.parse(line) as Json;
    if (answer['ok'] !== true) {
      throw new Error(`potr peer ${String(command['cmd'])} failed: ${String(answer['error'])}`);
    }
    return answer;
  }

  /** Encrypts (or passes through) `text` for `peer`; returns every wire message. */
  async send(peer: string, text: string): Promise<PotrAction> {
    return (await this.request({ cmd: 'send', peer, text })) as unknown as PotrAction;
  }

  /** Feeds one wire message from `peer` into potr. */
  async receive(peer: string, wire: string): Promise<PotrReceived> {
    return (await this.request({ cmd: 'receive', peer, wire })) as unknown as PotrReceived;
  }

  /** potr's OTR query message for this account's policy ("?OTRv2?..."). */
  async startAke(peer: string): Promise<PotrAction> {
    return (await this.request({ cmd: 'start_ake', peer })) as unknown as PotrAction;
  }

  /** Ends the private conversation (sends the disconnect TLV when encrypted). */
  async end(peer: string): Promise<PotrAction> {
    return (await this.request({ cmd: 'end', peer })) as unknown as PotrAction;
  }

  /** State of the context for `peer`. */
  async status(peer: string): Promise<PotrStatus> {
    return (await this.request({ cmd: 'status', peer })) as unknown as PotrStatus;
  }

  /** potr's extra symmetric key, announced to the peer with TLV 8. */
  async extraSymKey(peer: string, use: number, usedataHex: string): Promise<PotrAction & { key: string }> {
    return (await this.request({ cmd: 'extra_symkey', peer, use, usedata: usedataHex })) as unknown as PotrAction & {
      key: string;
    };
  }

  /** Starts SMP (optionally with a question). */
  async smpStart(peer: string, secret: string, question?: string): Promise<PotrAction> {
    const cmd: Json = { cmd: 'smp_start', peer, secret };
    if (question !== undefined) cmd['question'] = question;
    return (await this.request(cmd)) as unknown as PotrAction;
  }

  /** Answers an SMP request. */
  async smpRespond(peer: string, secret: string): Promise<PotrAction> {
    return (await this.request({ cmd: 'smp_respond', peer, secret })) as unknown as PotrAction;
  }

  /** Aborts the SMP (sends TLV 6). */
  async smpAbort(peer: string): Promise<PotrAction> {
    return (await this.request({ cmd: 'smp_abort', peer })) as unknown as PotrAction;
  }

  /** Stops the peer process. */
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
 * A potr account as an `OtrEndpoint` talking to one peer: records shown plaintexts, TLV 8
 * notifications and SMP events from the peer's answers.
 */
export class PotrEndpoint extends HarnessEndpoint<PotrEvent, PotrPeer> {
  private constructor(peer: PotrPeer, peerAccount: string) {
    super('potr', peer, peerAccount);
  }

  /** Starts a peer process for `options.account` that talks to `peerAccount`. */
  static async create(options: PotrPeerOptions, peerAccount: string): Promise<PotrEndpoint> {
    return new PotrEndpoint(await PotrPeer.start(options), peerAccount);
  }
}

/**
 * potr endpoints. potr speaks only v2, so both "default" and "v2" give its only policy
 * (ALLOW_V2); `acceptsV2` and `canBeV2Only` are trivially true.
 */
export const potrFactory: EndpointFactory = {
  label: 'potr',
  create: (account, peerAccount, options) =>
    PotrEndpoint.create(
      { account, policy: 'v2', ...(options.fragmentSize === undefined ? {} : { fragmentSize: options.fragmentSize }) },
      peerAccount,
    ),
  canBeV2Only: true,
  acceptsV2: true,
  supportsSmp: true,
  smallFragmentSize: 150,
};
