import { expect } from 'chai';
import { bytesToBase64, hexToBytes } from '../../../lib/core/bytes.js';
import { classifyIncoming, type IncomingMessage } from '../../../otr/classify.js';
import { encodeOtrMessage } from '../../../otr/encoded-message.js';
import { buildErrorMessage } from '../../../otr/error-message.js';
import { OTR_MESSAGE_TYPE } from '../../../otr/message-types.js';
import { buildQueryMessage } from '../../../otr/query.js';
import { buildWhitespaceTag } from '../../../otr/whitespace-tag.js';

const DATA = encodeOtrMessage({ version: 3, type: OTR_MESSAGE_TYPE.data, senderInstanceTag: 0x101, receiverInstanceTag: 0x102 }, Uint8Array.of(1, 2, 3));

function codeOf(result: IncomingMessage): string {
  expect(result.kind).to.equal('malformed');
  return result.kind === 'malformed' ? result.error.code : '';
}

describe('otr/classify', () => {
  it('plain text', () => {
    expect(classifyIncoming('hello')).to.deep.equal({ kind: 'plaintext', text: 'hello', strippedText: 'hello' });
  });

  it('tagged plain text: versions and stripped text', () => {
    const result = classifyIncoming(`hi${buildWhitespaceTag([2, 3])}!`);
    expect(result).to.deep.equal({ kind: 'plaintext', text: `hi${buildWhitespaceTag([2, 3])}!`, strippedText: 'hi!', whitespaceVersions: new Set([2, 3]) });
  });

  it('query messages, with or without explanation', () => {
    expect(classifyIncoming('?OTRv23?')).to.deep.equal({ kind: 'query', versions: new Set([2, 3]), text: '?OTRv23?' });
    const text = buildQueryMessage([3], { accountName: 'a@b' });
    expect(classifyIncoming(text)).to.deep.equal({ kind: 'query', versions: new Set([3]), text });
    expect(classifyIncoming('?OTR?')).to.include({ kind: 'query' });
    // a query wins over a whitespace tag (libotr looks for "?OTR" first)
    expect(classifyIncoming(`?OTRv3?${buildWhitespaceTag([2])}`)).to.deep.include({ kind: 'query', versions: new Set([3]) });
  });

  it('error messages', () => {
    expect(classifyIncoming(buildErrorMessage('You transmitted an unreadable encrypted message.'))).to.deep.equal({
      kind: 'error',
      errorText: 'You transmitted an unreadable encrypted message.',
    });
    // the first "?OTR" decides: an error quoting a query is an error
    expect(classifyIncoming('?OTR Error: try ?OTRv3?')).to.deep.equal({ kind: 'error', errorText: 'try ?OTRv3?' });
  });

  it('encoded messages, anywhere in the text', () => {
    const result = classifyIncoming(`<p>${DATA}</p>`);
    expect(result.kind).to.equal('encoded');
    if (result.kind === 'encoded') expect(result.message).to.deep.include({ version: 3, type: 3, senderInstanceTag: 0x101, receiverInstanceTag: 0x102 });
    // an encoded message followed by a query is an encoded message
    expect(classifyIncoming(`${DATA} ?OTRv3?`).kind).to.equal('encoded');
    // ... and a query followed by an encoded message is a query
    expect(classifyIncoming(`?OTRv3? ${DATA}`).kind).to.equal('query');
  });

  it('fragments come first, anywhere in the text', () => {
    expect(classifyIncoming('?OTR|00000101|00000102,00001,00002,?OTR:AAMD,')).to.deep.equal({
      kind: 'fragment', version: 3, senderInstanceTag: 0x101, receiverInstanceTag: 0x102, k: 1, n: 2, piece: '?OTR:AAMD',
    });
    expect(classifyIncoming('?OTRv3? ?OTR,1,2,ab,')).to.deep.include({ kind: 'fragment', version: 2 });
    // a broken fragment header is dropped like libotr does (never shown)
    expect(codeOf(classifyIncoming('what is ?OTR, anyway'))).to.equal('otr.bad-fragment');
  });

  it('a reassembled message is not parsed as a fragment again', () => {
    expect(codeOf(classifyIncoming('?OTR|00000101|00000102,00001,00001,x,', { reassembled: true }))).to.equal('otr.unrecognized');
    expect(classifyIncoming(DATA, { reassembled: true }).kind).to.equal('encoded');
  });

  it('malformed messages have typed codes', () => {
    expect(codeOf(classifyIncoming('?OTR:AA$A.'))).to.equal('otr.bad-base64');
    expect(codeOf(classifyIncoming('?OTR:AAMD'))).to.equal('otr.unterminated');
    expect(codeOf(classifyIncoming(`?OTR:${bytesToBase64(hexToBytes('000103'))}.`))).to.equal('otr.unsupported-version');
    expect(codeOf(classifyIncoming(`?OTR:${bytesToBase64(hexToBytes('000309'))}.`))).to.equal('otr.unknown-message-type');
    expect(codeOf(classifyIncoming(`?OTR:${bytesToBase64(hexToBytes('000303'))}.`))).to.equal('otr.truncated');
    expect(codeOf(classifyIncoming('?OTRx'))).to.equal('otr.unrecognized');
    expect(codeOf(classifyIncoming('?OTR'))).to.equal('otr.unrecognized');
    expect(codeOf(classifyIncoming(DATA, { maxEncodedLength: 10 }))).to.equal('otr.oversized');
  });
});
