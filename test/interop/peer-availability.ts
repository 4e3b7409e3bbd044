/**
 * The CI-vs-local rule for real-peer interop tests: when a peer (libotr, otr.js, ...) is
 * missing, a CI run (`CI=true`) must FAIL, while a local run skips the suite with a loud
 * message naming the package that provides the peer.
 */
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/** Result of probing for a peer. */
export type PeerProbe =
  | { readonly available: true }
  | { readonly available: false; readonly reason: string };

/** What a peer is and how to install it (named in the skip/fail message). */
export interface PeerDescription {
  /** Human name, e.g. "libotr 4.1.1". */
  readonly name: string;
  /** Install hint, e.g. "apt-get install -y gcc libotr5-dev libgcrypt20-dev". */
  readonly install: string;
}

/** True when running under CI (the `CI` environment variable is "true" or "1"). */
export function isCi(): boolean {
  const ci = process.env['CI'];
  return ci === 'true' || ci === '1';
}

/**
 * Applies the rule inside a mocha `before` hook: returns normally when the peer exists;
 * otherwise throws under CI, or prints a loud warning and skips the suite locally.
 */
export function requirePeer(ctx: Mocha.Context, peer: PeerDescription, probe: PeerProbe): void {
  if (probe.available) return;
  const message =
    `REAL PEER MISSING: ${peer.name} (${probe.reason}). ` +
    `Install it with: ${peer.install}`;
  if (isCi()) throw new Error(`${message} -- interop tests must not be skipped in CI (CI=true).`);
  const bar = '!'.repeat(Math.min(100, message.length));
  console.warn(`\n${bar}\n${message}\nSKIPPING this interop suite locally (it would FAIL under CI=true).\n${bar}\n`);
  ctx.skip();
}

function commandWorks(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** libotr + a C toolchain (needed to build the harness). */
export const LIBOTR_PEER: PeerDescription = {
  name: 'libotr 4.1.1 (C harness)',
  install: 'apt-get install -y gcc libotr5-dev libgcrypt20-dev (Debian packages)',
};

/** Probes for gcc, libgcrypt-config and the libotr headers. */
export function probeLibotr(): PeerProbe {
  if (!commandWorks('gcc', ['--version'])) return { available: false, reason: 'gcc not found' };
  if (!commandWorks('libgcrypt-config', ['--version'])) {
    return { available: false, reason: 'libgcrypt-config not found (libgcrypt20-dev)' };
  }
  if (!existsSync('/usr/include/libotr/proto.h')) {
    return { available: false, reason: '/usr/include/libotr/proto.h not found (libotr5-dev)' };
  }
  return { available: true };
}

/** otr.js (npm `otr`). */
export const OTRJS_PEER: PeerDescription = {
  name: 'otr.js 0.2.16',
  install: 'npm install --save-dev otr@0.2.16 (npm package "otr")',
};

/** Probes for the npm `otr` package. */
export function probeOtrjs(): PeerProbe {
  try {
    createRequire(import.meta.url).resolve('otr');
    return { available: true };
  } catch {
    return { available: false, reason: 'npm package "otr" cannot be resolved' };
  }
}

/** Debian's python3-potr 1.0.2 (OTR v2 only), run on python3-pycryptodome by test/interop/potr/. */
export const POTR_PEER: PeerDescription = {
  name: 'python-potr 1.0.2 (OTR v2, Python)',
  install: 'apt-get install -y python3-potr python3-pycryptodome (Debian packages)',
};

/** Probes that Debian's /usr/bin/python3 imports potr and pycryptodome's AES and DSA. */
export function probePotr(): PeerProbe {
  if (!existsSync('/usr/bin/python3')) return { available: false, reason: '/usr/bin/python3 not found' };
  if (!commandWorks('/usr/bin/python3', ['-c', 'import potr, potr.crypt, Cryptodome.Cipher.AES, Cryptodome.PublicKey.DSA'])) {
    return { available: false, reason: '/usr/bin/python3 cannot import potr and Cryptodome (python3-potr, python3-pycryptodome)' };
  }
  return { available: true };
}
