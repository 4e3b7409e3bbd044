/**
 * A REAL desktop client as a test peer: profanity 0.13.1 (Debian `profanity`; OMEMO 0.3
 * through libsignal-protocol-c 2.3.3, OTR v1/v2 through libotr 4.1.1), running in a private
 * tmux server, logged in to the Prosody harness over TLS.
 *
 * Everything lives in a temp HOME (XDG config and data dirs, the account file, OMEMO and OTR
 * key stores, chat logs, a directory with the test CA, the tmux socket); `stop()` ends
 * profanity, kills the tmux server and removes the dir. What profanity shows is read three
 * ways: the tmux pane (`screen()`), its debug log (`-l DEBUG`: every stanza SENT and RECV on
 * its connection, OMEMO steps) and its per-contact chat logs (plaintext of OMEMO messages,
 * `[omemo] log = on`).
 *
 * profanity facts that shape this harness (seen running it here):
 * - TLS: libstrophe validates against a directory of CAs (`tls.certpath` in profrc), which
 *   must be hashed (`openssl rehash`); the account's `tls.policy=force` means STARTTLS or fail.
 * - OMEMO: `/omemo gen` creates the identity and publishes the bundle, then FETCHES the own
 *   0.3 device list before publishing it; when that node does not exist yet (a fresh
 *   account) the fetch fails and profanity never publishes its device. So `start()` publishes
 *   an empty device list (access model open) on the account first, as any earlier OMEMO
 *   client of the account would have.
 * - profanity publishes its bundle without publish-options: Prosody's default access model
 *   (`presence`) applies, so only contacts subscribed to its presence can fetch it.
 *   `contacts` are therefore made mutual presence subscribers before profanity logs in.
 * - libsignal refuses a key exchange from an identity profanity does not trust; in the
 *   default `manual` trust mode (kept here) the contact's fingerprint must be trusted first
 *   (`/omemo start JID` fetches it, `/omemo trust JID FP`, then profanity builds a session).
 * - Fingerprints are printed as 8 dash-separated groups of 8 lowercase hex digits: the
 *   32-byte Curve25519 identity key without its 0x05 type byte.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TmuxSession } from './tmux-session.js';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { secureClient, type SecureXmppClient } from '../../../lib/xmpp/secure-client.js';
import type { PeerDescription, PeerProbe } from '../peer-availability.js';
import { registerCleanup } from '../prosody/cleanup.js';
import type { ProsodyAccount, ProsodyServer } from '../prosody/prosody-harness.js';

const execFileP = promisify(execFile);

/** profanity and tmux (Debian packages). */
export const PROFANITY_PEER: PeerDescription = {
  name: 'profanity 0.13.1 (OMEMO 0.3 via libsignal-protocol-c, OTR via libotr) in tmux',
  install: 'apt-get install -y profanity tmux (Debian packages)',
};

/** Probes for tmux and a profanity built with OMEMO and OTR. */
export function probeProfanity(): PeerProbe {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
  } catch {
    return { available: false, reason: 'tmux not found' };
  }
  try {
    const out = execFileSync('profanity', ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (!/OMEMO support: Enabled/.test(out)) return { available: false, reason: 'profanity is built without OMEMO' };
    if (!/OTR support: Enabled/.test(out)) return { available: false, reason: 'profanity is built without OTR' };
  } catch {
    return { available: false, reason: 'profanity not found' };
  }
  return { available: true };
}

/** Options of {@link Profanity.start}. */
export interface ProfanityOptions {
  readonly server: ProsodyServer;
  readonly account: ProsodyAccount;
  /** Resource (default `profanity`). */
  readonly resource?: string;
  /** Accounts made mutual presence subscribers of `account` before profanity logs in. */
  readonly contacts?: readonly ProsodyAccount[];
  /** Milliseconds to wait for login (default 30000). */
  readonly startTimeoutMs?: number;
}

