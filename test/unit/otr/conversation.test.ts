import { expect } from 'chai';
import { bytesToHex, utf8ToBytes } from '../../../lib/core/bytes.js';
import { decodeOtrMessage } from '../../../otr/encoded-message.js';
import { decodeDataMessage } from '../../../otr/data-message.js';
import { OTR_MESSAGE_TYPE } from '../../../otr/message-types.js';
import { OTR_POLICY_ALWAYS, OTR_POLICY_MANUAL, OTR_POLICY_NEVER, OTR_POLICY_OPPORTUNISTIC } from '../../../otr/policy.js';
import { otrFingerprint } from '../../../otr/public-key.js';
import { eventsOf, makeParty, testKeys, twoParty, type Party } from './conversation-helpers.js';
import type { DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';

const TAG_A = 0x1000_0001;
const TAG_B = 0x2000_0002;

function fingerprintOf(key: DsaPrivateKey): string {
  return bytesToHex(otrFingerprint({ p: key.p, q: key.q, g: key.g, y: key.y }));
}

describe('otr/conversation loopback', function () {
  this.timeout(120_000);
  let keyA: DsaPrivateKey;
  let keyB: DsaPrivateKey;
  before(async () => {
    [keyA, keyB] = (await testKeys()) as [DsaPrivateKey, DsaPrivateKey];
  });

  function secure(a: Party, b: Party): void {
    expect(a.conversation.messageState).to.equal('encrypted');
    expect(b.conversation.messageState).to.equal('encrypted');
    expect(bytesToHex(a.conversation.theirFingerprint as Uint8Array)).to.equal(fingerprintOf(keyB));
    expect(bytesToHex(b.conversation.theirFingerprint as Uint8Array)).to.equal(fingerprintOf(keyA));
    expect(bytesToHex(a.conversation.ssid as Uint8Array)).to.equal(bytesToHex(b.conversation.ssid as Uint8Array));
  }

  it('AKE via a Query Message, then messages both ways', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    expect(wire.log[0]?.text.startsWith('?OTRv23?')).to.equal(true);
    pump();
    secure(a, b);
    expect(eventsOf(a, 'went-secure')).to.have.length(1);
    expect(eventsOf(b, 'went-secure')[0]?.version).to.equal(3);
    expect(eventsOf(a, 'went-secure')[0]?.ssidBoldHalf).to.not.equal(eventsOf(b, 'went-secure')[0]?.ssidBoldHalf);
    expect(a.conversation.ssidBoldHalf).to.equal(eventsOf(a, 'went-secure')[0]?.ssidBoldHalf);
    wire.take(a, b, a.conversation.send('hello bob'));
    wire.take(b, a, b.conversation.send('hello alice'));
    pump();
    expect(b.shown).to.deep.equal([{ text: 'hello bob', encrypted: true }]);
    expect(a.shown).to.deep.equal([{ text: 'hello alice', encrypted: true }]);
    for (const { text } of wire.log) expect(text).to.not.include('hello');
  });

  it('AKE via the whitespace tag (SEND_WHITESPACE_TAG / WHITESPACE_START_AKE)', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.send('hi there'));
    expect(wire.log[0]?.text.startsWith('hi there \t  \t\t\t\t \t \t \t  ')).to.equal(true);
    pump();
    expect(b.shown[0]).to.deep.equal({ text: 'hi there', encrypted: false });
    secure(a, b);
    // The tag is sent once only.
    wire.take(a, b, a.conversation.end());
    pump();
    expect(b.conversation.messageState).to.equal('finished');
    // From FINISHED, a tagged plaintext starts a new AKE (as libotr does).
    const baseTag = ' \t  \t\t\t\t \t \t \t  ';
    const v3Tag = '  \t\t  \t\t';
    const again = b.conversation.receive(`once more${baseTag}${v3Tag}`);
    expect(again.show).to.deep.equal({ text: 'once more', encrypted: false });
    expect(again.toSend.map((m) => decodeOtrMessage(m).type)).to.deep.equal([OTR_MESSAGE_TYPE.dhCommit]);
    wire.take(b, a, again);
    pump();
    secure(a, b);
  });

  it('AKE via an Error Message (ERROR_START_AKE) after the peer lost its session', () => {
    const a = makeParty('a', keyA, TAG_A);
    let b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    secure(a, b);
    // b restarts: same key and instance tag, no session.
    const fresh = makeParty('b2', keyB, TAG_B);
    b.conversation = fresh.conversation;
    b = b;
    wire.take(a, b, a.conversation.send('are you there?'));
    pump();
    const errors = eventsOf(b, 'error').map((e) => e.error.code);
    expect(errors).to.include('otr.data.not-encrypted');
    expect(wire.log.some((m) => m.from === 'b' && m.text.startsWith('?OTR Error: You sent encrypted data to b'))).to.equal(true);
    expect(eventsOf(a, 'peer-error-message')).to.have.length(1);
    secure(a, b);
    wire.take(a, b, a.conversation.send('again'));
    pump();
    expect(b.shown.at(-1)).to.deep.equal({ text: 'again', encrypted: true });
  });

  it('1000+ messages each way, interleaved, keys rotate, MAC keys revealed are ones used', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    const start = wire.log.length;
    let seed = 7;
    const expectedA: string[] = [];
    const expectedB: string[] = [];
    for (let i = 0; i < 2400; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const fromA = ((seed >>> 16) & 1) === 0;
      if (fromA) {
        wire.take(a, b, a.conversation.send(`a${i}`));
        expectedB.push(`a${i}`);
      } else {
        wire.take(b, a, b.conversation.send(`b${i}`));
        expectedA.push(`b${i}`);
      }
      if (((seed >>> 8) & 3) === 0) pump(); // deliver in bursts: several messages in flight each way
    }
    pump();
    expect(expectedA.length).to.be.greaterThan(1000);
    expect(expectedB.length).to.be.greaterThan(1000);
    expect(b.shown.map((s) => s.text)).to.deep.equal(expectedB);
    expect(a.shown.map((s) => s.text)).to.deep.equal(expectedA);
    expect(a.shown.every((s) => s.encrypted)).to.equal(true);
    // Key ids advance and revealed MAC keys were really used: each revealed key must verify
    // the MAC of an earlier message. Forgotten pairings are near the current keyids, so one
    // message per (direction, sender keyid, recipient keyid) nearby is enough to try.
    let maxKeyId = 0;
    let revealedCount = 0;
    const { hmacSha1 } = hashes;
    const byPairing = new Map<string, { input: Uint8Array; mac: string }>();
    for (const { from, text } of wire.log.slice(start)) {
      const decoded = decodeOtrMessage(text);
      expect(decoded.type).to.equal(OTR_MESSAGE_TYPE.data);
      const msg = decodeDataMessage(decoded.body);
      maxKeyId = Math.max(maxKeyId, msg.senderKeyId, msg.recipientKeyId);
      for (let k = 0; k < msg.oldMacKeys.length; k += 20) {
        const key = msg.oldMacKeys.slice(k, k + 20);
        revealedCount++;
        let match = false;
        for (const dir of ['a', 'b']) {
          for (let ds = -3; ds <= 1 && !match; ds++) {
            for (let dr = -3; dr <= 1 && !match; dr++) {
              const [s1, r1] = dir === from ? [msg.senderKeyId + ds, msg.recipientKeyId + dr] : [msg.recipientKeyId + ds, msg.senderKeyId + dr];
              const candidate = byPairing.get(`${dir}:${s1}:${r1}`);
              if (candidate !== undefined && bytesToHex(hmacSha1(key, candidate.input)) === candidate.mac) match = true;
            }
          }
        }
        expect(match, 'revealed MAC key verifies an earlier message').to.equal(true);
      }
      const raw = Buffer.from(text.slice(5, -1), 'base64');
      const id = `${from}:${msg.senderKeyId}:${msg.recipientKeyId}`;
      if (!byPairing.has(id)) byPairing.set(id, { input: new Uint8Array(raw.subarray(0, 11 + msg.authenticatedBody.length)), mac: bytesToHex(msg.mac) });
    }
    expect(maxKeyId).to.be.greaterThan(50);
    expect(revealedCount).to.be.greaterThan(50);
  });

  it('fragments every message at a small size and reassembles', () => {
    const a = makeParty('a', keyA, TAG_A, OTR_POLICY_OPPORTUNISTIC, { maxFragmentSize: 120 });
    const b = makeParty('b', keyB, TAG_B, OTR_POLICY_OPPORTUNISTIC, { maxFragmentSize: 120 });
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    secure(a, b);
    const long = 'x'.repeat(2000) + ' end';
    wire.take(a, b, a.conversation.send(long));
    pump();
    expect(b.shown.at(-1)).to.deep.equal({ text: long, encrypted: true });
    const otr = wire.log.filter((m) => m.text.startsWith('?OTR|'));
    expect(otr.length).to.be.greaterThan(20);
    // Encoded messages (AKE and data) are fragmented; query and error messages are not (libotr).
    for (const m of wire.log) if (m.text.startsWith('?OTR|') || m.text.startsWith('?OTR:')) expect(m.text.length).to.be.at.most(120);
    expect(wire.log.some((m) => m.text.startsWith('?OTR:'))).to.equal(false);
  });

  it('fragments in the v2 format with a v2 peer', () => {
    const v2 = { ...OTR_POLICY_OPPORTUNISTIC, allowV3: false };
    const a = makeParty('a', keyA, TAG_A, v2, { maxFragmentSize: 90 });
    const b = makeParty('b', keyB, TAG_B, v2, { maxFragmentSize: 90 });
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    secure(a, b);
    wire.take(b, a, b.conversation.send('y'.repeat(500)));
    pump();
    expect(a.shown.at(-1)).to.deep.equal({ text: 'y'.repeat(500), encrypted: true });
    expect(wire.log.filter((m) => m.text.startsWith('?OTR,')).length).to.be.greaterThan(10);
    expect(wire.log.some((m) => m.text.startsWith('?OTR|'))).to.equal(false);
  });

  it('policy NEVER: everything passes through as plaintext, OTR messages included', () => {
    const a = makeParty('a', keyA, TAG_A, OTR_POLICY_NEVER);
    expect(a.conversation.send('plain').toSend).to.deep.equal(['plain']);
    expect(a.conversation.receive('?OTRv23?').show).to.deep.equal({ text: '?OTRv23?', encrypted: false });
    expect(a.conversation.startAke().toSend).to.deep.equal([]);
  });

  it('plaintext while encrypted is shown with a warning event', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    const r = b.conversation.receive('sneaky plaintext');
    expect(r.show).to.deep.equal({ text: 'sneaky plaintext', encrypted: false });
    expect(r.events.map((e) => e.kind)).to.include('unencrypted-received');
  });

  it('extra symmetric key: both sides get the same 32 bytes and the use data', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    const { key, result } = a.conversation.useExtraSymmetricKey(0x12345678, utf8ToBytes('file.txt'));
    wire.take(a, b, result);
    pump();
    const got = eventsOf(b, 'extra-symmetric-key');
    expect(got).to.have.length(1);
    expect(key.length).to.equal(32);
    expect(bytesToHex(got[0]?.key as Uint8Array)).to.equal(bytesToHex(key));
    expect(got[0]?.use).to.equal(0x12345678);
    expect(got[0]?.useData).to.deep.equal(utf8ToBytes('file.txt'));
    expect(b.shown).to.have.length(0);
  });

  it('disconnect: peer goes FINISHED, refuses to send, end() returns to plaintext', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    wire.take(a, b, a.conversation.end());
    expect(a.conversation.messageState).to.equal('plaintext');
    pump();
    expect(b.conversation.messageState).to.equal('finished');
    expect(eventsOf(b, 'went-insecure')[0]?.reason).to.equal('peer-ended');
    const refused = b.conversation.send('secret after finish');
    expect(refused.toSend).to.deep.equal([]);
    expect(refused.events.map((e) => e.kind)).to.include('send-refused');
    wire.take(b, a, b.conversation.end());
    expect(b.conversation.messageState).to.equal('plaintext');
    expect(wire.queue).to.have.length(0);
  });

  it('REQUIRE_ENCRYPTION holds messages, sends a query, then sends them encrypted; never plaintext', () => {
    const a = makeParty('a', keyA, TAG_A, OTR_POLICY_ALWAYS);
    const b = makeParty('b', keyB, TAG_B, OTR_POLICY_MANUAL);
    const { wire, pump } = twoParty(a, b);
    const first = wire.take(a, b, a.conversation.send('secret one'));
    expect(first.events.map((e) => e.kind)).to.include('held-until-encrypted');
    wire.take(a, b, a.conversation.send('secret two'));
    expect(a.conversation.heldCount).to.equal(2);
    expect(wire.log.map((m) => m.text.slice(0, 8))).to.deep.equal(['?OTRv23?']);
    pump();
    secure(a, b);
    expect(b.shown).to.deep.equal([
      { text: 'secret one', encrypted: true },
      { text: 'secret two', encrypted: true },
    ]);
    expect(a.conversation.heldCount).to.equal(0);
    for (const m of wire.log) expect(m.text).to.not.include('secret');
    // FINISHED under REQUIRE_ENCRYPTION: held again, not sent.
    wire.take(b, a, b.conversation.end());
    pump();
    expect(a.conversation.messageState).to.equal('finished');
    const r = a.conversation.send('secret three');
    expect(r.toSend).to.deep.equal([]);
    expect(a.conversation.heldCount).to.equal(1);
    // end() -> plaintext; the next send asks for OTR again and everything held goes out encrypted.
    wire.take(a, b, a.conversation.end());
    wire.take(a, b, a.conversation.send('secret four'));
    expect(wire.log.at(-1)?.text.startsWith('?OTRv23?')).to.equal(true);
    pump();
    expect(b.shown.slice(-2)).to.deep.equal([
      { text: 'secret three', encrypted: true },
      { text: 'secret four', encrypted: true },
    ]);
    for (const m of wire.log) expect(m.text).to.not.include('secret');
  });

  it('rejects replayed and tampered data messages with typed errors; the session stays usable', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    const sent = a.conversation.send('once');
    const text = sent.toSend[0] as string;
    expect(b.conversation.receive(text).show).to.deep.equal({ text: 'once', encrypted: true });
    const replay = b.conversation.receive(text);
    expect(replay.show).to.equal(undefined);
    expect(replay.events.map((e) => (e.kind === 'error' ? e.error.code : e.kind))).to.include('otr.data.replay');
    expect(replay.toSend[0]).to.match(/^\?OTR Error: /);
    const raw = Buffer.from(a.conversation.send('tampered').toSend[0]!.slice(5, -1), 'base64');
    raw[raw.length - 30] = (raw[raw.length - 30] as number) ^ 0x40; // inside the MAC
    const tampered = b.conversation.receive('?OTR:' + raw.toString('base64') + '.');
    expect(tampered.show).to.equal(undefined);
    expect(tampered.events.map((e) => (e.kind === 'error' ? e.error.code : e.kind))).to.include('otr.data.bad-mac');
    wire.take(a, b, a.conversation.send('still works'));
    wire.take(b, a, b.conversation.send('yes'));
    pump();
    expect(b.shown.at(-1)).to.deep.equal({ text: 'still works', encrypted: true });
    expect(a.shown.at(-1)).to.deep.equal({ text: 'yes', encrypted: true });
    expect(b.conversation.messageState).to.equal('encrypted');
  });

  it('negotiates version 2 with a v2-only peer (no instance tags)', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B, { ...OTR_POLICY_OPPORTUNISTIC, allowV3: false });
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    secure(a, b);
    expect(a.conversation.version).to.equal(2);
    wire.take(a, b, a.conversation.send('v2 hello'));
    const last = wire.log.at(-1)!.text;
    expect(decodeOtrMessage(last).version).to.equal(2);
    pump();
    expect(b.shown.at(-1)).to.deep.equal({ text: 'v2 hello', encrypted: true });
  });

  it('data message while not encrypted: error + Error Message, unless IGNORE_UNREADABLE', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const c = makeParty('c', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    const normal = c.conversation.receive(a.conversation.send('x').toSend[0] as string);
    expect(normal.toSend).to.have.length(1);
    expect(normal.toSend[0]).to.match(/^\?OTR Error: /);
    const heartbeatLike = c.conversation.receive(a.conversation.useExtraSymmetricKey(1, new Uint8Array(0)).result.toSend[0] as string);
    expect(heartbeatLike.toSend).to.deep.equal([]);
    expect(heartbeatLike.events.map((e) => e.kind)).to.deep.equal(['ignored']);
  });

  it('sends a heartbeat after 60 s without sending when a message arrives', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    wire.take(b, a, b.conversation.send('from b'));
    pump();
    expect(eventsOf(a, 'heartbeat-sent')).to.have.length(1); // a never sent a data message
    const before = wire.log.length;
    wire.take(b, a, b.conversation.send('again'));
    pump();
    expect(wire.log.length).to.equal(before + 1); // within 60 s: no heartbeat
    a.clock.now += 61_000;
    wire.take(b, a, b.conversation.send('later'));
    pump();
    expect(eventsOf(a, 'heartbeat-sent')).to.have.length(2);
    expect(eventsOf(b, 'heartbeat-received')).to.have.length(2);
    expect(b.shown).to.have.length(0);
  });

  it('ignores messages for another of our instances and routes several remote instances', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b1 = makeParty('b1', keyB, TAG_B);
    const b2 = makeParty('b2', keyB, TAG_B + 1);
    const { Wire } = helpers;
    const wire = new Wire();
    const peersOf = (p: Party): Party[] => (p === a ? [b1, b2] : [a]);
    wire.take(a, [b1, b2], a.conversation.startAke());
    wire.pump(peersOf);
    expect(b1.conversation.messageState).to.equal('encrypted');
    expect(b2.conversation.messageState).to.equal('encrypted');
    expect(a.conversation.instances.sort()).to.deep.equal([TAG_B, TAG_B + 1]);
    expect(a.conversation.instanceState(TAG_B)).to.equal('encrypted');
    expect(a.conversation.instanceState(TAG_B + 1)).to.equal('encrypted');
    // Sending goes to the most recently secured instance; the other ignores it as not for it.
    wire.take(a, [b1, b2], a.conversation.send('to the best'));
    wire.pump(peersOf);
    const got = [b1, b2].filter((p) => p.shown.some((s) => s.text === 'to the best'));
    expect(got).to.have.length(1);
    const other = got[0] === b1 ? b2 : b1;
    expect(eventsOf(other, 'ignored').map((e) => e.reason)).to.include('other-instance');
    // Each instance talks to a on its own session.
    wire.take(b1, a, b1.conversation.send('from b1'));
    wire.take(b2, a, b2.conversation.send('from b2'));
    wire.pump(peersOf);
    expect(a.shown.map((s) => s.text)).to.include.members(['from b1', 'from b2']);
  });
});

