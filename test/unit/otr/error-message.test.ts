import { expect } from 'chai';
import fc from 'fast-check';
import {
  buildErrorMessage,
  buildStandardErrorMessage,
  OTR_ERROR_CODE,
  OTR_ERROR_PREFIX,
  parseErrorMessage,
} from '../../../otr/error-message.js';

describe('otr/error-message', () => {
  it('uses libotr\'s prefix and pidgin-otr\'s standard texts', () => {
    expect(OTR_ERROR_PREFIX).to.equal('?OTR Error: ');
    expect(buildStandardErrorMessage(OTR_ERROR_CODE.messageUnreadable)).to.equal('?OTR Error: You transmitted an unreadable encrypted message.');
    expect(buildStandardErrorMessage(OTR_ERROR_CODE.messageMalformed)).to.equal('?OTR Error: You transmitted a malformed data message.');
    expect(buildStandardErrorMessage(OTR_ERROR_CODE.encryptionError)).to.equal('?OTR Error: Error occurred encrypting message.');
    expect(buildStandardErrorMessage(OTR_ERROR_CODE.messageNotInPrivate, 'me@example.org')).to.equal(
      "?OTR Error: You sent encrypted data to me@example.org, who wasn't expecting it.",
    );
  });

  it('parses the text after the marker anywhere, skipping one space', () => {
    expect(parseErrorMessage('?OTR Error: oops')).to.equal('oops');
    expect(parseErrorMessage('?OTR Error:oops')).to.equal('oops');
    expect(parseErrorMessage('?OTR Error:  two')).to.equal(' two');
    expect(parseErrorMessage('prefix ?OTR Error: x')).to.equal('x');
    expect(parseErrorMessage('?OTR Error')).to.equal(undefined);
  });

  it('refuses error texts that would read as another OTR message', () => {
    expect(() => buildErrorMessage('see ?OTRv3?')).to.throw(RangeError);
  });

  it('round-trips (10,000 cases)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        fc.pre(!text.includes('?OTR'));
        expect(parseErrorMessage(buildErrorMessage(text))).to.equal(text);
      }),
      { numRuns: 10_000 },
    );
  });
});
