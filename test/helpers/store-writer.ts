/**
 * Child process for the crash test: opens a FileStore and rewrites one record in a loop,
 * each record carrying a counter and a SHA-256 of its payload, until it is killed.
 * argv: <path> [passphrase]
 */
import { createHash } from 'node:crypto';
import { FileStore } from '../../lib/core/store/file-store.js';

const [path, passphrase] = process.argv.slice(2);
if (!path) throw new TypeError('usage: store-writer <path> [passphrase]');
const store = await FileStore.open(path, passphrase ? { passphrase, scrypt: { N: 1024, r: 8, p: 1 } } : {});
const previous = await store.get('record');
let counter = previous ? (JSON.parse(previous) as { counter: number }).counter : 0;
process.stdout.write('ready\n');
for (;;) {
  counter++;
  const payload = 'x'.repeat(1000 + (counter % 5000)) + counter;
  const digest = createHash('sha256').update(payload).digest('hex');
  await store.set('record', JSON.stringify({ counter, payload, digest }));
}