/** A fingerprint profanity lists for a contact (`/omemo fingerprint JID`). */
export interface ProfanityFingerprint {
  /** 64 lowercase hex digits. */
  readonly fingerprint: string;
  readonly trusted: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A printed OMEMO fingerprint: 8 groups of 8 hex digits joined by dashes. */
const PRINTED_FP = '([0-9a-f]{8}(?:-[0-9a-f]{8}){7})';

/** libotr's human OTR fingerprint: five groups of 8 uppercase hex digits. */
const HUMAN_OTR_FP = '([0-9A-F]{8}(?: [0-9A-F]{8}){4})';

/** profanity's printed fingerprint ("1eea050f-1e82aaac-...") to 64 lowercase hex digits. */
export function fingerprintFromPrinted(printed: string): string {
  const hex = printed.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new RangeError(`not an OMEMO fingerprint: ${JSON.stringify(printed)}`);
  return hex;
}

/** 64 hex digits to profanity's printed form. */
export function fingerprintToPrinted(hex: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError('expected 64 hex digits');
  return hex.toLowerCase().match(/.{8}/g)?.join('-') ?? '';
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** profanity's directory name for a JID (`alice@localhost` -> `alice_at_localhost`). */
function jidDir(jid: string): string {
  return jid.replace('@', '_at_');
}

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NODE_DEVICELIST_03 = 'eu.siacs.conversations.axolotl.devicelist';

/** Logs `account` in with a plain (plugin-less) client on the harness, sends initial presence. */
async function setupClient(server: ProsodyServer, account: ProsodyAccount, resource: string): Promise<SecureXmppClient> {
  const x = secureClient({
    service: server.service, domain: server.domain, username: account.username, password: account.password, resource,
    tls: { ca: server.caPem },
  });
  x.on('error', () => undefined);
  // Approve every subscription request while connected (the contacts' setup clients ask).
  x.on('stanza', (s: XmppClientElement) => {
    const from = s.attrs['from'];
    if (s.is('presence') && s.attrs['type'] === 'subscribe' && typeof from === 'string') {
      void x.send(xml('presence', { to: from.split('/')[0], type: 'subscribed' })).catch(() => undefined);
    }
  });
  await x.start();
  await x.send(xml('presence'));
  return x;
}

async function stopClient(x: SecureXmppClient): Promise<void> {
  x.reconnect.stop();
  await x.stop().catch(() => undefined);
}

/** The roster subscription state `x` has with `jid` (`none` when absent). */
async function subscription(x: SecureXmppClient, jid: string): Promise<string> {
  const query = await x.iqCaller.get(xml('query', { xmlns: 'jabber:iq:roster' }));
  const item = query.getChildren('item').find((i) => i.attrs['jid'] === jid);
  return typeof item?.attrs['subscription'] === 'string' ? item.attrs['subscription'] : 'none';
}

/** Publishes an empty OMEMO 0.3 device list (access model open) unless the account has one. */
async function ensureDeviceListNode(x: SecureXmppClient, jid: string): Promise<void> {
  // The account's PEP nodes (disco#items of its bare JID), rather than fetching a missing node.
  const nodes = await x.iqCaller.get(xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }), jid);
  if (nodes.getChildren('item').some((i) => i.attrs['node'] === NODE_DEVICELIST_03)) return;
  await x.iqCaller.set(xml('pubsub', { xmlns: NS_PUBSUB },
    xml('publish', { node: NODE_DEVICELIST_03 }, xml('item', { id: 'current' }, xml('list', { xmlns: 'eu.siacs.conversations.axolotl' }))),
    xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, `${NS_PUBSUB}#publish-options`)),
      xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'open'))))));
}

/**
 * Server-side preparation of profanity's account: the empty device list node, and mutual
 * presence subscriptions with `contacts` (both rosters end with subscription `both`).
 */
async function prepareAccount(server: ProsodyServer, account: ProsodyAccount, contacts: readonly ProsodyAccount[], timeoutMs: number): Promise<void> {
  const own = await setupClient(server, account, 'profanity-setup');
  const others: SecureXmppClient[] = [];
  try {
    await ensureDeviceListNode(own, account.jid);
    for (const contact of contacts) {
      const other = await setupClient(server, contact, 'profanity-setup');
      others.push(other);
      await own.send(xml('presence', { to: contact.jid, type: 'subscribe' }));
      await other.send(xml('presence', { to: account.jid, type: 'subscribe' }));
      const deadline = Date.now() + timeoutMs;
      while ((await subscription(own, contact.jid)) !== 'both' || (await subscription(other, account.jid)) !== 'both') {
        if (Date.now() > deadline) throw new Error(`profanity: no mutual subscription between ${account.jid} and ${contact.jid}`);
        await sleep(50);
      }
    }
  } finally {
    await Promise.all([own, ...others].map(stopClient));
  }
}

/** One running profanity. */
export class Profanity {
  /** Bare JID. */
  readonly jid: string;
  /** Full JID (with the fixed resource). */
  readonly fullJid: string;
  /** The temp HOME (removed by stop()). */
  readonly home: string;
  readonly #socket: string;
  readonly #tmux: TmuxSession;
  readonly #dataDir: string;
  readonly #logPath: string;
  #stopped = false;
  /** profanity's pid (the tmux pane's process: `env` execs profanity). */
  #pid: number | undefined;
  #unregister: (() => void) | undefined;
  #deviceId: number | undefined;

