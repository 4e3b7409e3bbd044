/**
 * Interop cases shared by every pair of OTR implementations (libotr vs libotr, ours vs
 * libotr, ours vs otr.js), run in both directions (X starts / Y starts). Everything is
 * asserted on what the REAL implementations report: same ssid, each other's fingerprint,
 * plaintext arriving intact and in order, equal extra symmetric keys, SMP outcomes.
 */
import { expect } from 'chai';
import { pump, toHex } from './otr-endpoint.js';
import type { OtrEndpoint } from './otr-endpoint.js';

/** How to make one side of the conversation. */
export interface EndpointFactory {
  readonly label: string;
  /** Creates an endpoint for `account` talking to `peerAccount`. */
  create(
    account: string,
    peerAccount: string,
    options: { readonly versions: 'default' | 'v2'; readonly fragmentSize?: number },
  ): Promise<OtrEndpoint>;
  /** Can run the v2-only policy (the libotr peer can; the v2 case needs one side that can). */
  readonly canBeV2Only: boolean;
  /** Accepts a v2 AKE when its policy allows v2 and v3. */
  readonly acceptsV2: boolean;
  readonly supportsSmp: boolean;
  /** Small fragment size this implementation accepts (bytes of the wire message). */
  readonly smallFragmentSize: number;
}

/** Tunables for a pair of implementations (otr.js is slow on DH ratchets). */
export interface CaseOptions {
  /** Data messages per direction in the long interleaved run (>= 1000). */
  readonly messagesPerDirection: number;
  /** Longest burst one side sends before the other side's burst (crossing messages). */
  readonly maxBurst: number;
  /** Run the v2 negotiation case (default true; see otrjs-libotr.test.ts for the exception). */
  readonly v2?: boolean;
}

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';

