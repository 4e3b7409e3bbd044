import { expect } from 'chai';
import { bigIntToBytes, bytesToHex, hexToBytes, utf8ToBytes, bytesToUtf8, concatBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { hmacSha1 } from '../../../lib/core/crypto/hash.js';
import { ModpGroup } from '../../../lib/core/crypto/modp-group.js';
import { MalformedMessageError, StateError, VerificationError } from '../../../lib/core/errors.js';
import { decryptDataMessage, encryptDataMessage } from '../../../otr/data-exchange.js';
import {
  dataMessageMacInput,
  decodeDataMessage,
  encodeDataMessage,
  encodeOtrHeaderBytes,
  type DataMessage,
} from '../../../otr/data-message.js';
import { generateOtrDhKeyPair } from '../../../otr/dh-key-pair.js';
import { decodeOtrMessage, encodeOtrMessage } from '../../../otr/encoded-message.js';
import { DataKeyManager } from '../../../otr/key-management.js';
import { OTR_MESSAGE_TYPE } from '../../../otr/message-types.js';
import { deriveSessionKeys, deriveSessionKeysFromSecret } from '../../../otr/session-keys.js';

const group = new ModpGroup();

describe('otr/session-keys', () => {
  // Known answers from libotr 4.1.1's `otr_sesskeys` (libotr5-bin), computed once:
  // otr_sesskeys 0123...ef(x32 bytes) <g^0x0011..77>.
  const ourPrivate = BigInt('0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
  const theirPrivate = BigInt('0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677');
  it('matches libotr otr_sesskeys (low end)', () => {
    const ourPublic = group.powG(ourPrivate);
    const theirPublic = group.powG(theirPrivate);
    expect(ourPublic < theirPublic).to.equal(true);
    const keys = deriveSessionKeys(group, ourPrivate, ourPublic, theirPublic);
    expect(bytesToHex(keys.sendingAesKey)).to.equal('fd59bfc0a82fbb12a9decc24291d8cb2');
    expect(bytesToHex(keys.sendingMacKey)).to.equal('8e545048d397257ff516444312fc5af0161a0d4e');
    expect(bytesToHex(keys.receivingAesKey)).to.equal('5d18d39a7d4ebb5341ae5b7b153b1925');
    expect(bytesToHex(keys.receivingMacKey)).to.equal('1c9b86a471693395dba06bbf23e0b7d4522b65a0');
    expect(keys.extraSymmetricKey.length).to.equal(32);
  });
  it('matches libotr otr_sesskeys (high end, their key = 2)', () => {
    const keys = deriveSessionKeys(group, ourPrivate, group.powG(ourPrivate), 2n);
    expect(bytesToHex(keys.sendingAesKey)).to.equal('3e209f0404a7ca789496eaf605b8afad');
    expect(bytesToHex(keys.sendingMacKey)).to.equal('65dc1534da00ed284bb43d45ab37ee10ebdba0eb');
    expect(bytesToHex(keys.receivingAesKey)).to.equal('c779815790ff64750b8011df6efeabc6');
    expect(bytesToHex(keys.receivingMacKey)).to.equal('4e14381159630d0b4b42f6ce11a273efc3fd397b');
  });
  it('is symmetric: one side sends with what the other receives with, same extra key', () => {
    const a = generateOtrDhKeyPair(group, deterministicRandom('a'));
    const b = generateOtrDhKeyPair(group, deterministicRandom('b'));
    const ka = deriveSessionKeys(group, a.privateKey, a.publicKey, b.publicKey);
    const kb = deriveSessionKeys(group, b.privateKey, b.publicKey, a.publicKey);
    expect(ka.sendingAesKey).to.deep.equal(kb.receivingAesKey);
    expect(ka.receivingMacKey).to.deep.equal(kb.sendingMacKey);
    expect(ka.extraSymmetricKey).to.deep.equal(kb.extraSymmetricKey);
    expect(ka.sendingAesKey).to.not.deep.equal(ka.receivingAesKey);
  });
  it('rejects a public value out of range', () => {
    expect(() => deriveSessionKeys(group, 5n, group.powG(5n), 1n)).to.throw(VerificationError);
    expect(() => deriveSessionKeys(group, 5n, group.powG(5n), group.p - 1n)).to.throw(VerificationError);
  });
  it('extra symmetric key is SHA-256(0xFF || secbytes)', () => {
    const keys = deriveSessionKeysFromSecret(0x0102n, 3n, 2n);
    // secbytes = 00 00 00 02 01 02
    expect(bytesToHex(keys.extraSymmetricKey)).to.equal(
      bytesToHex(new Uint8Array(require_sha256(hexToBytes('ff0000000201' + '02')))),
    );
  });
});

import { createHash } from 'node:crypto';
function require_sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

describe('otr/data-message codec', () => {
  const sample: DataMessage = {
    flags: 1,
    senderKeyId: 7,
    recipientKeyId: 9,
    nextDh: 0x1234567n,
    counter: hexToBytes('0000000000000003'),
    encryptedMessage: utf8ToBytes('ciphertext'),
    mac: new Uint8Array(20).fill(0xaa),
    oldMacKeys: new Uint8Array(40).fill(0xbb),
  };
  it('round-trips and lays out the fields in the spec order', () => {
    const body = encodeDataMessage(sample);
    expect(bytesToHex(body)).to.equal(
      '01' + '00000007' + '00000009' + '00000004' + '01234567' + '0000000000000003' + '0000000a' + bytesToHex(utf8ToBytes('ciphertext')) +
        'aa'.repeat(20) + '00000028' + 'bb'.repeat(40),
    );
    const decoded = decodeDataMessage(body);
    expect(decoded.flags).to.equal(1);
    expect(decoded.senderKeyId).to.equal(7);
    expect(decoded.recipientKeyId).to.equal(9);
    expect(decoded.nextDh).to.equal(0x1234567n);
    expect(decoded.counter).to.deep.equal(sample.counter);
    expect(decoded.encryptedMessage).to.deep.equal(sample.encryptedMessage);
    expect(decoded.mac).to.deep.equal(sample.mac);
    expect(decoded.oldMacKeys).to.deep.equal(sample.oldMacKeys);
    expect(decoded.authenticatedBody).to.deep.equal(body.subarray(0, body.length - 20 - 44));
  });
  it('rejects truncation at every length, trailing bytes, keyid 0 and a zero counter', () => {
    const body = encodeDataMessage(sample);
    for (let n = 0; n < body.length; n++) expect(() => decodeDataMessage(body.subarray(0, n))).to.throw(MalformedMessageError);
    expect(() => decodeDataMessage(concatBytes(body, Uint8Array.of(0)))).to.throw(MalformedMessageError);
    expect(() => decodeDataMessage(encodeDataMessage({ ...sample, senderKeyId: 1, recipientKeyId: 1, counter: new Uint8Array(8) }))).to.throw(
      MalformedMessageError,
      /zero/,
    );
    const zeroKey = encodeDataMessage(sample);
    zeroKey.set([0, 0, 0, 0], 1);
    expect(() => decodeDataMessage(zeroKey)).to.throw(MalformedMessageError);
  });
  it('header bytes are those encodeOtrMessage writes (v3 and v2)', () => {
    for (const header of [
      { version: 3 as const, type: OTR_MESSAGE_TYPE.data, senderInstanceTag: 0x101, receiverInstanceTag: 0x12345678 },
      { version: 2 as const, type: OTR_MESSAGE_TYPE.data, senderInstanceTag: 0, receiverInstanceTag: 0 },
    ]) {
      const text = encodeOtrMessage(header, Uint8Array.of(9));
      const raw = Buffer.from(text.slice(5, -1), 'base64');
      expect(bytesToHex(encodeOtrHeaderBytes(header))).to.equal(bytesToHex(raw.subarray(0, raw.length - 1)));
    }
  });
});

/** Two key managers as left by an AKE between A (keyid 1) and B (keyid 1). */
function pair(seed: string): { a: DataKeyManager; b: DataKeyManager } {
  const ra = deterministicRandom(seed + 'a');
  const rb = deterministicRandom(seed + 'b');
  const ka = generateOtrDhKeyPair(group, ra);
  const kb = generateOtrDhKeyPair(group, rb);
  const a = new DataKeyManager(
    { ourKeyId: 1, ourDhPrivate: ka.privateKey, ourDhPublic: ka.publicKey, theirKeyId: 1, theirDhPublic: kb.publicKey },
    group,
    ra,
  );
  const b = new DataKeyManager(
    { ourKeyId: 1, ourDhPrivate: kb.privateKey, ourDhPublic: kb.publicKey, theirKeyId: 1, theirDhPublic: ka.publicKey },
    group,
    rb,
  );
  return { a, b };
}

const A = { version: 3 as const, senderInstanceTag: 0x100, receiverInstanceTag: 0x200 };
const B = { version: 3 as const, senderInstanceTag: 0x200, receiverInstanceTag: 0x100 };

function send(from: DataKeyManager, address: typeof A, text: string): string {
  return encryptDataMessage(from, address, utf8ToBytes(text)).text;
}
function receive(to: DataKeyManager, wire: string): { text: string; oldMacKeys: Uint8Array } {
  const decoded = decodeOtrMessage(wire);
  const out = decryptDataMessage(to, decoded, decoded.body);
  return { text: bytesToUtf8(out.plaintext), oldMacKeys: out.oldMacKeys };
}

describe('otr/key-management + data-exchange loopback', () => {
  it('exchanges 1200 interleaved messages; keyids advance; revealed MAC keys are ones used earlier', function () {
    this.timeout(120000);
    const { a, b } = pair('loop');
    const random = deterministicRandom('schedule');
    const usedMacKeys = new Set<string>();
    const revealed: string[] = [];
    const revealedBy = { a: [] as string[], b: [] as string[] };
    let aSent = 0;
    let bSent = 0;
    let maxKeyId = 0;
    const wireLog: string[] = [];
    // Interleave: random bursts from either side, sometimes delivering with delay (one in flight).
    for (let i = 0; i < 2400; i++) {
      const fromA = (random(1)[0] as number) % 2 === 0;
      const [from, to, address] = fromA ? [a, b, A] : [b, a, B];
      const text = `${fromA ? 'a' : 'b'} message ${i}`;
      const wire = send(from, address, text);
      const decoded = decodeOtrMessage(wire);
      const msg = decodeDataMessage(decoded.body);
      // The MAC key that really MACed this message, found by trying the receiver's key.
      const slot = to.prepareReceive(msg.senderKeyId, msg.recipientKeyId);
      expect(bytesToHex(hmacSha1(slot.keys.receivingMacKey, dataMessageMacInput(decoded, msg.authenticatedBody)))).to.equal(bytesToHex(msg.mac));
      usedMacKeys.add(bytesToHex(slot.keys.receivingMacKey));
      const got = receive(to, wire);
      expect(got.text).to.equal(text);
      for (let k = 0; k < got.oldMacKeys.length; k += 20) {
        const key = bytesToHex(got.oldMacKeys.subarray(k, k + 20));
        revealed.push(key);
        revealedBy[fromA ? 'a' : 'b'].push(key);
      }
      maxKeyId = Math.max(maxKeyId, msg.senderKeyId);
      if (fromA) aSent++;
      else bSent++;
      wireLog.push(wire);
    }
    expect(aSent).to.be.greaterThan(1000);
    expect(bSent).to.be.greaterThan(1000);
    expect(maxKeyId).to.be.greaterThan(100);
    expect(revealed.length).to.be.greaterThan(100);
    for (const key of revealed) expect(usedMacKeys.has(key), 'revealed key was used').to.equal(true);
    // Each side reveals a key once (both sides may reveal the same key: A's sending key is B's receiving key).
    expect(new Set(revealedBy.a).size).to.equal(revealedBy.a.length);
    expect(new Set(revealedBy.b).size).to.equal(revealedBy.b.length);
  });

  it('rejects a replay with a typed error and no state change, and stays usable', () => {
    const { a, b } = pair('replay');
    const w1 = send(a, A, 'one');
    expect(receive(b, w1).text).to.equal('one');
    const before = { our: b.ourKeyId, their: b.theirKeyId };
    expect(() => receive(b, w1)).to.throw(StateError).with.property('code', 'otr.data.replay');
    expect({ our: b.ourKeyId, their: b.theirKeyId }).to.deep.equal(before);
    expect(receive(b, send(a, A, 'two')).text).to.equal('two');
    expect(receive(a, send(b, B, 'three')).text).to.equal('three');
  });

  it('rejects a message delivered out of order within one key pair (counter not increasing)', () => {
    const { a, b } = pair('order');
    const w1 = send(a, A, 'one');
    const w2 = send(a, A, 'two');
    expect(receive(b, w2).text).to.equal('two');
    expect(() => receive(b, w1)).to.throw(StateError).with.property('code', 'otr.data.replay');
  });

  it('rejects tampering anywhere in the MACed bytes (bad MAC) and keeps working', () => {
    const { a, b } = pair('tamper');
    const wire = send(a, A, 'hello');
    const full = Buffer.from(wire.slice(5, -1), 'base64');
    for (const index of [0 + 11 /* flags */, 11 + 1, 11 + 9 + 4 + 10, full.length - 25 /* last MAC byte */, 3 /* sender tag */]) {
      const bad = Buffer.from(full);
      bad[index] = (bad[index] as number) ^ 0x01;
      const text = '?OTR:' + bad.toString('base64') + '.';
      let error: unknown;
      try {
        receive(b, text);
      } catch (e) {
        error = e;
      }
      expect(error, `byte ${index}`).to.be.instanceOf(Error);
      expect((error as { code?: string }).code, `byte ${index}`).to.match(/^otr\./);
    }
    expect(receive(b, wire).text).to.equal('hello');
  });

  it('rejects unknown keyids with a typed error', () => {
    const { a, b } = pair('keyid');
    const wire = send(a, A, 'x');
    const decoded = decodeOtrMessage(wire);
    const msg = decodeDataMessage(decoded.body);
    const forged = encodeDataMessage({ ...msg, senderKeyId: 5 });
    expect(() => decryptDataMessage(b, decoded, forged)).to.throw(StateError).with.property('code', 'otr.data.unknown-key-id');
    const forged2 = encodeDataMessage({ ...msg, recipientKeyId: 3 });
    expect(() => decryptDataMessage(b, decoded, forged2)).to.throw(StateError).with.property('code', 'otr.data.unknown-key-id');
  });

  it('rotates: after a round trip the sender keyid advances', () => {
    const { a, b } = pair('rotate');
    const m1 = decodeDataMessage(decodeOtrMessage(send(a, A, '1')).body);
    expect([m1.senderKeyId, m1.recipientKeyId]).to.deep.equal([1, 1]);
    receive(b, send(a, A, '1b'));
    // B saw A's next key (keyid 2) and its own keyid 1 acknowledged: B rotates theirs.
    expect(b.theirKeyId).to.equal(2);
    const reply = send(b, B, 'r');
    const m2 = decodeDataMessage(decodeOtrMessage(reply).body);
    expect([m2.senderKeyId, m2.recipientKeyId]).to.deep.equal([1, 2]);
    receive(a, reply);
    expect(a.ourKeyId).to.equal(3);
    const m3 = decodeDataMessage(decodeOtrMessage(send(a, A, '3')).body);
    expect([m3.senderKeyId, m3.recipientKeyId]).to.deep.equal([2, 2]);
  });
});

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

describe('otr/data-message against libotr-bin (libotr5-bin)', function () {
  const OTR_PARSE = '/usr/bin/otr_parse';
  before(function () {
    if (!existsSync(OTR_PARSE)) {
      if (process.env.CI === 'true') throw new Error('otr_parse missing: install the Debian package libotr5-bin');
      console.warn('    !!! SKIPPED: otr_parse not found; install the Debian package libotr5-bin');
      this.skip();
    }
  });

  it('libotr parses our Data Message field by field, revealed MAC keys included', () => {
    const { a } = pair('otr-parse');
    const reveal = new Uint8Array(20).fill(0xab);
    const seeded = new DataKeyManager(
      { ourKeyId: 1, ourDhPrivate: 5n, ourDhPublic: group.powG(5n), theirKeyId: 7, theirDhPublic: a.ourPublicKey },
      group,
      deterministicRandom('seeded'),
      [reveal],
    );
    const text = encryptDataMessage(seeded, { version: 3, senderInstanceTag: 0x123, receiverInstanceTag: 0x456 }, utf8ToBytes('hi'), 1).text;
    const decoded = decodeDataMessage(decodeOtrMessage(text).body);
    const out = execFileSync(OTR_PARSE, { input: text + '\n', encoding: 'utf8' });
    expect(out).to.match(/Data Message:/);
    expect(out).to.match(/Version: 03/);
    expect(out).to.match(/Flags: 1\n/);
    expect(out).to.match(/Sender instance: 291\n/);
    expect(out).to.match(/Receiver instance: 1110\n/);
    expect(out).to.match(/Sender keyid: 1\n/);
    expect(out).to.match(/Rcpt keyid: 7\n/);
    expect(out).to.include(`DH y: ${bytesToHex(bigIntToBytes(decoded.nextDh))}`);
    expect(out).to.match(/Counter: 0000000000000001\n/);
    expect(out).to.include(`Encrypted message: ${bytesToHex(decoded.encryptedMessage)}`);
    expect(out).to.include(`MAC: ${bytesToHex(decoded.mac)}`);
    expect(out).to.include(`Key 1: ${'ab'.repeat(20)}`);
  });

  it('MAC keys are SHA-1 of the AES keys as libotr computes them (otr_mackey)', () => {
    const keys = deriveSessionKeysFromSecret(123456789n, 3n, 2n);
    const out = execFileSync('/usr/bin/otr_mackey', [bytesToHex(keys.sendingAesKey)], { encoding: 'utf8' });
    expect(out).to.include(`MAC key: ${bytesToHex(keys.sendingMacKey)}`);
  });
});