  private constructor(jid: string, resource: string, home: string) {
    this.jid = jid;
    this.fullJid = `${jid}/${resource}`;
    this.home = home;
    this.#socket = join(home, 'tmux.sock');
    this.#tmux = new TmuxSession(this.#socket, 'profanity');
    this.#dataDir = join(home, '.local', 'share', 'profanity');
    this.#logPath = join(this.#dataDir, 'logs', 'profanity.log');
  }

  /**
   * Prepares the account on the server (device list node, subscriptions), writes the config,
   * starts profanity in tmux and `/connect`s, waiting for the login.
   */
  static async start(options: ProfanityOptions): Promise<Profanity> {
    const resource = options.resource ?? 'profanity';
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    const home = mkdtempSync(join(tmpdir(), 'profanity-test-'));
    const p = new Profanity(options.account.jid, resource, home);
    // An aborted test run must not leave profanity, its tmux server or HOME behind.
    p.#unregister = registerCleanup(() => {
      if (p.#pid !== undefined && p.#pid > 1) {
        try {
          process.kill(p.#pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      p.#tmux.killServerSync();
      rmSync(home, { recursive: true, force: true });
    });
    try {
      const { server, account } = options;
      await prepareAccount(server, account, options.contacts ?? [], timeoutMs);
      const config = join(home, '.config');
      const certs = join(home, 'certs');
      mkdirSync(join(config, 'profanity'), { recursive: true, mode: 0o700 });
      mkdirSync(p.#dataDir, { recursive: true, mode: 0o700 });
      mkdirSync(certs, { mode: 0o700 });
      writeFileSync(join(certs, 'test-ca.pem'), server.caPem);
      await execFileP('openssl', ['rehash', certs]);
      writeFileSync(join(p.#dataDir, 'accounts'), [
        `[${account.jid}]`,
        'enabled=true',
        `jid=${account.jid}`,
        `server=${server.host}`,
        `port=${server.c2sPort}`,
        `resource=${resource}`,
        `password=${account.password}`,
        'tls.policy=force',
        '',
      ].join('\n'), { mode: 0o600 });
      writeFileSync(join(config, 'profanity', 'profrc'), [
        '[connection]',
        `tls.certpath=${certs}`,
        'autoping=0',
        'reconnect=0',
        '',
        '[ui]',
        'splash=false',
        'vercheck=false',
        '',
        '[notifications]',
        'message=false',
        'room=off',
        'invite=false',
        'sub=false',
        'typing=false',
        '',
        '[chatstates]',
        'enabled=false',
        '',
        '[logging]',
        'chlog=true',
        '',
        '[omemo]',
        'log=on',
        '',
      ].join('\n'), { mode: 0o600 });
      const env = `env HOME=${home} XDG_CONFIG_HOME=${config} XDG_DATA_HOME=${join(home, '.local', 'share')} TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8`;
      p.#pid = await p.#tmux.start(`${env} profanity -l DEBUG`, 220, 60);
      await p.waitForScreen(/Welcome to Profanity/, timeoutMs);
      await p.command(`/connect ${account.jid}`);
      await p.waitForScreen(new RegExp(`${escapeRegex(p.fullJid)} logged in successfully`), timeoutMs);
      return p;
    } catch (error) {
      const detail = await p.#diagnostics();
      await p.stop();
      throw new Error(`profanity did not start: ${String(error)}\n${detail}`, { cause: error });
    }
  }

  /** Types `text` literally into profanity's input line (no Enter). */
  async keys(text: string): Promise<void> {
    await this.#tmux.keys(text);
  }

  /** Presses named keys (tmux key names: `Enter`, `Escape`, `C-l`, ...). */
  async press(...keys: string[]): Promise<void> {
    await this.#tmux.press(...keys);
  }

  /**
   * Types a line (a `/command`, or text for the current window) and presses Enter; resolves
   * once profanity's log shows it read the line. Returns the log offset before it.
   */
  async command(line: string): Promise<number> {
    if (/[\r\n]/.test(line)) throw new RangeError('Profanity.command: one line only');
    const mark = this.log().length;
    await this.keys(line);
    await this.press('Enter');
    await this.waitForLog(new RegExp(`Input received: ${escapeRegex(line.trimEnd())}`), { since: mark });
    return mark;
  }

  /** Our OMEMO device id (after {@link omemoGenerate}). */
  get deviceId(): number {
    if (this.#deviceId === undefined) throw new Error('Profanity.deviceId: run omemoGenerate() first');
    return this.#deviceId;
  }

  /**
   * `/omemo gen`: generates the identity, prekeys and signed prekey, publishes the bundle and
   * the device list; resolves with the device id once the server accepted the list with it.
   */
  async omemoGenerate(timeoutMs = 60_000): Promise<number> {
    const mark = await this.command('/omemo gen');
    const m = await this.waitForScreen(/Your Device ID is (\d+)/, timeoutMs);
    const id = Number.parseInt(m[1] ?? '', 10);
    this.#deviceId = id;
    // The list publish (an iq set to the devicelist node naming our id) and its result
    // (libstrophe logs attributes in no fixed order).
    const sent = await this.waitForLog(new RegExp(`SENT: <iq(?=[^>]* type="set")(?=[^>]* id="([^"]+)")[^>]*><pubsub xmlns="${escapeRegex(NS_PUBSUB)}"><publish node="${NODE_DEVICELIST_03}">.*?<device id="${id}"`), { since: mark, timeoutMs });
    await this.waitForLog(new RegExp(`RECV: <iq(?=[^>]* id="${escapeRegex(sent[1] ?? '')}")(?=[^>]* type="result")`), { since: mark, timeoutMs });
    return id;
  }

  /**
   * profanity's own OMEMO fingerprint (`/omemo fingerprint` in the console window: in a chat
   * window the command lists the contact's), 64 lowercase hex digits. Leaves the console focused.
   */
  async ownFingerprint(): Promise<string> {
    await this.command('/win 1');
    await this.command('/omemo fingerprint');
    const m = await this.waitForScreen(new RegExp(`Your OMEMO fingerprint: ${PRINTED_FP}`));
    return fingerprintFromPrinted(m[1] ?? '');
  }

  /** `/omemo start JID`: opens an OMEMO chat window with `jid` (fetching its devices and bundles). */
  async omemoStart(jid: string): Promise<void> {
    await this.command(`/omemo start ${jid}`);
  }

  /**
   * The fingerprints profanity knows for `jid` (`/omemo fingerprint JID`), waiting until at
   * least `atLeast` are listed (bundles arrive asynchronously after `/omemo start`).
   */
  async peerFingerprints(jid: string, atLeast = 1, timeoutMs = 30_000): Promise<ProfanityFingerprint[]> {
    const re = new RegExp(`${escapeRegex(jid)}'s OMEMO fingerprint: ${PRINTED_FP}( \\(trusted\\))?`, 'gm');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.command(`/omemo fingerprint ${jid}`);
      // The listing goes to the current window (the chat with `jid` after omemoStart).
      const found = await this.#pollValue(async () => {
        const lines = [...(await this.screen()).matchAll(re)];
        return new Set(lines.map((l) => l[1])).size >= atLeast ? lines : undefined;
      }, 2000);
      if (found) {
        const seen = new Map<string, boolean>();
        for (const m of found) seen.set(fingerprintFromPrinted(m[1] ?? ''), m[2] !== undefined);
        return [...seen].map(([fingerprint, trusted]) => ({ fingerprint, trusted }));
      }
      if (Date.now() > deadline) throw new Error(`profanity: no ${atLeast} fingerprint(s) of ${jid} after ${timeoutMs} ms; screen:\n${await this.screen()}`);
    }
  }

