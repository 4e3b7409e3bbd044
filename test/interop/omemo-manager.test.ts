/**
 * Our OmemoSessionManager against the REAL python-omemo 1.0 (python3-omemo + oldmemo + twomemo),
 * for OMEMO 0.3 and omemo:2, in both directions: first message with key exchange and the
 * automatic empty reply, replies, prekey consumption and republish, a key-exchange message
 * delivered twice, bundle signatures checked both ways, 1000 messages with random interleaving
 * and out-of-order delivery, a peer with 3 devices (fan-out, and our 3 devices), heartbeats
 * after many one-way messages, corrupted messages (rejected, session intact), and restarts of
 * both sides from their stores.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64ToBytes, bytesToBase64 } from '../../lib/core/bytes.js';
import { ProtocolError, VerificationError } from '../../lib/core/errors.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import { DEFAULT_HEARTBEAT_THRESHOLD, OmemoSessionManager } from '../../omemo/session-manager.js';
import type { OmemoSessionManager as Manager } from '../../omemo/session-manager.js';
import { decodeBundle03 } from '../../omemo/versions/v03/xml.js';
import { decodeBundle2 } from '../../omemo/versions/v2/xml.js';
import { parseXml, serializeXml } from '../../omemo/xml-codec.js';
import type { XmlElement } from '../../omemo/xml-element.js';
import { requirePeer } from './peer-availability.js';
import {
  Router, decryptAtOurs, learnPeers, nsOf, ourDevice, ourPlaintext, publishOurs, pythonText, textOf, wirePlaintext,
} from './omemo/manager-harness.js';
import { PYTHON_OMEMO_PEER, PythonOmemoPeer, PythonPeerError, probePythonOmemo } from './omemo/python-omemo-peer.js';

const ALICE = 'alice@a.example';
const BOB = 'bob@b.example';
const CAROL = 'carol@c.example';
const DAVE = 'dave@d.example';

/** mulberry32: a small seeded PRNG for the interleaving schedule (reproducible runs). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bundlePreKeyIds(version: OmemoVersion, xml: string): number[] {
  const element = parseXml(xml);
  return (version === '0.3' ? decodeBundle03(element).preKeys : decodeBundle2(element).preKeys).map((p) => p.id);
}

function ourPreKeyIds(manager: Manager, version: OmemoVersion): number[] {
  return manager.bundle(version).preKeys.map((p) => p.id);
}

/** Replaces the text of every `<key>` (or `<payload>`) with `mutate(bytes)`. */
function mutateElement(element: XmlElement, name: string, mutate: (bytes: Uint8Array) => Uint8Array): XmlElement {
  if (element.name === name && element.children.length === 0) {
    return { ...element, text: bytesToBase64(mutate(base64ToBytes(element.text) as Uint8Array)) };
  }
  return { ...element, children: element.children.map((c) => mutateElement(c, name, mutate)) };
}

function flipLastBit(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[out.length - 1] = (out[out.length - 1] as number) ^ 0x01;
  return out;
}

