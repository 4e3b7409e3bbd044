/**
 * Long-term keys against REAL libotr 4.1.1 (libotr5-dev), through test/interop/libotr-keytool:
 * key files both ways, fingerprints, DSA signatures both ways (including the mod-q rule for
 * 32-byte digests), the fingerprint and instance tag stores both ways, and libgcrypt's
 * S-expression rendering byte for byte.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bigIntToBytes, bytesToBigInt, bytesToHex, hexToBytes } from '../../lib/core/bytes.js';
import { dsaSign, dsaVerify, generateDsaKey, type DsaPrivateKey } from '../../lib/core/crypto/dsa.js';
import { deterministicRandom } from '../../lib/core/crypto/deterministic-random.js';
import { decodeOtrSignature, encodeOtrPublicKey, encodeOtrSignature, formatFingerprint, otrFingerprint } from '../../otr/public-key.js';
import { findAccountKey, parsePrivateKeyFile, writePrivateKeyFile, type OtrAccountKey } from '../../otr/private-key-file.js';
import { parseFingerprintFile, writeFingerprintFile, type FingerprintEntry } from '../../otr/fingerprint-file.js';
import { INSTANCE_TAG_FILE_HEADER, parseInstanceTagFile, writeInstanceTagFile } from '../../otr/instance-tag-file.js';
import { formatSExpressionAdvanced, sexpAtom, sexpList } from '../../otr/sexp.js';
import { LIBOTR_PEER, probeLibotr, requirePeer } from './peer-availability.js';
import { buildKeytool, keytool, keytoolBytes, rows } from './libotr-keytool/keytool.js';

/** Account names that exercise every rendering libgcrypt picks: quoted, token, hex (UTF-8 first byte). */
const ALICE = { account: 'alice@example.org', protocol: 'prpl-jabber' };
const UNICODE = { account: 'ünïcødé@example.org/Home', protocol: 'xmpp' };

