/**
 * A REAL desktop client as a test peer: mcabber 1.1.2 (Debian `mcabber`; OTR v2/v3 through
 * libotr 4.1.1), running in a private tmux server, logged in to the Prosody harness.
 *
 * Everything lives in a temp HOME (config 600 in a 700 dir, OTR key/fingerprint/instance-tag
 * files, history logs, the tmux socket); `stop()` kills the tmux server (and with it mcabber)
 * and removes the dir. What mcabber shows is read three ways: the tmux pane (`screen()`, and
 * `chatLines()` of an open chat buffer, where OTR notices such as "OTR: channel established"
 * appear and decrypted messages are marked `<O=`), its trace log (the log window: `/otr info`,
 * `/otr key` output) and the per-contact history files (`MR`/`MS` message lines).
 *
 * mcabber facts that shape this harness (seen in its OTR code): OTR messages are injected only
 * to JIDs in the roster (so contacts are `/add`ed at start); `/otr start` sends libotr's query
 * message for the configured policy; fingerprints are printed in libotr's human form (five
 * groups of 8 uppercase hex digits).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TmuxSession } from './tmux-session.js';
import type { PeerDescription, PeerProbe } from '../peer-availability.js';
import { registerCleanup } from '../prosody/cleanup.js';
import type { ProsodyAccount, ProsodyServer } from '../prosody/prosody-harness.js';

/** mcabber and tmux (Debian packages). */
export const MCABBER_PEER: PeerDescription = {
  name: 'mcabber 1.1.2 (libotr) in tmux',
  install: 'apt-get install -y mcabber tmux (Debian packages)',
};

/** Probes for mcabber built with OTR, and tmux. */
export function probeMcabber(): PeerProbe {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
  } catch {
    return { available: false, reason: 'tmux not found' };
  }
  try {
    const out = execFileSync('sh', ['-c', 'command -v mcabber && ldd "$(command -v mcabber)"'], { encoding: 'utf8' });
    if (!out.includes('libotr')) return { available: false, reason: 'mcabber is not linked with libotr' };
  } catch {
    return { available: false, reason: 'mcabber not found' };
  }
  return { available: true };
}

/** mcabber's OTR policies (`/otrpolicy`). */
export type McabberOtrPolicy = 'plain' | 'manual' | 'opportunistic' | 'always';

/** Options of {@link Mcabber.start}. */
export interface McabberOptions {
  readonly server: ProsodyServer;
  readonly account: ProsodyAccount;
  /** Resource (default `mcabber`, no random suffix). */
  readonly resource?: string;
  /** Default OTR policy (default `manual`, as in the recipe). */
  readonly otrPolicy?: McabberOtrPolicy;
  /** Bare JIDs to add to the roster once online (mcabber injects OTR messages only to roster JIDs). */
  readonly contacts?: readonly string[];
  /**
   * Contents for mcabber's OTR private key file (libotr's s-expression format, account = the
   * bare JID, protocol `jabber`); default: mcabber has libotr generate a key at start.
   */
  readonly otrPrivateKeyFile?: Uint8Array | string;
  /** Milliseconds to wait for login (default 20000). */
  readonly startTimeoutMs?: number;
  /**
   * Makes mcabber an echo peer (the conformance kit's echo contract): every incoming message
   * it shows (decrypted by libotr when OTR is up) is sent back as `echo: <text>` with
   * `/say_to -q -f FILE JID`, so libotr encrypts the answer as it would a typed one. Done by
   * mcabber's own hooks: `events_command` (a shell script, called with `MSG IN jid file` and
   * `event_log_files` holding the body) writes the command into mcabber's FIFO (`fifo_name`,
   * the fifo module).
   */
  readonly echo?: boolean;
}

