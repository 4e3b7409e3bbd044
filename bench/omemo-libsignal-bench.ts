/**
 * Signal's native library (npm `@signalapp/libsignal-client`, Rust through N-API) doing the
 * operations of the OMEMO benchmark with its session API and in-memory stores, in-process.
 * libsignal's X3DH + Double Ratchet with version-3 messages IS OMEMO 0.3's cryptography
 * (SignalMessage / PreKeySignalMessage), so these rows are compared with our `omemo.v03.*`.
 *
 * The version is pinned to 0.72.1, whose PreKeyBundle may omit the Kyber prekey: 0.76.7 and the
 * current 0.103.0 require one (PQXDH: an ML-KEM-1024 encapsulation per session), which is not
 * the operation OMEMO performs. Without it 0.72.1 builds a version-3 session, OMEMO 0.3's
 * (its version byte reads 0x34: message version 3, library version 4; 0.3 clients write 0x33).
 *
 * Mapping to the OMEMO operations (libsignal has no separate payload layer):
 * - x3dh: PreKeyBundle from the published bytes + processPreKeyBundle + signalEncrypt of the
 *   32-byte key material, then PreKeySignalMessage.deserialize + signalDecryptPreKey;
 * - encrypt.100B / decrypt.100B: signalEncrypt of the 100-byte message (serialized) /
 *   SignalMessage.deserialize + signalDecrypt, in a confirmed session;
 * - fanout.N: N x signalEncrypt of the 32-byte key material (serialized), one per device.
 * Sessions are kept as SessionRecord objects (no serialization in the stores): the fastest
 * way to use the API, as a speed limit should be.
 */
import { createRequire } from 'node:module';
import type * as Signal from '@signalapp/libsignal-client';
import { MESSAGE_WARMUP, SETUP_WARMUP, median, nowMs } from './stats.js';
import type { OmemoBenchCounts, OmemoVersionResults } from './stats.js';

type Lib = typeof Signal;

interface Party {
  readonly address: Signal.ProtocolAddress;
  readonly identity: Signal.IdentityKeyPair;
  readonly registrationId: number;
  readonly signedPreKey: Signal.SignedPreKeyRecord;
  readonly preKey: Signal.PreKeyRecord;
  sessions: Signal.SessionStore;
  readonly identities: Signal.IdentityKeyStore;
  readonly preKeys: Signal.PreKeyStore;
  readonly signedPreKeys: Signal.SignedPreKeyStore;
  readonly kyberPreKeys: Signal.KyberPreKeyStore;
  /** The bundle as published: serialized public keys and the signature. */
  readonly published: { identityKey: Buffer; signedPreKey: Buffer; signature: Buffer; preKey: Buffer };
}