/** Deterministic small PRNG for test schedules (not for crypto). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function encryptedPair(starter: OtrEndpoint, other: OtrEndpoint): Promise<void> {
  const a = starter;
  await pump(a, other, await a.startAke());
  expect(await a.state(), `${a.label} state`).to.equal('encrypted');
  expect(await other.state(), `${other.label} state`).to.equal('encrypted');
}

function encryptedTexts(e: OtrEndpoint): string[] {
  return e.shown.filter((s) => s.encrypted).map((s) => s.text);
}

async function runSmp(
  initiator: OtrEndpoint,
  responder: OtrEndpoint,
  secretA: string,
  secretB: string,
  question?: string,
): Promise<void> {
  initiator.resetSmp();
  responder.resetSmp();
  await pump(initiator, responder, await initiator.smpStart(secretA, question));
  expect(responder.smp.asked, `${responder.label} asked for the secret`).to.equal(true);
  expect(responder.smp.question).to.equal(question);
  await pump(responder, initiator, await responder.smpRespond(secretB));
}

/** Registers the shared cases for implementation X (alice) and Y (bob). */
export function defineOtrInteropCases(x: EndpointFactory, y: EndpointFactory, options: CaseOptions): void {
  const live: OtrEndpoint[] = [];
  const make = async (versionsX: 'default' | 'v2', versionsY: 'default' | 'v2', fragmentSize?: number) => {
    const fx = fragmentSize === undefined ? {} : { fragmentSize: Math.max(fragmentSize, x.smallFragmentSize) };
    const fy = fragmentSize === undefined ? {} : { fragmentSize: Math.max(fragmentSize, y.smallFragmentSize) };
    const ax = await x.create(ALICE, BOB, { versions: versionsX, ...fx });
    live.push(ax);
    const by = await y.create(BOB, ALICE, { versions: versionsY, ...fy });
    live.push(by);
    return [ax, by] as const;
  };

  afterEach(async () => {
    for (const e of live.splice(0)) await e.close();
  });

  for (const xStarts of [true, false]) {
    const who = xStarts ? `${x.label} starts` : `${y.label} starts`;
    const order = (ax: OtrEndpoint, by: OtrEndpoint) => (xStarts ? ([ax, by] as const) : ([by, ax] as const));

    describe(who, () => {
      it('AKE reaches ENCRYPTED on both sides with the same ssid and each other\'s fingerprint (v3)', async () => {
        const [ax, by] = await make('default', 'default');
        const [s, o] = order(ax, by);
        await encryptedPair(s, o);
        expect(await ax.protocolVersion()).to.equal(3);
        expect(await by.protocolVersion()).to.equal(3);
        const ssidX = await ax.ssid();
        expect(ssidX).to.match(/^[0-9a-f]{16}$/);
        expect(await by.ssid()).to.equal(ssidX);
        expect(await ax.theirFingerprint()).to.equal(by.fingerprint);
        expect(await by.theirFingerprint()).to.equal(ax.fingerprint);
        expect(ax.fingerprint).to.not.equal(by.fingerprint);
      });

      it(`${options.messagesPerDirection} data messages each way, interleaved and crossing, arrive intact and in order`, async () => {
        const [ax, by] = await make('default', 'default');
        const [s, o] = order(ax, by);
        await encryptedPair(s, o);
        const rnd = lcg(xStarts ? 1 : 2);
        const sentX: string[] = [];
        const sentY: string[] = [];
        while (sentX.length < options.messagesPerDirection || sentY.length < options.messagesPerDirection) {
          // each side sends a burst before seeing the other's: messages cross on the wire,
          // so each side keeps receiving under keys it is about to rotate away from
          const wireX: string[] = [];
          const wireY: string[] = [];
          const nx = sentX.length < options.messagesPerDirection ? 1 + Math.floor(rnd() * options.maxBurst) : 0;
          const ny = sentY.length < options.messagesPerDirection ? Math.floor(rnd() * (options.maxBurst + 1)) : 0;
          for (let i = 0; i < nx; i++) {
            const extra = sentX.length % 10 === 0 ? ' two\nlines 🔐 "quoted" \\ <b>&amp;</b>' : '';
            const text = `x${sentX.length} ${'é✓'.repeat(sentX.length % 7)} ${'p'.repeat(sentX.length % 50)}${extra}`;
            sentX.push(text);
            wireX.push(...(await ax.send(text)));
          }
          for (let i = 0; i < ny; i++) {
            const text = `y${sentY.length} ${'ü'.repeat(sentY.length % 5)}`;
            sentY.push(text);
            wireY.push(...(await by.send(text)));
          }
          await pump(ax, by, wireX, wireY);
        }
        expect(encryptedTexts(by)).to.deep.equal(sentX);
        expect(encryptedTexts(ax)).to.deep.equal(sentY);
        expect(await ax.state()).to.equal('encrypted');
        expect(await by.state()).to.equal('encrypted');
      });

      it('messages larger than a small fragment size are fragmented and reassembled, both ways', async () => {
        const [ax, by] = await make('default', 'default', 200);
        const [s, o] = order(ax, by);
        await encryptedPair(s, o);
        const big = (tag: string) => `${tag}:` + Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
        const fromX = await ax.send(big('x'));
        expect(fromX.length, 'fragments sent by X').to.be.greaterThan(3);
        for (const f of fromX) expect(f).to.match(/^\?OTR\|[0-9a-f]+\|[0-9a-f]+,\d+,\d+,/);
        await pump(ax, by, fromX);
        const fromY = await by.send(big('y'));
        expect(fromY.length, 'fragments sent by Y').to.be.greaterThan(3);
        await pump(by, ax, fromY);
        expect(encryptedTexts(by)).to.deep.equal([big('x')]);
        expect(encryptedTexts(ax)).to.deep.equal([big('y')]);
      });

      it('the extra symmetric key is equal on both sides (TLV 8)', async () => {
        const [ax, by] = await make('default', 'default');
        const [s, o] = order(ax, by);
        await encryptedPair(s, o);
        const usedata = new TextEncoder().encode('report-2026.pdf');
        const use = s.arbitrarySymKeyUse && o.arbitrarySymKeyUse ? 0x2a : 1;
        const r = await s.extraSymKey(use, usedata);
        expect(r.keyHex).to.match(/^[0-9a-f]{64}$/);
        await pump(s, o, r.toSend);
        expect(o.receivedSymKeys).to.have.length(1);
        expect(o.receivedSymKeys[0]).to.deep.equal({ use, usedataHex: toHex(usedata), keyHex: r.keyHex });
        // the other direction uses the other side's current keys
        const r2 = await o.extraSymKey(1, usedata);
        await pump(o, s, r2.toSend);
        expect(s.receivedSymKeys.map((k) => k.keyHex)).to.deep.equal([r2.keyHex]);
      });

      it('disconnect (TLV 1) sends the other side to FINISHED', async () => {
        const [ax, by] = await make('default', 'default');
        const [s, o] = order(ax, by);
        await encryptedPair(s, o);
        await pump(s, o, await s.end());
        expect(await s.state()).to.equal('plaintext');
        expect(await o.state()).to.equal('finished');
      });

      if (options.v2 !== false && ((x.canBeV2Only && y.acceptsV2) || (y.canBeV2Only && x.acceptsV2))) {
        it('v2 negotiation: a v2-only peer gets a v2 AKE and data both ways', async () => {
          // prefer Y (the reference peer in ours-vs-peer files) as the v2-only side
          const xV2 = !(y.canBeV2Only && x.acceptsV2);
          const [ax, by] = await make(xV2 ? 'v2' : 'default', xV2 ? 'default' : 'v2');
          const [s, o] = order(ax, by);
          await encryptedPair(s, o);
          expect(await ax.protocolVersion()).to.equal(2);
          expect(await by.protocolVersion()).to.equal(2);
          expect(await by.ssid()).to.equal(await ax.ssid());
          for (let i = 0; i < 20; i++) {
            await pump(ax, by, await ax.send(`v2 x${i}`));
            if (i % 3 === 0) await pump(by, ax, await by.send(`v2 y${i}`));
          }
          expect(encryptedTexts(by)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `v2 x${i}`));
          expect(encryptedTexts(ax)).to.deep.equal([0, 3, 6, 9, 12, 15, 18].map((i) => `v2 y${i}`));
        });
      }

      if (x.supportsSmp && y.supportsSmp) {
        describe('SMP', () => {
          it('matching secrets: success on both sides', async () => {
            const [ax, by] = await make('default', 'default');
            const [s, o] = order(ax, by);
            await encryptedPair(s, o);
            await runSmp(s, o, 'correct horse battery staple', 'correct horse battery staple');
            expect(s.smp.result).to.equal('success');
            expect(o.smp.result).to.equal('success');
          });

          it('wrong secret: failure on both sides', async () => {
            const [ax, by] = await make('default', 'default');
            const [s, o] = order(ax, by);
            await encryptedPair(s, o);
            await runSmp(s, o, 'correct horse battery staple', 'incorrect horse');
            expect(s.smp.result).to.equal('failure');
            expect(o.smp.result).to.equal('failure');
          });

          it('with a question: the responder sees it, then success', async () => {
            const [ax, by] = await make('default', 'default');
            const [s, o] = order(ax, by);
            await encryptedPair(s, o);
            await runSmp(s, o, 'blue', 'blue', 'Favourite colour? ✓');
            expect(s.smp.result).to.equal('success');
            expect(o.smp.result).to.equal('success');
          });

          it('abort mid-way, then a new run succeeds', async () => {
            const [ax, by] = await make('default', 'default');
            const [s, o] = order(ax, by);
            await encryptedPair(s, o);
            s.resetSmp();
            o.resetSmp();
            await pump(s, o, await s.smpStart('first secret'));
            expect(o.smp.asked).to.equal(true);
            await pump(o, s, await o.smpAbort());
            expect(s.smp.result, `${s.label} saw the abort`).to.equal('abort');
            await runSmp(s, o, 'second secret', 'second secret');
            expect(s.smp.result).to.equal('success');
            expect(o.smp.result).to.equal('success');
            // data still flows after SMP
            await pump(s, o, await s.send('after smp'));
            expect(encryptedTexts(o).at(-1)).to.equal('after smp');
          });
        });
      }
    });
  }
}