  /**
   * `/omemo trust JID FP` (64 hex digits). profanity then fetches the device's bundle again and
   * only then builds a session with it: a message sent before that is encrypted for nobody
   * ("This message cannot be decrypted for any recipient"). So this waits, in the debug log,
   * for the session (pass `awaitSession: false` for a device profanity already has one with).
   */
  async omemoTrust(jid: string, fingerprintHex: string, options: { awaitSession?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const mark = await this.command(`/omemo trust ${jid} ${fingerprintToPrinted(fingerprintHex)}`);
    if (options.awaitSession === false) return;
    await this.waitForLog(new RegExp(`\\[OMEMO\\] create session with ${escapeRegex(jid)} device \\d+`), { since: mark, timeoutMs: options.timeoutMs ?? 30_000 });
  }

  /** `/otr gen`: has libotr generate profanity's DSA key; resolves when it is done. */
  async otrGenerate(timeoutMs = 120_000): Promise<void> {
    await this.command('/win 1'); // the console shows the key generation notices
    await this.command('/otr gen');
    await this.waitForScreen(/Private key generation complete/, timeoutMs);
  }

  /**
   * `/otr start JID`: opens the chat window with `jid` and sends libotr's OTR Query Message
   * (profanity's libotr policy offers v1/v2 only); resolves when profanity shows the session
   * started, with whether it calls the contact's fingerprint trusted.
   */
  async otrStart(jid: string, timeoutMs = 60_000): Promise<{ readonly trusted: boolean }> {
    await this.command(`/otr start ${jid}`);
    const m = await this.waitForScreen(/OTR session started \((trusted|untrusted)\)/, timeoutMs);
    return { trusted: m[1] === 'trusted' };
  }

  /** profanity's own OTR fingerprint (`/otr myfp`), 40 lowercase hex digits. */
  async otrOwnFingerprint(): Promise<string> {
    await this.command('/otr myfp');
    const m = await this.waitForScreen(new RegExp(`Your OTR fingerprint: ${HUMAN_OTR_FP}`));
    return (m[1] ?? '').replace(/ /g, '').toLowerCase();
  }

  /** The OTR fingerprint of `jid` in the running session (`/otr theirfp` in its chat window), 40 lowercase hex. */
  async otrPeerFingerprint(jid: string): Promise<string> {
    await this.focus(jid);
    await this.command('/otr theirfp');
    const m = await this.waitForScreen(new RegExp(`${escapeRegex(jid)}'s OTR fingerprint: ${HUMAN_OTR_FP}`));
    return (m[1] ?? '').replace(/ /g, '').toLowerCase();
  }

  /** `/msg JID TEXT`: sends in (and focuses) the chat window with `jid`; OMEMO-encrypted once `/omemo start` ran. */
  async msg(jid: string, text: string): Promise<void> {
    await this.command(`/msg ${jid} ${text}`);
  }

  /** `/msg JID`: focuses the chat window with `jid` (opening it if needed). */
  async focus(jid: string): Promise<void> {
    await this.command(`/msg ${jid}`);
  }

  /** The visible pane (wrapped lines joined). */
  async screen(): Promise<string> {
    return this.#tmux.capture();
  }

  /** profanity's debug log so far (stanzas SENT/RECV, OMEMO steps, every input line). */
  log(): string {
    return existsSync(this.#logPath) ? readFileSync(this.#logPath, 'utf8') : '';
  }

  /** The chat log with `jid` (all days), plaintext of OMEMO messages included (`[omemo] log=on`). */
  chatLog(jid: string): string {
    const dir = join(this.#dataDir, 'chatlogs', jidDir(this.jid), jidDir(jid));
    if (!existsSync(dir)) return '';
    return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('');
  }

  /** Waits until the pane matches. */
  async waitForScreen(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return this.#poll(async () => (await this.screen()).match(re), `screen ${String(re)}`, timeoutMs, async () => this.screen());
  }

  /** Waits until the debug log (from offset `since`) matches. */
  async waitForLog(re: RegExp, options: { since?: number; timeoutMs?: number } = {}): Promise<RegExpMatchArray> {
    const since = options.since ?? 0;
    return this.#poll(async () => this.log().slice(since).match(re), `log ${String(re)}`, options.timeoutMs ?? 20_000, async () => this.log().slice(since));
  }

  /** Waits until the chat log with `jid` matches. */
  async waitForChatLog(jid: string, re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return this.#poll(async () => this.chatLog(jid).match(re), `chat log with ${jid} ${String(re)}`, timeoutMs, async () => this.chatLog(jid));
  }

  /**
   * Ends profanity (`/quit`, then SIGKILL by pid after 3 s), kills the private tmux server and
   * removes HOME. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const pid = this.#pid !== undefined && Number.isInteger(this.#pid) && this.#pid > 1 ? this.#pid : undefined;
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
      // /quit: profanity exits, tmux reaps it and, with no session left, exits too.
      await this.keys('/quit').then(() => this.press('Enter')).catch(() => undefined);
      if (!(await vanished(3000)) && !isZombie(pid)) {
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

  async #pollValue<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) return undefined;
      await sleep(50);
    }
  }

  async #poll(
    probe: () => Promise<RegExpMatchArray | null>,
    what: string,
    timeoutMs: number,
    dump: () => Promise<string>,
  ): Promise<RegExpMatchArray> {
    const m = await this.#pollValue(async () => (await probe()) ?? undefined, timeoutMs);
    if (m) return m;
    throw new Error(`profanity: timed out after ${timeoutMs} ms waiting for ${what}; got:\n${(await dump()).slice(-3000)}`);
  }

  async #diagnostics(): Promise<string> {
    const lines = [`log:\n${this.log().slice(-3000)}`];
    try {
      lines.push(`screen:\n${await this.screen()}`);
    } catch {
      // no pane
    }
    return lines.join('\n');
  }
}

/** Whether `pid` is a zombie (exited, not yet reaped), from /proc. */
function isZombie(pid: number): boolean {
  try {
    return /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
