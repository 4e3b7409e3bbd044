/**
 * python-omemo 1.0 builds sessions to a device that publishes OUR bundles (both versions at
 * once, one identity): python must accept our device lists and bundles, verify our signed-prekey
 * signatures, encrypt to us (we decrypt the key exchange with our stack), and record the SAME
 * Ed25519 identity key for our device under 0.3 and omemo:2 (the sig[63] sign-bit rule),
 * for seed-born identities with either Edwards sign bit and for an X25519-born identity.
 */
import { expect } from 'chai';
import { base64ToBytes, bytesToBase64, bytesToUtf8, utf8ToBytes } from '../../lib/core/bytes.js';
import { deterministicRandom } from '../../lib/core/crypto/deterministic-random.js';
import { systemRandom } from '../../lib/core/random.js';
import { X25519PrivateKey, X25519PublicKey } from '../../omemo/crypto/curve25519.js';
import { IdentityKeyPair } from '../../omemo/crypto/identity-key.js';
import { decryptInitialMessage, encryptMessage } from '../../omemo/ratchet/double-ratchet.js';
import { decryptPayload03, encryptPayload03 } from '../../omemo/versions/v03/payload.js';
import { OMEMO_03_PROFILE } from '../../omemo/versions/v03/profile.js';
import { decodePreKeySignalMessage } from '../../omemo/versions/v03/protobuf.js';
import { signalMessageToRatchetMessage } from '../../omemo/versions/v03/ratchet-aead.js';
import { decodeEncrypted03, encodeBundle03, encodeDeviceList03, encodeEncrypted03 } from '../../omemo/versions/v03/xml.js';
import { decryptPayload2, encryptPayload2 } from '../../omemo/versions/v2/payload.js';
import { OMEMO_2_PROFILE } from '../../omemo/versions/v2/profile.js';
import { decodeOmemoKeyExchange } from '../../omemo/versions/v2/protobuf.js';
import { authenticatedMessageToRatchetMessage } from '../../omemo/versions/v2/ratchet-aead.js';
import { decodeEncrypted2, encodeBundle2, encodeDeviceList2, encodeEncrypted2 } from '../../omemo/versions/v2/xml.js';
import { x3dhPassive } from '../../omemo/x3dh.js';
import { parseXml, serializeXml } from '../../omemo/xml-codec.js';
import { requirePeer } from './peer-availability.js';
import { NS_03, NS_2, PYTHON_OMEMO_PEER, PythonOmemoPeer, probePythonOmemo } from './omemo/python-omemo-peer.js';

const OUR_JID = 'ours@o.example';
const OUR_DEVICE = 4242;

function seedWithSignBit(bit: 0 | 1): IdentityKeyPair {
  for (let i = 0; ; i++) {
    const identity = IdentityKeyPair.fromEd25519Seed(deterministicRandom(`identity-${i}`)(32));
    if (((identity.edwardsPublicKey[31] as number) >> 7) === bit) return identity;
  }
}

