import { expect } from 'chai';
import fc from 'fast-check';
import type { DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { ProtocolError } from '../../../lib/core/errors.js';
import { MAX_REMOTE_INSTANCES } from '../../../otr/conversation.js';
import type { OtrResult } from '../../../otr/events.js';
import { OTR_POLICY_OPPORTUNISTIC } from '../../../otr/policy.js';
import { makeParty, testKeys, twoParty, type Party } from './conversation-helpers.js';

/**
 * Hostile input, per message type: 10,000 mutations each of a real D-H Commit, D-H Key,
 * Reveal Signature, Signature, Data Message and Data Message fragment, delivered through the
 * whole receive path (fragments, base64, header, instance tags, body codecs, MACs,
 * signatures, counters) to a conversation in the state that expects that message. Mutations:
 * bit flips, truncation, byte overwrites, appended bytes, huge length fields, broken base64,
 * forged sender / receiver instance tags, other version and type bytes, and replays.
 *
 * Every case: `receive` does not throw; errors are typed (`ProtocolError`); nothing is shown
 * as decrypted that was not sent; an encrypted session stays encrypted; remote instances stay
 * bounded. After each batch the genuine message still completes the AKE or decrypts.
 */
const CASES = 10_000;

const MUTATION_KINDS = 10;

/** The genuine texts that may be shown as decrypted. */
const GENUINE = new Set(['first message', 'second message', 'a fragmented message '.repeat(12), 'after the storm']);

/**
 * A hostile variant of `text` (an encoded "?OTR:...." message); never `text` itself (an
 * unchanged message is a genuine one, and delivering it would change the state under test).
 */
function mutateEncoded(text: string, kind: number, at: number, value: number, replays: readonly string[]): string {
  const mutated = mutateEncodedOnce(text, kind, at, value, replays);
  return mutated === text ? text.slice(0, -1) + 'A.' : mutated;
}

function mutateEncodedOnce(text: string, kind: number, at: number, value: number, replays: readonly string[]): string {
  if (kind === 9 && replays.length > 0) return replays[at % replays.length] as string;
  const end = text.indexOf('.', 5);
  const body = Buffer.from(text.slice(5, end), 'base64');
  const copy = Buffer.from(body);
  const i = at % copy.length;
  const wrap = (bytes: Buffer): string => '?OTR:' + bytes.toString('base64') + '.';
  switch (kind) {
    case 0:
      copy[i] = (copy[i] as number) ^ (1 << (value % 8));
      return wrap(copy);
    case 1:
      return wrap(copy.subarray(0, i));
    case 2:
      copy[i] = value & 0xff;
      return wrap(copy);
    case 3:
      return wrap(Buffer.concat([copy, Buffer.alloc(1 + (value % 300), value & 0xff)]));
    case 4: {
      // a length field (or any INT) made huge or arbitrary
      const o = Math.min(i, copy.length - 4);
      if (o < 0) return wrap(copy);
      copy.writeUInt32BE(value % 2 === 0 ? 0xffff_ffff : (value * 0x01010101) >>> 0, o);
      return wrap(copy);
    }
    case 5: {
      // broken base64: a character outside the alphabet, a dropped character or padding, no "."
      const b64 = text.slice(5, end);
      const j = at % b64.length;
      if (value % 3 === 0) return '?OTR:' + b64.slice(0, j) + '*' + b64.slice(j + 1) + '.';
      if (value % 3 === 1) return '?OTR:' + b64.slice(0, j) + b64.slice(j + 1) + '.';
      return '?OTR:' + b64;
    }
    case 6:
      copy.writeUInt32BE((value * 2654435761) >>> 0, 3); // sender instance tag
      return wrap(copy);
    case 7:
      copy.writeUInt32BE(value % 4 === 0 ? 0 : (value * 2246822519) >>> 0, 7); // receiver instance tag
      return wrap(copy);
    default:
      // protocol version or message type byte
      if (value % 2 === 0) copy.writeUInt16BE(value % 5, 0);
      else copy[2] = value & 0xff;
      return wrap(copy);
  }
}

/** A hostile variant of a fragment `text`; never `text` itself. */
function mutateFragment(text: string, kind: number, at: number, value: number): string {
  const mutated = mutateFragmentOnce(text, kind, at, value);
  return mutated === text ? text + 'x' : mutated;
}

function mutateFragmentOnce(text: string, kind: number, at: number, value: number): string {
  // ?OTR|sender|receiver,k,n,piece,
  const i = at % text.length;
  switch (kind % 6) {
    case 0:
      return text.slice(0, i) + String.fromCharCode(32 + (value % 95)) + text.slice(i + 1);
    case 1:
      return text.slice(0, i);
    case 2:
      return text.replace(/,(\d{5}),(\d{5}),/, `,${String(value % 70_000).padStart(5, '0')},$2,`);
    case 3:
      return text.replace(/,(\d{5}),(\d{5}),/, `,$1,${String(value % 70_000).padStart(5, '0')},`);
    case 4:
      return text.replace(/^\?OTR\|[0-9a-f]{8}/, `?OTR|${((value * 2654435761) >>> 0).toString(16).padStart(8, '0')}`);
    default:
      return text.slice(0, i) + ',' + text.slice(i);
  }
}

/** Checks one result of a hostile message. */
function checkResult(party: Party, result: OtrResult, wasEncrypted: boolean): void {
  if (result.show?.encrypted === true) expect(GENUINE.has(result.show.text), `forged plaintext: ${result.show.text}`).to.equal(true);
  for (const e of result.events) {
    if (e.kind === 'error') expect(e.error).to.be.instanceOf(ProtocolError);
    expect(e.kind).to.not.equal('went-insecure');
  }
  if (wasEncrypted) expect(party.conversation.messageState).to.equal('encrypted');
  expect(party.conversation.instances.length).to.be.at.most(MAX_REMOTE_INSTANCES);
}

const arbitraryMutation = fc.tuple(fc.nat(MUTATION_KINDS - 1), fc.nat(1_000_000), fc.nat(1_000_000));

describe('otr wire: 10,000 hostile mutations per message type through OtrConversation.receive', function () {
  this.timeout(300_000);
  let keyA: DsaPrivateKey;
  let keyB: DsaPrivateKey;
  before(async () => {
    [keyA, keyB] = (await testKeys()) as [DsaPrivateKey, DsaPrivateKey];
  });

  /** Alice and Bob, and every AKE message of one run captured (not delivered). */
  /** Alice queries, Bob commits; every AKE message is captured. Bob ends awaiting `sig`. */
  function akeRun(tagA: number, tagB: number): { a: Party; b: Party; sig: string } {
    const a = makeParty('a', keyA, tagA, OTR_POLICY_OPPORTUNISTIC);
    const b = makeParty('b', keyB, tagB, OTR_POLICY_OPPORTUNISTIC);
    const query = a.conversation.startAke().toSend[0] as string;
    const commit = b.conversation.receive(query).toSend[0] as string;
    const dhKey = a.conversation.receive(commit).toSend[0] as string;
    const revealSig = b.conversation.receive(dhKey).toSend[0] as string;
    const sig = a.conversation.receive(revealSig).toSend[0] as string;
    return { a, b, sig };
  }

  it(`D-H Commit: ${CASES} mutations to a party in AUTHSTATE_NONE, then the genuine AKE completes`, () => {
    // Bob sends the commit (he answered Alice's query); Alice is the receiver in NONE
    const a = makeParty('a', keyA, 0x1001, OTR_POLICY_OPPORTUNISTIC);
    const b = makeParty('b', keyB, 0x2002, OTR_POLICY_OPPORTUNISTIC);
    const { wire, pump } = twoParty(a, b);
    const query = a.conversation.startAke().toSend[0] as string;
    const commit = b.conversation.receive(query).toSend[0] as string;
    fc.assert(
      fc.property(arbitraryMutation, ([kind, at, value]) => {
        checkResult(a, a.conversation.receive(mutateEncoded(commit, kind, at, value, [])), false);
      }),
      { numRuns: CASES, seed: 0x0d1c },
    );
    wire.take(a, b, a.conversation.receive(commit));
    pump();
    expect(a.conversation.messageState).to.equal('encrypted');
    expect(b.conversation.messageState).to.equal('encrypted');
  });

  it(`D-H Key: ${CASES} mutations to a party in AUTHSTATE_AWAITING_DHKEY, then the genuine AKE completes`, () => {
    // a receiver in AWAITING_DHKEY: Alice answered Bob's query with a D-H Commit
    const setUp = (): { alice: Party; bob: Party; dhKey: string } => {
      const alice = makeParty('a', keyA, 0x1003, OTR_POLICY_OPPORTUNISTIC);
      const bob = makeParty('b', keyB, 0x2004, OTR_POLICY_OPPORTUNISTIC);
      const query = bob.conversation.startAke().toSend[0] as string;
      const commit = alice.conversation.receive(query).toSend[0] as string; // Alice commits
      const dhKey = bob.conversation.receive(commit).toSend[0] as string;
      return { alice, bob, dhKey };
    };
    let s = setUp();
    let rebuilt = 0;
    fc.assert(
      fc.property(arbitraryMutation, ([kind, at, value]) => {
        const result = s.alice.conversation.receive(mutateEncoded(s.dhKey, kind, at, value, []));
        checkResult(s.alice, result, false);
        // an in-range forged g^y moves Alice on to AWAITING_SIG (she cannot tell): start over
        if (result.toSend.length > 0) {
          s = setUp();
          rebuilt++;
        }
      }),
      { numRuns: CASES, seed: 0xd4e7 },
    );
    const { wire, pump } = twoParty(s.alice, s.bob);
    wire.take(s.alice, s.bob, s.alice.conversation.receive(s.dhKey));
    pump();
    expect(s.alice.conversation.messageState).to.equal('encrypted');
    expect(s.bob.conversation.messageState).to.equal('encrypted');
    expect(rebuilt).to.be.greaterThan(0); // the forged-but-in-range path was exercised
  });

  it(`Reveal Signature: ${CASES} mutations to a party in AUTHSTATE_AWAITING_REVEALSIG, then the genuine one completes`, () => {
    const a = makeParty('a', keyA, 0x1005, OTR_POLICY_OPPORTUNISTIC);
    const b = makeParty('b', keyB, 0x2006, OTR_POLICY_OPPORTUNISTIC);
    const query = a.conversation.startAke().toSend[0] as string;
    const commit = b.conversation.receive(query).toSend[0] as string; // Bob commits, awaits D-H Key
    const dhKey = a.conversation.receive(commit).toSend[0] as string; // Alice awaits Reveal Signature
    const revealSig = b.conversation.receive(dhKey).toSend[0] as string;
    fc.assert(
      fc.property(arbitraryMutation, ([kind, at, value]) => {
        const result = a.conversation.receive(mutateEncoded(revealSig, kind, at, value, []));
        checkResult(a, result, false);
        expect(a.conversation.messageState).to.equal('plaintext');
      }),
      { numRuns: CASES, seed: 0x5e51 },
    );
    const sig = a.conversation.receive(revealSig);
    expect(a.conversation.messageState).to.equal('encrypted');
    b.conversation.receive(sig.toSend[0] as string);
    expect(b.conversation.messageState).to.equal('encrypted');
  });

  it(`Signature: ${CASES} mutations to a party in AUTHSTATE_AWAITING_SIG, then the genuine one completes`, () => {
    const run = akeRun(0x1007, 0x2008);
    // run.b sent the commit and the Reveal Signature; it awaits the Signature `run.sig`
    fc.assert(
      fc.property(arbitraryMutation, ([kind, at, value]) => {
        const result = run.b.conversation.receive(mutateEncoded(run.sig, kind, at, value, []));
        checkResult(run.b, result, false);
        expect(run.b.conversation.messageState).to.equal('plaintext');
      }),
      { numRuns: CASES, seed: 0x516e },
    );
    run.b.conversation.receive(run.sig);
    expect(run.b.conversation.messageState).to.equal('encrypted');
    expect(run.a.conversation.messageState).to.equal('encrypted');
  });

  describe('in an encrypted session', () => {
    function encryptedPair(maxFragmentSize?: number): { a: Party; b: Party; pump: () => void; wire: ReturnType<typeof twoParty>['wire'] } {
      const extra = maxFragmentSize === undefined ? {} : { maxFragmentSize };
      const a = makeParty('a', keyA, 0x1009, OTR_POLICY_OPPORTUNISTIC, extra);
      const b = makeParty('b', keyB, 0x200a, OTR_POLICY_OPPORTUNISTIC, extra);
      const { wire, pump } = twoParty(a, b);
      wire.take(a, b, a.conversation.startAke());
      pump();
      expect(b.conversation.messageState).to.equal('encrypted');
      return { a, b, pump, wire };
    }

    it(`Data Message: ${CASES} mutations and replays; the session stays encrypted and decrypts the next message`, () => {
      const { a, b, pump, wire } = encryptedPair();
      const delivered: string[] = [];
      for (const text of ['first message', 'second message']) {
        const out = a.conversation.send(text).toSend[0] as string;
        b.conversation.receive(out);
        delivered.push(out);
      }
      const pending = a.conversation.send('first message').toSend[0] as string; // not yet delivered
      fc.assert(
        fc.property(arbitraryMutation, ([kind, at, value]) => {
          const result = b.conversation.receive(mutateEncoded(pending, kind, at, value, delivered));
          checkResult(b, result, true);
        }),
        { numRuns: CASES, seed: 0xda7a },
      );
      expect(b.conversation.receive(pending).show).to.deep.equal({ text: 'first message', encrypted: true });
      wire.take(a, b, a.conversation.send('after the storm'));
      pump();
      expect(b.shown.at(-1)).to.deep.equal({ text: 'after the storm', encrypted: true });
    });

    it(`Data Message fragments: ${CASES} mutated pieces; buffered memory bounded, the genuine message reassembles`, () => {
      const { a, b } = encryptedPair(200);
      const text = 'a fragmented message '.repeat(12);
      const pieces = a.conversation.send(text).toSend;
      expect(pieces.length).to.be.greaterThan(2);
      fc.assert(
        fc.property(fc.nat(pieces.length - 1), arbitraryMutation, (index, [kind, at, value]) => {
          const result = b.conversation.receive(mutateFragment(pieces[index] as string, kind, at, value));
          checkResult(b, result, true);
        }),
        { numRuns: CASES, seed: 0xf7a9 },
      );
      let shown: OtrResult['show'];
      for (const piece of pieces) shown = b.conversation.receive(piece).show ?? shown;
      expect(shown).to.deep.equal({ text, encrypted: true });
    });
  });
});
