import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToBase64 } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  decodeBundle03, decodeDeviceList03, decodeEncrypted03, encodeBundle03, encodeDeviceList03, encodeEncrypted03,
} from '../../../omemo/versions/v03/xml.js';
import { NAMESPACE_03, OMEMO_03_PROFILE, bundleNode03 } from '../../../omemo/versions/v03/profile.js';
import { parseXml, serializeXml } from '../../../omemo/xml-codec.js';
import { xmlEquals } from '../../../omemo/xml-element.js';
import { SAMPLES_03 } from './wire-samples.js';
import { MUTATION_RUNS, decodeOrTypedError, mutatedStrings } from './wire-mutations.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MalformedMessageError);
    return (error as MalformedMessageError).code;
  }
  throw new Error('expected a MalformedMessageError');
}

const K = bytesToBase64(new Uint8Array(16).fill(7));
const IV = bytesToBase64(new Uint8Array(12).fill(9));
const enc = (header: string, rest = ''): string => `<encrypted xmlns='${NAMESPACE_03}'><header sid='5'>${header}</header>${rest}</encrypted>`;
const dec = (xml: string): ReturnType<typeof decodeEncrypted03> => decodeEncrypted03(parseXml(xml));

describe('omemo/versions/v03/xml', () => {
  it('has the 0.3 constants', () => {
    expect(OMEMO_03_PROFILE.namespace).to.equal('eu.siacs.conversations.axolotl');
    expect(OMEMO_03_PROFILE.deviceListNode).to.equal('eu.siacs.conversations.axolotl.devicelist');
    expect(bundleNode03(42)).to.equal('eu.siacs.conversations.axolotl.bundles:42');
    expect(OMEMO_03_PROFILE.info).to.deep.equal({ x3dh: 'WhisperText', rootChain: 'WhisperRatchet', messageKeys: 'WhisperMessageKeys' });
  });

  it('decodes python-oldmemo <encrypted> (key exchange, empty) and re-encodes equivalent XML', () => {
    const kex = dec(SAMPLES_03.kex);
    expect(kex.keys.length).to.equal(1);
    expect(kex.keys[0]?.prekey).to.equal(true);
    expect(kex.iv.length).to.equal(12);
    expect(kex.payload).to.not.equal(undefined);
    const empty = dec(SAMPLES_03.empty);
    expect(empty.payload).to.equal(undefined);
    expect(empty.keys[0]?.prekey).to.equal(false);
    for (const xml of [SAMPLES_03.kex, SAMPLES_03.empty, SAMPLES_03.followup]) {
      const element = parseXml(xml);
      expect(xmlEquals(encodeEncrypted03(decodeEncrypted03(element)), element)).to.equal(true);
    }
  });

  it('writes prekey only when true and reads xs:boolean strictly', () => {
    const xml = serializeXml(encodeEncrypted03({ sid: 1, keys: [{ rid: 2, prekey: false, data: new Uint8Array(3) }, { rid: 3, prekey: true, data: new Uint8Array(3) }], iv: new Uint8Array(12) }));
    expect(xml).to.equal(`<encrypted xmlns="${NAMESPACE_03}"><header sid="1"><key rid="2">AAAA</key><key rid="3" prekey="true">AAAA</key><iv>AAAAAAAAAAAAAAAA</iv></header></encrypted>`);
    for (const [value, expected] of [['true', true], ['1', true], ['false', false], ['0', false]] as const) {
      expect(dec(enc(`<key rid='1' prekey='${value}'>${K}</key><iv>${IV}</iv>`)).keys[0]?.prekey).to.equal(expected);
    }
    for (const value of ['TRUE', 'yes', '', ' true']) {
      expect(code(() => dec(enc(`<key rid='1' prekey='${value}'>${K}</key><iv>${IV}</iv>`)))).to.equal('omemo.xml.bad-boolean');
    }
  });

  it('accepts <iv> before <key> and a header without keys; rejects malformed headers', () => {
    expect(dec(enc(`<iv>${IV}</iv><key rid='1'>${K}</key>`)).keys.length).to.equal(1);
    expect(dec(enc(`<iv>${IV}</iv>`)).keys.length).to.equal(0);
    expect(code(() => dec(enc(`<key rid='1'>${K}</key>`)))).to.equal('omemo.xml.missing-element');
    expect(code(() => dec(enc(`<iv>${IV}</iv><iv>${IV}</iv>`)))).to.equal('omemo.xml.unexpected-element');
    expect(code(() => dec(enc(`<iv>${bytesToBase64(new Uint8Array(13))}</iv>`)))).to.equal('omemo.xml.bad-length');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='0'>${K}</key>`)))).to.equal('omemo.xml.out-of-range');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='2147483648'>${K}</key>`)))).to.equal('omemo.xml.out-of-range');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='01'>${K}</key>`)))).to.equal('omemo.xml.bad-number');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='-1'>${K}</key>`)))).to.equal('omemo.xml.bad-number');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key>${K}</key>`)))).to.equal('omemo.xml.missing-attribute');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='1' extra='x'>${K}</key>`)))).to.equal('omemo.xml.unexpected-attribute');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='1'>AAA</key>`)))).to.equal('omemo.xml.bad-base64');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='1'></key>`)))).to.equal('omemo.xml.bad-base64');
    // xs:base64Binary: whitespace is ignored, non-canonical padding bits are not
    expect(dec(enc(`<iv>${IV}</iv><key rid='1'> ${K.slice(0, 8)}\n${K.slice(8)} </key>`)).keys[0]?.data).to.deep.equal(new Uint8Array(16).fill(7));
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='1'>AB==</key>`)))).to.equal('omemo.xml.bad-base64');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='1'>AAB=</key>`)))).to.equal('omemo.xml.bad-base64');
    expect(code(() => dec(enc(`<iv>${IV}</iv><key rid='1'>A-B_</key>`)))).to.equal('omemo.xml.bad-base64');
    expect(code(() => dec(enc(`<iv>${IV}</iv><foo/>`)))).to.equal('omemo.xml.unexpected-element');
    expect(code(() => dec(enc(`<iv xmlns='other'>${IV}</iv>`)))).to.equal('omemo.xml.unexpected-element');
    expect(code(() => dec(enc(`<iv>${IV}</iv>`, `<payload>${K}</payload><payload>${K}</payload>`)))).to.equal('omemo.xml.unexpected-element');
    expect(code(() => dec(`<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'><iv>${IV}</iv></header></encrypted>`))).to.equal('omemo.xml.unexpected-element');
    expect(code(() => dec(`<encrypted xmlns='${NAMESPACE_03}'/>`))).to.equal('omemo.xml.missing-element');
    expect(code(() => dec(`<encrypted xmlns='${NAMESPACE_03}'><header><iv>${IV}</iv></header></encrypted>`))).to.equal('omemo.xml.missing-attribute');
  });

  it('device lists: python\'s parses, ours round-trip, duplicates and bad ids rejected', () => {
    const ids = decodeDeviceList03(parseXml(SAMPLES_03.devicelist));
    expect(ids.length).to.equal(1);
    expect(xmlEquals(encodeDeviceList03(ids), parseXml(SAMPLES_03.devicelist))).to.equal(true);
    expect(decodeDeviceList03(encodeDeviceList03([]))).to.deep.equal([]);
    expect(code(() => decodeDeviceList03(parseXml(`<list xmlns='${NAMESPACE_03}'><device id='1'/><device id='1'/></list>`)))).to.equal('omemo.xml.duplicate-device');
    expect(code(() => decodeDeviceList03(parseXml(`<list xmlns='${NAMESPACE_03}'><device id='x'/></list>`)))).to.equal('omemo.xml.bad-number');
    expect(code(() => decodeDeviceList03(parseXml(`<list xmlns='${NAMESPACE_03}'><device/></list>`)))).to.equal('omemo.xml.missing-attribute');
    expect(code(() => decodeDeviceList03(parseXml(`<devices xmlns='${NAMESPACE_03}'/>`)))).to.equal('omemo.xml.unexpected-element');
    expect(() => encodeDeviceList03([0])).to.throw(RangeError);
  });

  it('bundles: python\'s parses to raw keys, re-encodes equivalently, strict on lengths', () => {
    const element = parseXml(SAMPLES_03.bundle);
    const bundle = decodeBundle03(element);
    expect(bundle.identityKey.length).to.equal(32);
    expect(bundle.signedPreKey.length).to.equal(32);
    expect(bundle.signedPreKeySignature.length).to.equal(64);
    expect(bundle.preKeys.length).to.equal(100);
    expect(xmlEquals(encodeBundle03(bundle), element)).to.equal(true);
    const raw32 = bytesToBase64(new Uint8Array(32));
    const bad = SAMPLES_03.bundle.replace(/<identityKey>[^<]*<\/identityKey>/, `<identityKey>${raw32}</identityKey>`);
    expect(code(() => decodeBundle03(parseXml(bad)))).to.equal('omemo.bad-public-key');
    const noPrekeys = SAMPLES_03.bundle.replace(/<prekeys>.*<\/prekeys>/, '<prekeys/>');
    expect(code(() => decodeBundle03(parseXml(noPrekeys)))).to.equal('omemo.xml.missing-element');
    const dupPrekey = SAMPLES_03.bundle.replace(/preKeyId="2"/, 'preKeyId="1"');
    expect(code(() => decodeBundle03(parseXml(dupPrekey)))).to.equal('omemo.xml.duplicate-prekey');
    const twoIdentities = SAMPLES_03.bundle.replace(/(<identityKey>[^<]*<\/identityKey>)/, '$1$1');
    expect(code(() => decodeBundle03(parseXml(twoIdentities)))).to.equal('omemo.xml.duplicate-element');
    expect(() => encodeBundle03({ ...bundle, signedPreKeySignature: new Uint8Array(63) })).to.throw(RangeError);
  });

  const stable = <T>(decode: (e: ReturnType<typeof parseXml>) => T, encode: (v: T) => ReturnType<typeof parseXml>) => (text: string): void => {
    const decoded = decodeOrTypedError(() => decode(parseXml(text)));
    if (decoded !== undefined) expect(decode(parseXml(serializeXml(encode(decoded))))).to.deep.equal(decoded);
  };

  it(`<encrypted>: ${MUTATION_RUNS} random mutations -> typed error or a stable decode`, () => {
    fc.assert(fc.property(mutatedStrings([SAMPLES_03.kex, SAMPLES_03.empty, SAMPLES_03.followup]), stable(decodeEncrypted03, encodeEncrypted03)), { numRuns: MUTATION_RUNS });
  });

  it(`device list: ${MUTATION_RUNS} random mutations -> typed error or a stable decode`, () => {
    const list = serializeXml(encodeDeviceList03([1, 22, 333, 2147483647]));
    fc.assert(fc.property(mutatedStrings([SAMPLES_03.devicelist, list]), stable(decodeDeviceList03, encodeDeviceList03)), { numRuns: MUTATION_RUNS });
  });

  it(`bundle: ${MUTATION_RUNS} random mutations -> typed error or a stable decode`, () => {
    const small = serializeXml(encodeBundle03({ ...decodeBundle03(parseXml(SAMPLES_03.bundle)), preKeys: decodeBundle03(parseXml(SAMPLES_03.bundle)).preKeys.slice(0, 3) }));
    fc.assert(fc.property(mutatedStrings([SAMPLES_03.bundle, small]), stable(decodeBundle03, encodeBundle03)), { numRuns: MUTATION_RUNS });
  });
});
