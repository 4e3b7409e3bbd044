/**
 * otr.js' numbers, measured in-process exactly like ours: two OTR objects wired by a
 * synchronous queue (otr.js' own `io` goes through setTimeout, which would measure timers).
 */
import { loadOtrjs, otrjsKey } from '../test/interop/otrjs/otrjs-peer.js';
import type { OtrjsOtr } from '../test/interop/otrjs/otrjs-peer.js';
import { median, nowMs, payload } from './stats.js';
import type { BenchCounts, ImplementationResults } from './stats.js';

interface Side {
  readonly otr: OtrjsOtr;
  lastUi: string | undefined;
  asked: boolean;
  trust: boolean | undefined;
}

/** Runs the otr.js benchmark. otr.js' DH ratchet is pure-JS BigInt: `counts` may be smaller. */
export function runOtrjsBench(counts: BenchCounts): ImplementationResults {
  const { OTR } = loadOtrjs();
  const keyA = otrjsKey('bench-alice');
  const keyB = otrjsKey('bench-bob');
  const tagA = OTR.makeInstanceTag();
  const tagB = OTR.makeInstanceTag();
  const queue: [Side, string][] = [];

  const makePair = (): [Side, Side] => {
    const a: Side = { otr: new OTR({ priv: keyA, instance_tag: tagA }), lastUi: undefined, asked: false, trust: undefined };
    const b: Side = { otr: new OTR({ priv: keyB, instance_tag: tagB }), lastUi: undefined, asked: false, trust: undefined };
    for (const [me, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      me.otr.ALLOW_V2 = false;
      me.otr.io = (msg: string | string[]) => {
        for (const m of ([] as string[]).concat(msg)) queue.push([peer, m]);
      };
      me.otr.on('ui', (msg) => {
        me.lastUi = String(msg);
      });
      me.otr.on('error', (err, severity) => {
        if (severity === 'error') throw new Error(`otr.js error: ${String(err)}`);
      });
      me.otr.on('smp', (type, data) => {
        if (type === 'question') me.asked = true;
        else if (type === 'trust') me.trust = data === true;
        else if (type === 'abort') throw new Error('otr.js SMP aborted');
      });
    }
    return [a, b];
  };
  const pump = () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) next[0].otr.receiveMsg(next[1]);
  };

  const ake: number[] = [];
  let pair = makePair();
  for (let i = 0; i <= counts.akeRuns; i++) {
    pair = makePair();
    const [a, b] = pair;
    const t0 = nowMs();
    a.otr.sendQueryMsg();
    pump();
    const dt = nowMs() - t0;
    // both sides are otr.js, so its odd-hex DH-commit key defect (see otrjs-peer.ts) is
    // symmetric and harmless here: a failed AKE is a real failure
    if (a.otr.msgstate !== 1 || b.otr.msgstate !== 1) throw new Error('otr.js AKE failed');
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
        to.lastUi = undefined;
        from.otr.sendMsg(msg);
        pump();
        if (to.lastUi !== msg) throw new Error('otr.js: decrypt mismatch');
      }
      rates.push(n / ((nowMs() - t0) / 1000));
    }
    return median(rates);
  };
  const alternating100 = data(100, true, counts.alternating);
  const oneway100 = data(100, false, counts.oneway100);
  const oneway10k = data(10240, false, counts.oneway10k);

  const secret = 'correct horse battery staple';
  const smp: number[] = [];
  for (let i = 0; i <= counts.smpRuns; i++) {
    a.trust = b.trust = undefined;
    b.asked = false;
    const t0 = nowMs();
    a.otr.smpSecret(secret);
    pump();
    if (!b.asked) throw new Error('otr.js: SMP request not seen');
    b.otr.smpSecret(secret);
    pump();
    const dt = nowMs() - t0;
    if (a.trust !== true || b.trust !== true) throw new Error('otr.js: SMP failed');
    if (i > 0) smp.push(dt);
  }
  return { akeMs: median(ake), alternating100, oneway100, oneway10k, smpMs: median(smp) };
}
