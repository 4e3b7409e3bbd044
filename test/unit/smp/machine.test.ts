import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { bytesToHex, utf8ToBytes } from '../../../lib/core/bytes.js';
import { StateError } from '../../../lib/core/errors.js';
import {
  abortSmp,
  encodeSmp1,
  receiveSmpTlv,
  respondSmp,
  SMP_TLV_TYPE,
  smpStep1,
  startSmp,
  stepSmp,
  initialSmpState,
  type SmpContext,
  type SmpEvent,
  type SmpState,
  type SmpTlv,
} from '../../../smp/index.js';
import { apply, deliver, group, kinds, pair, party, type Party } from './smp-helpers.js';

/** Full run: Alice starts, Bob answers when asked. */
function run(aliceSecret: string | Uint8Array, bobSecret: string | Uint8Array, question?: string, seed?: string): { alice: Party; bob: Party } {
  const ctxs = pair(seed);
  const alice = party(ctxs.alice);
  const bob = party(ctxs.bob);
  const smp1 = apply(alice, startSmp(alice.ctx, alice.state, aliceSecret, question));
  deliver(alice, bob, smp1);
  expect(bob.state.kind).to.equal('awaiting-secret');
  deliver(bob, alice, apply(bob, respondSmp(bob.ctx, bob.state, bobSecret)));
  return { alice, bob };
}

const lastResult = (events: SmpEvent[]): SmpEvent | undefined => events.filter((e) => e.kind === 'succeeded' || e.kind === 'failed').at(-1);

