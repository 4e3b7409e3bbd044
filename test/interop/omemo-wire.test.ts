/**
 * Wire-level interop with a REAL python-omemo 1.0 (Debian python3-omemo/oldmemo/twomemo), for
 * both OMEMO 0.3 and omemo:2: python produces stanzas (first message with key exchange,
 * follow-ups, a reply, the library's own empty message), device lists and bundles; our codecs
 * must decode every one to the values python decodes, re-encode them to IDENTICAL protobuf
 * bytes and equivalent XML, and python must accept what we encode.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import fc from 'fast-check';
import { base64ToBytes, bytesToBase64, utf8ToBytes, bytesToUtf8 } from '../../lib/core/bytes.js';
import { systemRandom } from '../../lib/core/random.js';
import { Ed25519PublicKey } from '../../omemo/crypto/curve25519.js';
import { edwardsToMontgomery, xeddsaVerify } from '../../omemo/crypto/xeddsa.js';
import {
  decodePreKeySignalMessage, decodeSignalMessage, encodePreKeySignalMessage, encodeSignalMessage,
  encodeSignalMessageBody,
} from '../../omemo/versions/v03/protobuf.js';
import { decryptPayload03, encryptPayload03 } from '../../omemo/versions/v03/payload.js';
import {
  decodeBundle03, decodeDeviceList03, decodeEncrypted03, encodeBundle03, encodeDeviceList03, encodeEncrypted03,
} from '../../omemo/versions/v03/xml.js';
import {
  decodeOmemoAuthenticatedMessage, decodeOmemoKeyExchange, decodeOmemoMessage, encodeOmemoAuthenticatedMessage,
  encodeOmemoKeyExchange, encodeOmemoMessage,
} from '../../omemo/versions/v2/protobuf.js';
import { decryptPayload2, encryptPayload2 } from '../../omemo/versions/v2/payload.js';
import {
  decodeBundle2, decodeDeviceList2, decodeEncrypted2, encodeBundle2, encodeDeviceList2, encodeEncrypted2,
} from '../../omemo/versions/v2/xml.js';
import { serializeCurve25519PublicKey } from '../../omemo/x3dh.js';
import { parseXml, serializeXml } from '../../omemo/xml-codec.js';
import { xmlEquals } from '../../omemo/xml-element.js';
import { requirePeer } from './peer-availability.js';
import {
  NS_03, NS_2, PEER_SCRIPT, PYTHON_OMEMO_PEER, PythonOmemoPeer, probePythonOmemo,
} from './omemo/python-omemo-peer.js';
import type { DumpedKey, DumpedMessage, OmemoNamespace, PbFields } from './omemo/python-omemo-peer.js';

const ALICE = 'alice@a.example';
const BOB = 'bob@b.example';

function b64(text: string | null | undefined): Uint8Array {
  if (text === null || text === undefined) throw new Error('expected base64, got nothing');
  const bytes = base64ToBytes(text);
  if (bytes === undefined) throw new Error(`bad base64 from python: ${text}`);
  return bytes;
}

function pbBytes(fields: PbFields | undefined, name: string): Uint8Array {
  const value = fields?.[name];
  if (typeof value !== 'string') throw new Error(`python dump lacks ${name}`);
  return b64(value);
}

function pbInt(fields: PbFields | undefined, name: string): number {
  // python omits unset fields from ListFields(), but proto2 required uint32 fields are always set.
  const value = fields?.[name];
  if (typeof value !== 'number') throw new Error(`python dump lacks ${name}`);
  return value;
}

interface Captured {
  readonly label: string;
  readonly xml: string;
  readonly empty: boolean;
  readonly kex: boolean;
}

describe('interop: OMEMO wire formats against python-omemo 1.0 (both versions)', function () {
  this.timeout(60_000);
  let alice: PythonOmemoPeer | undefined;
  let bob: PythonOmemoPeer | undefined;
  const captured: Record<OmemoNamespace, Captured[]> = { [NS_03]: [], [NS_2]: [] };
  const plaintexts: Record<string, string> = {};

  const peers = (): { alice: PythonOmemoPeer; bob: PythonOmemoPeer } => {
    if (!alice || !bob) throw new Error('peers not started');
    return { alice, bob };
  };

  before(async function () {
    requirePeer(this, PYTHON_OMEMO_PEER, probePythonOmemo());
    alice = await PythonOmemoPeer.start(ALICE);
    bob = await PythonOmemoPeer.start(BOB);
    for (const ns of [NS_03, NS_2] as const) {
      await alice.pepBundle(ns, BOB, bob.info.device_id, bob.info.bundle[ns]);
      await alice.pepDeviceList(ns, BOB, bob.info.devicelist[ns]);
      await bob.pepBundle(ns, ALICE, alice.info.device_id, alice.info.bundle[ns]);
      await bob.pepDeviceList(ns, ALICE, alice.info.devicelist[ns]);
      const sce = (text: string): string => ns === NS_03 ? text
        : `<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>${text}</body></content><rpad>xyz</rpad><from jid='${ALICE}'/></envelope>`;
      const first = await alice.encrypt(ns, [BOB], sce('first, with key exchange'));
      captured[ns].push({ label: 'first message (key exchange)', xml: first.xml, empty: false, kex: true });
      plaintexts[first.xml] = sce('first, with key exchange');
      const delivered = await bob.decrypt(ALICE, first.xml);
      expect(delivered.plaintext).to.equal(sce('first, with key exchange'));
      // python-omemo answers a key exchange with an empty message of its own.
      expect(delivered.outbox.length, 'python sends an empty message after a key exchange').to.be.greaterThan(0);
      for (const m of delivered.outbox) {
        captured[ns].push({ label: 'empty message (library-generated)', xml: m.xml, empty: true, kex: false });
        await alice.decrypt(BOB, m.xml);
      }
      const second = await alice.encrypt(ns, [BOB], sce('a follow-up'));
      captured[ns].push({ label: 'follow-up', xml: second.xml, empty: false, kex: false });
      plaintexts[second.xml] = sce('a follow-up');
      const reply = await bob.encrypt(ns, [ALICE], sce('a reply with <escapes> & "quotes"'));
      captured[ns].push({ label: 'reply', xml: reply.xml, empty: false, kex: false });
      plaintexts[reply.xml] = sce('a reply with <escapes> & "quotes"');
    }
  });

  after(async () => {
    await alice?.close();
    await bob?.close();
  });

  it('the peer script\'s own selftest passes (two python SessionManagers, both versions, through XML strings)', () => {
    const out = execFileSync('/usr/bin/python3', [PEER_SCRIPT, 'selftest'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).to.match(/SELFTEST PASSED\s*$/);
  });

  for (const ns of [NS_03, NS_2] as const) {
    describe(ns, () => {
      it('decodes every python stanza to the values python decodes, and re-encodes identical key bytes', async () => {
        const { alice: a } = peers();
        expect(captured[ns].length).to.equal(4);
        for (const message of captured[ns]) {
          const dump: DumpedMessage = await a.dumpMessage(message.xml);
          const element = parseXml(message.xml);
          const decoded = ns === NS_03 ? decodeEncrypted03(element) : decodeEncrypted2(element);
          expect(decoded.sid, message.label).to.equal(dump.sid);
          expect(decoded.payload === undefined, `${message.label}: payload absent iff empty`).to.equal(message.empty);
          if (decoded.payload !== undefined) expect(decoded.payload).to.deep.equal(b64(dump.payload));
          if (ns === NS_03) {
            expect((decoded as ReturnType<typeof decodeEncrypted03>).iv).to.deep.equal(b64(dump.iv));
            expect(b64(dump.iv).length).to.equal(12);
          } else {
            expect(dump.iv, 'omemo:2 has no <iv>').to.equal(null);
          }
          const ourKeys = ns === NS_03
            ? (decoded as ReturnType<typeof decodeEncrypted03>).keys.map((k) => ({ rid: k.rid, kex: k.prekey, data: k.data, jid: undefined }))
            : (decoded as ReturnType<typeof decodeEncrypted2>).keys.flatMap((g) => g.keys.map((k) => ({ rid: k.rid, kex: k.kex, data: k.data, jid: g.jid })));
          expect(ourKeys.length).to.equal(dump.keys.length);
          for (const [i, key] of ourKeys.entries()) {
            const theirs = dump.keys[i] as DumpedKey;
            expect(key.rid).to.equal(theirs.rid);
            expect(key.kex, `${message.label}: key exchange flag`).to.equal(theirs.kex);
            expect(key.kex).to.equal(message.kex);
            expect(key.data).to.deep.equal(b64(theirs.data));
            if (ns === NS_2) expect(key.jid).to.equal(theirs.jid);
            if (ns === NS_03) checkKey03(key.data, key.kex, theirs);
            else checkKey2(key.data, key.kex, theirs);
          }
          // XML: our encoding of the decoded object is equivalent to python's element.
          const reencoded = ns === NS_03
            ? encodeEncrypted03(decoded as ReturnType<typeof decodeEncrypted03>)
            : encodeEncrypted2(decoded as ReturnType<typeof decodeEncrypted2>);
          expect(xmlEquals(reencoded, element), `${message.label}: equivalent XML`).to.equal(true);
          await a.validateMessage(ns, serializeXml(reencoded));
        }
      });

      it('python decrypts our re-encoded XML of its messages (key exchange and follow-up)', async () => {
        // A fresh pair, so the messages have not been consumed yet.
        const carol = await PythonOmemoPeer.start('carol@c.example');
        const dave = await PythonOmemoPeer.start('dave@d.example');
        try {
          await carol.pepBundle(ns, dave.jid, dave.info.device_id, dave.info.bundle[ns]);
          await carol.pepDeviceList(ns, dave.jid, dave.info.devicelist[ns]);
          await dave.pepBundle(ns, carol.jid, carol.info.device_id, carol.info.bundle[ns]);
          await dave.pepDeviceList(ns, carol.jid, carol.info.devicelist[ns]);
          const text = ns === NS_03 ? 'through our XML' : "<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>x</body></content><rpad/></envelope>";
          for (const round of [1, 2]) {
            const sent = await carol.encrypt(ns, [dave.jid], text);
            const element = parseXml(sent.xml);
            const ours = serializeXml(ns === NS_03 ? encodeEncrypted03(decodeEncrypted03(element)) : encodeEncrypted2(decodeEncrypted2(element)));
            const got = await dave.decrypt(carol.jid, ours);
            expect(got.plaintext, `round ${round}`).to.equal(text);
            for (const m of got.outbox) await carol.decrypt(dave.jid, m.xml);
          }
        } finally {
          await carol.close();
          await dave.close();
        }
      });

      it('decodes python device lists; python parses ours', async () => {
        const { alice: a } = peers();
        const element = parseXml(a.info.devicelist[ns]);
        if (ns === NS_03) {
          expect(decodeDeviceList03(element)).to.deep.equal([a.info.device_id]);
          expect(xmlEquals(encodeDeviceList03([a.info.device_id]), element)).to.equal(true);
          const ours = serializeXml(encodeDeviceList03([1, 0x7fffffff, a.info.device_id]));
          const parsed = await a.parseDeviceList(ns, ours);
          expect(parsed.devices).to.deep.equal({ 1: null, 2147483647: null, [a.info.device_id]: null });
        } else {
          const devices = decodeDeviceList2(element);
          expect(devices.map((d) => d.id)).to.deep.equal([a.info.device_id]);
          expect(devices[0]?.label).to.equal('peer.py');
          expect(xmlEquals(encodeDeviceList2(devices), element)).to.equal(true);
          const ours = serializeXml(encodeDeviceList2([{ id: 1 }, { id: 77, label: 'Phone <&> "x"' }]));
          const parsed = await a.parseDeviceList(ns, ours);
          expect(parsed.devices).to.deep.equal({ 1: null, 77: 'Phone <&> "x"' });
        }
      });

      it('decodes python bundles to python\'s values, re-encodes equivalent XML, and verifies the signed-prekey signature', async () => {
        for (const peer of Object.values(peers())) {
          const xml = peer.info.bundle[ns];
          const dump = await peer.dumpBundle(ns, xml);
          const element = parseXml(xml);
          if (ns === NS_03) {
            const bundle = decodeBundle03(element);
            expect(bundle.signedPreKeyId).to.equal(dump.signed_pre_key_id);
            expect(bundle.signedPreKey).to.deep.equal(b64(dump.signed_pre_key));
            expect(bundle.identityKey).to.deep.equal(edwardsToMontgomery(b64(dump.identity_key_ed25519)));
            expect(Object.fromEntries(bundle.preKeys.map((p) => [String(p.id), bytesToBase64(p.key)]))).to.deep.equal(dump.pre_keys);
            expect(bundle.preKeys.length).to.be.greaterThan(50);
            expect(xmlEquals(encodeBundle03(bundle), element)).to.equal(true);
            // python keeps the Ed25519 sign bit in sig[63] bit 7 (libsignal style); F's XEdDSA honours it.
            const message = serializeCurve25519PublicKey(bundle.signedPreKey);
            expect(xeddsaVerify(bundle.identityKey, message, bundle.signedPreKeySignature)).to.equal(true);
            const tampered = Uint8Array.from(message);
            tampered[7] = (tampered[7] as number) ^ 1;
            expect(xeddsaVerify(bundle.identityKey, tampered, bundle.signedPreKeySignature)).to.equal(false);
            // python parses what we encode to the same bundle
            expect(await peer.dumpBundle(ns, serializeXml(encodeBundle03(bundle)))).to.deep.include({
              signed_pre_key: dump.signed_pre_key, signed_pre_key_sig: dump.signed_pre_key_sig,
              identity_key_ed25519: dump.identity_key_ed25519, pre_keys: dump.pre_keys,
            });
          } else {
            const bundle = decodeBundle2(element);
            expect(bundle.spkId).to.equal(dump.signed_pre_key_id);
            expect(bundle.spk).to.deep.equal(b64(dump.signed_pre_key));
            expect(bundle.ik).to.deep.equal(b64(dump.identity_key_ed25519));
            expect(bundle.spks).to.deep.equal(b64(dump.signed_pre_key_sig));
            expect(Object.fromEntries(bundle.preKeys.map((p) => [String(p.id), bytesToBase64(p.key)]))).to.deep.equal(dump.pre_keys);
            expect(xmlEquals(encodeBundle2(bundle), element)).to.equal(true);
            const ik = Ed25519PublicKey.fromBytes(bundle.ik);
            expect(ik.verify(bundle.spk, bundle.spks)).to.equal(true);
            const tampered = Uint8Array.from(bundle.spk);
            tampered[0] = (tampered[0] as number) ^ 1;
            expect(ik.verify(tampered, bundle.spks)).to.equal(false);
            expect(await peer.dumpBundle(ns, serializeXml(encodeBundle2(bundle)))).to.deep.include({
              signed_pre_key: dump.signed_pre_key, signed_pre_key_sig: dump.signed_pre_key_sig,
              identity_key_ed25519: dump.identity_key_ed25519, pre_keys: dump.pre_keys,
            });
          }
        }
      });

      it('payload crypto: we decrypt python\'s payloads and python decrypts ours', async () => {
        const { alice: a } = peers();
        // No '' for 0.3: an empty GCM ciphertext means "no <payload>", i.e. a key transport message.
        for (const text of [...(ns === NS_03 ? [] : ['']), 'x', 'hello payload', 'ü'.repeat(1000)]) {
          const plaintext = utf8ToBytes(text);
          const theirs = await a.payloadEncrypt(ns, bytesToBase64(plaintext));
          if (ns === NS_03) {
            expect(b64(theirs.key_material).length).to.equal(32);
            expect(bytesToUtf8(decryptPayload03(b64(theirs.key_material), b64(theirs.iv), b64(theirs.payload)))).to.equal(text);
            const ours = encryptPayload03(plaintext, systemRandom);
            const back = await a.payloadDecrypt(ns, bytesToBase64(ours.keyMaterial), bytesToBase64(ours.iv), bytesToBase64(ours.payload));
            expect(bytesToUtf8(b64(back))).to.equal(text);
          } else {
            expect(b64(theirs.key_material).length).to.equal(48);
            expect(bytesToUtf8(decryptPayload2(b64(theirs.key_material), b64(theirs.payload)))).to.equal(text);
            const ours = encryptPayload2(plaintext, systemRandom);
            const back = await a.payloadDecrypt(ns, bytesToBase64(ours.keyMaterial), null, bytesToBase64(ours.payload));
            expect(bytesToUtf8(b64(back))).to.equal(text);
          }
        }
      });
    });
  }

  it('our protobuf encoders match python-protobuf byte for byte on random field values', async () => {
    const { alice: a } = peers();
    const u32 = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 127, 128, 16383, 16384, 0xffffffff));
    const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
    const blob = fc.uint8Array({ minLength: 0, maxLength: 300 });
    await fc.assert(fc.asyncProperty(u32, u32, key32, blob, key32, u32, fc.uint8Array({ minLength: 16, maxLength: 16 }), async (n, pn, key, ciphertext, other, id, mac) => {
      // omemo:2
      const m2 = encodeOmemoMessage({ n, pn, dhPub: key, ciphertext });
      expect(bytesToBase64(m2)).to.equal(await a.pbEncode(NS_2, 'OMEMOMessage', { n, pn, dh_pub: bytesToBase64(key), ciphertext: bytesToBase64(ciphertext) }));
      const am = encodeOmemoAuthenticatedMessage({ mac, message: m2 });
      expect(bytesToBase64(am)).to.equal(await a.pbEncode(NS_2, 'OMEMOAuthenticatedMessage', { mac: bytesToBase64(mac), message: bytesToBase64(m2) }));
      const kex = encodeOmemoKeyExchange({ pkId: id, spkId: n, ik: key, ek: other, message: am });
      expect(bytesToBase64(kex)).to.equal(await a.pbEncode(NS_2, 'OMEMOKeyExchange', { pk_id: id, spk_id: n, ik: bytesToBase64(key), ek: bytesToBase64(other), message: bytesToBase64(am) }));
      // 0.3 (python's field names: dh_pub=1, n=2, pn=3, ciphertext=4; pk_id=1, ek=2, ik=3, message=4, spk_id=6)
      const body = encodeSignalMessageBody({ ratchetKey: key, counter: n, previousCounter: pn, ciphertext });
      expect(bytesToBase64(body.subarray(1))).to.equal(await a.pbEncode(NS_03, 'OMEMOMessage', { n, pn, dh_pub: bytesToBase64(serializeCurve25519PublicKey(key)), ciphertext: bytesToBase64(ciphertext) }));
      const signal = encodeSignalMessage(body, mac.subarray(0, 8));
      const pre = encodePreKeySignalMessage({ preKeyId: id, signedPreKeyId: pn, baseKey: other, identityKey: key, message: signal });
      expect(bytesToBase64(pre.subarray(1))).to.equal(await a.pbEncode(NS_03, 'OMEMOKeyExchange', {
        pk_id: id, spk_id: pn, ek: bytesToBase64(serializeCurve25519PublicKey(other)), ik: bytesToBase64(serializeCurve25519PublicKey(key)), message: bytesToBase64(signal),
      }));
    }), { numRuns: 150 });
  });
});

function checkKey03(data: Uint8Array, prekey: boolean, theirs: DumpedKey): void {
  let signal = data;
  if (prekey) {
    const pre = decodePreKeySignalMessage(data);
    const kex = theirs.key_exchange;
    expect(pre.preKeyId).to.equal(pbInt(kex, 'pk_id'));
    expect(pre.signedPreKeyId).to.equal(pbInt(kex, 'spk_id'));
    expect(serializeCurve25519PublicKey(pre.baseKey)).to.deep.equal(pbBytes(kex, 'ek'));
    expect(serializeCurve25519PublicKey(pre.identityKey)).to.deep.equal(pbBytes(kex, 'ik'));
    expect(pre.message).to.deep.equal(pbBytes(kex, 'message'));
    expect(pre.registrationId, 'python-oldmemo does not send a registration id').to.equal(undefined);
    expect(encodePreKeySignalMessage(pre), 'PreKeySignalMessage re-encodes identically').to.deep.equal(data);
    signal = pre.message;
  }
  const decoded = decodeSignalMessage(signal);
  const sm = theirs.signal_message;
  expect(decoded.message.counter).to.equal(pbInt(sm, 'n'));
  expect(decoded.message.previousCounter).to.equal(pbInt(sm, 'pn'));
  expect(serializeCurve25519PublicKey(decoded.message.ratchetKey)).to.deep.equal(pbBytes(sm, 'dh_pub'));
  expect(decoded.message.ciphertext).to.deep.equal(pbBytes(sm, 'ciphertext'));
  expect(decoded.mac).to.deep.equal(b64(theirs.mac));
  expect(encodeSignalMessageBody(decoded.message)).to.deep.equal(decoded.versionedBody);
  expect(encodeSignalMessage(encodeSignalMessageBody(decoded.message), decoded.mac), 'SignalMessage re-encodes identically').to.deep.equal(signal);
}

function checkKey2(data: Uint8Array, kex: boolean, theirs: DumpedKey): void {
  let authenticated = data;
  if (kex) {
    const ke = decodeOmemoKeyExchange(data);
    const pk = theirs.key_exchange;
    expect(ke.pkId).to.equal(pbInt(pk, 'pk_id'));
    expect(ke.spkId).to.equal(pbInt(pk, 'spk_id'));
    expect(ke.ik).to.deep.equal(pbBytes(pk, 'ik'));
    expect(ke.ek).to.deep.equal(pbBytes(pk, 'ek'));
    expect(ke.message).to.deep.equal(pbBytes(pk, 'message'));
    expect(encodeOmemoKeyExchange(ke), 'OMEMOKeyExchange re-encodes identically').to.deep.equal(data);
    authenticated = ke.message;
  }
  const am = decodeOmemoAuthenticatedMessage(authenticated);
  expect(am.mac).to.deep.equal(pbBytes(theirs.authenticated_message, 'mac'));
  expect(am.message).to.deep.equal(pbBytes(theirs.authenticated_message, 'message'));
  expect(encodeOmemoAuthenticatedMessage(am), 'OMEMOAuthenticatedMessage re-encodes identically').to.deep.equal(authenticated);
  const m = decodeOmemoMessage(am.message);
  const om = theirs.omemo_message;
  expect(m.n).to.equal(pbInt(om, 'n'));
  expect(m.pn).to.equal(pbInt(om, 'pn'));
  expect(m.dhPub).to.deep.equal(pbBytes(om, 'dh_pub'));
  expect(m.ciphertext).to.deep.equal(pbBytes(om, 'ciphertext'));
  expect(encodeOmemoMessage(m), 'OMEMOMessage re-encodes identically').to.deep.equal(am.message);
}