describe('interop: libotr 4.1.1 keys, signatures and files', function () {
  let dir: string;
  let libotrKeyFile: string;
  let libotrAccounts: OtrAccountKey[];
  let alice: DsaPrivateKey;

  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    buildKeytool();
    dir = mkdtempSync(join(tmpdir(), 'libotr-keys-'));
    libotrKeyFile = join(dir, 'libotr.private_key');
    // One libotr key generation per account, shared by the whole file.
    keytool('generate', libotrKeyFile, ALICE.account, ALICE.protocol);
    keytool('generate', libotrKeyFile, UNICODE.account, UNICODE.protocol);
    libotrAccounts = parsePrivateKeyFile(readFileSync(libotrKeyFile));
    const found = findAccountKey(libotrAccounts, ALICE.account, ALICE.protocol);
    if (!found) throw new Error('alice missing from the libotr key file');
    alice = found.privateKey;
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('private key files and fingerprints', () => {
    it('we read a key file libotr generated, with libotr\'s fingerprints and public key bytes', () => {
      const listed = rows(keytool('list', libotrKeyFile));
      expect(listed).to.have.length(2);
      expect(libotrAccounts).to.have.length(2);
      for (const [account, protocol, rawHex, human, pubkeyHex] of listed) {
        const ours = findAccountKey(libotrAccounts, account as string, protocol as string);
        expect(ours, `${account}/${protocol}`).to.not.equal(undefined);
        const key = (ours as OtrAccountKey).privateKey;
        expect(bytesToHex(otrFingerprint(key))).to.equal(rawHex);
        expect(formatFingerprint(otrFingerprint(key))).to.equal(human);
        // libotr's pubkey_data is the encoding WITHOUT the 2-byte type, and that is what it hashes.
        expect(bytesToHex(encodeOtrPublicKey(key).subarray(2))).to.equal(pubkeyHex);
        expect(bytesToHex(encodeOtrPublicKey(key).subarray(0, 2))).to.equal('0000');
      }
      expect(libotrAccounts.map((a) => a.accountName).sort()).to.deep.equal([ALICE.account, UNICODE.account].sort());
    });

    it('writing the accounts back reproduces libotr\'s file byte for byte (including a hex-rendered UTF-8 name)', () => {
      const original = readFileSync(libotrKeyFile);
      expect(original.toString('latin1')).to.match(/\(name #C3/); // libgcrypt renders "ü..." as hex
      expect(Buffer.from(writePrivateKeyFile(libotrAccounts)).equals(original)).to.equal(true);
    });

    it('libotr reads a key file we wrote, with our fingerprints, names and protocols', () => {
      const names: [string, string][] = [
        ['bob@example.org', 'prpl-jabber'],
        ['"quoted" \\ name\'s', 'xmpp'],
        ['1starts-with-digit', 'x.y/z_1:2*3+4=5'],
        ['tab-free but spaces', 'prpl-irc'],
        ['ÿ high', 'prpl-jabber'],
      ];
      const accounts: OtrAccountKey[] = names.map(([accountName, protocol], i) => ({
        accountName, protocol, privateKey: i === 0 ? generateDsaKey() : (libotrAccounts[i % 2] as OtrAccountKey).privateKey,
      }));
      const file = join(dir, 'ours.private_key');
      writeFileSync(file, writePrivateKeyFile(accounts));
      const listed = rows(keytool('list', file));
      expect(listed).to.have.length(accounts.length);
      for (const account of accounts) {
        const line = listed.find(([a, p]) => a === account.accountName && p === account.protocol);
        expect(line, account.accountName).to.not.equal(undefined);
        expect((line as string[])[2]).to.equal(bytesToHex(otrFingerprint(account.privateKey)));
      }
      // And libotr signs with the key it read from our file; we verify with ours.
      const digest = deterministicRandom('our-file-sign')(32);
      const signature = keytool('sign', file, 'bob@example.org', 'prpl-jabber', bytesToHex(digest)).trim();
      const bob = accounts[0] as OtrAccountKey;
      expect(dsaVerify(bob.privateKey, digest, decodeOtrSignature(hexToBytes(signature), bob.privateKey.q))).to.equal(true);
    });

    it('a key file libotr appends to after reading ours keeps our accounts intact', () => {
      const file = join(dir, 'append.private_key');
      writeFileSync(file, writePrivateKeyFile(libotrAccounts.slice(0, 1)));
      keytool('generate', file, 'carol@example.org', 'prpl-jabber');
      const accounts = parsePrivateKeyFile(readFileSync(file));
      expect(accounts).to.have.length(2);
      const kept = findAccountKey(accounts, (libotrAccounts[0] as OtrAccountKey).accountName, (libotrAccounts[0] as OtrAccountKey).protocol);
      expect(kept?.privateKey).to.deep.equal((libotrAccounts[0] as OtrAccountKey).privateKey);
    });
  });

  describe('DSA signatures over 32-byte digests (the OTR mod-q rule)', () => {
    const random = deterministicRandom('libotr-dsa-interop');
    const digests = (): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (let i = 0; i < 6; i++) out.push(random(32)); // all >= 2^160 > q, so mod q matters
      out.push(bigIntToBytes(alice.q, 32)); // h = 0 mod q
      out.push(bigIntToBytes(alice.q + 5n, 32)); // just above q
      out.push(bigIntToBytes(alice.q - 1n, 32)); // below q, leading zeros
      out.push(new Uint8Array(32).fill(0xff)); // largest
      return out;
    };

    it('libotr verifies our signatures, and rejects them for another digest', () => {
      const pub = bytesToHex(encodeOtrPublicKey(alice));
      for (const digest of digests()) {
        const signature = bytesToHex(encodeOtrSignature(dsaSign(alice, digest, random), alice.q));
        expect(keytool('verify', pub, signature, bytesToHex(digest)).trim(), bytesToHex(digest)).to.equal('valid');
        const other = Uint8Array.from(digest);
        other[31] = (other[31] as number) ^ 1;
        expect(keytool('verify', pub, signature, bytesToHex(other)).trim()).to.equal('invalid');
      }
    });

    it('we verify libotr\'s signatures, and reject them tampered or for another digest', () => {
      for (const digest of digests()) {
        const signatureHex = keytool('sign', libotrKeyFile, ALICE.account, ALICE.protocol, bytesToHex(digest)).trim();
        const signatureBytes = hexToBytes(signatureHex);
        expect(signatureBytes.length).to.equal(40);
        const signature = decodeOtrSignature(signatureBytes, alice.q);
        expect(dsaVerify(alice, digest, signature), bytesToHex(digest)).to.equal(true);
        const other = Uint8Array.from(digest);
        other[0] = (other[0] as number) ^ 0x80;
        // Flipping the top bit changes the value by 2^255, which is not a multiple of q.
        expect(dsaVerify(alice, other, signature)).to.equal(false);
        expect(dsaVerify(alice, digest, { r: signature.r, s: (signature.s + 1n) % alice.q })).to.equal(false);
      }
    });

    it('libotr takes the digest mod q, not its leftmost 160 bits (FIPS truncation)', () => {
      const pub = bytesToHex(encodeOtrPublicKey(alice));
      const digest = random(32);
      const h = bytesToBigInt(digest);
      // Signing the reduced value (20 bytes) verifies for the full digest at libotr...
      const reduced = encodeOtrSignature(dsaSign(alice, bigIntToBytes(h % alice.q, 20), random), alice.q);
      expect(keytool('verify', pub, bytesToHex(reduced), bytesToHex(digest)).trim()).to.equal('valid');
      // ...while signing the FIPS-truncated value does not.
      const truncated = encodeOtrSignature(dsaSign(alice, digest.subarray(0, 20), random), alice.q);
      expect(keytool('verify', pub, bytesToHex(truncated), bytesToHex(digest)).trim()).to.equal('invalid');
    });
  });

  describe('fingerprint store (otr.fingerprints)', () => {
    const entries: FingerprintEntry[] = [
      { username: 'bob@example.org', accountName: 'alice@example.org', protocol: 'prpl-jabber', fingerprint: hexToBytes('0123456789abcdef0123456789abcdef01234567'), trust: 'verified' },
      { username: 'bob@example.org', accountName: 'alice@example.org', protocol: 'prpl-jabber', fingerprint: hexToBytes('89abcdef0123456789abcdef0123456789abcdef'), trust: '' },
      { username: 'carol@example.org', accountName: 'alice@example.org', protocol: 'prpl-jabber', fingerprint: hexToBytes('ffffffffffffffffffffffffffffffffffffffff'), trust: 'smp' },
      { username: 'dävid@example.org', accountName: 'ünïcødé@example.org/Home', protocol: 'xmpp', fingerprint: hexToBytes('00000000000000000000000000000000000000ff'), trust: 'custom level' },
    ];
    const asLines = (list: readonly FingerprintEntry[]): string[] =>
      list.map((e) => [e.username, e.accountName, e.protocol, bytesToHex(e.fingerprint), e.trust].join('\t')).sort();

    it('libotr reads the store we write, entry for entry', () => {
      const file = join(dir, 'ours.fingerprints');
      writeFileSync(file, writeFingerprintFile(entries));
      expect(rows(keytool('fingerprints-list', file)).map((r) => [...r, ...(r.length === 4 ? [''] : [])].join('\t')).sort())
        .to.deep.equal(asLines(entries));
    });

    it('we read the store libotr writes, and its bytes are what we write for the same entries', () => {
      const input = join(dir, 'in.fingerprints');
      const output = join(dir, 'libotr.fingerprints');
      writeFileSync(input, writeFingerprintFile(entries));
      keytool('fingerprints-copy', input, output);
      const written = readFileSync(output, 'utf8');
      const parsed = parseFingerprintFile(readFileSync(output));
      expect(asLines(parsed)).to.deep.equal(asLines(entries));
      // Same bytes as ours for libotr's own order of the entries.
      expect(writeFingerprintFile(parsed)).to.equal(written);
    });
  });

  describe('instance tag store (otr.instance_tags)', () => {
    it('we read the tags libotr generates, and libotr rewrites them byte-identically to what we write', () => {
      const file = join(dir, 'libotr.instance_tags');
      const aliceTag = Number.parseInt(keytool('instag-generate', file, ALICE.account, ALICE.protocol).trim(), 16);
      const unicodeTag = Number.parseInt(keytool('instag-generate', file, UNICODE.account, UNICODE.protocol).trim(), 16);
      const content = readFileSync(file, 'utf8');
      expect(content.startsWith(INSTANCE_TAG_FILE_HEADER)).to.equal(true);
      const parsed = parseInstanceTagFile(content);
      expect(parsed.map((e) => [e.accountName, e.protocol, e.instanceTag]).sort()).to.deep.equal([
        [ALICE.account, ALICE.protocol, aliceTag], [UNICODE.account, UNICODE.protocol, unicodeTag],
      ].sort());
      expect(writeInstanceTagFile(parsed)).to.equal(content);
    });

    it('libotr reads the tags we write, and writes them back as we do', () => {
      const entries = [
        { accountName: 'alice@example.org', protocol: 'prpl-jabber', instanceTag: 0x100 },
        { accountName: 'bob@example.org/res', protocol: 'xmpp', instanceTag: 0xffffffff },
        { accountName: '#hash@example.org', protocol: 'xmpp', instanceTag: 0x0abcdef0 },
      ];
      const file = join(dir, 'ours.instance_tags');
      const copy = join(dir, 'copy.instance_tags');
      writeFileSync(file, writeInstanceTagFile(entries));
      const listed = rows(keytool('instags-list', file)).map(([a, p, t]) => [a, p, Number.parseInt(t as string, 16)]);
      expect(listed.sort()).to.deep.equal(entries.map((e) => [e.accountName, e.protocol, e.instanceTag]).sort());
      keytool('instags-copy', file, copy);
      const rewritten = readFileSync(copy, 'utf8');
      expect(writeInstanceTagFile(parseInstanceTagFile(rewritten))).to.equal(rewritten);
      expect(parseInstanceTagFile(rewritten)).to.have.deep.members(entries);
    });
  });

  describe('libgcrypt S-expression rendering', () => {
    it('matches gcry_sexp_sprint(ADVANCED) byte for byte for tokens, strings, hex and edge bytes', () => {
      const random = deterministicRandom('sexp-render');
      const samples: Uint8Array[] = [
        new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0x41), Uint8Array.of(0x31), Uint8Array.of(0x7f), Uint8Array.of(0xa0),
        Uint8Array.of(0xa1), Uint8Array.of(0x80), Uint8Array.of(0x20), new TextEncoder().encode('prpl-jabber'),
        new TextEncoder().encode('a"b\'c\\d\n\t\r\f\v\b'), new TextEncoder().encode('x ü'), new TextEncoder().encode('-./_:*+='),
      ];
      // Random strings over an alphabet rich in the characters that decide the rendering.
      const alphabet = Uint8Array.from([0x01, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1f, 0x20, 0x22, 0x23, 0x27, 0x28, 0x29, 0x2d, 0x30,
        0x39, 0x3a, 0x41, 0x5c, 0x61, 0x7a, 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xa1, 0xc3, 0xff]);
      for (let i = 0; i < 60; i++) {
        const length = 1 + ((random(1)[0] as number) % 6);
        samples.push(Uint8Array.from(random(length), (b) => alphabet[b % alphabet.length] as number));
      }
      for (const bytes of samples) {
        const ours = formatSExpressionAdvanced(sexpList(sexpAtom('v'), sexpAtom(bytes)));
        const theirs = keytoolBytes('sexp-print', bytesToHex(bytes));
        expect(bytesToHex(ours), bytesToHex(bytes)).to.equal(bytesToHex(theirs));
      }
    });
  });
});
