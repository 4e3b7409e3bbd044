/**
 * XEP-0363 stanza handling without a server: the disco#info form (max-file-size), the slot
 * (https only, only Authorization/Cookie/Expires forwarded, newlines stripped), and slot
 * refusals mapped from real StanzaErrors (@xmpp/middleware's, as @xmpp/iq raises them) to typed
 * MediaErrors. The end-to-end upload is in test/interop/omemo-media.test.ts (Prosody).
 */
import { expect } from 'chai';
import StanzaError from '@xmpp/middleware/lib/StanzaError.js';
import { parseStanza } from './loopback.js';
import { readSlot, readUploadService, slotRefusal, slotRequest, HttpUpload, NS_HTTP_UPLOAD } from '../../../lib/xmpp/http-upload.js';
import { MediaError } from '../../../lib/xmpp/media-errors.js';

const info = (form: string): ReturnType<typeof parseStanza> => parseStanza(
  `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='store' type='file'/><feature var='${NS_HTTP_UPLOAD}'/>${form}</query>`,
);

function refusal(errorXml: string): MediaError {
  const error = StanzaError.fromElement(parseStanza(errorXml));
  return slotRefusal(error);
}

describe('xmpp/http-upload stanzas (XEP-0363)', () => {
  it('reads max-file-size from the form whose FORM_TYPE is the namespace only', () => {
    const form = (type: string, size: string): string => `<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>${type}</value></field><field var='max-file-size'><value>${size}</value></field></x>`;
    expect(readUploadService('upload.example', info(form(NS_HTTP_UPLOAD, '10485760')))).to.deep.equal({ jid: 'upload.example', maxFileSize: 10485760 });
    expect(readUploadService('upload.example', info(form('urn:other', '5')))?.maxFileSize).to.equal(undefined);
    expect(readUploadService('upload.example', info(form(NS_HTTP_UPLOAD, '-5')))?.maxFileSize).to.equal(undefined);
    expect(readUploadService('upload.example', info(form(NS_HTTP_UPLOAD, '1e9')))?.maxFileSize).to.equal(undefined);
    expect(readUploadService('upload.example', info(''))).to.deep.equal({ jid: 'upload.example', maxFileSize: undefined });
    expect(readUploadService('x', parseStanza("<query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:http:upload'/></query>"))).to.equal(undefined);
  });

  it('builds the slot request of section 4', () => {
    expect(slotRequest({ filename: 'a b.bin', size: 42, contentType: 'image/png' }).toString())
      .to.equal(`<request xmlns="${NS_HTTP_UPLOAD}" filename="a b.bin" size="42" content-type="image/png"/>`);
  });

  it('keeps only Authorization, Cookie and Expires, newlines stripped; both URLs must be https', () => {
    const slot = readSlot(parseStanza(`<slot xmlns='${NS_HTTP_UPLOAD}'><put url='https://u.example/p'>
      <header name='Authorization'>Bearer a&#13;&#10;b</header><header name='cookie'>c=1</header><header name='Expires'>Tue</header>
      <header name='Host'>evil.example</header><header name='X-Injected'>1</header></put><get url='https://u.example/g'/></slot>`));
    expect(slot).to.deep.equal({ putUrl: 'https://u.example/p', getUrl: 'https://u.example/g', headers: { Authorization: 'Bearer ab', Cookie: 'c=1', Expires: 'Tue' } });
    const code = (xmlText: string): string => {
      try {
        readSlot(parseStanza(xmlText));
      } catch (error) {
        expect(error).to.be.instanceOf(MediaError);
        return (error as MediaError).code;
      }
      return 'accepted';
    };
    expect(code(`<slot xmlns='${NS_HTTP_UPLOAD}'><put url='http://u.example/p'/><get url='https://u.example/g'/></slot>`)).to.equal('media.insecure-url');
    expect(code(`<slot xmlns='${NS_HTTP_UPLOAD}'><put url='https://u.example/p'/><get url='http://u.example/g'/></slot>`)).to.equal('media.insecure-url');
    expect(code(`<slot xmlns='${NS_HTTP_UPLOAD}'><put url='ftp://u.example/p'/><get url='https://u.example/g'/></slot>`)).to.equal('media.insecure-url');
    expect(code(`<slot xmlns='${NS_HTTP_UPLOAD}'><get url='https://u.example/g'/></slot>`)).to.equal('upload.malformed-slot');
    expect(code(`<slot xmlns='urn:xmpp:http:upload'><put url='https://u.example/p'/><get url='https://u.example/g'/></slot>`)).to.equal('upload.malformed-slot');
    expect(code(`<slot xmlns='${NS_HTTP_UPLOAD}'><put url='https://u.example/p'><header name='Cookie'>a&#127;b</header></put><get url='https://u.example/g'/></slot>`)).to.equal('upload.malformed-slot');
  });

  it('maps refusals: file-too-large with the max size, not-allowed/forbidden, quota with retry, others', () => {
    const tooLarge = refusal(`<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>File too large</text><file-too-large xmlns='${NS_HTTP_UPLOAD}'><max-file-size>20000</max-file-size></file-too-large></error>`);
    expect([tooLarge.code, tooLarge.maxFileSize, tooLarge.condition]).to.deep.equal(['upload.file-too-large', 20000, 'not-acceptable']);
    expect(refusal("<error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>").code).to.equal('upload.not-allowed');
    expect(refusal("<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>").code).to.equal('upload.not-allowed');
    const quota = refusal(`<error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><retry xmlns='${NS_HTTP_UPLOAD}' stamp='2026-12-01T12:00:00Z'/></error>`);
    expect([quota.code, quota.retryAt]).to.deep.equal(['upload.quota', '2026-12-01T12:00:00Z']);
    const other = refusal("<error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>");
    expect([other.code, other.condition]).to.deep.equal(['upload.refused', 'bad-request']);
  });

  it('refuses bad file descriptions as caller bugs before any stanza goes out', async () => {
    const sent: string[] = [];
    const upload = new HttpUpload({ domain: 'example.org', iqCaller: { request: async (s) => { sent.push(s.toString()); throw new Error('no server'); } } });
    for (const file of [{ filename: '', size: 1 }, { filename: 'a/b', size: 1 }, { filename: 'a\nb', size: 1 }, { filename: 'a', size: -1 }, { filename: 'a', size: 1.5 }, { filename: 'a', size: 1, contentType: 'text/plain\r\nX: y' }]) {
      let error: unknown;
      try {
        await upload.requestSlot(file);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(file)).to.be.instanceOf(RangeError);
    }
    expect(sent).to.deep.equal([]);
  });
});
