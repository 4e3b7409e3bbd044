import { expect } from 'chai';
import { isOtrMessageType, isOtrVersion, OTR_MESSAGE_TYPE } from '../../../otr/message-types.js';

describe('otr/message-types', () => {
  it('has the spec\'s type bytes', () => {
    expect(OTR_MESSAGE_TYPE).to.deep.equal({ dhCommit: 0x02, data: 0x03, dhKey: 0x0a, revealSignature: 0x11, signature: 0x12 });
  });

  it('recognizes exactly those type bytes', () => {
    const accepted = [];
    for (let value = 0; value < 256; value += 1) if (isOtrMessageType(value)) accepted.push(value);
    expect(accepted).to.deep.equal([0x02, 0x03, 0x0a, 0x11, 0x12]);
  });

  it('speaks versions 2 and 3 only', () => {
    expect([0, 1, 2, 3, 4, 0x0300].filter(isOtrVersion)).to.deep.equal([2, 3]);
  });
});
