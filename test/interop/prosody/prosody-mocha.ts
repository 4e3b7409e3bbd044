/**
 * Mocha glue for the Prosody harness: the CI-vs-local rule of peer-availability.ts (missing
 * prosody FAILS under CI=true, skips loudly locally) plus per-suite start/stop.
 */
import { execFileSync } from 'node:child_process';
import { requirePeer } from '../peer-availability.js';
import type { PeerDescription, PeerProbe } from '../peer-availability.js';
import { startProsody } from './prosody-harness.js';
import type { ProsodyOptions, ProsodyServer } from './prosody-harness.js';

/** Prosody 0.12 and the openssl CLI (for the per-run PKI). */
export const PROSODY_PEER: PeerDescription = {
  name: 'Prosody 0.12 XMPP server',
  install: 'apt-get install -y prosody openssl (Debian packages; prosody-modules for cloud_notify)',
};

function works(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10000 });
    return true;
  } catch {
    return false;
  }
}

/** Probes for prosody, prosodyctl and openssl. (`prosody --version` would START a server.) */
export function probeProsody(): PeerProbe {
  if (!works('prosodyctl', ['about'])) return { available: false, reason: 'prosodyctl not found' };
  if (!works('sh', ['-c', 'command -v prosody'])) return { available: false, reason: 'prosody not found' };
  if (!works('openssl', ['version'])) return { available: false, reason: 'openssl not found' };
  return { available: true };
}

/** The server of a suite, available from `before` to `after`. */
export interface ProsodyFixture {
  /** The running server; throws if read outside the suite's hooks/tests. */
  readonly server: ProsodyServer;
}

/**
 * Call inside a `describe`: registers `before` (availability rule + start) and `after` (stop).
 * `options` may be a function, to build options at start time.
 */
export function useProsody(options: ProsodyOptions | (() => ProsodyOptions) = {}): ProsodyFixture {
  let server: ProsodyServer | undefined;
  before(async function () {
    this.timeout(60000);
    requirePeer(this, PROSODY_PEER, probeProsody());
    server = await startProsody(typeof options === 'function' ? options() : options);
  });
  after(async function () {
    this.timeout(20000);
    await server?.stop();
    server = undefined;
  });
  return {
    get server(): ProsodyServer {
      if (!server) throw new Error('prosody fixture read outside its suite (or the server failed to start)');
      return server;
    },
  };
}
