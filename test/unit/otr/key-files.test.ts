import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, hexToBytes } from '../../../lib/core/bytes.js';
import { isValidDsaPublicKey, type DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { ModExp } from '../../../lib/core/crypto/modexp.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { formatSExpressionAdvanced, isAtomNamed, parseSExpression, sexpAtom, sexpList, type SExpression } from '../../../otr/sexp.js';
import { findAccountKey, parsePrivateKeyFile, writePrivateKeyFile, type OtrAccountKey } from '../../../otr/private-key-file.js';
import {
  isTrustedFingerprint, parseFingerprintFile, writeFingerprintFile, type FingerprintEntry,
} from '../../../otr/fingerprint-file.js';
import {
  findInstanceTag, INSTANCE_TAG_FILE_HEADER, parseInstanceTagFile, writeInstanceTagFile,
} from '../../../otr/instance-tag-file.js';

const hex = (text: string): bigint => BigInt('0x' + text);

/** RFC 6979 A.2.1's DSA key: a valid key with fixed numbers. */
const P = '86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED8873ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779';
const Q = '996F967F6C8E388D9E28D01E205FBA957A5698B1';
const G = '07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD';
const Y = '5DF5E01DED31D0297E274E1691C192FE5868FEF9E19A84776454B100CF16F65392195A38B90523E2542EE61871C0440CB87C322FC4B4D2EC5E1E7EC766E1BE8D4CE935437DC11C3C8FD426338933EBFE739CB3465F4D3668C5E473508253B1E682F65CBDC4FAE93C2EA212390E54905A86E2223170B44EAA7DA5DD9FFCFB7F3B';
const X = '411602CB19A6CCC34494D79D98EF1E7ED5AF25F7';
const KEY: DsaPrivateKey = { p: hex(P), q: hex(Q), g: hex(G), y: hex(Y), x: hex(X) };

/** Exactly what libotr 4.1 writes for this key (format taken from a file libotr generated). */
const LIBOTR_FILE =
  '(privkeys\n' +
  ' (account\n' +
  '(name "alice@example.org")\n' +
  '(protocol prpl-jabber)\n' +
  '(private-key \n' +
  ' (dsa \n' +
  `  (p #00${P}#)\n` +
  `  (q #00${Q}#)\n` +
  `  (g #${G}#)\n` +
  `  (y #${Y}#)\n` +
  `  (x #${X}#)\n` +
  '  )\n' +
  ' )\n' +
  ' )\n' +
  ')\n';

function expectMalformed(fn: () => unknown, code?: string): MalformedMessageError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    if (code) expect((error as MalformedMessageError).code).to.equal(code);
    return error as MalformedMessageError;
  }
  expect.fail('expected a MalformedMessageError');
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const atomText = (expr: SExpression | undefined): string => {
  if (expr?.kind !== 'atom') throw new Error('not an atom');
  return text(expr.bytes);
};