import * as hashes from '../../../lib/core/crypto/hash.js';
import * as helpers from './conversation-helpers.js';

describe('otr/conversation SMP', function () {
  this.timeout(120_000);
  let keyA: DsaPrivateKey;
  let keyB: DsaPrivateKey;
  before(async () => {
    [keyA, keyB] = (await testKeys()) as [DsaPrivateKey, DsaPrivateKey];
  });

  function securePair(): { a: Party; b: Party; wire: helpers.Wire; pump: () => void } {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    return { a, b, wire, pump };
  }
  const smpKinds = (p: Party): string[] => eventsOf(p, 'smp').map((e) => e.event.kind);

  it('same secret with a question: both sides succeed; SMP rides in empty IGNORE_UNREADABLE data messages', () => {
    const { a, b, wire, pump } = securePair();
    const start = wire.log.length;
    wire.take(a, b, a.conversation.startSmp('shared secret', 'What is our secret?'));
    pump();
    expect(eventsOf(b, 'smp').some((e) => e.event.kind === 'question' && e.event.question === 'What is our secret?')).to.equal(true);
    wire.take(b, a, b.conversation.respondSmp('shared secret'));
    pump();
    expect(smpKinds(a)).to.include('succeeded');
    expect(smpKinds(b)).to.include('succeeded');
    for (const { text } of wire.log.slice(start)) {
      const decoded = decodeOtrMessage(text);
      expect(decoded.type).to.equal(OTR_MESSAGE_TYPE.data);
      expect(decodeDataMessage(decoded.body).flags).to.equal(1);
    }
    expect(a.shown).to.have.length(0);
    expect(b.shown).to.have.length(0);
    expect(eventsOf(a, 'heartbeat-received')).to.have.length(0);
  });

  it('different secrets: both sides see failed; abort resets; not encrypted -> StateError', () => {
    const { a, b, wire, pump } = securePair();
    wire.take(a, b, a.conversation.startSmp('one'));
    pump();
    expect(smpKinds(b)).to.include('secret-needed');
    wire.take(b, a, b.conversation.respondSmp('two'));
    pump();
    expect(smpKinds(a)).to.include('failed');
    expect(smpKinds(b)).to.include('failed');
    wire.take(a, b, a.conversation.startSmp('again'));
    wire.take(a, b, a.conversation.abortSmp());
    pump();
    expect(eventsOf(b, 'smp').some((e) => e.event.kind === 'aborted' && e.event.by === 'peer')).to.equal(true);
    const lonely = makeParty('c', keyA, TAG_A);
    expect(() => lonely.conversation.startSmp('x')).to.throw(Error).with.property('code', 'otr.not-encrypted');
  });
});
