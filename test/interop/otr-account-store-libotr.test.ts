/**
 * The account store against REAL libotr 4.1.1 (through test/interop/libotr-keytool): libotr
 * reads the three files `exportLibotr` writes (same key fingerprint, fingerprints with their
 * trust words, instance tag), and a key and instance tag libotr generated import into the
 * store with libotr's fingerprint.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '../../lib/core/bytes.js';
import { MemoryStore } from '../../lib/core/store/store.js';
import { OtrAccountStore } from '../../lib/otr-account-store.js';
import { LIBOTR_PEER, probeLibotr, requirePeer } from './peer-availability.js';
import { buildKeytool, keytool, rows } from './libotr-keytool/keytool.js';

describe('interop: account store files read and written by libotr 4.1.1', function () {
  this.timeout(60_000);
  let dir: string;
  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    buildKeytool();
    dir = mkdtempSync(join(tmpdir(), 'otr-store-libotr-'));
  });
  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('libotr reads what exportLibotr writes', async () => {
    const store = new OtrAccountStore(new MemoryStore(), 'alice@example.org');
    await store.setTrust('bob@example.org', hexToBytes('11'.repeat(20)), 'smp');
    await store.setTrust('bob@example.org', hexToBytes('22'.repeat(20)), 'unverified');
    await store.setTrust('carol@example.org', hexToBytes('33'.repeat(20)), 'manual');
    const files = await store.exportLibotr();
    const keyFile = join(dir, 'otr.private_key');
    const fpFile = join(dir, 'otr.fingerprints');
    const tagFile = join(dir, 'otr.instance_tags');
    writeFileSync(keyFile, files.privateKey);
    writeFileSync(fpFile, files.fingerprints);
    writeFileSync(tagFile, files.instanceTags);
    const [key] = rows(keytool('list', keyFile));
    expect(key?.slice(0, 3)).to.deep.equal(['alice@example.org', 'prpl-jabber', bytesToHex(await store.ourFingerprint())]);
    expect(rows(keytool('fingerprints-list', fpFile)).map((r) => [r[0], r[3], r[4] ?? ''])).to.have.deep.members([
      ['bob@example.org', '11'.repeat(20), 'smp'],
      ['bob@example.org', '22'.repeat(20), ''],
      ['carol@example.org', '33'.repeat(20), 'verified'],
    ]);
    expect(rows(keytool('instags-list', tagFile))).to.deep.equal([['alice@example.org', 'prpl-jabber', (await store.instanceTag()).toString(16).padStart(8, '0')]]);
  });

  it('a key and instance tag libotr generated import with libotr\'s fingerprint', async () => {
    const keyFile = join(dir, 'libotr.private_key');
    const tagFile = join(dir, 'libotr.instance_tags');
    const libotrFingerprint = keytool('generate', keyFile, 'dave@example.org/Home', 'prpl-jabber').trim();
    const tag = keytool('instag-generate', tagFile, 'dave@example.org/Home', 'prpl-jabber').trim();
    const store = new OtrAccountStore(new MemoryStore(), 'dave@example.org', { generateKey: () => expect.fail('the imported key is used') });
    const summary = await store.importLibotr({ privateKey: readFileSync(keyFile), instanceTags: readFileSync(tagFile) });
    expect(summary).to.include({ privateKey: true, instanceTag: true });
    expect(bytesToHex(await store.ourFingerprint())).to.equal(libotrFingerprint);
    expect(await store.instanceTag()).to.equal(Number.parseInt(tag, 16));
  });
});
