/**
 * The account store: key, instance tag and fingerprints over a KeyValueStore; libotr's
 * otr.private_key / otr.fingerprints / otr.instance_tags import and export round-trip byte
 * for byte with files in libotr's exact format; trust mapping; corrupt data is a typed error;
 * the default file store (plain and passphrase-encrypted) keeps everything across reopen.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToHex, hexToBytes } from '../../lib/core/bytes.js';
import type { DsaPrivateKey } from '../../lib/core/crypto/dsa.js';
import { MalformedMessageError, StorageError } from '../../lib/core/errors.js';
import { FileStore } from '../../lib/core/store/file-store.js';
import { OverlayStore } from '../../lib/core/store/overlay-store.js';
import { MemoryStore } from '../../lib/core/store/store.js';
import { OtrAccountStore } from '../../lib/otr-account-store.js';
import { INSTANCE_TAG_FILE_HEADER } from '../../otr/instance-tag-file.js';
import { otrFingerprint } from '../../otr/public-key.js';

const hex = (text: string): bigint => BigInt('0x' + text);
/** RFC 6979 A.2.1's DSA key (the key-file codec's fixture key). */
const P = '86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED8873ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779';
const Q = '996F967F6C8E388D9E28D01E205FBA957A5698B1';
const G = '07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD';
const Y = '5DF5E01DED31D0297E274E1691C192FE5868FEF9E19A84776454B100CF16F65392195A38B90523E2542EE61871C0440CB87C322FC4B4D2EC5E1E7EC766E1BE8D4CE935437DC11C3C8FD426338933EBFE739CB3465F4D3668C5E473508253B1E682F65CBDC4FAE93C2EA212390E54905A86E2223170B44EAA7DA5DD9FFCFB7F3B';
const X = '411602CB19A6CCC34494D79D98EF1E7ED5AF25F7';
const KEY: DsaPrivateKey = { p: hex(P), q: hex(Q), g: hex(G), y: hex(Y), x: hex(X) };

/** otr.private_key exactly as libotr 4.1 writes it for KEY. */
const LIBOTR_KEY_FILE =
  '(privkeys\n (account\n(name "alice@example.org")\n(protocol prpl-jabber)\n(private-key \n (dsa \n' +
  `  (p #00${P}#)\n  (q #00${Q}#)\n  (g #${G}#)\n  (y #${Y}#)\n  (x #${X}#)\n  )\n )\n )\n)\n`;
const FP_BOB_1 = '0123456789abcdef0123456789abcdef01234567';
const FP_BOB_2 = 'fedcba9876543210fedcba9876543210fedcba98';
const FP_CAROL = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
/** otr.fingerprints in libotr's format: unverified, "smp", "verified" (sorted as the store lists them). */
const LIBOTR_FINGERPRINTS =
  `bob@example.org\talice@example.org\tprpl-jabber\t${FP_BOB_1}\tsmp\n` +
  `bob@example.org\talice@example.org\tprpl-jabber\t${FP_BOB_2}\t\n` +
  `carol@example.org\talice@example.org\tprpl-jabber\t${FP_CAROL}\tverified\n`;
const LIBOTR_INSTANCE_TAGS = `${INSTANCE_TAG_FILE_HEADER}alice@example.org\tprpl-jabber\t1234abcd\n`;

