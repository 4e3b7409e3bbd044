/**
 * Our OMEMO numbers: the message path a session manager runs per message, built from the
 * existing layers (omemo/x3dh.ts, omemo/ratchet/*, omemo/versions/{v03,v2}/: payload,
 * ratchet-aead, protobuf, xml), for OMEMO 0.3 and omemo:2, in-process.
 *
 * What is timed (the same operations the python-omemo and libsignal benches time):
 * - x3dh: the active side builds every peer key from the bundle's published bytes (no bundle
 *   XML is parsed, in any of the three benches), verifies the signed-prekey signature, runs
 *   X3DH, starts the ratchet, encrypts the first key material and encodes the key exchange; the
 *   passive side decodes it, runs X3DH and opens the first message (decryptInitialMessage).
 * - encrypt.100B: payload encryption of 100 bytes, one ratchet message, the `<encrypted>`
 *   element serialized to a string.
 * - decrypt.100B: that string parsed, the key for us found, the ratchet message opened, the
 *   payload decrypted.
 * - fanout.N: one payload encryption, N ratchet messages, one `<encrypted>` with N keys,
 *   serialized.
 */
import { bytesToUtf8, utf8ToBytes } from '../lib/core/bytes.js';
import { systemRandom } from '../lib/core/random.js';
import { X25519PrivateKey, X25519PublicKey } from '../omemo/crypto/curve25519.js';
import { IdentityKeyPair } from '../omemo/crypto/identity-key.js';
import { decryptInitialMessage, decryptMessage, encryptMessage, initializeActiveSession } from '../omemo/ratchet/double-ratchet.js';
import type { DoubleRatchetConfig, DoubleRatchetState, RatchetMessage } from '../omemo/ratchet/double-ratchet.js';
import { decryptPayload03, encryptPayload03 } from '../omemo/versions/v03/payload.js';
import { OMEMO_03_PROFILE } from '../omemo/versions/v03/profile.js';
import { decodePreKeySignalMessage, encodePreKeySignalMessage } from '../omemo/versions/v03/protobuf.js';
import { signalMessageToRatchetMessage } from '../omemo/versions/v03/ratchet-aead.js';
import { decodeEncrypted03, encodeEncrypted03 } from '../omemo/versions/v03/xml.js';
import { decryptPayload2, encryptPayload2 } from '../omemo/versions/v2/payload.js';
import { OMEMO_2_PROFILE } from '../omemo/versions/v2/profile.js';
import { decodeOmemoKeyExchange, encodeOmemoKeyExchange } from '../omemo/versions/v2/protobuf.js';
import { authenticatedMessageToRatchetMessage } from '../omemo/versions/v2/ratchet-aead.js';
import { decodeEncrypted2, encodeEncrypted2 } from '../omemo/versions/v2/xml.js';
import { x3dhActive, x3dhPassive } from '../omemo/x3dh.js';
import type { X3dhProfile } from '../omemo/x3dh.js';
import { parseXml, serializeXml } from '../omemo/xml-codec.js';
import { MESSAGE_WARMUP, SETUP_WARMUP, median, nowMs } from './stats.js';
import type { OmemoBenchCounts, OmemoBenchVersion, OmemoResults, OmemoVersionResults } from './stats.js';

const random = systemRandom;
const RECIPIENT_JID = 'bob@example.org'; // every recipient device in these runs belongs to one bare JID;

/** One device: identity, a signed prekey and one one-time prekey, with its published bytes. */
interface Device {
  readonly id: number;
  readonly identity: IdentityKeyPair;
  readonly signedPreKey: X25519PrivateKey;
  readonly signedPreKeyId: number;
  readonly preKey: X25519PrivateKey;
  readonly preKeyId: number;
  /** What the bundle publishes (wire-form identity key, raw prekeys, signature). */
  readonly published: { identityKey: Uint8Array; signedPreKey: Uint8Array; signature: Uint8Array; preKey: Uint8Array };
}

/** One side of a session (mutable holder of the immutable ratchet state). */
interface Session {
  state: DoubleRatchetState;
}

/** A recipient device and our session with it. */
interface Recipient {
  readonly id: number;
  readonly session: Session;
}

/** The version-specific wire steps. */
interface VersionOps {
  readonly x3dh: X3dhProfile;
  readonly ratchet: DoubleRatchetConfig;
  /** The key material of a 100-byte message's payload (what the ratchet carries), untimed helper. */
  keyMaterial(): Uint8Array;
  encodeKeyExchange(sender: Device, recipient: Device, ephemeral: Uint8Array, message: Uint8Array): Uint8Array;
  decodeKeyExchange(wire: Uint8Array): { identityKey: Uint8Array; ephemeralKey: Uint8Array; message: Uint8Array };
  ratchetMessage(wire: Uint8Array): RatchetMessage;
  /** payload + one ratchet message per recipient + `<encrypted>` serialized. */
  encrypt(senderId: number, recipients: readonly Recipient[], plaintext: Uint8Array): string;
  /** parse + key lookup (own device id) + ratchet + payload. */
  decrypt(ownId: number, session: Session, xml: string): Uint8Array;
}

