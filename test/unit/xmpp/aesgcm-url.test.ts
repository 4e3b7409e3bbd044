/**
 * XEP-0454 section 4 `aesgcm://` URLs: format/parse round trips, the https port mapping, the
 * legacy 16-byte IV, and hostile URLs and fragments (fast-check) that must all be typed
 * `media.bad-url` refusals, never a URL pointing somewhere else than written.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex } from '../../../lib/core/bytes.js';
import { findAesgcmUrl, formatAesgcmUrl, parseAesgcmUrl } from '../../../lib/xmpp/aesgcm-url.js';
import { MediaError } from '../../../lib/xmpp/media-errors.js';

const IV = '0123456789abcdef01234567';
const KEY = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
const FRAGMENT = IV + KEY;

function refused(text: string): string {
  try {
    parseAesgcmUrl(text);
  } catch (error) {
    expect(error, text).to.be.instanceOf(MediaError);
    return (error as MediaError).code;
  }
  throw new Error(`accepted: ${text}`);
}

describe('xmpp/aesgcm-url (XEP-0454 section 4)', () => {
  it('parses the key and IV from the fragment and maps the URL to https', () => {
    const parsed = parseAesgcmUrl(`aesgcm://upload.example.org/file_share/abc/a%20b.jpg#${FRAGMENT}`);
    expect(parsed.httpsUrl).to.equal('https://upload.example.org/file_share/abc/a%20b.jpg');
    expect(bytesToHex(parsed.mediaKey.iv)).to.equal(IV);
    expect(bytesToHex(parsed.mediaKey.key)).to.equal(KEY);
  });

  it('maps ports as https does: none and :443 are 443, others kept; upper-case hex and scheme accepted', () => {
    expect(parseAesgcmUrl(`aesgcm://h.example:443/x#${FRAGMENT}`).httpsUrl).to.equal('https://h.example/x');
    expect(parseAesgcmUrl(`aesgcm://h.example:8443/x?y=1#${FRAGMENT}`).httpsUrl).to.equal('https://h.example:8443/x?y=1');
    expect(parseAesgcmUrl(`aesgcm://127.0.0.1:5281/x#${FRAGMENT}`).httpsUrl).to.equal('https://127.0.0.1:5281/x');
    expect(parseAesgcmUrl(`aesgcm://[::1]:5281/x#${FRAGMENT}`).httpsUrl).to.equal('https://[::1]:5281/x');
    expect(parseAesgcmUrl(`AESGCM://H.Example/x#${FRAGMENT.toUpperCase()}`).httpsUrl).to.equal('https://h.example/x');
    expect(parseAesgcmUrl(`aesgcm://h.example#${FRAGMENT}`).httpsUrl).to.equal('https://h.example/');
  });

  it('accepts the legacy 16-byte IV (96 hex digits) when receiving', () => {
    const legacy = parseAesgcmUrl(`aesgcm://h.example/x#${'ab'.repeat(16)}${KEY}`);
    expect(legacy.mediaKey.iv.length).to.equal(16);
    expect(bytesToHex(legacy.mediaKey.key)).to.equal(KEY);
  });

  it('refuses hostile URLs with media.bad-url', () => {
    const hostile = [
      `https://h.example/x#${FRAGMENT}`, // not aesgcm
      'aesgcm://h.example/x', // no key
      `aesgcm://h.example/x#${FRAGMENT}00`, // wrong length
      `aesgcm://h.example/x#${FRAGMENT.slice(2)}`,
      `aesgcm://h.example/x#${FRAGMENT.slice(0, -1)}g`, // not hex
      `aesgcm://h.example/x#${FRAGMENT}#${FRAGMENT}`,
      `aesgcm://user:pw@h.example/x#${FRAGMENT}`, // userinfo
      `aesgcm://@h.example/x#${FRAGMENT}`,
      `aesgcm://good.example@evil.example/x#${FRAGMENT}`,
      `aesgcm://evil.example\\@good.example/x#${FRAGMENT}`, // backslash
      `aesgcm:///x#${FRAGMENT}`, // no host
      `aesgcm://h.example:/x#${FRAGMENT}`, // empty port
      `aesgcm://h.example:0443/x#${FRAGMENT}`, // non-canonical port
      `aesgcm://h.example:99999/x#${FRAGMENT}`,
      `aesgcm://0x7f.1/x#${FRAGMENT}`, // non-canonical IPv4
      `aesgcm://h.example/a b#${FRAGMENT}`, // space
      `aesgcm://h.example/%zz#${FRAGMENT}`, // bad escape
      `aesgcm://bücher.example/x#${FRAGMENT}`, // not ASCII
      `aesgcm://h.example/x\n#${FRAGMENT}`,
      `aesgcm://h.example/${'a'.repeat(9000)}#${FRAGMENT}`, // too long
    ];
    for (const url of hostile) expect(refused(url), url).to.equal('media.bad-url');
  });

  it('format writes exactly what parse reads back (fast-check over web URLs and keys)', () => {
    fc.assert(fc.property(fc.webUrl({ validSchemes: ['https'], withQueryParameters: true }), fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (url, iv, key) => {
      const written = formatAesgcmUrl(url, { iv, key });
      expect(written.startsWith('aesgcm://')).to.equal(true);
      expect(written.endsWith(`#${bytesToHex(iv)}${bytesToHex(key)}`)).to.equal(true);
      const parsed = parseAesgcmUrl(written);
      expect(parsed.httpsUrl).to.equal(new URL(url).href);
      expect(bytesToHex(parsed.mediaKey.iv)).to.equal(bytesToHex(iv));
      expect(bytesToHex(parsed.mediaKey.key)).to.equal(bytesToHex(key));
    }), { numRuns: 150 });
  });

  it('format refuses non-https download URLs and URLs with a fragment', () => {
    const mediaKey = { iv: new Uint8Array(12), key: new Uint8Array(32) };
    expect(() => formatAesgcmUrl('http://h.example/x', mediaKey)).to.throw(MediaError).with.property('code', 'media.insecure-url');
    expect(() => formatAesgcmUrl('https://h.example/x#frag', mediaKey)).to.throw(MediaError).with.property('code', 'media.bad-url');
    expect(() => formatAesgcmUrl('https://u@h.example/x', mediaKey)).to.throw(MediaError).with.property('code', 'media.bad-url');
    expect(() => formatAesgcmUrl('https://h.example/x', { iv: new Uint8Array(16), key: new Uint8Array(32) })).to.throw(RangeError);
  });

  it('hostile text and fragments never throw from findAesgcmUrl, and are never accepted with a bad fragment', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 120 }), (path, fragment) => {
      const text = `aesgcm://h.example/${path}#${fragment}`;
      const found = findAesgcmUrl(text);
      if (found !== undefined) {
        expect(/^[0-9a-fA-F]+$/.test(fragment) && (fragment.length === 88 || fragment.length === 96)).to.equal(true);
        expect(found.httpsUrl.startsWith('https://h.example/')).to.equal(true);
      }
      try {
        const parsed = parseAesgcmUrl(text);
        expect(new URL(parsed.httpsUrl).host).to.equal('h.example');
      } catch (error) {
        expect(error).to.be.instanceOf(MediaError);
      }
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
      const found = findAesgcmUrl(text);
      if (found !== undefined) expect(new URL(found.httpsUrl).protocol).to.equal('https:');
    }), { numRuns: 500 });
  });

  it('findAesgcmUrl: the body must be the URL alone (surrounding whitespace allowed)', () => {
    const url = `aesgcm://h.example/x#${FRAGMENT}`;
    expect(findAesgcmUrl(url)?.httpsUrl).to.equal('https://h.example/x');
    expect(findAesgcmUrl(`  ${url}\n`)?.httpsUrl).to.equal('https://h.example/x');
    expect(findAesgcmUrl(`look: ${url}`)).to.equal(undefined);
    expect(findAesgcmUrl(`${url} ${url}`)).to.equal(undefined);
    expect(findAesgcmUrl('hello')).to.equal(undefined);
    expect(findAesgcmUrl('aesgcm://h.example/x#00')).to.equal(undefined);
  });
});