function stores(lib: Lib, identity: Signal.IdentityKeyPair, registrationId: number) {
  const key = (a: Signal.ProtocolAddress): string => `${a.name()}.${a.deviceId()}`;
  class Sessions extends lib.SessionStore {
    readonly map = new Map<string, Signal.SessionRecord>();
    override async saveSession(name: Signal.ProtocolAddress, record: Signal.SessionRecord): Promise<void> {
      this.map.set(key(name), record);
    }
    override async getSession(name: Signal.ProtocolAddress): Promise<Signal.SessionRecord | null> {
      return this.map.get(key(name)) ?? null;
    }
    override async getExistingSessions(addresses: Signal.ProtocolAddress[]): Promise<Signal.SessionRecord[]> {
      return addresses.map((a) => {
        const record = this.map.get(key(a));
        if (record === undefined) throw new Error(`libsignal bench: no session for ${key(a)}`);
        return record;
      });
    }
  }
  class Identities extends lib.IdentityKeyStore {
    readonly map = new Map<string, Signal.PublicKey>();
    override async getIdentityKey(): Promise<Signal.PrivateKey> {
      return identity.privateKey;
    }
    override async getLocalRegistrationId(): Promise<number> {
      return registrationId;
    }
    override async saveIdentity(name: Signal.ProtocolAddress, publicKey: Signal.PublicKey): Promise<Signal.IdentityChange> {
      this.map.set(key(name), publicKey);
      return lib.IdentityChange.NewOrUnchanged;
    }
    override async isTrustedIdentity(): Promise<boolean> {
      return true;
    }
    override async getIdentity(name: Signal.ProtocolAddress): Promise<Signal.PublicKey | null> {
      return this.map.get(key(name)) ?? null;
    }
  }
  class PreKeys extends lib.PreKeyStore {
    readonly map = new Map<number, Signal.PreKeyRecord>();
    override async savePreKey(id: number, record: Signal.PreKeyRecord): Promise<void> {
      this.map.set(id, record);
    }
    override async getPreKey(id: number): Promise<Signal.PreKeyRecord> {
      const record = this.map.get(id);
      if (record === undefined) throw new Error('libsignal bench: no such prekey');
      return record;
    }
    // kept: the benchmark reuses one bundle for every timed set-up (as the other benches do)
    override async removePreKey(): Promise<void> {}
  }
  class SignedPreKeys extends lib.SignedPreKeyStore {
    readonly map = new Map<number, Signal.SignedPreKeyRecord>();
    override async saveSignedPreKey(id: number, record: Signal.SignedPreKeyRecord): Promise<void> {
      this.map.set(id, record);
    }
    override async getSignedPreKey(id: number): Promise<Signal.SignedPreKeyRecord> {
      const record = this.map.get(id);
      if (record === undefined) throw new Error('libsignal bench: no such signed prekey');
      return record;
    }
  }
  class KyberPreKeys extends lib.KyberPreKeyStore {
    override async saveKyberPreKey(): Promise<void> {
      throw new Error('libsignal bench: Kyber prekeys are not used (OMEMO has none)');
    }
    override async getKyberPreKey(): Promise<Signal.KyberPreKeyRecord> {
      throw new Error('libsignal bench: Kyber prekeys are not used (OMEMO has none)');
    }
    override async markKyberPreKeyUsed(): Promise<void> {}
  }
  return {
    newSessions: (): Signal.SessionStore => new Sessions(),
    identities: new Identities(),
    preKeys: new PreKeys(),
    signedPreKeys: new SignedPreKeys(),
    kyberPreKeys: new KyberPreKeys(),
  };
}

function makeParty(lib: Lib, name: string, deviceId: number): Party {
  const identity = lib.IdentityKeyPair.generate();
  const registrationId = 1 + (deviceId % 16000);
  const spkPrivate = lib.PrivateKey.generate();
  const spkPublic = spkPrivate.getPublicKey();
  const signature = identity.privateKey.sign(spkPublic.serialize());
  const signedPreKey = lib.SignedPreKeyRecord.new(1, Date.now(), spkPublic, spkPrivate, signature);
  const pkPrivate = lib.PrivateKey.generate();
  const preKey = lib.PreKeyRecord.new(42, pkPrivate.getPublicKey(), pkPrivate);
  const s = stores(lib, identity, registrationId);
  void s.preKeys.savePreKey(42, preKey);
  void s.signedPreKeys.saveSignedPreKey(1, signedPreKey);
  return {
    address: lib.ProtocolAddress.new(name, deviceId),
    identity,
    registrationId,
    signedPreKey,
    preKey,
    sessions: s.newSessions(),
    identities: s.identities,
    preKeys: s.preKeys,
    signedPreKeys: s.signedPreKeys,
    kyberPreKeys: s.kyberPreKeys,
    published: {
      identityKey: identity.publicKey.serialize(),
      signedPreKey: spkPublic.serialize(),
      signature,
      preKey: pkPrivate.getPublicKey().serialize(),
    },
  };
}

function newSessionStore(lib: Lib): Signal.SessionStore {
  return stores(lib, lib.IdentityKeyPair.generate(), 1).newSessions();
}

/** Timed set-up: Alice processes Bob's bundle and sends the first message; Bob opens it. */
async function setUp(lib: Lib, alice: Party, bob: Party, keyMaterial: Buffer): Promise<Buffer> {
  const p = bob.published;
  const bundle = lib.PreKeyBundle.new(
    bob.registrationId, bob.address.deviceId(), 42, lib.PublicKey.deserialize(p.preKey),
    1, lib.PublicKey.deserialize(p.signedPreKey), p.signature, lib.PublicKey.deserialize(p.identityKey),
  );
  await lib.processPreKeyBundle(bundle, bob.address, alice.sessions, alice.identities);
  const first = await lib.signalEncrypt(keyMaterial, bob.address, alice.sessions, alice.identities);
  if (first.type() !== lib.CiphertextMessageType.PreKey) throw new Error('libsignal bench: first message is not a PreKeySignalMessage');
  const wire = first.serialize();
  return lib.signalDecryptPreKey(
    lib.PreKeySignalMessage.deserialize(wire), alice.address, bob.sessions, bob.identities, bob.preKeys, bob.signedPreKeys, bob.kyberPreKeys,
  );
}