/** What `/otr info JID` reports. */
export interface McabberOtrInfo {
  /** `plaintext`, `encrypted`, `encrypted V2`, `finished`, ... as mcabber prints it. */
  readonly state: string;
  /** The auth state in parentheses, e.g. `no offer sent`, `awaiting D-H key`. */
  readonly auth: string;
  readonly policy: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** libotr's human fingerprint ("6B0177F0 E06DE1C3 ...") to 40 lowercase hex digits. */
export function fingerprintFromHuman(human: string): string {
  const hex = human.replace(/\s+/g, '').toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(hex)) throw new RangeError(`not an OTR fingerprint: ${JSON.stringify(human)}`);
  return hex;
}

/** 40 hex digits to libotr's human form. */
export function fingerprintToHuman(hex: string): string {
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw new RangeError('expected 40 hex digits');
  return hex.toUpperCase().match(/.{8}/g)?.join(' ') ?? '';
}

/** Whether `pid` is a zombie (exited, not yet reaped), from /proc. */
function isZombie(pid: number): boolean {
  try {
    return /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const HUMAN_FP = '([0-9A-F]{8}(?: [0-9A-F]{8}){4})';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One running mcabber. */
export class Mcabber {
  /** Bare JID. */
  readonly jid: string;
  /** Full JID (with the fixed resource). */
  readonly fullJid: string;
  /** The temp HOME (removed by stop()). */
  readonly home: string;
  readonly #socket: string;
  readonly #tmux: TmuxSession;
  readonly #tracePath: string;
  readonly #historyDir: string;
  #stopped = false;
  /** mcabber's pid (the tmux pane's process: `env` execs mcabber). */
  #pid: number | undefined;
  #unregister: (() => void) | undefined;
  /** The buddy whose chat buffer is open, if any. */
  #chat: string | undefined;

  private constructor(jid: string, resource: string, home: string) {
    this.jid = jid;
    this.fullJid = `${jid}/${resource}`;
    this.home = home;
    this.#socket = join(home, 'tmux.sock');
    this.#tmux = new TmuxSession(this.#socket, 'mcabber');
    this.#tracePath = join(home, '.mcabber', 'trace.log');
    this.#historyDir = join(home, '.mcabber', 'histo');
  }

  /** Writes the config, starts mcabber in tmux, waits for login, adds the contacts. */
  static async start(options: McabberOptions): Promise<Mcabber> {
    const resource = options.resource ?? 'mcabber';
    const home = mkdtempSync(join(tmpdir(), 'mcabber-test-'));
    const m = new Mcabber(options.account.jid, resource, home);
    // An aborted test run must not leave mcabber, its tmux server or HOME behind.
    m.#unregister = registerCleanup(() => {
      if (m.#pid !== undefined && m.#pid > 1) {
        try {
          process.kill(m.#pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      m.#tmux.killServerSync();
      rmSync(home, { recursive: true, force: true });
    });
    try {
      const dir = join(home, '.mcabber');
      mkdirSync(join(dir, 'otr'), { recursive: true });
      mkdirSync(join(dir, 'histo'), { recursive: true });
      chmodSync(dir, 0o700);
      if (options.otrPrivateKeyFile !== undefined) {
        writeFileSync(join(dir, 'otr', `${options.account.jid}.key`), options.otrPrivateKeyFile, { mode: 0o600 });
      }
      const rc = join(dir, 'mcabberrc');
      const { server, account } = options;
      const echoLines: string[] = [];
      if (options.echo === true) {
        const script = join(dir, 'eventcmd');
        const fifo = join(dir, 'mcabber.fifo');
        mkdirSync(join(dir, 'event_files'), { recursive: true, mode: 0o700 });
        writeFileSync(
          script,
          [
            '#!/bin/sh',
            '# mcabber events_command: $1 = MSG, $2 = IN, $3 = bare JID, $4 = file with the body (event_log_files)',
            '[ "$1" = MSG ] && [ "$2" = IN ] && [ -n "$4" ] && [ -f "$4" ] || exit 0',
            '{ printf "echo: "; cat "$4"; } > "$4.echo"',
            'rm -f "$4"',
            `printf '/say_to -q -f %s %s\\n' "$4.echo" "$3" > '${fifo}'`,
            '',
          ].join('\n'),
          { mode: 0o700 },
        );
        echoLines.push(
          `set events_command = ${script}`,
          'set event_log_files = 1',
          `set event_log_dir = ${join(dir, 'event_files')}`,
          `set fifo_name = ${fifo}`,
          'set fifo_hide_commands = 1',
          'module load fifo',
        );
      }
      writeFileSync(
        rc,
        [
          `set jid = ${account.jid}`,
          `set password = "${account.password}"`,
          `set server = ${server.host}`,
          `set port = ${server.c2sPort}`,
          `set resource = ${resource}`,
          'set disable_random_resource = 1',
          'set tls = 1',
          `set ssl_ca = ${server.caPath}`,
          'set otr = 1',
          `set otr_dir = ${join(dir, 'otr')}/`,
          `otrpolicy default ${options.otrPolicy ?? 'manual'}`,
          'set logging = 1',
          `set logging_dir = ${join(dir, 'histo')}/`,
          'set tracelog_level = 1',
          `set tracelog_file = ${join(dir, 'trace.log')}`,
          'set log_win_height = 15',
          'set escdelay = 50',
          'set autoaway = 0',
          ...echoLines,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      chmodSync(rc, 0o600);
      m.#pid = await m.#tmux.start(`env HOME=${home} TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 mcabber -f ${rc}`, 200, 60);
      await m.waitForTrace(/Connection established/, { timeoutMs: options.startTimeoutMs ?? 20000 });
      await m.waitForTrace(/Your status has been set/, { timeoutMs: options.startTimeoutMs ?? 20000 });
      for (const contact of options.contacts ?? []) await m.addContact(contact);
      return m;
    } catch (error) {
      const detail = m.#diagnostics();
      await m.stop();
      throw new Error(`mcabber did not start: ${String(error)}\n${detail}`, { cause: error });
    }
  }

  /** Types `text` literally into mcabber's input line (no Enter). */
  async keys(text: string): Promise<void> {
    await this.#tmux.keys(text);
  }

  /** Presses named keys (tmux key names: `Enter`, `Escape`, `C-l`, ...). */
  async press(...keys: string[]): Promise<void> {
    await this.#tmux.press(...keys);
  }

  /** Types a line (a `/command` or text for the current buddy) and presses Enter. Returns the trace mark before it. */
  async command(line: string): Promise<number> {
    if (/[\r\n]/.test(line)) throw new RangeError('Mcabber.command: one line only');
    const mark = this.trace().length;
    await this.keys(line);
    await this.press('Enter');
    return mark;
  }

  /** Sends `text` to `jid` (`/say_to`); encrypted by libotr when an OTR channel is up. */
  async say(jid: string, text: string): Promise<void> {
    await this.command(`/say_to ${jid} ${text}`);
  }

  /** Adds a contact to the roster (and asks for presence subscription). */
  async addContact(jid: string): Promise<void> {
    const mark = await this.command(`/add ${jid}`);
    await this.waitForTrace(new RegExp(`notification request to <${escapeRegex(jid)}>`), { since: mark });
  }

  /** `/otr start JID`: sends the OTR Query Message of the policy. */
  async otrStart(jid: string): Promise<void> {
    await this.command(`/otr start ${jid}`);
  }

  /** `/otr stop JID`: ends the private conversation (Disconnected TLV). */
  async otrStop(jid: string): Promise<void> {
    await this.command(`/otr stop ${jid}`);
  }

  /** `/otr info JID`, parsed. */
  async otrInfo(jid: string): Promise<McabberOtrInfo> {
    const mark = await this.command(`/otr info ${jid}`);
    const m = await this.waitForTrace(new RegExp(`${escapeRegex(jid)}: (.+?) \\((.*?)\\) \\[(.*?)\\]`), { since: mark });
    return { state: m[1] ?? '', auth: m[2] ?? '', policy: m[3] ?? '' };
  }

  /** The fingerprint libotr has for `jid`'s active session (`/otr fingerprint JID`), 40 lowercase hex. */
  async otrPeerFingerprint(jid: string): Promise<string> {
    const mark = await this.command(`/otr fingerprint ${jid}`);
    const m = await this.waitForTrace(new RegExp(`${escapeRegex(jid)} \\[${HUMAN_FP}\\]: (un)?trusted`), { since: mark });
    return fingerprintFromHuman(m[1] ?? '');
  }

  /** mcabber's own OTR key fingerprint (`/otr key`), 40 lowercase hex. */
  async otrOwnFingerprint(): Promise<string> {
    const mark = await this.command('/otr key');
    const m = await this.waitForTrace(new RegExp(`${escapeRegex(this.jid)}: ${HUMAN_FP}`), { since: mark });
    return fingerprintFromHuman(m[1] ?? '');
  }

  /**
   * `/otr fingerprint JID FPR`: marks the active fingerprint of `jid` trusted when it equals
   * `fingerprintHex` (40 hex digits), untrusted otherwise; returns whether mcabber now trusts it.
   */
  async otrTrust(jid: string, fingerprintHex: string): Promise<boolean> {
    const human = fingerprintToHuman(fingerprintHex);
    const mark = await this.command(`/otr fingerprint ${jid} ${human}`);
    const m = await this.waitForTrace(new RegExp(`${escapeRegex(jid)} \\[${HUMAN_FP}\\]: (untrusted|trusted)`), { since: mark });
    return m[2] === 'trusted';
  }

  /** libotr's files for this account: private key, fingerprint store (`.fpr`), instance tag. */
  otrFiles(): { readonly privateKey: string; readonly fingerprints: string; readonly instanceTag: string } {
    const read = (ext: string): string => {
      const p = join(this.home, '.mcabber', 'otr', `${this.jid}.${ext}`);
      return existsSync(p) ? readFileSync(p, 'utf8') : '';
    };
    return { privateKey: read('key'), fingerprints: read('fpr'), instanceTag: read('tag') };
  }

  /** `/otr smpq JID SECRET`: starts SMP. */
  async smpQuery(jid: string, secret: string): Promise<void> {
    await this.command(`/otr smpq ${jid} ${secret}`);
  }

  /** `/otr smpr JID SECRET`: answers SMP. */
  async smpRespond(jid: string, secret: string): Promise<void> {
    await this.command(`/otr smpr ${jid} ${secret}`);
  }

  /** Opens `jid`'s chat buffer in the main window (`/roster search`, then chat mode). */
  async openChat(jid: string): Promise<void> {
    if (this.#chat === jid) return;
    await this.command(`/roster search ${jid}`);
    await this.press('Enter'); // an empty line enters chat mode: the buddy's buffer is shown
    await this.waitForScreen(new RegExp(`Buddy: ${escapeRegex(jid)}`));
    this.#chat = jid;
  }

  /**
   * The lines of the open chat buffer (right of the roster column): incoming messages are
   * `<==` (plaintext) or `<O=` (OTR-decrypted), outgoing `--> `/`-O> `, notices `*** `.
   */
  async chatLines(): Promise<string[]> {
    const lines = (await this.screen()).split('\n');
    const end = lines.findIndex((l) => /Buddy: |Special buffer: /.test(l));
    const top = lines.slice(0, end < 0 ? lines.length : end);
    // The roster column ends with a vertical line (drawn as 'x' in the captured pane); find its
    // column on a line whose roster part is empty.
    const column = top.map((l) => /^( +)x/.exec(l)?.[1]?.length).find((n) => n !== undefined);
    if (column === undefined) return [];
    return top.map((l) => l.slice(column + 1)).filter((l) => l.trim() !== '');
  }

  /** Opens `jid`'s chat and waits until a line of it matches. */
  async waitForChat(jid: string, re: RegExp, timeoutMs = 15000): Promise<RegExpMatchArray> {
    await this.openChat(jid);
    const find = async (): Promise<RegExpMatchArray | null> => {
      for (const line of await this.chatLines()) {
        const m = line.match(re);
        if (m) return m;
      }
      return null;
    };
    return this.#poll(find, `chat with ${jid} ${String(re)}`, timeoutMs, async () => (await this.chatLines()).join('\n'));
  }

  /** The visible pane (wrapped lines joined). */
  async screen(): Promise<string> {
    return this.#tmux.capture();
  }

  /** The log window's lines so far (tracelog, level 1). */
  trace(): string {
    return existsSync(this.#tracePath) ? readFileSync(this.#tracePath, 'utf8') : '';
  }

  /** The history file of a contact: `MR`/`MS` lines for received/sent messages, `MI` for info. */
  history(jid: string): string {
    const p = join(this.#historyDir, jid);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  /** Waits until the pane matches. */
  async waitForScreen(re: RegExp, timeoutMs = 15000): Promise<RegExpMatchArray> {
    return this.#poll(async () => (await this.screen()).match(re), `screen ${String(re)}`, timeoutMs, async () => this.screen());
  }

  /** Waits until the trace log (from offset `since`) matches. */
  async waitForTrace(re: RegExp, options: { since?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const since = options.since ?? 0;
    return this.#poll(async () => this.trace().slice(since).match(re), `trace ${String(re)}`, options.timeoutMs ?? 15000, async () => this.trace().slice(since));
  }

  /** Waits until the contact's history (from offset `since`) matches. */
  async waitForHistory(jid: string, re: RegExp, options: { since?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const since = options.since ?? 0;
    return this.#poll(async () => this.history(jid).slice(since).match(re), `history of ${jid} ${String(re)}`, options.timeoutMs ?? 15000, async () => this.history(jid).slice(since));
  }

  /**
   * Ends mcabber (`/quit`, then SIGKILL by pid after 2 s: it survives the loss of its
   * terminal), kills the private tmux server and removes HOME. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const pid = this.#pid !== undefined && Number.isInteger(this.#pid) && this.#pid > 1 ? this.#pid : undefined;
    /** Whether the process still exists (a zombie counts: tmux has not reaped it yet). */
    const exists = (): boolean => {
      if (pid === undefined) return false;
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const vanished = async (ms: number): Promise<boolean> => {
      const deadline = Date.now() + ms;
      while (exists()) {
        if (Date.now() > deadline) return false;
        await sleep(25);
      }
      return true;
    };
    if (pid !== undefined && exists()) {
      // /quit: mcabber exits, tmux reaps it and, with no session left, exits too.
      await this.command('/quit').catch(() => undefined);
      if (!(await vanished(2000)) && !isZombie(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
        await vanished(2000);
      }
    }
    if (existsSync(this.#socket)) {
      await this.#tmux.killServer();
    }
    rmSync(this.home, { recursive: true, force: true });
    this.#unregister?.();
  }

  async #poll(
    probe: () => Promise<RegExpMatchArray | null>,
    what: string,
    timeoutMs: number,
    dump: () => Promise<string>,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await probe();
      if (m) return m;
      if (Date.now() > deadline) {
        throw new Error(`mcabber: timed out after ${timeoutMs} ms waiting for ${what}; got:\n${(await dump()).slice(-3000)}`);
      }
      await sleep(50);
    }
  }

  #diagnostics(): string {
    const lines = [`trace:\n${this.trace().slice(-2000)}`];
    try {
      lines.push(`files: ${readdirSync(join(this.home, '.mcabber')).join(', ')}`);
    } catch {
      // no dir
    }
    return lines.join('\n');
  }
}
