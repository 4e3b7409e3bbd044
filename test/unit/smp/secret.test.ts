import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '../../../lib/core/bytes.js';
import { deriveSmpSecret } from '../../../smp/index.js';

const initiator = hexToBytes('00112233445566778899aabbccddeeff00112233');
const responder = hexToBytes('ffeeddccbbaa99887766554433221100ffeeddcc');
const ssid = hexToBytes('a0a1a2a3a4a5a6a7');

interface OtrJsSm {
  makeSecret(our: boolean, secret: string): void;
  secret: unknown;
}
const requireCjs = createRequire(import.meta.url);
const SM = requireCjs('otr/lib/sm.js') as new (reqs: { our_fp: string; their_fp: string; ssid: string }) => OtrJsSm;
const otrjsBigInt = requireCjs('otr/vendor/bigint.js') as { bigInt2str(x: unknown, base: number): string };

describe('smp/secret', () => {
  it('is SHA-256(0x01 || initiator fp || responder fp || ssid || UTF-8 secret) as an integer', () => {
    const expected = createHash('sha256')
      .update(concatBytes(Uint8Array.of(1), initiator, responder, ssid, utf8ToBytes('gëheim')))
      .digest('hex');
    const secret = deriveSmpSecret({ initiatorFingerprint: initiator, responderFingerprint: responder, ssid, userSecret: 'gëheim' });
    expect(secret).to.equal(BigInt('0x' + expected));
    expect(deriveSmpSecret({ initiatorFingerprint: initiator, responderFingerprint: responder, ssid, userSecret: utf8ToBytes('gëheim') })).to.equal(secret);
  });

  it('depends on the order of the fingerprints, the ssid and the secret', () => {
    const base = { initiatorFingerprint: initiator, responderFingerprint: responder, ssid, userSecret: 's' };
    const secret = deriveSmpSecret(base);
    expect(deriveSmpSecret({ ...base, initiatorFingerprint: responder, responderFingerprint: initiator })).to.not.equal(secret);
    expect(deriveSmpSecret({ ...base, ssid: hexToBytes('a0a1a2a3a4a5a6a8') })).to.not.equal(secret);
    expect(deriveSmpSecret({ ...base, userSecret: 'S' })).to.not.equal(secret);
  });

  it('equals otr.js\'s SM.makeSecret on both sides (initiator first)', () => {
    const asInitiator = new SM({ our_fp: bytesToHex(initiator), their_fp: bytesToHex(responder), ssid: Buffer.from(ssid).toString('latin1') });
    asInitiator.makeSecret(true, 'hunter2');
    const asResponder = new SM({ our_fp: bytesToHex(responder), their_fp: bytesToHex(initiator), ssid: Buffer.from(ssid).toString('latin1') });
    asResponder.makeSecret(false, 'hunter2');
    const ours = deriveSmpSecret({ initiatorFingerprint: initiator, responderFingerprint: responder, ssid, userSecret: 'hunter2' });
    expect(BigInt('0x' + otrjsBigInt.bigInt2str(asInitiator.secret, 16))).to.equal(ours);
    expect(BigInt('0x' + otrjsBigInt.bigInt2str(asResponder.secret, 16))).to.equal(ours);
  });

  it('refuses wrong lengths and types (caller bugs)', () => {
    const base = { initiatorFingerprint: initiator, responderFingerprint: responder, ssid, userSecret: 's' };
    expect(() => deriveSmpSecret({ ...base, initiatorFingerprint: new Uint8Array(21) })).to.throw(RangeError);
    expect(() => deriveSmpSecret({ ...base, responderFingerprint: new Uint8Array(0) })).to.throw(RangeError);
    expect(() => deriveSmpSecret({ ...base, ssid: new Uint8Array(20) })).to.throw(RangeError);
    expect(() => deriveSmpSecret({ ...base, userSecret: 5 as unknown as string })).to.throw(TypeError);
  });
});