describe('interop: python-omemo 1.0 builds sessions from OUR published bundles (0.3 + omemo:2, one identity)', function () {
  this.timeout(90_000);

  before(function () {
    requirePeer(this, PYTHON_OMEMO_PEER, probePythonOmemo());
  });

  const identities: [string, () => IdentityKeyPair][] = [
    ['seed-born identity, Edwards sign bit 0', () => seedWithSignBit(0)],
    ['seed-born identity, Edwards sign bit 1', () => seedWithSignBit(1)],
    ['X25519-born identity (libsignal style)', () => IdentityKeyPair.fromX25519PrivateKey(deterministicRandom('x25519-identity')(32))],
  ];

  for (const [label, makeIdentity] of identities) {
    it(label, async () => {
      const identity = makeIdentity();
      const random = deterministicRandom(`bundle-${label}`);
      const signedPreKey = X25519PrivateKey.generate(random);
      // Separate one-time prekeys per version (ids 1-5 for 0.3, 11-15 for omemo:2).
      const preKeys = new Map<number, X25519PrivateKey>();
      for (const id of [1, 2, 3, 4, 5, 11, 12, 13, 14, 15]) preKeys.set(id, X25519PrivateKey.generate(random));
      const preKeyList = (min: number, max: number): { id: number; key: Uint8Array }[] =>
        [...preKeys].filter(([id]) => id >= min && id <= max).map(([id, key]) => ({ id, key: key.publicKey.bytes }));
      const bundles = {
        [NS_03]: serializeXml(encodeBundle03({
          signedPreKeyId: 7, signedPreKey: signedPreKey.publicKey.bytes,
          signedPreKeySignature: OMEMO_03_PROFILE.x3dh.signSignedPreKey(identity, signedPreKey.publicKey, random),
          identityKey: identity.montgomeryPublicKey, preKeys: preKeyList(1, 5),
        })),
        [NS_2]: serializeXml(encodeBundle2({
          spkId: 7, spk: signedPreKey.publicKey.bytes,
          spks: OMEMO_2_PROFILE.x3dh.signSignedPreKey(identity, signedPreKey.publicKey, random),
          ik: identity.edwardsPublicKey, preKeys: preKeyList(11, 15),
        })),
      };
      const lists = {
        [NS_03]: serializeXml(encodeDeviceList03([OUR_DEVICE])),
        [NS_2]: serializeXml(encodeDeviceList2([{ id: OUR_DEVICE, label: 'ours' }])),
      };
      const carol = await PythonOmemoPeer.start('carol@c.example');
      try {
        // 0.3 first and alone: python learns our identity from the 0.3 bundle only (Curve25519 key
        // plus the sign bit in sig[63]); then omemo:2 must agree with it.
        for (const ns of [NS_03, NS_2] as const) {
          await carol.pepBundle(ns, OUR_JID, OUR_DEVICE, bundles[ns]);
          await carol.pepDeviceList(ns, OUR_JID, lists[ns]);
          const profile = ns === NS_03 ? OMEMO_03_PROFILE : OMEMO_2_PROFILE;
          const text = `to our bundle over ${ns}`;
          const xml = (await carol.encrypt(ns, [OUR_JID], text)).xml;
          let wire: Uint8Array;
          let ik: Uint8Array;
          let ek: Uint8Array;
          let spkId: number;
          let pkId: number;
          let decryptPayload: (keyMaterial: Uint8Array) => Uint8Array;
          if (ns === NS_03) {
            const e = decodeEncrypted03(parseXml(xml));
            const key = e.keys.find((k) => k.rid === OUR_DEVICE)!;
            expect(key.prekey).to.equal(true);
            const pre = decodePreKeySignalMessage(key.data);
            ({ identityKey: ik, baseKey: ek, signedPreKeyId: spkId, preKeyId: pkId, message: wire } = pre);
            decryptPayload = (km) => decryptPayload03(km, e.iv, e.payload!);
          } else {
            const e = decodeEncrypted2(parseXml(xml));
            const key = e.keys.find((g) => g.jid === OUR_JID)!.keys.find((k) => k.rid === OUR_DEVICE)!;
            expect(key.kex).to.equal(true);
            const kex = decodeOmemoKeyExchange(key.data);
            ({ ik, ek, spkId, pkId, message: wire } = kex);
            decryptPayload = (km) => decryptPayload2(km, e.payload!);
          }
          expect(spkId).to.equal(7);
          expect(pkId).to.be.within(ns === NS_03 ? 1 : 11, ns === NS_03 ? 5 : 15);
          const x3dh = x3dhPassive(profile.x3dh, identity, { identityKey: ik, ephemeralKey: X25519PublicKey.fromBytes(ek) }, signedPreKey, preKeys.get(pkId));
          const message = ns === NS_03 ? signalMessageToRatchetMessage(wire) : authenticatedMessageToRatchetMessage(wire);
          const opened = decryptInitialMessage(profile.ratchet, { sharedSecret: x3dh.sharedSecret, ownSignedPreKey: signedPreKey, associatedData: x3dh.sessionAssociatedData }, message, systemRandom);
          expect(bytesToUtf8(decryptPayload(opened.plaintext))).to.equal(text);

          // Reply, so python confirms the session and tells us which identity key it recorded for our device.
          const reply = `reply over ${ns}`;
          let replyXml: string;
          if (ns === NS_03) {
            const payload = encryptPayload03(utf8ToBytes(reply), systemRandom);
            const sent = encryptMessage(profile.ratchet, opened.state, payload.keyMaterial);
            replyXml = serializeXml(encodeEncrypted03({ sid: OUR_DEVICE, keys: [{ rid: carol.info.device_id, prekey: false, data: sent.message.ciphertext }], iv: payload.iv, payload: payload.payload }));
          } else {
            const payload = encryptPayload2(utf8ToBytes(reply), systemRandom);
            const sent = encryptMessage(profile.ratchet, opened.state, payload.keyMaterial);
            replyXml = serializeXml(encodeEncrypted2({ sid: OUR_DEVICE, keys: [{ jid: carol.jid, keys: [{ rid: carol.info.device_id, kex: false, data: sent.message.ciphertext }] }], payload: payload.payload }));
          }
          const got = await carol.decrypt(OUR_JID, replyXml);
          expect(got.plaintext).to.equal(reply);
          expect(got.sender_identity_key_ed25519, `python's record of our identity under ${ns}`).to.equal(bytesToBase64(identity.edwardsPublicKey));
          expect(base64ToBytes(got.sender_identity_key_ed25519)).to.deep.equal(identity.edwardsPublicKey);
        }
      } finally {
        await carol.close();
      }
    });
  }
});
