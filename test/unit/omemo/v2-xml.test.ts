import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToBase64 } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  decodeBundle2, decodeDeviceList2, decodeEncrypted2, encodeBundle2, encodeDeviceList2, encodeEncrypted2,
} from '../../../omemo/versions/v2/xml.js';
import { BUNDLES_NODE_2, DEVICE_LIST_NODE_2, NAMESPACE_2, OMEMO_2_PROFILE } from '../../../omemo/versions/v2/profile.js';
import { parseXml, serializeXml } from '../../../omemo/xml-codec.js';
import { xmlEquals } from '../../../omemo/xml-element.js';
import { SAMPLES_2 } from './wire-samples.js';
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
const enc = (header: string, rest = ''): string => `<encrypted xmlns='${NAMESPACE_2}'><header sid='5'>${header}</header>${rest}</encrypted>`;
const dec = (xml: string): ReturnType<typeof decodeEncrypted2> => decodeEncrypted2(parseXml(xml));

describe('omemo/versions/v2/xml', () => {
  it('has the omemo:2 constants', () => {
    expect(DEVICE_LIST_NODE_2).to.equal('urn:xmpp:omemo:2:devices');
    expect(BUNDLES_NODE_2).to.equal('urn:xmpp:omemo:2:bundles');
    expect(OMEMO_2_PROFILE.info).to.deep.equal({ x3dh: 'OMEMO X3DH', rootChain: 'OMEMO Root Chain', messageKeys: 'OMEMO Message Key Material', payload: 'OMEMO Payload' });
    expect(OMEMO_2_PROFILE.messageMacLength).to.equal(16);
  });

  it('decodes python-twomemo <encrypted> (kex, empty) and re-encodes equivalent XML', () => {
    const kex = dec(SAMPLES_2.kex);
    expect(kex.keys.length).to.equal(1);
    expect(kex.keys[0]?.jid).to.equal('bob@b.example');
    expect(kex.keys[0]?.keys[0]?.kex).to.equal(true);
    expect(kex.payload).to.not.equal(undefined);
    const empty = dec(SAMPLES_2.empty);
    expect(empty.payload).to.equal(undefined);
    expect(empty.keys[0]?.keys[0]?.kex).to.equal(false);
    for (const xml of [SAMPLES_2.kex, SAMPLES_2.empty, SAMPLES_2.followup]) {
      const element = parseXml(xml);
      expect(xmlEquals(encodeEncrypted2(decodeEncrypted2(element)), element)).to.equal(true);
    }
  });

  it('writes kex only when true, groups keys per jid, and reads xs:boolean strictly', () => {
    const xml = serializeXml(encodeEncrypted2({ sid: 1, keys: [{ jid: 'a@x', keys: [{ rid: 2, kex: false, data: new Uint8Array(3) }] }, { jid: 'b@y', keys: [{ rid: 2, kex: true, data: new Uint8Array(3) }] }] }));
    expect(xml).to.equal(`<encrypted xmlns="${NAMESPACE_2}"><header sid="1"><keys jid="a@x"><key rid="2">AAAA</key></keys><keys jid="b@y"><key rid="2" kex="true">AAAA</key></keys></header></encrypted>`);
    for (const [value, expected] of [['true', true], ['1', true], ['false', false], ['0', false]] as const) {
      expect(dec(enc(`<keys jid='a@x'><key rid='1' kex='${value}'>${K}</key></keys>`)).keys[0]?.keys[0]?.kex).to.equal(expected);
    }
    for (const value of ['True', 'no', '']) {
      expect(code(() => dec(enc(`<keys jid='a@x'><key rid='1' kex='${value}'>${K}</key></keys>`)))).to.equal('omemo.xml.bad-boolean');
    }
    expect(() => encodeEncrypted2({ sid: 1, keys: [{ jid: 'a@x/res', keys: [] }] })).to.throw(RangeError);
  });

  it('rejects malformed headers', () => {
    expect(code(() => dec(enc('')))).to.equal('omemo.xml.missing-element');
    expect(code(() => dec(enc(`<keys jid='a@x'/>`)))).to.equal('omemo.xml.missing-element');
    expect(code(() => dec(enc(`<keys jid='a@x/res'><key rid='1'>${K}</key></keys>`)))).to.equal('omemo.xml.bad-jid');
    expect(code(() => dec(enc(`<keys jid='a@x&#10;'><key rid='1'>${K}</key></keys>`)))).to.equal('omemo.xml.bad-jid');
    expect(code(() => dec(enc(`<keys><key rid='1'>${K}</key></keys>`)))).to.equal('omemo.xml.missing-attribute');
    expect(code(() => dec(enc(`<keys jid='a@x'><key rid='1'>${K}</key></keys><iv>${K}</iv>`)))).to.equal('omemo.xml.unexpected-element');
    expect(code(() => dec(enc(`<keys jid='a@x'><key rid='99999999999'>${K}</key></keys>`)))).to.equal('omemo.xml.bad-number');
    expect(code(() => dec(enc(`<keys jid='a@x'><key rid='1'>${K}=</key></keys>`)))).to.equal('omemo.xml.bad-base64');
    expect(code(() => dec(enc(`<keys jid='a@x'><key rid='1'>${K}</key></keys>`, '<payload/>')))).to.equal('omemo.xml.bad-base64');
    expect(code(() => dec(enc(`<keys jid='a@x'><key rid='1'><b/></key></keys>`)))).to.equal('omemo.xml.unexpected-element');
    expect(code(() => dec(`<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted>`))).to.equal('omemo.xml.unexpected-element');
  });

  it('device lists: labels kept, python\'s parses, duplicates rejected', () => {
    const devices = decodeDeviceList2(parseXml(SAMPLES_2.devicelist));
    expect(devices.length).to.equal(1);
    expect(devices[0]?.label).to.equal('peer.py');
    expect(xmlEquals(encodeDeviceList2(devices), parseXml(SAMPLES_2.devicelist))).to.equal(true);
    const withSig = [{ id: 5, label: 'Phone', labelsig: 'c2ln' }, { id: 6 }];
    expect(decodeDeviceList2(parseXml(serializeXml(encodeDeviceList2(withSig))))).to.deep.equal(withSig);
    expect(code(() => decodeDeviceList2(parseXml(`<devices xmlns='${NAMESPACE_2}'><device id='1'/><device id='1'/></devices>`)))).to.equal('omemo.xml.duplicate-device');
    expect(code(() => decodeDeviceList2(parseXml(`<devices xmlns='${NAMESPACE_2}'><device id='1' x='y'/></devices>`)))).to.equal('omemo.xml.unexpected-attribute');
    expect(code(() => decodeDeviceList2(parseXml(`<devices xmlns='${NAMESPACE_2}'><device id='1' label='${'x'.repeat(300)}'/></devices>`)))).to.equal('omemo.xml.oversized');
  });

  it('bundles: python\'s parses (Ed25519 ik, raw keys), re-encodes equivalently, strict on lengths', () => {
    const element = parseXml(SAMPLES_2.bundle);
    const bundle = decodeBundle2(element);
    expect(bundle.ik.length).to.equal(32);
    expect(bundle.spks.length).to.equal(64);
    expect(bundle.preKeys.length).to.equal(100);
    expect(xmlEquals(encodeBundle2(bundle), element)).to.equal(true);
    const reordered = `<bundle xmlns='${NAMESPACE_2}'>${serializeXml(encodeBundle2(bundle)).replace(/^<bundle[^>]*>(<spk [^>]*>[^<]*<\/spk>)(<spks>[^<]*<\/spks>)(.*)<\/bundle>$/, '$3$2$1')}</bundle>`;
    expect(decodeBundle2(parseXml(reordered))).to.deep.equal(bundle);
    const bad = SAMPLES_2.bundle.replace(/<ik>[^<]*<\/ik>/, `<ik>${bytesToBase64(new Uint8Array(33))}</ik>`);
    expect(code(() => decodeBundle2(parseXml(bad)))).to.equal('omemo.xml.bad-length');
    const missingSpks = SAMPLES_2.bundle.replace(/<spks>[^<]*<\/spks>/, '');
    expect(code(() => decodeBundle2(parseXml(missingSpks)))).to.equal('omemo.xml.missing-element');
    expect(() => encodeBundle2({ ...bundle, spk: new Uint8Array(33) })).to.throw(RangeError);
  });

  const stable = <T>(decode: (e: ReturnType<typeof parseXml>) => T, encode: (v: T) => ReturnType<typeof parseXml>) => (text: string): void => {
    const decoded = decodeOrTypedError(() => decode(parseXml(text)));
    if (decoded !== undefined) expect(decode(parseXml(serializeXml(encode(decoded))))).to.deep.equal(decoded);
  };

  it(`<encrypted>: ${MUTATION_RUNS} random mutations -> typed error or a stable decode`, () => {
    fc.assert(fc.property(mutatedStrings([SAMPLES_2.kex, SAMPLES_2.empty, SAMPLES_2.followup]), stable(decodeEncrypted2, encodeEncrypted2)), { numRuns: MUTATION_RUNS });
  });

  it(`device list: ${MUTATION_RUNS} random mutations -> typed error or a stable decode`, () => {
    const list = serializeXml(encodeDeviceList2([{ id: 1, label: 'a&b' }, { id: 22, labelsig: 'c2ln' }, { id: 2147483647 }]));
    fc.assert(fc.property(mutatedStrings([SAMPLES_2.devicelist, list]), stable(decodeDeviceList2, encodeDeviceList2)), { numRuns: MUTATION_RUNS });
  });

  it(`bundle: ${MUTATION_RUNS} random mutations -> typed error or a stable decode`, () => {
    const full = decodeBundle2(parseXml(SAMPLES_2.bundle));
    const small = serializeXml(encodeBundle2({ ...full, preKeys: full.preKeys.slice(0, 3) }));
    fc.assert(fc.property(mutatedStrings([SAMPLES_2.bundle, small]), stable(decodeBundle2, encodeBundle2)), { numRuns: MUTATION_RUNS });
  });
});

describe('omemo/versions/*/xml encoders: caller bugs', () => {
  it('refuse an empty payload (a message without payload leaves it undefined)', async () => {
    const { encodeEncrypted03 } = await import('../../../omemo/versions/v03/xml.js');
    expect(() => encodeEncrypted2({ sid: 1, keys: [], payload: new Uint8Array(0) })).to.throw(RangeError);
    expect(() => encodeEncrypted03({ sid: 1, keys: [], iv: new Uint8Array(12), payload: new Uint8Array(0) })).to.throw(RangeError);
  });
});