for (const version of ['0.3', '2'] as const) {
  const ns = nsOf(version);
  describe(`interop: OmemoSessionManager with python-omemo 1.0 over ${ns}`, function () {
    this.timeout(120_000);
    const peers: PythonOmemoPeer[] = [];
    const dirs: string[] = [];

    before(function () {
      requirePeer(this, PYTHON_OMEMO_PEER, probePythonOmemo());
    });

    afterEach(async () => {
      for (const p of peers.splice(0)) await p.close();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });

    async function start(jid: string, statePath?: string): Promise<PythonOmemoPeer> {
      const p = await PythonOmemoPeer.start(jid, statePath === undefined ? {} : { statePath });
      peers.push(p);
      return p;
    }

    /** Our device `a` and python `bob` with a confirmed session both ways. */
    async function established(bob: PythonOmemoPeer, a: Manager): Promise<Router> {
      await learnPeers(version, a, [bob]);
      await publishOurs(version, [a], bob);
      const router = new Router([a], [bob]);
      const m = await a.encrypt(version, [BOB], ourPlaintext(version, 'hello', ALICE, BOB));
      router.fromPython(await bob.decrypt(ALICE, serializeXml(m.element)));
      await router.flush();
      const x = await bob.encrypt(ns, [ALICE], wirePlaintext(version, 'hi', BOB, ALICE));
      const [d] = await decryptAtOurs([a], BOB, x.xml);
      expect(textOf(version, d?.plaintext)).to.equal('hi');
      router.fromOurs(d?.toSend ?? []);
      await router.flush();
      return router;
    }

    it('first messages with key exchange both ways, automatic empty replies, replies, prekey use and republish, a duplicate key exchange, bundle signatures', async () => {
      const bob = await start(BOB);
      const a = (await ourDevice(ALICE)).manager;

      // Bundle signatures: python's verifies for us, a tampered one is refused.
      const tampered = mutateElement(parseXml(bob.info.bundle[ns]), version === '0.3' ? 'signedPreKeySignature' : 'spks', flipLastBit);
      let refused: unknown;
      try {
        await a.processBundle(version, BOB, bob.info.device_id, tampered);
      } catch (error) {
        refused = error;
      }
      expect(refused).to.be.instanceOf(VerificationError);
      expect((refused as VerificationError).code).to.equal('omemo.bundle-bad-signature');
      await learnPeers(version, a, [bob]);

      // python-x3dh verifies the signatures of our bundles, and refuses a tampered one: it will
      // not build a session from it.
      const c = (await ourDevice(CAROL)).manager;
      const badOurs = mutateElement(c.bundleElement(version), version === '0.3' ? 'signedPreKeySignature' : 'spks', flipLastBit);
      expect(await bob.verifyBundle(ns, serializeXml(a.bundleElement(version)))).to.equal(true);
      expect(await bob.verifyBundle(ns, serializeXml(c.bundleElement(version)))).to.equal(true);
      expect(await bob.verifyBundle(ns, serializeXml(badOurs))).to.equal(false);
      await publishOurs(version, [c], bob);
      await bob.pepBundle(ns, CAROL, c.deviceId, serializeXml(badOurs));
      let pythonRefused = false;
      try {
        await bob.encrypt(ns, [CAROL], wirePlaintext(version, 'to a forged bundle', BOB, CAROL));
      } catch (error) {
        pythonRefused = error instanceof PythonPeerError;
      }
      expect(pythonRefused, 'python refuses to encrypt to a device whose bundle signature does not verify').to.equal(true);

      // 1. us -> python, key exchange attached; python answers with an empty message and republishes.
      await publishOurs(version, [a], bob);
      const router = new Router([a], [bob]);
      const m1 = await a.encrypt(version, [BOB], ourPlaintext(version, 'hello python', ALICE, BOB));
      expect(m1.recipients).to.deep.equal([{ jid: BOB, deviceId: bob.info.device_id, keyExchange: true }]);
      const dumped = await bob.dumpMessage(serializeXml(m1.element));
      const usedPreKey = Number(dumped.keys[0]?.key_exchange?.['pk_id']);
      expect(bundlePreKeyIds(version, bob.info.bundle[ns])).to.include(usedPreKey);
      const r1 = await bob.decrypt(ALICE, serializeXml(m1.element));
      expect(pythonText(version, r1.plaintext)).to.equal('hello python');
      expect(r1.sender_device).to.equal(a.deviceId);
      expect(base64ToBytes(r1.sender_identity_key_ed25519)).to.deep.equal(a.identityKey('2'));
      const republished = r1.published?.bundle?.[ns];
      expect(republished, 'python republished its bundle').to.be.a('string');
      expect(bundlePreKeyIds(version, republished as string)).to.not.include(usedPreKey);
      await a.processBundle(version, BOB, bob.info.device_id, parseXml(republished as string));
      expect(r1.outbox).to.have.length(1);
      router.fromPython(r1);
      await router.flush();
      expect(router.delivered.toOurs).to.equal(1);
      const m2 = await a.encrypt(version, [BOB], ourPlaintext(version, 'second', ALICE, BOB));
      expect(m2.recipients[0]?.keyExchange, 'key exchange no longer attached once python answered').to.equal(false);
      expect(pythonText(version, (await bob.decrypt(ALICE, serializeXml(m2.element))).plaintext)).to.equal('second');
      const x3 = await bob.encrypt(ns, [ALICE], wirePlaintext(version, 'reply from python', BOB, ALICE));
      const [d3] = await decryptAtOurs([a], BOB, x3.xml);
      expect(textOf(version, d3?.plaintext)).to.equal('reply from python');
      expect(d3?.keyExchange).to.equal(false);
      expect(d3?.trust).to.equal('trusted');

      // 2. python -> us first (a fresh device of ours); our prekey is used once and replaced.
      await c.markPublished(version);
      await publishOurs(version, [c], bob);
      await learnPeers(version, c, [bob]);
      const before = ourPreKeyIds(c, version);
      const x1 = await bob.encrypt(ns, [CAROL], wirePlaintext(version, 'python starts', BOB, CAROL));
      const [d1] = await decryptAtOurs([c], BOB, x1.xml);
      expect(d1?.keyExchange).to.equal(true);
      expect(textOf(version, d1?.plaintext)).to.equal('python starts');
      const after = ourPreKeyIds(c, version);
      const removed = before.filter((id) => !after.includes(id));
      expect(removed).to.have.length(1);
      expect(after).to.have.length(100);
      expect(c.republishNeeded()).to.include(version);
      // The same key-exchange message again (MAM catch-up): same plaintext, nothing consumed.
      const again = await c.decrypt(BOB, x1.xml);
      expect(again.duplicate).to.equal(true);
      expect(textOf(version, again.plaintext)).to.equal('python starts');
      expect(ourPreKeyIds(c, version)).to.deep.equal(after);
      // Our automatic empty reply completes python's key exchange; we republish.
      expect(d1?.toSend.map((m) => m.reason)).to.deep.equal(['key-exchange-completion']);
      const router2 = new Router([c], [bob]);
      router2.fromOurs(d1?.toSend ?? [], CAROL);
      await router2.flush();
      await bob.pepBundle(ns, CAROL, c.deviceId, serializeXml(c.bundleElement(version)));
      await c.markPublished(version);
      expect(c.republishNeeded()).to.not.include(version);
      const x2 = await bob.encrypt(ns, [CAROL], wirePlaintext(version, 'no kex now', BOB, CAROL));
      expect((await bob.dumpMessage(x2.xml)).keys.every((k) => !k.kex)).to.equal(true);
      const [d2] = await decryptAtOurs([c], BOB, x2.xml);
      expect(textOf(version, d2?.plaintext)).to.equal('no kex now');
      const reply = await c.encrypt(version, [BOB], ourPlaintext(version, 'reply from us', CAROL, BOB));
      expect(reply.recipients[0]?.keyExchange).to.equal(false);
      expect(pythonText(version, (await bob.decrypt(CAROL, serializeXml(reply.element))).plaintext)).to.equal('reply from us');
    });

    it('1000 messages with random interleaving and out-of-order delivery (skipped keys)', async () => {
      const bob = await start(BOB);
      const a = (await ourDevice(ALICE)).manager;
      const router = await established(bob, a);
      const random = prng(version === '0.3' ? 0x0303 : 0x2222);
      const toBob: { xml: string; text: string }[] = [];
      const toAlice: { xml: string; text: string }[] = [];
      let sent = 0;
      let received = 0;
      let outOfOrder = 0;
      const pick = (queue: unknown[]): number => {
        const index = Math.floor(random() * Math.min(queue.length, 5));
        if (index > 0) outOfOrder++;
        return index;
      };
      while (received < 1000) {
        const canSend = sent < 1000;
        const r = random();
        if (canSend && (r < 0.5 || (toBob.length === 0 && toAlice.length === 0))) {
          const text = `m${sent}`;
          if (random() < 0.5) {
            const m = await a.encrypt(version, [BOB], ourPlaintext(version, text, ALICE, BOB));
            toBob.push({ xml: serializeXml(m.element), text });
          } else {
            const x = await bob.encrypt(ns, [ALICE], wirePlaintext(version, text, BOB, ALICE));
            router.fromPython(x);
            toAlice.push({ xml: x.xml, text });
          }
          sent++;
        } else if (toBob.length > 0 && (toAlice.length === 0 || random() < 0.5)) {
          const [item] = toBob.splice(pick(toBob), 1);
          const got = await bob.decrypt(ALICE, item!.xml);
          expect(pythonText(version, got.plaintext)).to.equal(item!.text);
          router.fromPython(got);
          received++;
        } else if (toAlice.length > 0) {
          const [item] = toAlice.splice(pick(toAlice), 1);
          const [got] = await decryptAtOurs([a], BOB, item!.xml);
          expect(textOf(version, got?.plaintext)).to.equal(item!.text);
          router.fromOurs(got?.toSend ?? []);
          received++;
        }
        await router.flush();
      }
      expect(sent).to.equal(1000);
      expect(outOfOrder).to.be.greaterThan(100);
    });

    it('a peer with 3 devices: fan-out to them, and python fanning out to our 3 devices (own devices included)', async () => {
      const bobs = await Promise.all([start(BOB), start(BOB), start(BOB)]);
      const a = (await ourDevice(ALICE)).manager;
      await learnPeers(version, a, bobs);
      for (const b of bobs) await publishOurs(version, [a], b);
      const router = new Router([a], bobs);
      const m = await a.encrypt(version, [BOB], ourPlaintext(version, 'to all three', ALICE, BOB));
      expect(m.recipients.map((r) => r.deviceId).sort()).to.deep.equal(bobs.map((b) => b.info.device_id).sort());
      for (const b of bobs) {
        const got = await b.decrypt(ALICE, serializeXml(m.element));
        expect(pythonText(version, got.plaintext)).to.equal('to all three');
        router.fromPython(got);
      }
      await router.flush();
      expect(router.delivered.toOurs).to.equal(3);
      const m2 = await a.encrypt(version, [BOB], ourPlaintext(version, 'again', ALICE, BOB));
      expect(m2.recipients.every((r) => !r.keyExchange)).to.equal(true);
      for (const b of bobs) expect(pythonText(version, (await b.decrypt(ALICE, serializeXml(m2.element))).plaintext)).to.equal('again');

      // Our 3 devices of DAVE: python encrypts to all of them; one of ours also reaches the other two.
      const ds = [(await ourDevice(DAVE)).manager, (await ourDevice(DAVE)).manager, (await ourDevice(DAVE)).manager];
      const bob0 = bobs[0] as PythonOmemoPeer;
      await publishOurs(version, ds, bob0);
      for (const d of ds) await learnPeers(version, d, [bob0]);
      const x = await bob0.encrypt(ns, [DAVE], wirePlaintext(version, 'to your three', BOB, DAVE));
      expect((await bob0.dumpMessage(x.xml)).keys).to.have.length(3);
      const results = await decryptAtOurs(ds, BOB, x.xml);
      expect(results.map((r) => textOf(version, r.plaintext))).to.deep.equal(['to your three', 'to your three', 'to your three']);
      const router2 = new Router(ds, [bob0]);
      ds.forEach((d, i) => router2.fromOurs(results[i]?.toSend ?? [], d.ownJid));
      await router2.flush();
      const d0 = ds[0] as OmemoSessionManager;
      await d0.updateDeviceList(version, DAVE, ds.map((d) => d.deviceId));
      for (const d of ds.slice(1)) await d0.processBundle(version, DAVE, d.deviceId, d.bundleElement(version));
      const own = await d0.encrypt(version, [BOB], ourPlaintext(version, 'to bob and my other devices', DAVE, BOB));
      expect(own.recipients).to.have.length(3);
      expect(pythonText(version, (await bob0.decrypt(DAVE, serializeXml(own.element))).plaintext)).to.equal('to bob and my other devices');
      const mine = await decryptAtOurs(ds.slice(1), DAVE, serializeXml(own.element));
      expect(mine.map((r) => textOf(version, r.plaintext))).to.deep.equal(['to bob and my other devices', 'to bob and my other devices']);
    });

    it('heartbeats after many one-way messages, both directions', async () => {
      const bob = await start(BOB);
      const a = (await ourDevice(ALICE)).manager;
      const router = await established(bob, a);
      // python -> us, 60 one-way: we send exactly one heartbeat, once our receiving chain holds 54
      // messages. python's chain already holds 2 (its empty reply and 'hi' from established()).
      const reasons: string[] = [];
      let heartbeatAt = -1;
      for (let i = 0; i < 60; i++) {
        const x = await bob.encrypt(ns, [ALICE], wirePlaintext(version, `one-way ${i}`, BOB, ALICE));
        const [d] = await decryptAtOurs([a], BOB, x.xml);
        expect(textOf(version, d?.plaintext)).to.equal(`one-way ${i}`);
        for (const message of d?.toSend ?? []) {
          reasons.push(message.reason);
          if (heartbeatAt < 0) heartbeatAt = i;
        }
        router.fromOurs(d?.toSend ?? []);
      }
      expect(reasons).to.deep.equal(['heartbeat']);
      expect(heartbeatAt + 3).to.equal(DEFAULT_HEARTBEAT_THRESHOLD + 1);
      await router.flush();
      expect(router.delivered.toPython).to.equal(1);
      const x = await bob.encrypt(ns, [ALICE], wirePlaintext(version, 'after heartbeat', BOB, ALICE));
      expect(textOf(version, (await decryptAtOurs([a], BOB, x.xml))[0]?.plaintext)).to.equal('after heartbeat');
      // us -> python, 60 one-way: python sends empty messages, we decrypt them.
      let pythonEmpties = 0;
      for (let i = 0; i < 60; i++) {
        const m = await a.encrypt(version, [BOB], ourPlaintext(version, `ours ${i}`, ALICE, BOB));
        const got = await bob.decrypt(ALICE, serializeXml(m.element));
        expect(pythonText(version, got.plaintext)).to.equal(`ours ${i}`);
        pythonEmpties += got.outbox.length;
        router.fromPython(got);
      }
      expect(pythonEmpties).to.be.greaterThan(0);
      const before = router.delivered.toOurs;
      await router.flush();
      expect(router.delivered.toOurs - before).to.equal(pythonEmpties);
      const m = await a.encrypt(version, [BOB], ourPlaintext(version, 'after python heartbeat', ALICE, BOB));
      expect(pythonText(version, (await bob.decrypt(ALICE, serializeXml(m.element))).plaintext)).to.equal('after python heartbeat');
    });

    it('corrupted messages are rejected and the sessions stay intact, both directions', async () => {
      const bob = await start(BOB);
      const a = (await ourDevice(ALICE)).manager;
      await established(bob, a);
      // python -> us: a flipped bit in the key (MAC), then the original and the next message decrypt.
      const x = await bob.encrypt(ns, [ALICE], wirePlaintext(version, 'original', BOB, ALICE));
      for (const name of ['key', 'payload']) {
        const corrupted = serializeXml(mutateElement(parseXml(x.xml), name, flipLastBit));
        let error: unknown;
        try {
          await a.decrypt(BOB, corrupted);
        } catch (e) {
          error = e;
        }
        expect(error, `corrupted ${name}`).to.be.instanceOf(ProtocolError);
      }
      expect(textOf(version, (await a.decrypt(BOB, x.xml)).plaintext)).to.equal('original');
      const next = await bob.encrypt(ns, [ALICE], wirePlaintext(version, 'next', BOB, ALICE));
      expect(textOf(version, (await a.decrypt(BOB, next.xml)).plaintext)).to.equal('next');
      // us -> python: python rejects the corrupted copy, then decrypts the original and the next one.
      const m = await a.encrypt(version, [BOB], ourPlaintext(version, 'ours original', ALICE, BOB));
      const corrupted = serializeXml(mutateElement(m.element, 'key', flipLastBit));
      let pythonError: unknown;
      try {
        await bob.decrypt(ALICE, corrupted);
      } catch (e) {
        pythonError = e;
      }
      expect(pythonError).to.be.instanceOf(PythonPeerError);
      expect(pythonText(version, (await bob.decrypt(ALICE, serializeXml(m.element))).plaintext)).to.equal('ours original');
      const m2 = await a.encrypt(version, [BOB], ourPlaintext(version, 'ours next', ALICE, BOB));
      expect(pythonText(version, (await bob.decrypt(ALICE, serializeXml(m2.element))).plaintext)).to.equal('ours next');
    });

    it('restarted peers reload their state and continue (python from its state file, ours from the store)', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'omemo-peer-'));
      dirs.push(dir);
      const statePath = join(dir, 'bob.json');
      const bob = await start(BOB, statePath);
      const ours = await ourDevice(ALICE);
      await established(bob, ours.manager);
      const m = await ours.manager.encrypt(version, [BOB], ourPlaintext(version, 'before restart', ALICE, BOB));
      expect(pythonText(version, (await bob.decrypt(ALICE, serializeXml(m.element))).plaintext)).to.equal('before restart');
      const bobId = bob.info.device_id;
      await bob.close();
      const bob2 = await start(BOB, statePath);
      expect(bob2.info.device_id).to.equal(bobId);
      await publishOurs(version, [ours.manager], bob2);
      const a2 = await OmemoSessionManager.open({ store: ours.store, ownJid: ALICE });
      expect(a2.deviceId).to.equal(ours.manager.deviceId);
      const m2 = await a2.encrypt(version, [BOB], ourPlaintext(version, 'after restart', ALICE, BOB));
      expect(m2.recipients[0]?.keyExchange).to.equal(false);
      expect(pythonText(version, (await bob2.decrypt(ALICE, serializeXml(m2.element))).plaintext)).to.equal('after restart');
      const x = await bob2.encrypt(ns, [ALICE], wirePlaintext(version, 'python after restart', BOB, ALICE));
      expect((await bob2.dumpMessage(x.xml)).keys.every((k) => !k.kex)).to.equal(true);
      expect(textOf(version, (await a2.decrypt(BOB, x.xml)).plaintext)).to.equal('python after restart');
    });
  });
}
