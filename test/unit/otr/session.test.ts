import { expect } from 'chai';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import type { DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { decodeOtrMessage, encodeOtrMessage } from '../../../otr/encoded-message.js';
import { OTR_MESSAGE_TYPE } from '../../../otr/message-types.js';
import { OtrSession, type OtrSessionContext } from '../../../otr/session.js';
import { MAX_REMOTE_INSTANCES } from '../../../otr/conversation.js';
import { decodeDataMessage } from '../../../otr/data-message.js';
import { eventsOf, group, makeParty, testKeys, twoParty } from './conversation-helpers.js';

const TAG_A = 0x300;
const TAG_B = 0x400;

describe('otr/session', function () {
  this.timeout(60_000);
  let keyA: DsaPrivateKey;
  let keyB: DsaPrivateKey;
  before(async () => {
    [keyA, keyB] = (await testKeys()) as [DsaPrivateKey, DsaPrivateKey];
  });

  function context(key: DsaPrivateKey, tag: number, seed: string): OtrSessionContext {
    return { accountName: seed, ourPrivateKey: key, ourInstanceTag: tag, random: deterministicRandom(seed), group, now: () => 0 };
  }

  /** Runs the AKE between two sessions directly (no conversation). */
  function secured(): { a: OtrSession; b: OtrSession } {
    const a = new OtrSession(context(keyA, TAG_A, 'sa'), TAG_B);
    const b = new OtrSession(context(keyB, TAG_B, 'sb'), TAG_A);
    let toB = a.startAke(3).toSend;
    let toA: string[] = [];
    for (let i = 0; i < 4 && (toB.length > 0 || toA.length > 0); i++) {
      toA = toB.flatMap((m) => b.receiveAke(decodeOtrMessage(m)).toSend);
      toB = toA.flatMap((m) => a.receiveAke(decodeOtrMessage(m)).toSend);
      toA = [];
    }
    return { a, b };
  }

  it('starts in PLAINTEXT with no AKE and goes ENCRYPTED after the AKE', () => {
    const { a, b } = secured();
    expect(a.messageState.kind).to.equal('encrypted');
    expect(b.messageState.kind).to.equal('encrypted');
    expect(a.authState.kind).to.equal('none');
    const wire = a.encrypt('hi');
    expect(b.receiveData(decodeOtrMessage(wire)).show).to.equal('hi');
  });

  it('refuses to encrypt outside ENCRYPTED (caller bug)', () => {
    const s = new OtrSession(context(keyA, TAG_A, 'x'), TAG_B);
    expect(() => s.encrypt('no')).to.throw(TypeError);
  });

  it('TLV 1 moves the receiver to FINISHED and wipes its keys; end() sends TLV 1 flagged IGNORE_UNREADABLE', () => {
    const { a, b } = secured();
    const state = b.messageState;
    if (state.kind !== 'encrypted') throw new Error('not encrypted');
    const step = a.end();
    expect(a.messageState.kind).to.equal('plaintext');
    const decoded = decodeOtrMessage(step.toSend[0] as string);
    expect(decoded.body[0]).to.equal(0x01);
    const got = b.receiveData(decoded);
    expect(b.messageState.kind).to.equal('finished');
    expect(got.events.map((e) => e.kind)).to.include('went-insecure');
    // The key manager was wiped: using it is a caller bug now.
    expect(() => state.secure.keys.nextSending()).to.throw(TypeError);
    // Data after FINISHED: not readable, and it says so.
    expect(b.receiveData(decodeOtrMessage(encodeOtrMessage({ ...decoded }, decoded.body))).events[0]?.kind).to.equal('ignored');
  });

  it('a malformed data message body gives a typed error and a reply, state unchanged', () => {
    const { a, b } = secured();
    const good = decodeOtrMessage(a.encrypt('one'));
    const broken = { ...good, body: good.body.subarray(0, 10) };
    const step = b.receiveData(broken);
    expect(step.events[0]?.kind).to.equal('error');
    expect(step.toSend[0]).to.match(/^\?OTR Error: You transmitted a malformed data message/);
    expect(b.receiveData(good).show).to.equal('one');
  });

  it('re-AKE while encrypted replaces the keys and reveals the old used MAC keys', () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    const ssid1 = a.conversation.ssid;
    wire.take(a, b, a.conversation.send('before'));
    wire.take(b, a, b.conversation.send('reply'));
    pump();
    wire.take(b, a, b.conversation.startAke());
    pump();
    const ssid2 = a.conversation.ssid;
    expect(ssid2).to.not.deep.equal(ssid1);
    expect(eventsOf(a, 'went-secure').at(-1)?.refreshed).to.equal(true);
    const before = wire.log.length;
    wire.take(a, b, a.conversation.send('after'));
    pump();
    expect(b.shown.at(-1)).to.deep.equal({ text: 'after', encrypted: true });
    const first = decodeOtrMessage(wire.log[before]?.text as string);
    expect(first.type).to.equal(OTR_MESSAGE_TYPE.data);
    // Its old-MAC-keys field carries the MAC keys used before the re-AKE.
    const revealed = decodeDataMessage(first.body).oldMacKeys;
    expect(revealed.length).to.be.greaterThan(0);
    expect(revealed.length % 20).to.equal(0);
  });

  it(`does not keep sessions for data messages from unknown instances; caps AKE instances at ${MAX_REMOTE_INSTANCES}`, () => {
    const a = makeParty('a', keyA, TAG_A);
    const b = makeParty('b', keyB, TAG_B);
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    const data = decodeOtrMessage(a.conversation.send('x').toSend[0] as string);
    for (let tag = 0x1000; tag < 0x1000 + 200; tag++) {
      const forged = encodeOtrMessage({ ...data, senderInstanceTag: tag }, data.body);
      const r = b.conversation.receive(forged);
      expect(r.events[0]?.kind).to.equal('error');
    }
    expect(b.conversation.instances).to.deep.equal([TAG_A]);
    // D-H Commits from many forged instances: bounded, and the real session survives.
    const c = makeParty('c', keyA, 0x5000);
    const commitText = (() => {
      const r = c.conversation.receive('?OTRv3?');
      return r.toSend[0] as string;
    })();
    const commitMsg = decodeOtrMessage(commitText);
    for (let tag = 0x6000; tag < 0x6000 + 100; tag++) {
      b.conversation.receive(encodeOtrMessage({ ...commitMsg, senderInstanceTag: tag, receiverInstanceTag: 0 }, commitMsg.body));
    }
    expect(b.conversation.instances.length).to.be.at.most(MAX_REMOTE_INSTANCES);
    expect(b.conversation.instanceState(TAG_A)).to.equal('encrypted');
  });
});
