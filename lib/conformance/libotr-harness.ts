/**
 * libotr 4.1.1 as a line-protocol program: our C harness (libotr-harness.c, shipped with the
 * package) compiled against the system's libotr (Debian: libotr5-dev, libgcrypt20-dev, gcc).
 * The conformance kit uses it as the reference peer (`--reference libotr`); the interop tests
 * use the same binary.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The harness source: next to this module when run from the sources, or under the package's
 * lib/conformance/ when run from dist/ (package.json "files" ships it).
 */
export function libotrHarnessSource(): string {
  const candidates = [join(here, 'libotr-harness.c'), resolve(here, '..', '..', '..', 'lib', 'conformance', 'libotr-harness.c')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`libotr-harness.c not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Default place of the compiled harness for the CLI: the user's cache directory. */
export function defaultLibotrHarnessBinary(): string {
  const cache = process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache');
  return join(cache, 'xmpp-otr-omemo', 'libotr-harness');
}

/**
 * Compiles the harness to `binary` when it is missing or older than the source, and returns
 * `binary`. Throws with gcc's output when libotr's headers or gcc are missing.
 */
export function buildLibotrHarness(binary: string = defaultLibotrHarnessBinary()): string {
  const source = libotrHarnessSource();
  if (existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs) return binary;
  mkdirSync(dirname(binary), { recursive: true });
  const gcrypt = execFileSync('libgcrypt-config', ['--cflags', '--libs'], { encoding: 'utf8' })
    .split(/\s+/)
    .filter((s) => s.length > 0);
  const tmp = `${binary}.${process.pid}.tmp`;
  execFileSync('gcc', ['-O2', '-Wall', source, ...gcrypt, '-lotr', '-o', tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
  // rename is atomic: two concurrent builders never run a half-written binary
  renameSync(tmp, binary);
  return binary;
}
