/**
 * First session interop with a REAL python-omemo 1.0, both versions: python (carol) starts a
 * session with a python device (dave) whose private X3DH keys our stack borrows; our stack then
 * runs X3DH (responder), the Double Ratchet (F's core) and this layer's codecs/AEADs/payloads
 * to decrypt python's key-exchange message, answers through OUR ratchet (python decrypts it),
 * and decrypts python's follow-up.
 */
import { expect } from 'chai';
import { base64ToBytes, bytesToUtf8, utf8ToBytes } from '../../lib/core/bytes.js';
import { systemRandom } from '../../lib/core/random.js';
import { X25519PrivateKey, X25519PublicKey } from '../../omemo/crypto/curve25519.js';
import { IdentityKeyPair } from '../../omemo/crypto/identity-key.js';
import { decryptInitialMessage, decryptMessage, encryptMessage } from '../../omemo/ratchet/double-ratchet.js';
import type { DoubleRatchetState } from '../../omemo/ratchet/double-ratchet.js';
import { decryptPayload03, encryptPayload03 } from '../../omemo/versions/v03/payload.js';
import { OMEMO_03_PROFILE } from '../../omemo/versions/v03/profile.js';
import { decodePreKeySignalMessage } from '../../omemo/versions/v03/protobuf.js';
import { signalMessageToRatchetMessage } from '../../omemo/versions/v03/ratchet-aead.js';
import { decodeEncrypted03, encodeEncrypted03 } from '../../omemo/versions/v03/xml.js';
import { decryptPayload2, encryptPayload2 } from '../../omemo/versions/v2/payload.js';
import { OMEMO_2_PROFILE } from '../../omemo/versions/v2/profile.js';
import { decodeOmemoKeyExchange } from '../../omemo/versions/v2/protobuf.js';
import { authenticatedMessageToRatchetMessage } from '../../omemo/versions/v2/ratchet-aead.js';
import { decodeEncrypted2, encodeEncrypted2 } from '../../omemo/versions/v2/xml.js';
import { createSceEnvelope, parseSceEnvelope, serializeSceEnvelope } from '../../omemo/sce.js';
import { x3dhPassive } from '../../omemo/x3dh.js';
import { parseXml, serializeXml } from '../../omemo/xml-codec.js';
import { xmlElement } from '../../omemo/xml-element.js';
import { requirePeer } from './peer-availability.js';
import { NS_03, NS_2, PYTHON_OMEMO_PEER, PythonOmemoPeer, probePythonOmemo } from './omemo/python-omemo-peer.js';
import type { ExportedPrivateKeys, OmemoNamespace } from './omemo/python-omemo-peer.js';

function b64(text: string | undefined): Uint8Array {
  const bytes = text === undefined ? undefined : base64ToBytes(text);
  if (bytes === undefined) throw new Error('bad base64 from python');
  return bytes;
}

interface Received {
  readonly wire: Uint8Array;
  readonly kex: boolean;
  readonly iv?: Uint8Array | undefined;
  readonly payload?: Uint8Array | undefined;
}

/** Our key for (jid, device) in a python `<encrypted>`. */
function ourKey(ns: OmemoNamespace, xml: string, jid: string, deviceId: number): Received {
  const element = parseXml(xml);
  if (ns === NS_03) {
    const e = decodeEncrypted03(element);
    const key = e.keys.find((k) => k.rid === deviceId);
    if (key === undefined) throw new Error('no key for us');
    return { wire: key.data, kex: key.prekey, iv: e.iv, payload: e.payload };
  }
  const e = decodeEncrypted2(element);
  const key = e.keys.find((g) => g.jid === jid)?.keys.find((k) => k.rid === deviceId);
  if (key === undefined) throw new Error('no key for us');
  return { wire: key.data, kex: key.kex, payload: e.payload };
}