function makeDevice(profile: X3dhProfile, id: number): Device {
  const identity = IdentityKeyPair.generate(random);
  const signedPreKey = X25519PrivateKey.generate(random);
  const preKey = X25519PrivateKey.generate(random);
  return {
    id,
    identity,
    signedPreKey,
    signedPreKeyId: 1,
    preKey,
    preKeyId: 42,
    published: {
      identityKey: profile.identityPublicKey(identity),
      signedPreKey: signedPreKey.publicKey.bytes,
      signature: profile.signSignedPreKey(identity, signedPreKey.publicKey, random),
      preKey: preKey.publicKey.bytes,
    },
  };
}

function ratchetEncrypt(ops: VersionOps, session: Session, plaintext: Uint8Array): Uint8Array {
  const sent = encryptMessage(ops.ratchet, session.state, plaintext);
  session.state = sent.state;
  return sent.message.ciphertext;
}

const V03: VersionOps = {
  x3dh: OMEMO_03_PROFILE.x3dh,
  ratchet: OMEMO_03_PROFILE.ratchet,
  keyMaterial: () => encryptPayload03(new Uint8Array(100).fill(0x61), random).keyMaterial,
  encodeKeyExchange: (sender, recipient, ephemeral, message) =>
    encodePreKeySignalMessage({
      preKeyId: recipient.preKeyId,
      signedPreKeyId: recipient.signedPreKeyId,
      baseKey: ephemeral,
      identityKey: sender.published.identityKey,
      message,
    }),
  decodeKeyExchange: (wire) => {
    const pre = decodePreKeySignalMessage(wire);
    return { identityKey: pre.identityKey, ephemeralKey: pre.baseKey, message: pre.message };
  },
  ratchetMessage: signalMessageToRatchetMessage,
  encrypt(senderId, recipients, plaintext) {
    const payload = encryptPayload03(plaintext, random);
    const keys = recipients.map((r) => ({ rid: r.id, prekey: false, data: ratchetEncrypt(V03, r.session, payload.keyMaterial) }));
    return serializeXml(encodeEncrypted03({ sid: senderId, keys, iv: payload.iv, payload: payload.payload }));
  },
  decrypt(ownId, session, xml) {
    const encrypted = decodeEncrypted03(parseXml(xml));
    const key = encrypted.keys.find((k) => k.rid === ownId);
    if (key === undefined || encrypted.payload === undefined) throw new Error('ours: no key for us');
    const opened = decryptMessage(V03.ratchet, session.state, signalMessageToRatchetMessage(key.data), random);
    session.state = opened.state;
    return decryptPayload03(opened.plaintext, encrypted.iv, encrypted.payload);
  },
};

const V2: VersionOps = {
  x3dh: OMEMO_2_PROFILE.x3dh,
  ratchet: OMEMO_2_PROFILE.ratchet,
  keyMaterial: () => encryptPayload2(new Uint8Array(100).fill(0x61), random).keyMaterial,
  encodeKeyExchange: (sender, recipient, ephemeral, message) =>
    encodeOmemoKeyExchange({ pkId: recipient.preKeyId, spkId: recipient.signedPreKeyId, ik: sender.published.identityKey, ek: ephemeral, message }),
  decodeKeyExchange: (wire) => {
    const kex = decodeOmemoKeyExchange(wire);
    return { identityKey: kex.ik, ephemeralKey: kex.ek, message: kex.message };
  },
  ratchetMessage: authenticatedMessageToRatchetMessage,
  encrypt(senderId, recipients, plaintext) {
    const payload = encryptPayload2(plaintext, random);
    const keys = recipients.map((r) => ({ rid: r.id, kex: false, data: ratchetEncrypt(V2, r.session, payload.keyMaterial) }));
    return serializeXml(encodeEncrypted2({ sid: senderId, keys: [{ jid: RECIPIENT_JID, keys }], payload: payload.payload }));
  },
  decrypt(ownId, session, xml) {
    const encrypted = decodeEncrypted2(parseXml(xml));
    const key = encrypted.keys.find((g) => g.jid === RECIPIENT_JID)?.keys.find((k) => k.rid === ownId);
    if (key === undefined || encrypted.payload === undefined) throw new Error('ours: no key for us');
    const opened = decryptMessage(V2.ratchet, session.state, authenticatedMessageToRatchetMessage(key.data), random);
    session.state = opened.state;
    return decryptPayload2(opened.plaintext, encrypted.payload);
  },
};