describe('otr-account-store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otr-account-store-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a key and an instance tag once, and keeps them', async () => {
    const kv = new MemoryStore();
    let made = 0;
    const store = new OtrAccountStore(kv, 'Alice@Example.org/desk', { generateKey: () => (made++, KEY) });
    expect(store.account).to.equal('alice@example.org');
    const [k1, k2] = await Promise.all([store.privateKey(), store.privateKey()]);
    expect(made).to.equal(1);
    expect(k1).to.equal(k2);
    const tag = await store.instanceTag();
    expect(tag).to.be.at.least(0x100);
    const again = new OtrAccountStore(kv, 'alice@example.org', { generateKey: () => expect.fail('must not make a second key') });
    expect((await again.privateKey()).x).to.equal(KEY.x);
    expect(await again.instanceTag()).to.equal(tag);
    expect(bytesToHex(await again.ourFingerprint())).to.equal(bytesToHex(otrFingerprint(KEY)));
    expect(await kv.keys()).to.deep.equal(['otr/alice@example.org/instance-tag', 'otr/alice@example.org/private-key']);
  });

  it('fingerprints: first sight unverified, trust levels, forget', async () => {
    const store = new OtrAccountStore(new MemoryStore(), 'alice@example.org', { generateKey: () => KEY });
    const fp = hexToBytes(FP_BOB_1);
    expect(await store.addFingerprint('bob@example.org/phone', fp)).to.deep.equal({ trust: 'unverified', isNew: true });
    expect(await store.addFingerprint('BOB@example.org', fp)).to.deep.equal({ trust: 'unverified', isNew: false });
    await store.setTrust('bob@example.org', fp, 'smp');
    expect(await store.addFingerprint('bob@example.org', fp)).to.deep.equal({ trust: 'smp', isNew: false });
    await store.setTrust('carol@example.org', hexToBytes(FP_CAROL), 'manual');
    expect((await store.fingerprints()).map((f) => [f.peer, bytesToHex(f.fingerprint), f.trust])).to.deep.equal([
      ['bob@example.org', FP_BOB_1, 'smp'],
      ['carol@example.org', FP_CAROL, 'manual'],
    ]);
    expect((await store.fingerprints('carol@example.org')).length).to.equal(1);
    await store.forgetFingerprint('bob@example.org', fp);
    expect(await store.trustOf('bob@example.org', fp)).to.equal(undefined);
    let error: unknown;
    await store.setTrust('bob@example.org', new Uint8Array(19), 'smp').catch((e: unknown) => {
      error = e;
    });
    expect(error).to.be.instanceOf(RangeError);
  });

  it('imports libotr\'s three files and exports them byte for byte', async () => {
    const store = new OtrAccountStore(new MemoryStore(), 'alice@example.org', { generateKey: () => expect.fail('the imported key is used') });
    const summary = await store.importLibotr({ privateKey: LIBOTR_KEY_FILE, fingerprints: LIBOTR_FINGERPRINTS, instanceTags: LIBOTR_INSTANCE_TAGS });
    expect(summary).to.deep.equal({ privateKey: true, instanceTag: true, fingerprints: 3 });
    expect((await store.privateKey()).y).to.equal(KEY.y);
    expect(await store.instanceTag()).to.equal(0x1234abcd);
    expect(await store.trustOf('bob@example.org', hexToBytes(FP_BOB_1))).to.equal('smp');
    expect(await store.trustOf('bob@example.org', hexToBytes(FP_BOB_2))).to.equal('unverified');
    expect(await store.trustOf('carol@example.org', hexToBytes(FP_CAROL))).to.equal('manual');
    const out = await store.exportLibotr({ accountName: 'alice@example.org' });
    expect(new TextDecoder().decode(out.privateKey)).to.equal(LIBOTR_KEY_FILE);
    expect(out.fingerprints).to.equal(LIBOTR_FINGERPRINTS);
    expect(out.instanceTags).to.equal(LIBOTR_INSTANCE_TAGS);
  });

  it('import picks our account (Pidgin names carry a resource) and skips others', async () => {
    const other = LIBOTR_FINGERPRINTS.replace(/alice@example\.org/g, 'mallory@example.org');
    const pidgin = LIBOTR_KEY_FILE.replace('"alice@example.org"', '"alice@example.org/Home"');
    const store = new OtrAccountStore(new MemoryStore(), 'alice@example.org', { generateKey: () => KEY });
    expect(await store.importLibotr({ privateKey: pidgin, fingerprints: other })).to.deep.equal({ privateKey: true, instanceTag: false, fingerprints: 0 });
    const bobStore = new OtrAccountStore(new MemoryStore(), 'bob@example.org', { generateKey: () => KEY });
    expect((await bobStore.importLibotr({ privateKey: LIBOTR_KEY_FILE })).privateKey).to.equal(false);
  });

  it('a damaged libotr file is refused before anything is written', async () => {
    const kv = new MemoryStore();
    const store = new OtrAccountStore(kv, 'alice@example.org', { generateKey: () => KEY });
    let error: unknown;
    try {
      await store.importLibotr({ privateKey: LIBOTR_KEY_FILE, fingerprints: 'bob@example.org\talice@example.org\tprpl-jabber\tnothex\t\n' });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(MalformedMessageError);
    expect(await kv.keys()).to.deep.equal([]);
  });

  it('corrupt stored documents are StorageError, not a wrong key', async () => {
    const kv = new MemoryStore();
    await kv.set('otr/alice@example.org/private-key', '{"version":1,"p":"zz"}');
    await kv.set('otr/alice@example.org/instance-tag', '{"version":7,"instanceTag":300}');
    const store = new OtrAccountStore(kv, 'alice@example.org');
    for (const run of [() => store.privateKey(), () => store.instanceTag()]) {
      let error: unknown;
      try {
        await run();
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(StorageError);
    }
  });

  it('the file store keeps everything across reopen, encrypted at rest with a passphrase', async () => {
    const path = join(dir, 'alice.otr.json');
    const scrypt = { N: 1 << 10, r: 8, p: 1 };
    const file = await FileStore.open(path, { passphrase: 'correct horse', scrypt });
    const store = new OtrAccountStore(file, 'alice@example.org', { generateKey: () => KEY });
    await store.importLibotr({ fingerprints: LIBOTR_FINGERPRINTS });
    const tag = await store.instanceTag();
    await store.privateKey();
    await file.close();
    const onDisk = readFileSync(path, 'utf8');
    expect(onDisk).to.not.include(FP_BOB_1);
    expect(onDisk).to.not.include(KEY.x.toString(16));
    const reopened = new OtrAccountStore(await FileStore.open(path, { passphrase: 'correct horse' }), 'alice@example.org', { generateKey: () => expect.fail('key must persist') });
    expect(await reopened.instanceTag()).to.equal(tag);
    expect((await reopened.privateKey()).x).to.equal(KEY.x);
    expect((await reopened.fingerprints()).length).to.equal(3);
  });

  it('an overlay (ephemeral mode) reads the base store and never writes it', async () => {
    const base = new MemoryStore();
    const persistent = new OtrAccountStore(base, 'alice@example.org', { generateKey: () => KEY });
    await persistent.importLibotr({ fingerprints: LIBOTR_FINGERPRINTS });
    await persistent.instanceTag();
    const before = await base.keys();
    const overlay = new OverlayStore(base);
    const ephemeral = new OtrAccountStore(overlay, 'alice@example.org', { generateKey: () => KEY });
    expect(await ephemeral.trustOf('carol@example.org', hexToBytes(FP_CAROL))).to.equal('manual');
    await ephemeral.setTrust('dave@example.org', hexToBytes(FP_BOB_1), 'smp');
    await ephemeral.forgetFingerprint('carol@example.org', hexToBytes(FP_CAROL));
    await ephemeral.privateKey();
    expect(await base.keys()).to.deep.equal(before);
    expect((await ephemeral.fingerprints()).map((f) => f.peer)).to.deep.equal(['bob@example.org', 'bob@example.org', 'dave@example.org']);
    overlay.discard();
    expect((await ephemeral.fingerprints()).length).to.equal(3);
  });
});