describe('interop: first OMEMO session with python-omemo 1.0 through our X3DH + ratchet + wire layer', function () {
  this.timeout(60_000);

  before(function () {
    requirePeer(this, PYTHON_OMEMO_PEER, probePythonOmemo());
  });

  for (const ns of [NS_03, NS_2] as const) {
    it(`${ns}: decrypts python's key exchange, answers through our ratchet, decrypts the follow-up`, async () => {
      const carol = await PythonOmemoPeer.start('carol@c.example');
      const dave = await PythonOmemoPeer.start('dave@d.example');
      try {
        await carol.pepBundle(ns, dave.jid, dave.info.device_id, dave.info.bundle[ns]);
        await carol.pepDeviceList(ns, dave.jid, dave.info.devicelist[ns]);
        await dave.pepBundle(ns, carol.jid, carol.info.device_id, carol.info.bundle[ns]);
        await dave.pepDeviceList(ns, carol.jid, carol.info.devicelist[ns]);
        const keys: ExportedPrivateKeys = await dave.exportPrivate(ns);
        expect(keys.identity.kind).to.equal('seed');
        const identity = IdentityKeyPair.fromEd25519Seed(b64(keys.identity.key));
        expect(identity.edwardsPublicKey).to.deep.equal(b64(dave.info.identity_key_ed25519_b64));
        const profile = ns === NS_03 ? OMEMO_03_PROFILE : OMEMO_2_PROFILE;
        const sce = (text: string): string => serializeXml(createSceEnvelope({
          content: [xmlElement('body', { xmlns: 'jabber:client' }, [], text)], from: carol.jid, to: dave.jid, time: new Date(),
        }, systemRandom));
        const text1 = ns === NS_03 ? 'hello from python-oldmemo' : sce('hello from python-twomemo');

        // 1. python -> us: key exchange
        const first = ourKey(ns, (await carol.encrypt(ns, [dave.jid], text1)).xml, dave.jid, dave.info.device_id);
        expect(first.kex).to.equal(true);
        let header: { identityKey: Uint8Array; ephemeralKey: X25519PublicKey; spkId: number; pkId: number; message: Uint8Array };
        if (ns === NS_03) {
          const pre = decodePreKeySignalMessage(first.wire);
          header = { identityKey: pre.identityKey, ephemeralKey: X25519PublicKey.fromBytes(pre.baseKey), spkId: pre.signedPreKeyId, pkId: pre.preKeyId, message: pre.message };
        } else {
          const kex = decodeOmemoKeyExchange(first.wire);
          header = { identityKey: kex.ik, ephemeralKey: X25519PublicKey.fromBytes(kex.ek), spkId: kex.spkId, pkId: kex.pkId, message: kex.message };
        }
        expect(header.spkId).to.equal(keys.signed_pre_key.id);
        const signedPreKey = X25519PrivateKey.fromBytes(b64(keys.signed_pre_key.priv));
        const preKey = X25519PrivateKey.fromBytes(b64(keys.pre_keys[String(header.pkId)]));
        const x3dh = x3dhPassive(profile.x3dh, identity, header, signedPreKey, preKey);
        const ratchetMessage = ns === NS_03 ? signalMessageToRatchetMessage(header.message) : authenticatedMessageToRatchetMessage(header.message);
        const opened = decryptInitialMessage(profile.ratchet, { sharedSecret: x3dh.sharedSecret, ownSignedPreKey: signedPreKey, associatedData: x3dh.sessionAssociatedData }, ratchetMessage, systemRandom);
        let state: DoubleRatchetState = opened.state;
        const plaintext1 = ns === NS_03
          ? decryptPayload03(opened.plaintext, first.iv as Uint8Array, first.payload as Uint8Array)
          : decryptPayload2(opened.plaintext, first.payload as Uint8Array);
        expect(bytesToUtf8(plaintext1)).to.equal(text1);
        if (ns === NS_2) expect(parseSceEnvelope(plaintext1).from).to.equal(carol.jid);

        // 2. us -> python: a reply through our ratchet
        const reply = ns === NS_03 ? 'reply from our stack' : sce('reply from our stack');
        let replyXml: string;
        if (ns === NS_03) {
          const payload = encryptPayload03(utf8ToBytes(reply), systemRandom);
          const sent = encryptMessage(profile.ratchet, state, payload.keyMaterial);
          state = sent.state;
          replyXml = serializeXml(encodeEncrypted03({ sid: dave.info.device_id, keys: [{ rid: carol.info.device_id, prekey: false, data: sent.message.ciphertext }], iv: payload.iv, payload: payload.payload }));
        } else {
          const payload = encryptPayload2(serializeSceEnvelope(parseXml(reply)), systemRandom);
          const sent = encryptMessage(profile.ratchet, state, payload.keyMaterial);
          state = sent.state;
          replyXml = serializeXml(encodeEncrypted2({ sid: dave.info.device_id, keys: [{ jid: carol.jid, keys: [{ rid: carol.info.device_id, kex: false, data: sent.message.ciphertext }] }], payload: payload.payload }));
        }
        const got = await carol.decrypt(dave.jid, replyXml);
        expect(got.plaintext).to.equal(reply);
        expect(got.sender_device).to.equal(dave.info.device_id);

        // 3. python -> us: follow-up, no key exchange any more, new ratchet step
        const text3 = ns === NS_03 ? 'follow-up after your reply' : sce('follow-up after your reply');
        const third = ourKey(ns, (await carol.encrypt(ns, [dave.jid], text3)).xml, dave.jid, dave.info.device_id);
        expect(third.kex).to.equal(false);
        const opened3 = decryptMessage(profile.ratchet, state, ns === NS_03 ? signalMessageToRatchetMessage(third.wire) : authenticatedMessageToRatchetMessage(third.wire), systemRandom);
        const plaintext3 = ns === NS_03
          ? decryptPayload03(opened3.plaintext, third.iv as Uint8Array, third.payload as Uint8Array)
          : decryptPayload2(opened3.plaintext, third.payload as Uint8Array);
        expect(bytesToUtf8(plaintext3)).to.equal(text3);
      } finally {
        await carol.close();
        await dave.close();
      }
    });
  }
});