describe('otr key files', () => {
  describe('sexp', () => {
    it('parses tokens, quoted strings with escapes, #hex# with whitespace, verbatim values and nesting', () => {
      const expr = parseSExpression(' (a "b c\\n\\"\\\\\\x41\\101\\\nd" #00 ff\n0A# 3:x y (nested (deeper)) "") \n');
      expect(expr.kind).to.equal('list');
      if (expr.kind !== 'list') return;
      expect(expr.items).to.have.length(6);
      expect(atomText(expr.items[0])).to.equal('a');
      expect(atomText(expr.items[1])).to.equal('b c\n"\\AAd');
      expect(expr.items[2]).to.deep.equal({ kind: 'atom', bytes: hexToBytes('00ff0a') });
      expect(atomText(expr.items[3])).to.equal('x y');
      expect(expr.items[4]).to.deep.equal(sexpList(sexpAtom('nested'), sexpList(sexpAtom('deeper'))));
      expect(atomText(expr.items[5])).to.equal('');
      expect(isAtomNamed(expr.items[0], 'a')).to.equal(true);
      expect(isAtomNamed(expr.items[0], 'b')).to.equal(false);
      expect(isAtomNamed(expr.items[4], 'nested')).to.equal(false);
    });

    it('rejects bad syntax with MalformedMessageError', () => {
      const bad = ['', '   ', '(', ')', '(a', '(a))', '(a) b', '(#abc#)', '(#zz#)', '(#ab', '("abc)', '("\\q")', '("\\x4")',
        '(1abc)', '(5:abc)', '(|YWJj|)', '([hint]x)', '(a\u0000)', '("\\777")', '(99999999999999999999:x)'];
      for (const input of bad) expectMalformed(() => parseSExpression(input));
    });

    it('enforces the size, depth and node limits', () => {
      expectMalformed(() => parseSExpression('('.repeat(17) + ')'.repeat(17)), 'sexp.too-deep');
      expect(() => parseSExpression('('.repeat(16) + ')'.repeat(16))).to.not.throw();
      expectMalformed(() => parseSExpression('(' + 'a '.repeat(100) + ')', { maxNodes: 50 }), 'sexp.too-large');
      expectMalformed(() => parseSExpression('(abc)', { maxBytes: 4 }), 'sexp.too-large');
      expectMalformed(() => parseSExpression(new TextEncoder().encode('(abc)'), { maxBytes: 4 }), 'sexp.too-large');
      // Deep nesting far beyond the limit fails fast with a typed error, not a stack overflow.
      expectMalformed(() => parseSExpression('('.repeat(100_000)), 'sexp.too-deep');
    });

    it('writes libgcrypt\'s advanced format and reads it back', () => {
      const expr = sexpList(sexpAtom('private-key'), sexpList(sexpAtom('dsa'), sexpList(sexpAtom('p'), sexpAtom(hexToBytes('00ff'))),
        sexpList(sexpAtom('n'), sexpAtom('a b"')), sexpList(sexpAtom('t'), sexpAtom('1x'))));
      const written = formatSExpressionAdvanced(expr);
      expect(text(written)).to.equal('(private-key \n (dsa \n  (p #00FF#)\n  (n "a b\\"")\n  (t "1x")\n  )\n )\n');
      expect(parseSExpression(written)).to.deep.equal(expr);
      expect(() => formatSExpressionAdvanced(sexpAtom('x'))).to.throw(TypeError);
    });

    it('property: any tree survives write -> parse; random text gives a tree or a typed error', () => {
      const tree: fc.Arbitrary<SExpression> = fc.letrec<{ node: SExpression }>((tie) => ({
        node: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          fc.uint8Array({ maxLength: 12 }).map((bytes) => sexpAtom(bytes)),
          fc.array(tie('node'), { maxLength: 4 }).map((items) => sexpList(...items)),
        ),
      })).node;
      fc.assert(fc.property(tree, (expr) => {
        if (expr.kind !== 'list') return;
        expect(parseSExpression(formatSExpressionAdvanced(expr))).to.deep.equal(expr);
      }), { numRuns: 300 });
      fc.assert(fc.property(fc.string({ maxLength: 40, unit: fc.constantFrom(...'()#"\\ ab01:|\n'.split('')) }), (input) => {
        try {
          parseSExpression(input);
        } catch (error) {
          expect(error).to.be.instanceOf(MalformedMessageError);
        }
      }), { numRuns: 2000 });
    });
  });

  describe('otr.private_key', () => {
    it('writes byte for byte what libotr writes, and reads it back', () => {
      const accounts: OtrAccountKey[] = [{ accountName: 'alice@example.org', protocol: 'prpl-jabber', privateKey: KEY }];
      expect(text(writePrivateKeyFile(accounts))).to.equal(LIBOTR_FILE);
      expect(parsePrivateKeyFile(LIBOTR_FILE)).to.deep.equal(accounts);
      expect(parsePrivateKeyFile(new TextEncoder().encode(LIBOTR_FILE))).to.deep.equal(accounts);
    });

    it('handles several accounts, UTF-8 names and an empty file', () => {
      const accounts: OtrAccountKey[] = [
        { accountName: 'alice@example.org', protocol: 'prpl-jabber', privateKey: KEY },
        { accountName: 'ünï "q" \\', protocol: 'xmpp', privateKey: KEY },
      ];
      const written = writePrivateKeyFile(accounts);
      expect(text(written)).to.contain('(name #C3BC'); // a UTF-8 first byte >= 0x80: libgcrypt renders hex
      const parsed = parsePrivateKeyFile(written);
      expect(parsed).to.deep.equal(accounts);
      expect(findAccountKey(parsed, 'ünï "q" \\', 'xmpp')?.privateKey).to.deep.equal(KEY);
      expect(findAccountKey(parsed, 'ünï "q" \\', 'prpl-jabber')).to.equal(undefined);
      expect(text(writePrivateKeyFile([]))).to.equal('(privkeys\n)\n');
      expect(parsePrivateKeyFile('(privkeys)')).to.deep.equal([]);
      // Other layouts of the same expression (canonical form, fields in another order) read the same.
      expect(parsePrivateKeyFile(`(8:privkeys(7:account(8:protocol11:prpl-jabber)(4:name17:alice@example.org)(11:private-key(3:dsa` +
        `(1:x#${X}#)(1:p#${P}#)(1:q#${Q}#)(1:g#${G}#)(1:y#${Y}#)))))`)).to.deep.equal(accounts.slice(0, 1));
    });

    it('rejects wrong structure and bad keys with typed errors', () => {
      const cases: [string, string][] = [
        ['(keys)', 'otr.keyfile.malformed'],
        ['(privkeys (acount))', 'otr.keyfile.malformed'],
        ['(privkeys x)', 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace('(protocol prpl-jabber)\n', ''), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace('(protocol prpl-jabber)', '(protocol prpl-jabber)(protocol x)'), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace('(protocol prpl-jabber)', '(protocol a b)'), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace('(protocol prpl-jabber)', '(protocol (a))'), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace('(protocol prpl-jabber)', '(protocol #FF#)'), 'otr.keyfile.malformed'], // not UTF-8
        [LIBOTR_FILE.replace('(protocol prpl-jabber)', '(protocol x)(comment y)'), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace(' (dsa', ' (rsa'), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace(`  (x #${X}#)\n`, ''), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace(`(x #${X}#)`, '(x ##)'), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace(`(x #${X}#)`, `(x #${'11'.repeat(400)}#)`), 'otr.keyfile.malformed'],
        [LIBOTR_FILE.replace(`(x #${X}#)`, `(x #${Q}#)`), 'otr.keyfile.bad-key'], // x = q
        [LIBOTR_FILE.replace(`(x #${X}#)`, '(x #01#)'), 'otr.keyfile.bad-key'], // y != g^x
        [LIBOTR_FILE.replace(`(g #${G}#)`, '(g #01#)'), 'otr.keyfile.bad-key'],
        [LIBOTR_FILE.replace('(privkeys', '(privkeys('), 'sexp.syntax'],
      ];
      for (const [input, code] of cases) expectMalformed(() => parsePrivateKeyFile(input), code);
    });

    it('refuses to write invalid keys or names with NUL (caller bugs)', () => {
      expect(() => writePrivateKeyFile([{ accountName: 'a', protocol: 'p', privateKey: { ...KEY, x: 0n } }])).to.throw(RangeError);
      expect(() => writePrivateKeyFile([{ accountName: 'a', protocol: 'p', privateKey: { ...KEY, g: 1n } }])).to.throw(RangeError);
      expect(() => writePrivateKeyFile([{ accountName: 'a\0b', protocol: 'p', privateKey: KEY }])).to.throw(RangeError);
    });

    it('property: random mutations of a key file give a typed error or a valid key, never a crash', () => {
      const file = new TextEncoder().encode(LIBOTR_FILE);
      const engine = new ModExp();
      fc.assert(fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.option(fc.nat(), { nil: undefined }),
        (edits, cut) => {
          let bytes = Uint8Array.from(file);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          if (cut !== undefined) bytes = bytes.subarray(0, cut % (bytes.length + 1));
          try {
            for (const account of parsePrivateKeyFile(bytes, engine)) {
              expect(isValidDsaPublicKey(account.privateKey)).to.equal(true);
              expect(engine.modPow(account.privateKey.g, account.privateKey.x, account.privateKey.p)).to.equal(account.privateKey.y);
            }
          } catch (error) {
            expect(error).to.be.instanceOf(MalformedMessageError);
          }
        },
      ), { numRuns: 1500 });
    });
  });

  describe('otr.fingerprints', () => {
    const entries: FingerprintEntry[] = [
      { username: 'bob@example.org', accountName: 'alice@example.org', protocol: 'prpl-jabber', fingerprint: hexToBytes('0123456789abcdef0123456789abcdef01234567'), trust: 'verified' },
      { username: 'carol@example.org', accountName: 'alice@example.org', protocol: 'prpl-jabber', fingerprint: hexToBytes('ffffffffffffffffffffffffffffffffffffffff'), trust: '' },
    ];
    const file =
      'bob@example.org\talice@example.org\tprpl-jabber\t0123456789abcdef0123456789abcdef01234567\tverified\n' +
      'carol@example.org\talice@example.org\tprpl-jabber\tffffffffffffffffffffffffffffffffffffffff\t\n';

    it('writes libotr\'s format and reads it back; trust is "" or a word', () => {
      expect(writeFingerprintFile(entries)).to.equal(file);
      expect(parseFingerprintFile(file)).to.deep.equal(entries);
      expect(entries.map(isTrustedFingerprint)).to.deep.equal([true, false]);
      expect(writeFingerprintFile([])).to.equal('');
      expect(parseFingerprintFile('')).to.deep.equal([]);
    });

    it('accepts what libotr accepts: upper-case hex, CRLF, no trust field, tabs in trust, blank lines, no final LF', () => {
      const parsed = parseFingerprintFile(
        'a\tb\tc\tABCDEF0123456789ABCDEF0123456789ABCDEF01\r\n\nd\te\tf\t0000000000000000000000000000000000000000\tx\ty\ng\th\ti\t1111111111111111111111111111111111111111');
      expect(parsed.map((e) => [e.username, bytesToHex(e.fingerprint), e.trust])).to.deep.equal([
        ['a', 'abcdef0123456789abcdef0123456789abcdef01', ''],
        ['d', '0000000000000000000000000000000000000000', 'x\ty'],
        ['g', '1111111111111111111111111111111111111111', ''],
      ]);
    });

    it('rejects malformed lines with the line number; refuses to write unreadable entries', () => {
      expect(expectMalformed(() => parseFingerprintFile(file + 'x\ty\tz\n'), 'otr.fingerprints.malformed').message).to.contain('line 3');
      expectMalformed(() => parseFingerprintFile('a\tb\tc\t0123\n'), 'otr.fingerprints.malformed');
      expectMalformed(() => parseFingerprintFile('a\tb\tc\t' + 'g'.repeat(40) + '\n'), 'otr.fingerprints.malformed');
      expectMalformed(() => parseFingerprintFile(Uint8Array.of(0xff, 0x09)), 'otr.fingerprints.malformed');
      expectMalformed(() => parseFingerprintFile('a\rb\tb\tc\t' + '0'.repeat(40) + '\n'), 'otr.fingerprints.malformed');
      expectMalformed(() => parseFingerprintFile('a\0\tb\tc\t' + '0'.repeat(40) + '\n'), 'otr.fingerprints.malformed');
      expectMalformed(() => parseFingerprintFile('\tb\tc\t' + '0'.repeat(40) + '\tverified\n'), 'otr.fingerprints.malformed');
      const base = entries[0] as FingerprintEntry;
      for (const bad of [{ ...base, username: 'a\tb' }, { ...base, accountName: '' }, { ...base, protocol: 'x\ny' },
        { ...base, trust: 'a\nb' }, { ...base, fingerprint: new Uint8Array(19) }, { ...base, username: 'x'.repeat(1000) }]) {
        expect(() => writeFingerprintFile([bad])).to.throw(RangeError);
      }
    });

    it('property: mutated stores give entries that re-write and re-read identically, or a typed error', () => {
      fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.constantFrom(9, 10, 13, 0x30, 0x61, 0x67, 0xff, 0x00)), { minLength: 1, maxLength: 3 }), (edits) => {
        const bytes = new TextEncoder().encode(file);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        try {
          const parsed = parseFingerprintFile(bytes);
          for (const entry of parsed) expect(entry.fingerprint.length).to.equal(20);
          expect(parseFingerprintFile(writeFingerprintFile(parsed))).to.deep.equal(parsed);
        } catch (error) {
          expect(error).to.be.instanceOf(MalformedMessageError);
        }
      }), { numRuns: 1000 });
    });
  });

  describe('otr.instance_tags', () => {
    const file = INSTANCE_TAG_FILE_HEADER + 'alice@example.org\tprpl-jabber\t0000abcd\nbob@x\txmpp\tffffffff\n';
    const entries = [
      { accountName: 'alice@example.org', protocol: 'prpl-jabber', instanceTag: 0xabcd },
      { accountName: 'bob@x', protocol: 'xmpp', instanceTag: 0xffffffff },
    ];

    it('writes libotr\'s format (header, 8 lower-case hex digits) and reads it back', () => {
      expect(writeInstanceTagFile(entries)).to.equal(file);
      expect(parseInstanceTagFile(file)).to.deep.equal(entries);
      expect(parseInstanceTagFile(file.toUpperCase().replace(INSTANCE_TAG_FILE_HEADER.toUpperCase(), '')))
        .to.deep.equal(entries.map((e) => ({ ...e, accountName: e.accountName.toUpperCase(), protocol: e.protocol.toUpperCase() })));
      expect(findInstanceTag(entries, 'bob@x', 'xmpp')).to.equal(0xffffffff);
      expect(findInstanceTag(entries, 'bob@x', 'prpl-jabber')).to.equal(undefined);
    });

    it('rejects tags below 0x100, bad hex and bad lines; refuses to write bad tags', () => {
      expectMalformed(() => parseInstanceTagFile('a\tb\t000000ff\n'), 'otr.instance-tags.malformed');
      expectMalformed(() => parseInstanceTagFile('a\tb\t00000100x\n'), 'otr.instance-tags.malformed');
      expectMalformed(() => parseInstanceTagFile('a\tb\t123\n'), 'otr.instance-tags.malformed');
      expectMalformed(() => parseInstanceTagFile('a\tb\t+0000100\n'), 'otr.instance-tags.malformed');
      expectMalformed(() => parseInstanceTagFile('a\tb\tc\t00000100\n'), 'otr.instance-tags.malformed');
      expectMalformed(() => parseInstanceTagFile('no tabs here\n'), 'otr.instance-tags.malformed');
      expectMalformed(() => parseInstanceTagFile('a\rx\tb\t00000100\n'), 'otr.instance-tags.malformed');
      expect(parseInstanceTagFile('# comment\na\tb\t00000100\n')).to.deep.equal([{ accountName: 'a', protocol: 'b', instanceTag: 0x100 }]);
      for (const instanceTag of [0, 0xff, 2 ** 32, 1.5, -1]) {
        expect(() => writeInstanceTagFile([{ accountName: 'a', protocol: 'b', instanceTag }])).to.throw(RangeError);
      }
      expect(() => writeInstanceTagFile([{ accountName: 'a\tb', protocol: 'b', instanceTag: 0x100 }])).to.throw(RangeError);
    });

    it('property: mutated stores give valid tags or a typed error', () => {
      fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (edits) => {
        const bytes = new TextEncoder().encode(file);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        try {
          const parsed = parseInstanceTagFile(bytes);
          for (const entry of parsed) expect(entry.instanceTag >= 0x100 && entry.instanceTag <= 0xffffffff).to.equal(true);
          expect(parseInstanceTagFile(writeInstanceTagFile(parsed))).to.deep.equal(parsed);
        } catch (error) {
          expect(error).to.be.instanceOf(MalformedMessageError);
        }
      }), { numRuns: 1000 });
    });
  });
});
