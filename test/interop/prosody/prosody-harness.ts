/**
 * A throwaway Prosody 0.12 (Debian `prosody`) for interop tests.
 *
 * `startProsody()` makes a fresh temp dir, a fresh PKI (test-pki.ts), a config with free random
 * ports on 127.0.0.1, registers accounts with `prosodyctl`, starts `prosody -F` as a child
 * process (as root it sets `run_as_root = true`), and waits until every port accepts.
 * `stop()` terminates the process and removes the dir. Nothing listens beyond loopback.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { registerCleanup } from './cleanup.js';
import { renderProsodyConfig } from './prosody-config.js';
import type { ProsodyFeature } from './prosody-config.js';
import { generateTestPki } from './test-pki.js';
import type { ServedCertificate, TestCertificate, TestPki } from './test-pki.js';

export type { ProsodyFeature } from './prosody-config.js';
export { ALL_PROSODY_FEATURES } from './prosody-config.js';
export type { ServedCertificate, TestCertificate, TestPki } from './test-pki.js';

const execFileP = promisify(execFile);

/** What to start. Every field is optional; the default is a minimal TLS-only c2s server. */
export interface ProsodyOptions {
  /** Local parts of accounts to create before start (default `['alice', 'bob']`). */
  readonly accounts?: readonly string[];
  /** Extra server features, opt-in (default none). */
  readonly modules?: readonly ProsodyFeature[];
  /** Which certificate the TLS ports present (default `'server'`, the valid one). */
  readonly served?: ServedCertificate;
  /** `false`: no certificate, no STARTTLS, plaintext c2s with PLAIN allowed (negative tests). Default true. */
  readonly tls?: boolean;
  /** SASL mechanisms offered: `'plain'` (default, ~70 ms per login) or `'scram'` (adds SCRAM-SHA-1, ~2 s). */
  readonly sasl?: 'plain' | 'scram';
  /** XEP-0114 external components (e.g. a push app server); opens `componentPort`. */
  readonly components?: readonly { readonly name: string; readonly secret: string }[];
  /** Reuse an existing PKI (default: a fresh one in the server's dir). */
  readonly pki?: TestPki;
  /** Raw Lua appended to the global section. */
  readonly extraConfig?: string;
  /** Milliseconds to wait for the ports (default 15000). */
  readonly startTimeoutMs?: number;
}

/** An account on the test server. */
export interface ProsodyAccount {
  readonly username: string;
  /** Bare JID, `username@localhost`. */
  readonly jid: string;
  readonly password: string;
}

/** A running test server. */
export interface ProsodyServer {
  readonly domain: string;
  readonly host: '127.0.0.1';
  /** c2s with STARTTLS (or plaintext when `tls: false`). */
  readonly c2sPort: number;
  /** c2s with direct TLS (XEP-0368). Nothing listens here when `tls: false`. */
  readonly directTlsPort: number;
  /** XEP-0114 port, when `components` was given. */
  readonly componentPort: number | undefined;
  /** HTTP port on 127.0.0.1, when `http_file_share` is enabled. */
  readonly httpPort: number | undefined;
  /**
   * HTTPS port on 127.0.0.1 (the served certificate), when `http_file_share` is enabled with
   * TLS; upload slots then point here (`https://127.0.0.1:<port>/...`).
   */
  readonly httpsPort: number | undefined;
  /** `xmpp://127.0.0.1:<c2sPort>` for @xmpp/client's `service`. */
  readonly service: string;
  /** `xmpps://127.0.0.1:<directTlsPort>`. */
  readonly directTlsService: string;
  /** PEM of the CA that signed the served certificate. */
  readonly caPem: string;
  readonly caPath: string;
  /** All certificates generated for this run (served one, expired, wrong host, other CA). */
  readonly pki: TestPki;
  /** The certificate the TLS ports present. */
  readonly servedCertificate: TestCertificate;
  readonly features: ReadonlySet<ProsodyFeature>;
  readonly accounts: readonly ProsodyAccount[];
  /** The server's temp dir (removed by stop()). */
  readonly dir: string;
  readonly configPath: string;
  /** Looks up a created account by local part; throws if absent. */
  account(username: string): ProsodyAccount;
  /** Creates another account with prosodyctl (works while the server runs). */
  register(username: string, password?: string): Promise<ProsodyAccount>;
  /** The server's debug log so far (for failure messages). */
  log(): string;
  /** Terminates prosody (SIGTERM, then SIGKILL after 5 s) and removes the dir. Idempotent. */
  stop(): Promise<void>;
}

const DOMAIN = 'localhost';
const USERNAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Asks the OS for `n` distinct free TCP ports on 127.0.0.1. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = netConnect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fresh password; never starting with '-', so command lines cannot read it as an option. */
function password(): string {
  return `p${randomBytes(12).toString('base64url')}`;
}

