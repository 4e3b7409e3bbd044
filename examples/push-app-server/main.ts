/**
 * The push app server as one command:
 *
 *   npm run push-server -- --config examples/push-app-server/config.example.json
 *   npm run push-server -- --generate-vapid      (prints a fresh VAPID key pair)
 *
 * It runs until SIGINT/SIGTERM, then closes the component stream and exits.
 */
import { generateKeyPairSync } from 'node:crypto';
import { runPushAppServer } from '../../lib/push/index.js';

function usage(): never {
  process.stderr.write('usage: push-server --config <file.json> | --generate-vapid\n');
  process.exit(2);
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--generate-vapid') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const jwk = privateKey.export({ format: 'jwk' });
    const pub = publicKey.export({ format: 'jwk' });
    const raw = Buffer.concat([Buffer.of(4), Buffer.from(String(pub.x), 'base64url'), Buffer.from(String(pub.y), 'base64url')]);
    process.stdout.write(`${JSON.stringify({ vapidPrivateKey: jwk.d, vapidPublicKey: raw.toString('base64url') }, null, 2)}\n`);
    return;
  }
  const i = argv.indexOf('--config');
  const path = i >= 0 ? argv[i + 1] : undefined;
  if (!path) usage();
  const running = await runPushAppServer(path);
  const shutdown = (): void => {
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const e = error as { code?: string; message?: string };
  process.stderr.write(`push-server: ${e.code ?? 'error'}: ${e.message ?? String(error)}\n`);
  process.exit(1);
});
