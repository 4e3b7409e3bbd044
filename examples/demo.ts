/**
 * `npm run demo`: the library's main job, shown end to end.
 *
 * When Prosody is installed (Debian `prosody`, as `.ci/run` installs it), two accounts talk OTR
 * through a throwaway local server over TLS (examples/demo-server.ts). Otherwise, or with
 * `--in-process`, two OTR parties talk back to back in one process (examples/demo-in-process.ts).
 * Both print every wire message exactly as sent.
 */
import { spawnSync } from 'node:child_process';
import { runInProcessDemo } from './demo-in-process.js';

function prosodyInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v prosody && command -v prosodyctl && command -v openssl'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  if (process.argv.includes('--in-process')) {
    runInProcessDemo();
    return;
  }
  if (!prosodyInstalled()) {
    console.log('Prosody is not installed (Debian package "prosody"): running the in-process demo instead.\n');
    runInProcessDemo();
    return;
  }
  const { runServerDemo } = await import('./demo-server.js');
  try {
    await runServerDemo();
  } catch (error) {
    console.log(`\nThe demo through a local Prosody failed (${error instanceof Error ? error.message : String(error)}); running the in-process demo instead.\n`);
    runInProcessDemo();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
