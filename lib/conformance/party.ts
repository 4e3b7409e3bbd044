/**
 * One side of a conversation as the conformance kit sees it: a line-protocol endpoint
 * (line-protocol.ts), either a local program (`spawnLineProgram`) or our engine in-process
 * (`inProcessOurEngine`). The kit only ever talks to parties through this class, so the
 * implementation under test and the reference peer are interchangeable.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { LineAction, LineEvent, LineExtraKey, LineFingerprint, LineReceived, LineStatus } from './line-protocol.js';
import { OurLineHandler, type BrokenBehaviour } from './our-line-handler.js';

type Json = Record<string, unknown>;

/** Carries requests to an endpoint and its answers back. */
export interface LineTransport {
  request(request: Json): Promise<Json>;
  close(): Promise<void>;
}

/** A command the endpoint refused (`{"ok":false}`), or a dead endpoint. */
export class PartyError extends Error {
  constructor(
    readonly party: string,
    message: string,
  ) {
    super(`${party}: ${message}`);
    this.name = 'PartyError';
  }
}

/** Options of `Party.init`. */
export interface PartyInit {
  readonly account: string;
  readonly policy: string;
  readonly keyfile: string;
  readonly instagfile: string;
  readonly fragmentSize?: number;
  readonly protocol?: string;
}

/** One side: typed commands over a transport, and everything it reported so far. */
export class Party {
  /** Every event this party reported, in order. */
  readonly events: LineEvent[] = [];
  /** Every text this party displayed, in order. */
  readonly shown: { text: string; decrypted: boolean }[] = [];
  fingerprint = '';
  account = '';

  constructor(
    readonly label: string,
    readonly peer: string,
    private readonly transport: LineTransport,
  ) {}

  private async call<T>(request: Json): Promise<T> {
    const answer = await this.transport.request(request);
    if (answer['ok'] !== true) throw new PartyError(this.label, `${String(request['cmd'])} failed: ${String(answer['error'] ?? 'no answer')}`);
    const events = answer['events'];
    if (Array.isArray(events)) this.events.push(...(events as LineEvent[]));
    return answer as T;
  }

  async init(options: PartyInit): Promise<LineFingerprint> {
    const answer = await this.call<LineFingerprint>({
      cmd: 'init',
      account: options.account,
      protocol: options.protocol ?? 'xmpp',
      policy: options.policy,
      keyfile: options.keyfile,
      instagfile: options.instagfile,
      fragment_size: options.fragmentSize ?? 0,
    });
    this.fingerprint = answer.fingerprint;
    this.account = options.account;
    return answer;
  }

  async send(text: string): Promise<LineAction> {
    return this.call({ cmd: 'send', peer: this.peer, text });
  }

  async receive(wire: string): Promise<LineReceived> {
    const answer = await this.call<LineReceived>({ cmd: 'receive', peer: this.peer, wire });
    if (answer.show !== null) this.shown.push({ text: answer.show, decrypted: answer.decrypted });
    return answer;
  }

  async startAke(): Promise<LineAction> {
    return this.call({ cmd: 'start_ake', peer: this.peer });
  }

  async end(): Promise<LineAction> {
    return this.call({ cmd: 'end', peer: this.peer });
  }

  async status(): Promise<LineStatus> {
    return this.call({ cmd: 'status', peer: this.peer });
  }

  async extraKey(use: number, usedataHex: string): Promise<LineExtraKey> {
    return this.call({ cmd: 'extra_symkey', peer: this.peer, use, usedata: usedataHex });
  }

  async smpStart(secret: string, question?: string): Promise<LineAction> {
    return this.call(question === undefined ? { cmd: 'smp_start', peer: this.peer, secret } : { cmd: 'smp_start', peer: this.peer, secret, question });
  }

  async smpRespond(secret: string): Promise<LineAction> {
    return this.call({ cmd: 'smp_respond', peer: this.peer, secret });
  }

  async smpAbort(): Promise<LineAction> {
    return this.call({ cmd: 'smp_abort', peer: this.peer });
  }

  /** SMP event names (libotr's) reported since event index `from`. */
  smpEventsSince(from: number): string[] {
    return this.events.slice(from).flatMap((e) => (e.type === 'smp' ? [e.event] : []));
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Our engine in-process (the kit's default reference peer). */
export function inProcessOurEngine(broken: Iterable<BrokenBehaviour> = []): LineTransport {
  const handler = new OurLineHandler(broken);
  return {
    async request(request: Json): Promise<Json> {
      return JSON.parse(handler.handleLine(JSON.stringify(request))) as Json;
    },
    async close(): Promise<void> {},
  };
}

/**
 * A local program speaking the line protocol on stdin/stdout. `command` is the program and
 * its arguments; nothing goes through a shell. Answers are awaited with `timeoutMs` each.
 */
export function spawnLineProgram(command: readonly string[], options: { timeoutMs?: number; label?: string } = {}): LineTransport {
  const [program, ...args] = command;
  if (program === undefined) throw new TypeError('spawnLineProgram: empty command');
  const label = options.label ?? program;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let exited: string | undefined;
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const fail = (why: string): void => {
    exited = why;
    for (const w of waiting.splice(0)) w.reject(new PartyError(label, `${why}${stderr ? `; stderr: ${stderr.trim()}` : ''}`));
  };
  child.on('error', (error) => fail(`cannot run: ${error.message}`));
  child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  return {
    request(request: Json): Promise<Json> {
      if (exited !== undefined) return Promise.reject(new PartyError(label, exited));
      return new Promise<Json>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new PartyError(label, `no answer to ${String(request['cmd'])} within ${timeoutMs} ms`));
          child.kill('SIGKILL');
        }, timeoutMs);
        waiting.push({
          resolve: (line) => {
            clearTimeout(timer);
            try {
              resolve(JSON.parse(line) as Json);
            } catch {
              reject(new PartyError(label, `not JSON: ${line.slice(0, 200)}`));
            }
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.stdin.write(`${JSON.stringify(request)}\n`);
      });
    },
    async close(): Promise<void> {
      if (exited !== undefined) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin.write(`${JSON.stringify({ cmd: 'quit' })}\n`);
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(timer);
    },
  };
}
