import { expect } from 'chai';
import { generateInstanceTag, isValidInstanceTag, MIN_INSTANCE_TAG } from '../../../otr/instance-tag.js';
import {
  chooseVersion,
  OTR_POLICY_ALWAYS,
  OTR_POLICY_DEFAULT,
  OTR_POLICY_MANUAL,
  OTR_POLICY_NEVER,
  policyAllowsVersion,
  policyEnablesOtr,
} from '../../../otr/policy.js';

describe('otr/policy and otr/instance-tag', () => {
  it('policies match libotr OTRL_POLICY_* combinations', () => {
    expect(OTR_POLICY_DEFAULT).to.deep.equal({
      allowV2: true,
      allowV3: true,
      requireEncryption: false,
      sendWhitespaceTag: true,
      whitespaceStartAke: true,
      errorStartAke: true,
    });
    expect(OTR_POLICY_ALWAYS.requireEncryption).to.equal(true);
    expect(OTR_POLICY_MANUAL.sendWhitespaceTag).to.equal(false);
    expect(policyEnablesOtr(OTR_POLICY_NEVER)).to.equal(false);
    expect(policyAllowsVersion({ ...OTR_POLICY_MANUAL, allowV3: false }, 3)).to.equal(false);
    expect(Object.isFrozen(OTR_POLICY_DEFAULT)).to.equal(true);
  });

  it('chooses version 3 over 2, and only allowed, offered versions', () => {
    expect(chooseVersion(OTR_POLICY_MANUAL, [2, 3])).to.equal(3);
    expect(chooseVersion(OTR_POLICY_MANUAL, [2])).to.equal(2);
    expect(chooseVersion({ ...OTR_POLICY_MANUAL, allowV3: false }, [3])).to.equal(undefined);
    expect(chooseVersion(OTR_POLICY_MANUAL, [1])).to.equal(undefined);
  });

  it('draws instance tags >= 0x100, redrawing smaller values', () => {
    const draws = [Uint8Array.of(0, 0, 0, 0), Uint8Array.of(0, 0, 0, 0xff), Uint8Array.of(0, 0, 1, 0)];
    let i = 0;
    const tag = generateInstanceTag(() => draws[i++] as Uint8Array);
    expect(tag).to.equal(0x100);
    expect(i).to.equal(3);
    expect(isValidInstanceTag(MIN_INSTANCE_TAG)).to.equal(true);
    expect(isValidInstanceTag(0xff)).to.equal(false);
    expect(isValidInstanceTag(0xffffffff)).to.equal(true);
    expect(isValidInstanceTag(2 ** 32)).to.equal(false);
    expect(() => generateInstanceTag(() => new Uint8Array(3))).to.throw(RangeError);
  });
});
