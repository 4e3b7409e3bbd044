import { expect } from 'chai';
import fc from 'fast-check';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { IdentityKeyPair } from '../../../omemo/crypto/identity-key.js';
import { fingerprintOf, fingerprintUri, formatFingerprint, parseFingerprintUri } from '../../../omemo/fingerprint.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 5) & 0xff);
const HEX = Buffer.from(KEY).toString('hex');

describe('OMEMO fingerprints', () => {
  it('renders like Conversations (8 lower-case groups) and Gajim (upper-case, 4 groups a line)', () => {
    expect(formatFingerprint(KEY, 'hex')).to.equal(HEX);
    const groups = HEX.match(/.{8}/g) as string[];
    expect(formatFingerprint(KEY)).to.equal(groups.join(' '));
    expect(formatFingerprint(KEY, 'conversations')).to.equal(groups.join(' '));
    expect(formatFingerprint(KEY, 'gajim')).to.equal(`${groups.slice(0, 4).join(' ')}\n${groups.slice(4).join(' ')}`.toUpperCase());
    expect(formatFingerprint(HEX.toUpperCase(), 'hex')).to.equal(HEX);
    expect(() => formatFingerprint(KEY.subarray(1))).to.throw(RangeError);
  });

  it('is the Curve25519 form of the identity under both versions', () => {
    const identity = IdentityKeyPair.generate(deterministicRandom('fp'));
    expect(fingerprintOf('0.3', identity.montgomeryPublicKey)).to.deep.equal(identity.montgomeryPublicKey);
    expect(fingerprintOf('2', identity.edwardsPublicKey)).to.deep.equal(identity.montgomeryPublicKey);
  });

  it("builds and parses Conversations' xmpp: URI (omemo-sid-<id>=<hex>, ';'-separated)", () => {
    const uri = fingerprintUri('alice@a.example', [{ deviceId: 123456, fingerprint: KEY }, { deviceId: 7, fingerprint: HEX }]);
    expect(uri).to.equal(`xmpp:alice@a.example?omemo-sid-123456=${HEX};omemo-sid-7=${HEX}`);
    expect(fingerprintUri('alice@a.example', [])).to.equal('xmpp:alice@a.example');
    const parsed = parseFingerprintUri(uri);
    expect(parsed.jid).to.equal('alice@a.example');
    expect(parsed.devices.map((d) => d.deviceId)).to.deep.equal([123456, 7]);
    expect(parsed.devices[0]?.fingerprint).to.deep.equal(KEY);
    // Upper-case hex, other parameters and '&' (Conversations' https form) are accepted.
    const other = parseFingerprintUri(`xmpp:b%C3%BCb@b.example?message;omemo-sid-5=${HEX.toUpperCase()}&body=x`);
    expect(other.jid).to.equal('büb@b.example');
    expect(other.devices).to.have.length(1);
    for (const bad of ['https://x', 'xmpp:', `xmpp:a@b?omemo-sid-0=${HEX}`, 'xmpp:a@b?omemo-sid-5=abcd', `xmpp:a@b?omemo-sid-4294967296=${HEX}`, 'xmpp:a/b@c', 'xmpp:%E0%A4%A']) {
      expect(() => parseFingerprintUri(bad), bad).to.throw(MalformedMessageError);
    }
    expect(() => fingerprintUri('a@b/res', [])).to.throw(RangeError);
  });

  it('never throws anything but MalformedMessageError on scanned input', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => {
      for (const input of [s, `xmpp:${s}`, `xmpp:a@b?omemo-sid-${s}`]) {
        try {
          parseFingerprintUri(input);
        } catch (error) {
          if (!(error instanceof MalformedMessageError)) throw error;
        }
      }
    }), { numRuns: 2000 });
  });
});
