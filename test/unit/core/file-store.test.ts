import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../../../lib/core/store/file-store.js';
import { StorageError } from '../../../lib/core/errors.js';

const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

describe('core/store/file-store', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'xoo-store-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('persists, lists and deletes keys across reopen', async () => {
    const path = join(directory, 'alice.json');
    const store = await FileStore.open(path);
    await store.set('otr/alice/instance-tag', '{"v":1,"tag":256}');
    await store.set('otr/alice/private-key', 'k');
    await store.set('omemo/alice/identity', 'i');
    await store.delete('otr/alice/private-key');
    await store.delete('missing');
    const again = await FileStore.open(path);
    expect(await again.get('otr/alice/instance-tag')).to.equal('{"v":1,"tag":256}');
    expect(await again.get('otr/alice/private-key')).to.equal(undefined);
    expect(await again.keys('otr/')).to.deep.equal(['otr/alice/instance-tag']);
    expect(await again.keys()).to.deep.equal(['omemo/alice/identity', 'otr/alice/instance-tag']);
  });

  it('encrypts at rest: no plaintext in the file, wrong passphrase refused, right one opens', async () => {
    const path = join(directory, 'enc.json');
    const store = await FileStore.open(path, { passphrase: 'correct horse', scrypt: FAST_SCRYPT });
    expect(store.encrypted).to.equal(true);
    await store.set('secret-key-name', 'very secret value');
    await store.close();
    const raw = await readFile(path, 'utf8');
    expect(raw).not.to.contain('very secret value');
    expect(raw).not.to.contain('secret-key-name');
    try {
      await FileStore.open(path, { passphrase: 'wrong' });
      expect.fail('opened with the wrong passphrase');
    } catch (error) {
      expect(error).to.be.instanceOf(StorageError);
      expect((error as StorageError).code).to.equal('store.wrong-passphrase');
    }
    try {
      await FileStore.open(path);
      expect.fail('opened without a passphrase');
    } catch (error) {
      expect((error as StorageError).code).to.equal('store.passphrase-required');
    }
    const reopened = await FileStore.open(path, { passphrase: 'correct horse' });
    expect(await reopened.get('secret-key-name')).to.equal('very secret value');
  });

  it('refuses a tampered encrypted file and a corrupt plain file with typed errors', async () => {
    const path = join(directory, 'enc.json');
    const store = await FileStore.open(path, { passphrase: 'pw', scrypt: FAST_SCRYPT });
    await store.set('a', 'b');
    const document = JSON.parse(await readFile(path, 'utf8')) as { ciphertext: string };
    const bytes = Buffer.from(document.ciphertext, 'base64');
    bytes[0] = bytes[0]! ^ 1;
    document.ciphertext = bytes.toString('base64');
    await writeFile(path, JSON.stringify(document));
    const codes: string[] = [];
    await FileStore.open(path, { passphrase: 'pw' }).catch((error: StorageError) => codes.push(error.code));
    const plainPath = join(directory, 'plain.json');
    for (const junk of ['not json', '{"format":"other"}', '{"format":"xmpp-otr-omemo/store","version":99,"entries":{}}', '{"format":"xmpp-otr-omemo/store","version":1,"entries":{"a":5}}']) {
      await writeFile(plainPath, junk);
      await FileStore.open(plainPath).catch((error: StorageError) => codes.push(error.code));
    }
    expect(codes).to.deep.equal(['store.wrong-passphrase', 'store.corrupt', 'store.corrupt', 'store.unknown-version', 'store.corrupt']);
  });

  it('a failed write leaves the in-memory and on-disk state unchanged', async () => {
    const path = join(directory, 'sub', 'store.json');
    const store = await FileStore.open(path);
    await store.set('a', '1');
    await rm(join(directory, 'sub'), { recursive: true });
    await writeFile(join(directory, 'sub'), 'a file where the directory was');
    await store.set('a', '2').then(
      () => expect.fail('write into a non-directory succeeded'),
      () => undefined,
    );
    expect(await store.get('a')).to.equal('1');
  });

  for (const encrypted of [false, true]) {
    it(`survives being killed mid-write 12 times${encrypted ? ' (encrypted)' : ''}: always old or new state, never corrupt`, async function () {
      this.timeout(120_000);
      const path = join(directory, 'crash.json');
      let lastSeen = 0;
      for (let round = 0; round < 12; round++) {
        const args = ['--import', 'tsx', 'test/helpers/store-writer.ts', path, ...(encrypted ? ['pw'] : [])];
        const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((resolve, reject) => {
          child.stdout.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`writer exited early with ${String(code)}`)));
        });
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 150)));
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        const store = await FileStore.open(path, encrypted ? { passphrase: 'pw' } : {});
        const record = await store.get('record');
        if (record === undefined) {
          expect(lastSeen).to.equal(0);
          continue;
        }
        const { counter, payload, digest } = JSON.parse(record) as { counter: number; payload: string; digest: string };
        expect(createHash('sha256').update(payload).digest('hex')).to.equal(digest);
        expect(counter).to.be.at.least(lastSeen);
        lastSeen = counter;
      }
      expect(lastSeen).to.be.greaterThan(0);
      expect((await readdir(directory)).filter((name) => name.includes('.tmp-'))).to.deep.equal([]);
    });
  }
});
