/**
 * Our engine's numbers: two `OtrConversation`s in-process, wired by a synchronous queue,
 * measured with exactly the loops used for otr.js and (in C) for libotr.
 */
import { generateDsaKey } from '../lib/core/crypto/dsa.js';
import { ModpGroup } from '../lib/core/crypto/modp-group.js';
import { OtrConversation } from '../otr/conversation.js';
import type { OtrResult } from '../otr/events.js';
import { OTR_POLICY_MANUAL } from '../otr/policy.js';
import { median, nowMs, payload } from './stats.js';
import type { BenchCounts, ImplementationResults } from './stats.js';

interface Side {
  conversation: OtrConversation;
  lastShown: string | undefined;
  asked: boolean;
  smpDone: boolean | undefined;
  peer: Side | undefined;
}

/** Runs our benchmark. */
export async function runOursBench(counts: BenchCounts): Promise<ImplementationResults> {
  const keyA = generateDsaKey();
  const keyB = generateDsaKey();
  const group = new ModpGroup();
  const queue: [Side, string][] = [];
  const take = (side: Side, r: OtrResult): void => {
    if (r.show !== undefined) side.lastShown = r.show.text;
    for (const e of r.events) {
      if (e.kind !== 'smp') continue;
      const k = e.event.kind;
      if (k === 'question' || k === 'secret-needed') side.asked = true;
      else if (k === 'succeeded') side.smpDone = true;
      else if (k === 'failed' || k === 'aborted' || k === 'cheated') side.smpDone = false;
    }
    const peer = side.peer;
    if (peer === undefined) throw new Error('bench: side without peer');
    for (const m of r.toSend) queue.push([peer, m]);
  };
  const pump = (): void => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) take(next[0], next[0].conversation.receive(next[1]));
  };
  const makePair = (): [Side, Side] => {
    const mk = (name: string, peerName: string, key: typeof keyA, tag: number): Side => ({
      conversation: new OtrConversation({
        accountName: name,
        protocol: 'xmpp',
        peerName,
        privateKey: key,
        instanceTag: tag,
        policy: OTR_POLICY_MANUAL,
        group,
      }),
      lastShown: undefined,
      asked: false,
      smpDone: undefined,
      peer: undefined,
    });
    const a = mk('alice@example.org', 'bob@example.org', keyA, 0x1234_5678);
    const b = mk('bob@example.org', 'alice@example.org', keyB, 0x2345_6789);
    a.peer = b;
    b.peer = a;
    return [a, b];
  };

  const ake: number[] = [];
  let pair = makePair();
  for (let i = 0; i <= counts.akeRuns; i++) {
    pair = makePair();
    const [a, b] = pair;
    const t0 = nowMs();
    take(a, a.conversation.startAke());
    pump();
    const dt = nowMs() - t0;
    if (a.conversation.messageState !== 'encrypted' || b.conversation.messageState !== 'encrypted') {
      throw new Error('ours: AKE failed');
    }
    if (i > 0) ake.push(dt);
  }

  const [a, b] = pair;
  const data = (size: number, alternating: boolean, n: number): number => {
    const msg = payload(size);
    const rates: number[] = [];
    for (let t = 0; t < counts.trials; t++) {
      const t0 = nowMs();
      for (let i = 0; i < n; i++) {
        const [from, to] = alternating && i % 2 === 1 ? [b, a] : [a, b];
        to.lastShown = undefined;
        take(from, from.conversation.send(msg));
        pump();
        if (to.lastShown !== msg) throw new Error('ours: decrypt mismatch');
      }
      rates.push(n / ((nowMs() - t0) / 1000));
    }
    return median(rates);
  };
  const alternating100 = data(100, true, counts.alternating);
  const oneway100 = data(100, false, counts.oneway100);
  const oneway10k = data(10240, false, counts.oneway10k);

  const smp: number[] = [];
  {
    const secret = 'correct horse battery staple';
    for (let i = 0; i <= counts.smpRuns; i++) {
      a.smpDone = b.smpDone = undefined;
      b.asked = false;
      const t0 = nowMs();
      take(a, a.conversation.startSmp(secret));
      pump();
      if (!b.asked) throw new Error('ours: SMP request not seen');
      take(b, b.conversation.respondSmp(secret));
      pump();
      const dt = nowMs() - t0;
      if (a.smpDone !== true || b.smpDone !== true) throw new Error('ours: SMP failed');
      if (i > 0) smp.push(dt);
    }
  }
  return { akeMs: median(ake), alternating100, oneway100, oneway10k, smpMs: median(smp) };
}