/** A confirmed session: set up, Bob replies, Alice decrypts (Alice's next messages are SignalMessages). */
async function establish(lib: Lib, alice: Party, bob: Party): Promise<void> {
  await setUp(lib, alice, bob, Buffer.alloc(32, 7));
  const reply = await lib.signalEncrypt(Buffer.from('ack'), alice.address, bob.sessions, bob.identities);
  const opened = await lib.signalDecrypt(lib.SignalMessage.deserialize(reply.serialize()), bob.address, alice.sessions, alice.identities);
  if (opened.toString() !== 'ack') throw new Error('libsignal bench: reply did not decrypt');
}

/** Loads the package; throws (with the reason) if it is not installed or its native part does not load. */
export async function loadLibsignal(): Promise<{ lib: Lib; version: string }> {
  const lib = (await import('@signalapp/libsignal-client')) as Lib;
  lib.PrivateKey.generate(); // the native module really loads
  const pkg = createRequire(import.meta.url)('@signalapp/libsignal-client/package.json') as { version: string };
  return { lib, version: pkg.version };
}

/** Runs the libsignal benchmark (OMEMO 0.3-equivalent operations). */
export async function runOmemoLibsignalBench(lib: Lib, counts: OmemoBenchCounts): Promise<OmemoVersionResults> {
  const alice = makeParty(lib, 'alice@example.org', 1001);
  const bob = makeParty(lib, 'bob@example.org', 2001);

  const setup: number[] = [];
  for (let i = 0; i < SETUP_WARMUP + counts.setupRuns; i++) {
    alice.sessions = newSessionStore(lib);
    bob.sessions = newSessionStore(lib);
    const keyMaterial = Buffer.alloc(32, i);
    const t0 = nowMs();
    const opened = await setUp(lib, alice, bob, keyMaterial);
    const dt = nowMs() - t0;
    if (!opened.equals(keyMaterial)) throw new Error('libsignal bench: first message did not open');
    if (i >= SETUP_WARMUP) setup.push(dt);
  }

  alice.sessions = newSessionStore(lib);
  bob.sessions = newSessionStore(lib);
  await establish(lib, alice, bob);
  const message = Buffer.alloc(100, 0x61);
  // each message timed on its own: the median is robust to preemption and GC pauses
  const enc: number[] = [];
  const wires: Buffer[] = [];
  for (let i = 0; i < MESSAGE_WARMUP + counts.messages; i++) {
    const t0 = nowMs();
    const wire = (await lib.signalEncrypt(message, bob.address, alice.sessions, alice.identities)).serialize();
    if (i >= MESSAGE_WARMUP) enc.push(nowMs() - t0);
    wires.push(wire);
  }
  const dec: number[] = [];
  for (const [i, wire] of wires.entries()) {
    const t0 = nowMs();
    const plaintext = await lib.signalDecrypt(lib.SignalMessage.deserialize(wire), alice.address, bob.sessions, bob.identities);
    if (i >= MESSAGE_WARMUP) dec.push(nowMs() - t0);
    if (!plaintext.equals(message)) throw new Error('libsignal bench: decrypt mismatch');
  }

  // 100 confirmed sessions; fan-out to 10 uses the first 10
  const everyone: Party[] = [];
  for (let i = 0; i < 100; i++) {
    const device = makeParty(lib, 'bob@example.org', 3001 + i);
    await establish(lib, alice, device);
    everyone.push(device);
  }
  const fanout = async (n: number): Promise<number> => {
    const devices = everyone.slice(0, n);
    const keyMaterial = Buffer.alloc(32, 9);
    const times: number[] = [];
    for (let r = 0; r <= counts.fanoutRuns; r++) {
      const t0 = nowMs();
      let total = 0;
      for (const d of devices) total += (await lib.signalEncrypt(keyMaterial, d.address, alice.sessions, alice.identities)).serialize().length;
      const dt = nowMs() - t0;
      if (total < n * 40) throw new Error('libsignal bench: fan-out too short');
      if (r > 0) times.push(dt);
    }
    return median(times);
  };
  return { x3dhMs: median(setup), encrypt100Ms: median(enc), decrypt100Ms: median(dec), fanout10Ms: await fanout(10), fanout100Ms: await fanout(100) };
}