describe('smp/machine: two-party loopback', () => {
  it('matching secrets: succeeded on both sides, both back to EXPECT1', () => {
    const { alice, bob } = run('the secret', 'the secret');
    expect(kinds(alice.events)).to.deep.equal(['progress 20', 'progress 60', 'progress 100', 'succeeded']);
    expect(kinds(bob.events)).to.deep.equal(['secret-needed', 'progress 25', 'progress 40', 'progress 100', 'succeeded']);
    expect(lastResult(alice.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
    expect(lastResult(bob.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
    expect(alice.state.kind).to.equal('expect1');
    expect(bob.state.kind).to.equal('expect1');
    expect(alice.sent.map((t) => t.type)).to.deep.equal([2, 4]);
    expect(bob.sent.map((t) => t.type)).to.deep.equal([3, 5]);
  });

  it('different secrets: failed on both sides', () => {
    const { alice, bob } = run('the secret', 'another secret');
    expect(lastResult(alice.events)).to.deep.equal({ kind: 'failed' });
    expect(lastResult(bob.events)).to.deep.equal({ kind: 'failed' });
    expect(alice.events.some((e) => e.kind === 'cheated')).to.equal(false);
  });

  it('secrets as bytes and as their UTF-8 string compare equal', () => {
    const { alice, bob } = run(utf8ToBytes('pässwörd'), 'pässwörd');
    expect(lastResult(alice.events)?.kind).to.equal('succeeded');
    expect(lastResult(bob.events)?.kind).to.equal('succeeded');
  });

  it('with a question: TLV 7, question event carries the text, the answerer does not authenticate the asker', () => {
    const { alice, bob } = run('blue', 'blue', 'Favourite colour? ✓');
    expect(alice.sent[0]?.type).to.equal(SMP_TLV_TYPE.smp1WithQuestion);
    expect(bob.events[0]).to.deep.equal({ kind: 'question', question: 'Favourite colour? ✓' });
    expect(lastResult(alice.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
    expect(lastResult(bob.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: false });
  });

  it('the same seeds give the same transcript byte for byte', () => {
    const hex = (p: Party): string[] => p.sent.map((t) => `${t.type}:${bytesToHex(t.value)}`);
    const a = run('s', 's', undefined, 'fixed');
    const b = run('s', 's', undefined, 'fixed');
    expect(hex(a.alice)).to.deep.equal(hex(b.alice));
    expect(hex(a.bob)).to.deep.equal(hex(b.bob));
    const c = run('s', 's', undefined, 'other');
    expect(hex(c.alice)[0]).to.not.equal(hex(a.alice)[0]);
  });

  it('fixed randomness: the transcript matches a recorded digest (catches any change of draw order or encoding)', () => {
    const { alice, bob } = pair('golden');
    const s1 = startSmp(alice, initialSmpState(), 'golden secret', 'golden question?');
    const b1 = receiveSmpTlv(bob, initialSmpState(), s1.toSend[0] as SmpTlv);
    const b2 = respondSmp(bob, b1.state, 'golden secret');
    const a2 = receiveSmpTlv(alice, s1.state, b2.toSend[0] as SmpTlv);
    const b3 = receiveSmpTlv(bob, b2.state, a2.toSend[0] as SmpTlv);
    const tlvs = [s1.toSend[0], b2.toSend[0], a2.toSend[0], b3.toSend[0]] as SmpTlv[];
    expect(tlvs.map((t) => t.type)).to.deep.equal([7, 3, 4, 5]);
    const digest = createHash('sha256');
    for (const t of tlvs) digest.update(Uint8Array.of(t.type)).update(t.value);
    expect(digest.digest('hex')).to.equal('fe65e43327ee8c97ef8a438aa0fee8dbb0fb5f3a1a8eedf7bb6faa7ceb2f3011');
  });

  it('abort mid-way (by Alice after message 2), then a new run succeeds', () => {
    const ctxs = pair('abort');
    const alice = party(ctxs.alice);
    const bob = party(ctxs.bob);
    deliver(alice, bob, apply(alice, startSmp(alice.ctx, alice.state, 'x')));
    const smp2 = apply(bob, respondSmp(bob.ctx, bob.state, 'x'));
    expect(bob.state.kind).to.equal('expect3');
    // Alice aborts before message 2 arrives.
    const abort = apply(alice, abortSmp(alice.ctx, alice.state));
    expect(abort).to.deep.equal([{ type: SMP_TLV_TYPE.abort, value: new Uint8Array(0) }]);
    expect(alice.events.at(-1)).to.deep.equal({ kind: 'aborted', by: 'us' });
    deliver(alice, bob, abort);
    expect(bob.state.kind).to.equal('expect1');
    expect(bob.events.at(-1)).to.deep.equal({ kind: 'aborted', by: 'peer' });
    // The stale message 2 reaches Alice, now idle: out of order, she aborts again (Bob idle: silent).
    deliver(bob, alice, smp2);
    expect(alice.events.at(-1)).to.deep.equal({ kind: 'aborted', by: 'us', reason: 'unexpected-message' });
    expect(bob.events.at(-1)).to.deep.equal({ kind: 'aborted', by: 'peer' });
    expect(alice.state.kind).to.equal('expect1');
    // Run again, Bob initiating this time.
    deliver(bob, alice, apply(bob, startSmp(bob.ctx, bob.state, 'again', 'q?')));
    deliver(alice, bob, apply(alice, respondSmp(alice.ctx, alice.state, 'again')));
    expect(lastResult(alice.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: false });
    expect(lastResult(bob.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
  });

  it('abort received while awaiting the secret: respondSmp then throws StateError', () => {
    const ctxs = pair('abort2');
    const alice = party(ctxs.alice);
    const bob = party(ctxs.bob);
    deliver(alice, bob, apply(alice, startSmp(alice.ctx, alice.state, 'x')));
    deliver(alice, bob, apply(alice, abortSmp(alice.ctx, alice.state)));
    expect(bob.state.kind).to.equal('expect1');
    expect(() => respondSmp(bob.ctx, bob.state, 'x')).to.throw(StateError).with.property('code', 'smp.not-awaiting-secret');
  });

  it('user abort while idle sends an abort TLV but reports nothing; received abort while idle is silent', () => {
    const { alice, bob } = pair('idle');
    const p = party(alice);
    const step = abortSmp(alice, p.state);
    expect(step.toSend.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.abort]);
    expect(step.events).to.deep.equal([]);
    expect(receiveSmpTlv(bob, p.state, { type: 6, value: new Uint8Array(0) })).to.deep.equal({ state: p.state, toSend: [], events: [] });
  });

  it('both sides start simultaneously: both abort (spec: message 1 outside EXPECT1), then one restart succeeds', () => {
    const ctxs = pair('simultaneous');
    const alice = party(ctxs.alice);
    const bob = party(ctxs.bob);
    const fromAlice = apply(alice, startSmp(alice.ctx, alice.state, 'same'));
    const fromBob = apply(bob, startSmp(bob.ctx, bob.state, 'same'));
    // Both messages 1 cross on the wire.
    const bobAnswer = apply(bob, receiveSmpTlv(bob.ctx, bob.state, fromAlice[0] as SmpTlv));
    const aliceAnswer = apply(alice, receiveSmpTlv(alice.ctx, alice.state, fromBob[0] as SmpTlv));
    expect(bobAnswer.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.abort]);
    expect(aliceAnswer.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.abort]);
    deliver(bob, alice, bobAnswer);
    deliver(alice, bob, aliceAnswer);
    for (const p of [alice, bob]) {
      expect(p.state.kind).to.equal('expect1');
      expect(kinds(p.events)).to.deep.equal(['progress 20', 'aborted']);
      expect(p.events.at(-1)).to.deep.equal({ kind: 'aborted', by: 'us', reason: 'unexpected-message' });
    }
    deliver(alice, bob, apply(alice, startSmp(alice.ctx, alice.state, 'same')));
    deliver(bob, alice, apply(bob, respondSmp(bob.ctx, bob.state, 'same')));
    expect(lastResult(alice.events)?.kind).to.equal('succeeded');
    expect(lastResult(bob.events)?.kind).to.equal('succeeded');
  });

  it('out-of-order messages abort in every state (spec: "If smpstate is not SMPSTATE_EXPECTn")', () => {
    const { alice, bob } = pair('ooo');
    const idle = initialSmpState();
    const aliceStart = startSmp(alice, idle, 'a');
    const smp1 = aliceStart.toSend[0] as SmpTlv;
    const bobAwaiting = receiveSmpTlv(bob, idle, smp1).state;
    const bobRespond = respondSmp(bob, bobAwaiting, 'a');
    const smp2 = bobRespond.toSend[0] as SmpTlv;
    const aliceExpect4 = receiveSmpTlv(alice, aliceStart.state, smp2);
    const smp3 = aliceExpect4.toSend[0] as SmpTlv;
    const smp4 = receiveSmpTlv(bob, bobRespond.state, smp3).toSend[0] as SmpTlv;
    const cases: [string, SmpContext, SmpState, SmpTlv[]][] = [
      ['expect1', bob, idle, [smp2, smp3, smp4]],
      ['awaiting-secret', bob, bobAwaiting, [smp2, smp3, smp4]],
      ['expect2', alice, aliceStart.state, [smp1, smp3, smp4, { ...smp1, type: SMP_TLV_TYPE.smp1WithQuestion }]],
      ['expect3', bob, bobRespond.state, [smp1, smp2, smp4]],
      ['expect4', alice, aliceExpect4.state, [smp1, smp2, smp3]],
    ];
    for (const [name, ctx, state, tlvs] of cases) {
      expect(state.kind).to.equal(name);
      for (const tlv of tlvs) {
        const step = receiveSmpTlv(ctx, state, tlv);
        expect(step.state.kind, `${name} <- ${tlv.type}`).to.equal('expect1');
        expect(step.toSend, `${name} <- ${tlv.type}`).to.deep.equal([{ type: SMP_TLV_TYPE.abort, value: new Uint8Array(0) }]);
        expect(step.events, `${name} <- ${tlv.type}`).to.deep.equal([{ kind: 'aborted', by: 'us', reason: 'unexpected-message' }]);
      }
    }
  });

  it('a new message 1 while awaiting the secret replaces the pending one (libotr: still EXPECT1)', () => {
    const ctxs = pair('replace');
    const alice = party(ctxs.alice);
    const bob = party(ctxs.bob);
    deliver(alice, bob, apply(alice, startSmp(alice.ctx, alice.state, 'first', 'one?')));
    const restart = apply(alice, startSmp(alice.ctx, alice.state, 'second', 'two?'));
    expect(restart.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.abort, SMP_TLV_TYPE.smp1WithQuestion]);
    // Without the abort (as libotr's own restart sends), Bob simply takes the new message 1.
    deliver(alice, bob, [restart[1] as SmpTlv]);
    expect(bob.state.kind === 'awaiting-secret' && bob.state.question).to.equal('two?');
    deliver(bob, alice, apply(bob, respondSmp(bob.ctx, bob.state, 'second')));
    expect(lastResult(alice.events)?.kind).to.equal('succeeded');
  });

  it('starting while awaiting a secret sends an abort first; in order, one data message each, the peer answers it', () => {
    const ctxs = pair('counter');
    const alice = party(ctxs.alice);
    const bob = party(ctxs.bob);
    deliver(alice, bob, apply(alice, startSmp(alice.ctx, alice.state, 'k')));
    const own = apply(bob, startSmp(bob.ctx, bob.state, 'k'));
    expect(own.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.abort, SMP_TLV_TYPE.smp1]);
    deliver(bob, alice, own);
    expect(alice.state.kind).to.equal('awaiting-secret');
    deliver(alice, bob, apply(alice, respondSmp(alice.ctx, alice.state, 'k')));
    expect(lastResult(bob.events)?.kind).to.equal('succeeded');
    expect(lastResult(alice.events)?.kind).to.equal('succeeded');
  });

  it('stepSmp drives a whole run with the same results as the four functions', () => {
    const ctxs = pair('step');
    let a = initialSmpState();
    let b = initialSmpState();
    const s1 = stepSmp(ctxs.alice, a, { kind: 'start', secret: 'k', question: 'q' });
    a = s1.state;
    const r1 = stepSmp(ctxs.bob, b, { kind: 'receive', tlv: s1.toSend[0] as SmpTlv });
    expect(r1.events[0]).to.deep.equal({ kind: 'question', question: 'q' });
    const r2 = stepSmp(ctxs.bob, r1.state, { kind: 'respond', secret: 'k' });
    b = r2.state;
    const a2 = stepSmp(ctxs.alice, a, { kind: 'receive', tlv: r2.toSend[0] as SmpTlv });
    const b3 = stepSmp(ctxs.bob, b, { kind: 'receive', tlv: a2.toSend[0] as SmpTlv });
    const a4 = stepSmp(ctxs.alice, a2.state, { kind: 'receive', tlv: b3.toSend[0] as SmpTlv });
    expect(b3.events.at(-1)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: false });
    expect(a4.events.at(-1)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
    expect(stepSmp(ctxs.alice, a4.state, { kind: 'abort' }).toSend.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.abort]);
  });

  it('ignores TLVs that are not SMP\'s', () => {
    const ctx = pair().alice;
    const state = startSmp(ctx, party(ctx).state, 'z').state;
    for (const type of [0, 1, 8, 9, 0xffff]) {
      expect(receiveSmpTlv(ctx, state, { type, value: Uint8Array.of(1) })).to.deep.equal({ state, toSend: [], events: [] });
    }
  });

  it('refuses bad session info and bad secrets/questions as caller bugs', () => {
    const ctx = pair().alice;
    const state = party(ctx).state;
    expect(() => startSmp({ ...ctx, info: { ...ctx.info, ssid: new Uint8Array(7) } }, state, 's')).to.throw(RangeError);
    expect(() => startSmp({ ...ctx, info: { ...ctx.info, ourFingerprint: new Uint8Array(19) } }, state, 's')).to.throw(RangeError);
    expect(() => startSmp(ctx, state, 42 as unknown as string)).to.throw(TypeError);
    expect(() => startSmp(ctx, state, 's', 'nul\0inside')).to.throw(RangeError);
    expect(() => startSmp(ctx, state, 's', 'q'.repeat(70000))).to.throw(RangeError);
  });

  it('message 1 payload is exactly encodeSmp1 of step 1 with the same randomness', () => {
    const ctx = pair('payload').alice;
    const step = startSmp(ctx, party(ctx).state, 'p');
    const again = pair('payload').alice;
    // deriveSmpSecret draws no randomness, so step 1 sees the same random stream.
    const { message } = smpStep1(group, again.random, 0n);
    expect(bytesToHex(step.toSend[0]?.value as Uint8Array)).to.equal(bytesToHex(encodeSmp1(message)));
  });
});