async function prosodyctlRegister(configPath: string, username: string, pass: string): Promise<void> {
  if (!USERNAME.test(username)) throw new RangeError(`bad username ${JSON.stringify(username)}`);
  await execFileP('prosodyctl', ['--config', configPath, 'register', username, DOMAIN, pass]);
}

/** Starts a fresh throwaway Prosody. See the module comment. */
export async function startProsody(options: ProsodyOptions = {}): Promise<ProsodyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'prosody-test-'));
  try {
    return await startIn(dir, options);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dir: string, options: ProsodyOptions): Promise<ProsodyServer> {
  const features = new Set(options.modules ?? []);
  const tls = options.tls ?? true;
  const pki = options.pki ?? generateTestPki(join(dir, 'pki'));
  const served = pki[options.served ?? 'server'];
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'certs'), { recursive: true });
  const components = options.components ?? [];
  const [c2sPort, directTlsPort, componentPort, httpPort, httpsPortFree] = (await freePorts(5)) as [number, number, number, number, number];
  const httpsPort = features.has('http_file_share') && tls ? httpsPortFree : undefined;
  const configPath = join(dir, 'prosody.cfg.lua');
  const runAsRoot = process.getuid?.() === 0;
  const config = renderProsodyConfig({
    dir,
    domain: DOMAIN,
    runAsRoot,
    c2sPort,
    directTlsPort,
    componentPort: components.length > 0 ? componentPort : undefined,
    httpPort: features.has('http_file_share') ? httpPort : undefined,
    httpsPort,
    tls: tls ? { certPath: served.certPath, keyPath: served.keyPath } : undefined,
    sasl: options.sasl ?? 'plain',
    features,
    components,
    extraGlobalConfig: options.extraConfig ?? '',
  });
  writeFileSync(configPath, config);

  const accounts: ProsodyAccount[] = [];
  for (const username of options.accounts ?? ['alice', 'bob']) {
    const pass = password();
    await prosodyctlRegister(configPath, username, pass);
    accounts.push({ username, jid: `${username}@${DOMAIN}`, password: pass });
  }

  const consolePath = join(dir, 'console.log');
  const out = openSync(consolePath, 'a');
  const child = spawn('prosody', ['--config', configPath, '-F'], { cwd: dir, stdio: ['ignore', out, out] });
  closeSync(out);
  // An aborted test run must not leave prosody processes or dirs behind.
  const unregister = registerCleanup(() => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let exited: number | string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = code ?? signal ?? 'unknown';
      resolve();
    });
  });

  const readLog = (): string => {
    const parts: string[] = [];
    for (const f of ['console.log', 'prosody.log']) {
      const p = join(dir, f);
      if (existsSync(p)) parts.push(readFileSync(p, 'utf8'));
    }
    return parts.join('\n');
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
    unregister();
  };

  const mustListen = [c2sPort];
  if (tls) mustListen.push(directTlsPort);
  if (components.length > 0) mustListen.push(componentPort);
  if (features.has('http_file_share')) mustListen.push(httpPort);
  if (httpsPort !== undefined) mustListen.push(httpsPort);
  const deadline = Date.now() + (options.startTimeoutMs ?? 15000);
  for (const port of mustListen) {
    while (!(await portAccepts(port))) {
      if (exited !== null || Date.now() > deadline) {
        const log = readLog();
        await stop();
        throw new Error(
          `prosody did not listen on 127.0.0.1:${port} (${exited !== null ? `exited: ${String(exited)}` : 'timeout'})\n` +
            log.split('\n').slice(-40).join('\n'),
        );
      }
      await sleep(25);
    }
  }

  return {
    domain: DOMAIN,
    host: '127.0.0.1',
    c2sPort,
    directTlsPort,
    componentPort: components.length > 0 ? componentPort : undefined,
    httpPort: features.has('http_file_share') ? httpPort : undefined,
    httpsPort,
    service: `xmpp://127.0.0.1:${c2sPort}`,
    directTlsService: `xmpps://127.0.0.1:${directTlsPort}`,
    caPem: pki.ca.certPem,
    caPath: pki.ca.certPath,
    pki,
    servedCertificate: served,
    features,
    accounts,
    dir,
    configPath,
    account(username: string): ProsodyAccount {
      const a = accounts.find((x) => x.username === username);
      if (!a) throw new RangeError(`no account ${JSON.stringify(username)} on this test server`);
      return a;
    },
    async register(username: string, pass: string = password()): Promise<ProsodyAccount> {
      await prosodyctlRegister(configPath, username, pass);
      const a = { username, jid: `${username}@${DOMAIN}`, password: pass };
      accounts.push(a);
      return a;
    },
    log: readLog,
    stop,
  };
}