/** The timed set-up: active side from the published bytes, passive side from the wire bytes. */
function setUpSession(ops: VersionOps, alice: Device, bob: Device, keyMaterial: Uint8Array): { active: Session; passive: Session } {
  // active side: build the session from the bundle's bytes
  const bundle = {
    identityKey: bob.published.identityKey,
    signedPreKey: X25519PublicKey.fromBytes(bob.published.signedPreKey),
    signedPreKeySignature: bob.published.signature,
    preKey: X25519PublicKey.fromBytes(bob.published.preKey),
  };
  const agreed = x3dhActive(ops.x3dh, alice.identity, bundle, random);
  const started = initializeActiveSession(
    ops.ratchet,
    { sharedSecret: agreed.sharedSecret, peerSignedPreKey: bundle.signedPreKey, associatedData: agreed.sessionAssociatedData },
    random,
  );
  const first = encryptMessage(ops.ratchet, started, keyMaterial);
  const wire = ops.encodeKeyExchange(alice, bob, agreed.header.ephemeralKey.bytes, first.message.ciphertext);

  // passive side: decode the key exchange, X3DH, open the first message
  const kex = ops.decodeKeyExchange(wire);
  const header = { identityKey: kex.identityKey, ephemeralKey: X25519PublicKey.fromBytes(kex.ephemeralKey) };
  const responded = x3dhPassive(ops.x3dh, bob.identity, header, bob.signedPreKey, bob.preKey);
  const opened = decryptInitialMessage(
    ops.ratchet,
    { sharedSecret: responded.sharedSecret, ownSignedPreKey: bob.signedPreKey, associatedData: responded.sessionAssociatedData },
    ops.ratchetMessage(kex.message),
    random,
  );
  if (opened.plaintext.length !== keyMaterial.length) throw new Error('ours: first message did not open');
  return { active: { state: first.state }, passive: { state: opened.state } };
}

/** A confirmed session: set up, then one reply from the passive side (the active side ratchets). */
function establish(ops: VersionOps, alice: Device, bob: Device): { alice: Session; bob: Session } {
  const { active, passive } = setUpSession(ops, alice, bob, ops.keyMaterial());
  const reply = ops.encrypt(bob.id, [{ id: alice.id, session: passive }], utf8ToBytes('ack'));
  if (bytesToUtf8(ops.decrypt(alice.id, active, reply)) !== 'ack') throw new Error('ours: reply did not decrypt');
  return { alice: active, bob: passive };
}

function benchVersion(version: OmemoBenchVersion, counts: OmemoBenchCounts): OmemoVersionResults {
  const ops = version === 'v03' ? V03 : V2;
  const alice = makeDevice(ops.x3dh, 1001);
  const bob = makeDevice(ops.x3dh, 2001);

  const setup: number[] = [];
  for (let i = 0; i < SETUP_WARMUP + counts.setupRuns; i++) {
    const keyMaterial = ops.keyMaterial();
    const t0 = nowMs();
    setUpSession(ops, alice, bob, keyMaterial);
    const dt = nowMs() - t0;
    if (i >= SETUP_WARMUP) setup.push(dt);
  }

  const { alice: a, bob: b } = establish(ops, alice, bob);
  const toBob: Recipient = { id: bob.id, session: a };
  const message = new Uint8Array(100).fill(0x61);
  // each message timed on its own: the median is robust to preemption and GC pauses
  const enc: number[] = [];
  const wires: string[] = [];
  for (let i = 0; i < MESSAGE_WARMUP + counts.messages; i++) {
    const t0 = nowMs();
    const xml = ops.encrypt(alice.id, [toBob], message);
    if (i >= MESSAGE_WARMUP) enc.push(nowMs() - t0);
    wires.push(xml);
  }
  const dec: number[] = [];
  for (const [i, xml] of wires.entries()) {
    const t0 = nowMs();
    const plaintext = ops.decrypt(bob.id, b, xml);
    if (i >= MESSAGE_WARMUP) dec.push(nowMs() - t0);
    if (plaintext.length !== 100) throw new Error('ours: decrypt mismatch');
  }

  // 100 confirmed sessions; fan-out to 10 uses the first 10
  const everyone: Recipient[] = [];
  for (let i = 0; i < 100; i++) {
    const device = makeDevice(ops.x3dh, 3001 + i);
    everyone.push({ id: device.id, session: establish(ops, alice, device).alice });
  }
  const fanout = (n: number): number => {
    const recipients = everyone.slice(0, n);
    const times: number[] = [];
    for (let r = 0; r <= counts.fanoutRuns; r++) {
      const t0 = nowMs();
      const xml = ops.encrypt(alice.id, recipients, message);
      const dt = nowMs() - t0;
      if (xml.length < n * 40) throw new Error('ours: fan-out too short');
      if (r > 0) times.push(dt);
    }
    return median(times);
  };
  return { x3dhMs: median(setup), encrypt100Ms: median(enc), decrypt100Ms: median(dec), fanout10Ms: fanout(10), fanout100Ms: fanout(100) };
}

/** Runs our OMEMO benchmark for both versions. */
export function runOmemoOursBench(counts: OmemoBenchCounts): OmemoResults {
  return { v03: benchVersion('v03', counts), v2: benchVersion('v2', counts) };
}
