/**
 * Driver for potr_echo_bot.py: a REAL second OTR implementation (python3-potr 1.0.2, OTR v2
 * only) on a real XMPP client library (python3-slixmpp 1.8.3), logged in to the Prosody harness.
 * The bot reports JSON lines on stdout; `waitFor` matches them; `stop()` asks it to quit and
 * kills it by pid if it does not exit.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerDescription, PeerProbe } from '../peer-availability.js';
import type { ProsodyAccount, ProsodyServer } from '../prosody/prosody-harness.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./potr_echo_bot.py', import.meta.url));

/** slixmpp + potr (Debian). */
export const POTR_BOT_PEER: PeerDescription = {
  name: 'python3-potr 1.0.2 + python3-slixmpp echo bot (OTR v2)',
  install: 'apt-get install -y python3-slixmpp python3-potr python3-pycryptodome (Debian packages)',
};

/** Probes Debian's python for slixmpp, potr and pycryptodome (Cryptodome). */
export function probePotrBot(): PeerProbe {
  try {
    execFileSync(PYTHON, ['-c', 'import slixmpp, potr, Cryptodome'], { stdio: 'ignore' });
    return { available: true };
  } catch {
    return { available: false, reason: `${PYTHON} cannot import slixmpp, potr and Cryptodome` };
  }
}

/** One JSON report of the bot. */
export type PotrBotReport =
  | { readonly event: 'online'; readonly jid: string; readonly fingerprint: string; readonly tls: string | null }
  | { readonly event: 'state'; readonly peer: string; readonly state: 'PLAINTEXT' | 'ENCRYPTED' | 'FINISHED'; readonly peerFingerprint: string | null }
  | { readonly event: 'decrypted'; readonly peer: string; readonly text: string }
  | { readonly event: 'plaintext'; readonly peer: string; readonly text: string }
  | { readonly event: 'otr-error'; readonly peer: string; readonly error: string }
  | { readonly event: 'disconnected' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A running bot. */
export class PotrBot {
  readonly reports: PotrBotReport[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  #stderr = '';
  #exited = false;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line.startsWith('{')) this.reports.push(JSON.parse(line) as PotrBotReport);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    child.once('exit', () => {
      this.#exited = true;
    });
  }

  /** Starts the bot and waits until it is online; returns it with its `online` report. */
  static async start(server: ProsodyServer, account: ProsodyAccount): Promise<{ bot: PotrBot; online: Extract<PotrBotReport, { event: 'online' }> }> {
    const child = spawn(PYTHON, [
      SCRIPT, `--jid=${account.jid}/potr`, `--password=${account.password}`, // = form: a password may start with '-'
      '--host', server.host, '--port', String(server.c2sPort), '--ca', server.caPath,
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    const bot = new PotrBot(child);
    try {
      const online = await bot.waitFor((r): r is Extract<PotrBotReport, { event: 'online' }> => r.event === 'online', 30000);
      return { bot, online };
    } catch (error) {
      await bot.stop();
      throw error;
    }
  }

  /** Sends an OTR v2 Query Message to `jid`. */
  query(jid: string): void {
    this.#child.stdin.write(`${JSON.stringify({ cmd: 'query', to: jid })}\n`);
  }

  /** Waits for a report matching `predicate`. */
  async waitFor<R extends PotrBotReport>(predicate: (r: PotrBotReport) => r is R, timeoutMs?: number): Promise<R>;
  async waitFor(predicate: (r: PotrBotReport) => boolean, timeoutMs?: number): Promise<PotrBotReport>;
  async waitFor(predicate: (r: PotrBotReport) => boolean, timeoutMs = 15000): Promise<PotrBotReport> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.reports.find(predicate);
      if (r) return r;
      if (this.#exited || Date.now() > deadline) {
        throw new Error(`potr bot: ${this.#exited ? 'exited' : 'timed out'}; reports ${JSON.stringify(this.reports)}; stderr:\n${this.#stderr}`);
      }
      await sleep(25);
    }
  }

  /** Asks the bot to quit; kills it (by pid) after 3 s. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
