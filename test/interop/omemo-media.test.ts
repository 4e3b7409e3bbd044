/**
 * Encrypted media end to end through a real Prosody 0.12 (pep, carbons, http_file_share over
 * HTTPS with the run's certificate): XEP-0363 discovery and slots, XEP-0454 files sent as
 * OMEMO-encrypted aesgcm:// URLs (0.3 and omemo:2) and decrypted by the other account; what the
 * server stores is ciphertext; a file tampered on the server's disk fails authentication; the
 * server's size limit; HTTPS certificates not from the trusted CA, and wrong pins, refused.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOmemo, until, type OmemoClient } from './omemo-xmpp/omemo-clients.js';
import { omemoMedia, type OmemoMedia, type OmemoMediaOptions } from '../../lib/xmpp/omemo-media.js';
import { parseAesgcmUrl } from '../../lib/xmpp/aesgcm-url.js';
import { httpsGet } from '../../lib/xmpp/https-transfer.js';
import { decryptMedia } from '../../lib/core/crypto/media-encryption.js';
import { bytesToHex } from '../../lib/core/bytes.js';
import { VerificationError } from '../../lib/core/errors.js';
import { MediaError } from '../../lib/xmpp/media-errors.js';
import { TlsError } from '../../lib/xmpp/tls-errors.js';
import { OMEMO_FALLBACK_BODY } from '../../lib/xmpp/omemo-stanzas.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Files under `dir`, recursively. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('interop: encrypted media (XEP-0454 + XEP-0363) over Prosody http_file_share', function () {
  this.timeout(60_000);
  /** The service's limit, lowered from the harness's 10 MiB so the at-the-limit upload stays small. */
  const LIMIT = 2 * 1024 * 1024;
  const prosody = useProsody({ accounts: ['alice', 'bob'], modules: ['pep', 'carbons', 'http_file_share'], extraConfig: `http_file_share_size_limit = ${LIMIT}` });
  let alice: OmemoClient;
  let bob: OmemoClient;

  before(async function () {
    this.timeout(60_000);
    alice = await connectOmemo(prosody.server, prosody.server.account('alice'), 'desk');
    bob = await connectOmemo(prosody.server, prosody.server.account('bob'), 'pc');
  });

  after(async () => {
    await alice?.stop();
    await bob?.stop();
  });

  function media(client: OmemoClient, options: OmemoMediaOptions = { tls: { ca: prosody.server.caPem } }): OmemoMedia {
    return omemoMedia({ omemo: client.omemo, iqCaller: client.xmpp.iqCaller }, options);
  }

  it('discovers upload.localhost and its max-file-size through disco#items and disco#info', async () => {
    expect(await media(alice).upload.discover()).to.deep.equal({ jid: 'upload.localhost', maxFileSize: LIMIT });
  });

  for (const version of ['0.3', '2'] as const satisfies readonly OmemoVersion[]) {
    it(`alice shares a 300 KB binary file with bob (OMEMO ${version}); bob downloads and decrypts the exact bytes; the server holds only ciphertext`, async () => {
      const file = randomBytes(300 * 1024 + 7);
      const before = bob.messages.length;
      const sentBefore = alice.sent.length;
      const result = await media(alice).sendFile(bob.bare, file, { filename: 'photo.bin', contentType: 'application/octet-stream', version });
      expect(result.message.version).to.equal(version);
      expect(result.uploadedBytes).to.equal(file.length + 16);
      expect(result.url).to.match(/^aesgcm:\/\/127\.0\.0\.1:\d+\/file_share\/[^#]+\/photo\.bin#[0-9a-f]{88}$/);

      // On the wire: an OMEMO message with the fallback body, no out-of-band element, no key.
      const fragment = result.url.slice(result.url.indexOf('#') + 1);
      const wire = alice.sent.slice(sentBefore).join('\n');
      expect(wire).to.include('<encrypted');
      expect(wire).to.include(OMEMO_FALLBACK_BODY);
      expect(wire).not.to.include('jabber:x:oob');
      expect(wire).not.to.include('aesgcm');
      expect(wire).not.to.include(fragment.slice(24));

      // Bob gets the URL as the decrypted body and downloads the file.
      await until(() => bob.messages.length > before, 'bob receives the file message');
      const message = bob.messages[bob.messages.length - 1];
      expect(message?.text).to.equal(result.url);
      expect(message?.version).to.equal(version);
      const bobMedia = media(bob);
      const found = bobMedia.find(message?.text ?? '');
      expect(found?.httpsUrl).to.equal(result.getUrl);
      const received = await bobMedia.download(found ?? result.url);
      expect(Buffer.from(received).equals(file)).to.equal(true);

      // What the server stores and serves is the ciphertext with the tag, not the plaintext.
      const stored = await httpsGet(result.getUrl, 10 * 1024 * 1024, { tls: { ca: prosody.server.caPem } });
      expect(stored.length).to.equal(file.length + 16);
      expect(Buffer.from(stored).equals(file)).to.equal(false);
      expect(Buffer.from(stored).indexOf(file.subarray(1000, 1032))).to.equal(-1);
      expect(Buffer.from(decryptMedia(stored, parseAesgcmUrl(result.url).mediaKey)).equals(file)).to.equal(true);
      expect(bob.errors).to.deep.equal([]);
    });
  }

  it('a file modified on the server fails authentication (typed), with no plaintext; so does a wrong key', async () => {
    const file = randomBytes(64 * 1024);
    const before = bob.messages.length;
    const result = await media(alice).sendFile(bob.bare, file, { filename: 'doc.bin' });
    await until(() => bob.messages.length > before, 'bob receives the file message');
    const slotId = new URL(result.getUrl).pathname.split('/')[2] ?? '';
    // Prosody's datamanager percent-escapes file names (`-` is `%2d`).
    const onDisk = walk(join(prosody.server.dir, 'data')).find((p) => decodeURIComponent(basename(p)) === `${slotId}.bin`);
    expect(onDisk, 'the uploaded file in the server data dir').to.be.a('string');
    const bytes = readFileSync(onDisk as string);
    bytes[12345] = (bytes[12345] as number) ^ 0x01;
    writeFileSync(onDisk as string, bytes);
    const error = await rejection(media(bob).download(result.url));
    expect(error).to.be.instanceOf(VerificationError);
    expect((error as VerificationError).code).to.equal('media.auth-failed');

    const wrongKey = result.url.slice(0, -2) + (result.url.endsWith('00') ? '01' : '00');
    const other = await media(bob).download(parseAesgcmUrl(wrongKey)).catch((e: unknown) => e);
    expect((other as VerificationError).code).to.equal('media.auth-failed');
  });

  it('a download larger than the limit stops at the limit (media.too-large); a missing file is media.http-status 404', async () => {
    const result = await media(alice).sendFile(bob.bare, randomBytes(200 * 1024));
    const tooLarge = await rejection(media(bob, { tls: { ca: prosody.server.caPem }, maxDownloadBytes: 100 * 1024 }).download(result.url));
    expect(tooLarge).to.be.instanceOf(MediaError);
    expect((tooLarge as MediaError).code).to.equal('media.too-large');
    const missing = result.url.replace(/\/file_share\/[^/]+\//, '/file_share/nosuchslot/');
    const notFound = await rejection(media(bob).download(missing));
    expect([(notFound as MediaError).code, (notFound as MediaError).status]).to.deep.equal(['media.http-status', 404]);
  });

  it("a file over the server's limit is refused with the server's max size: by the service, and before uploading", async () => {
    const limit = LIMIT;
    const alices = media(alice);
    const refused = await rejection(alices.upload.requestSlot({ filename: 'big.bin', size: limit + 1 }));
    expect(refused).to.be.instanceOf(MediaError);
    expect([(refused as MediaError).code, (refused as MediaError).maxFileSize, (refused as MediaError).condition]).to.deep.equal(['upload.file-too-large', limit, 'not-acceptable']);
    const before = bob.messages.length;
    const local = await rejection(alices.sendFile(bob.bare, new Uint8Array(limit - 15)));
    expect([(local as MediaError).code, (local as MediaError).maxFileSize]).to.deep.equal(['upload.file-too-large', limit]);
    // Just under the limit once the 16-byte tag is added: accepted.
    await alices.sendFile(bob.bare, new Uint8Array(limit - 16));
    await until(() => bob.messages.length > before, 'the file at the limit arrives');
    expect(bob.messages.length).to.equal(before + 1);
  });

  it('HTTPS certificates not from the trusted CA, or with another key than pinned, are refused before any byte is sent', async () => {
    const pki = prosody.server.pki;
    const ok = await media(alice).sendFile(bob.bare, randomBytes(1024));
    // Trusting only another CA: the upload's certificate is not from it.
    const otherCa = media(bob, { tls: { ca: pki.otherCa.certPem } });
    const untrusted = await rejection(otherCa.download(ok.url));
    expect(untrusted).to.be.instanceOf(TlsError);
    expect((untrusted as TlsError).code).to.equal('tls.untrusted-certificate');
    // The system roots alone do not know the test CA either.
    expect(((await rejection(media(bob, {}).download(ok.url))) as TlsError).code).to.equal('tls.untrusted-certificate');
    // Pins: the served key passes, another key is refused even though the chain is valid.
    const pinned = await media(bob, { tls: { ca: prosody.server.caPem, pins: [prosody.server.servedCertificate.spkiSha256] } }).download(ok.url);
    expect(pinned.length).to.equal(1024);
    const wrongPin = await rejection(media(bob, { tls: { ca: prosody.server.caPem, pins: [pki.otherCa.spkiSha256] } }).download(ok.url));
    expect((wrongPin as TlsError).code).to.equal('tls.pin-mismatch');
    // Uploading to an untrusted server fails and nothing is sent to bob.
    const before = bob.messages.length;
    const sentBefore = alice.sent.length;
    const upload = await rejection(media(alice, { tls: { ca: pki.otherCa.certPem } }).sendFile(bob.bare, randomBytes(1024)));
    expect((upload as TlsError).code).to.equal('tls.untrusted-certificate');
    expect(alice.sent.length).to.equal(sentBefore);
    expect(bob.messages.length).to.equal(before);
  });

  it('plain http is refused: the server also serves the file over http, and it is never fetched that way', async () => {
    const ok = await media(alice).sendFile(bob.bare, randomBytes(1024));
    const httpUrl = ok.getUrl.replace(/^https:\/\/127\.0\.0\.1:\d+/, `http://127.0.0.1:${prosody.server.httpPort ?? 0}`);
    const error = await rejection(httpsGet(httpUrl, 4096, { tls: { ca: prosody.server.caPem } }));
    expect((error as MediaError).code).to.equal('media.insecure-url');
    expect(bytesToHex(parseAesgcmUrl(ok.url).mediaKey.iv)).to.have.length(24);
  });
});

describe('interop: encrypted media on a server without an upload service', function () {
  this.timeout(60_000);
  const prosody = useProsody({ accounts: ['alice', 'bob'], modules: ['pep'] });

  it('sendFile fails with upload.unavailable and sends nothing', async () => {
    const alice = await connectOmemo(prosody.server, prosody.server.account('alice'), 'desk', { enableCarbons: false });
    try {
      const media = omemoMedia({ omemo: alice.omemo, iqCaller: alice.xmpp.iqCaller }, { tls: { ca: prosody.server.caPem } });
      expect(await media.upload.discover()).to.equal(undefined);
      const sentBefore = alice.sent.length;
      const error = await rejection(media.sendFile('bob@localhost', randomBytes(100)));
      expect(error).to.be.instanceOf(MediaError);
      expect((error as MediaError).code).to.equal('upload.unavailable');
      expect(alice.sent.length).to.equal(sentBefore);
    } finally {
      await alice.stop();
    }
  });
});
