/**
 * Builds and runs `keytool.c` (next to this file): a command-line front end to REAL libotr
 * 4.1.1's key, fingerprint and instance tag files and its DSA sign/verify. The binary goes to
 * the git-ignored `test/.build/` and is rebuilt when the source is newer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The C source. */
export const KEYTOOL_SOURCE = join(here, 'keytool.c');
/** The compiled binary. */
export const KEYTOOL_BINARY = resolve(here, '..', '..', '.build', 'libotr-keytool');

/** Compiles the keytool when missing or older than its source; returns the binary's path. */
export function buildKeytool(): string {
  if (existsSync(KEYTOOL_BINARY) && statSync(KEYTOOL_BINARY).mtimeMs >= statSync(KEYTOOL_SOURCE).mtimeMs) return KEYTOOL_BINARY;
  mkdirSync(dirname(KEYTOOL_BINARY), { recursive: true });
  const gcrypt = execFileSync('libgcrypt-config', ['--cflags', '--libs'], { encoding: 'utf8' }).split(/\s+/).filter((s) => s.length > 0);
  const tmp = `${KEYTOOL_BINARY}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-Wall', '-Werror', KEYTOOL_SOURCE, ...gcrypt, '-lotr', '-o', tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
  renameSync(tmp, KEYTOOL_BINARY); // atomic: a concurrent run never executes a half-written binary
  return KEYTOOL_BINARY;
}

/** Runs one keytool command and returns its stdout as UTF-8 text. Throws (with stderr) when it fails. */
export function keytool(...args: string[]): string {
  return Buffer.from(keytoolBytes(...args)).toString('utf8');
}

/** Runs one keytool command and returns its raw stdout bytes. Throws (with stderr) when it fails. */
export function keytoolBytes(...args: string[]): Uint8Array {
  try {
    return new Uint8Array(execFileSync(buildKeytool(), args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }));
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    throw new Error(`libotr-keytool ${args[0] ?? ''} failed: ${stderr.trim()}`, { cause: error });
  }
}

/** Splits keytool's tab-separated output into rows of fields. */
export function rows(output: string): string[][] {
  return output.split('\n').filter((line) => line.length > 0).map((line) => line.split('\t'));
}
