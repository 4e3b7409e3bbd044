/**
 * Our SMP against otr.js's (npm `otr` 0.2.16, lib/sm.js), in process: its SM object is driven
 * directly, its messages in, ours out. otr.js speaks binary strings (Latin-1, one char per
 * byte); the adapter converts its `'\0' + TLV` output and our TLVs. It derives the secret from
 * hex fingerprints and a binary-string ssid, exactly as its OTR session does.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { bytesToHex } from '../../../lib/core/bytes.js';
import { initialSmpState, receiveSmpTlv, respondSmp, startSmp, type SmpContext, type SmpEvent, type SmpState, type SmpTlv } from '../../../smp/index.js';
import { context, ssid } from './smp-helpers.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { hexToBytes } from '../../../lib/core/bytes.js';

interface OtrJsSm {
  on(event: string, listener: (...args: unknown[]) => void): void;
  handleSM(msg: { type: number; msg: string }): void;
  rcvSecret(secret: string, question?: string): void;
  smpstate: number;
}
type OtrJsSmConstructor = new (reqs: { our_fp: string; their_fp: string; ssid: string }) => OtrJsSm;

const requireCjs = createRequire(import.meta.url);
const SM = requireCjs('otr/lib/sm.js') as OtrJsSmConstructor;

const ourFingerprint = hexToBytes('0123456789abcdef0123456789abcdef01234567');
const otrjsFingerprint = hexToBytes('fedcba9876543210fedcba9876543210fedcba98');
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const fromLatin1 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
/** otr.js's OTR session hands SMP UTF-8 secrets and questions as binary strings. */
const utf8AsLatin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

/** otr.js's peer: what it sent (as our TLVs) and what it reported. */
class OtrJsPeer {
  readonly sm: OtrJsSm;
  readonly outbox: SmpTlv[] = [];
  readonly events: unknown[][] = [];

  constructor() {
    this.sm = new SM({ our_fp: bytesToHex(otrjsFingerprint), their_fp: bytesToHex(ourFingerprint), ssid: latin1(ssid) });
    this.sm.on('send', (_ssid: unknown, data: unknown) => {
      const bytes = fromLatin1(data as string);
      // '\0' then one TLV: SHORT type, SHORT length, value.
      expect(bytes[0]).to.equal(0);
      const type = ((bytes[1] as number) << 8) | (bytes[2] as number);
      const length = ((bytes[3] as number) << 8) | (bytes[4] as number);
      expect(bytes.length).to.equal(5 + length);
      this.outbox.push({ type, value: bytes.slice(5) });
    });
    for (const name of ['question', 'trust', 'abort']) this.sm.on(name, (...args: unknown[]) => this.events.push([name, ...args]));
  }

  receive(tlv: SmpTlv): void {
    this.sm.handleSM({ type: tlv.type, msg: latin1(tlv.value) });
  }

  take(): SmpTlv[] {
    return this.outbox.splice(0);
  }
}

/** Our side. */
class Ours {
  state: SmpState = initialSmpState();
  readonly events: SmpEvent[] = [];
  readonly ctx: SmpContext;

  constructor(seed: string) {
    this.ctx = context(ourFingerprint, otrjsFingerprint, deterministicRandom(seed));
  }

  apply(step: { state: SmpState; toSend: SmpTlv[]; events: SmpEvent[] }): SmpTlv[] {
    this.state = step.state;
    this.events.push(...step.events);
    return step.toSend;
  }

  receive(tlvs: SmpTlv[]): SmpTlv[] {
    return tlvs.flatMap((tlv) => this.apply(receiveSmpTlv(this.ctx, this.state, tlv)));
  }
}

const result = (events: SmpEvent[]): SmpEvent | undefined => events.find((e) => e.kind === 'succeeded' || e.kind === 'failed');

/** We initiate; otr.js answers. */
function weInitiate(ourSecret: string, theirSecret: string, question?: string): { ours: Ours; peer: OtrJsPeer } {
  const ours = new Ours(`otrjs/${ourSecret}/${theirSecret}/${question}`);
  const peer = new OtrJsPeer();
  const smp1 = ours.apply(startSmp(ours.ctx, ours.state, ourSecret, question));
  for (const tlv of smp1) peer.receive(tlv);
  expect(peer.events[0]?.[0]).to.equal('question');
  peer.sm.rcvSecret(utf8AsLatin1(theirSecret));
  const smp3 = ours.receive(peer.take());
  for (const tlv of smp3) peer.receive(tlv);
  expect(ours.receive(peer.take())).to.deep.equal([]);
  return { ours, peer };
}

/** otr.js initiates; we answer. */
function theyInitiate(ourSecret: string, theirSecret: string, question?: string): { ours: Ours; peer: OtrJsPeer } {
  const ours = new Ours(`otrjs-r/${ourSecret}/${theirSecret}/${question}`);
  const peer = new OtrJsPeer();
  peer.sm.rcvSecret(utf8AsLatin1(theirSecret), question === undefined ? undefined : utf8AsLatin1(question));
  expect(ours.receive(peer.take())).to.deep.equal([]);
  expect(ours.state.kind).to.equal('awaiting-secret');
  for (const tlv of ours.apply(respondSmp(ours.ctx, ours.state, ourSecret))) peer.receive(tlv);
  const smp4 = ours.receive(peer.take());
  for (const tlv of smp4) peer.receive(tlv);
  expect(peer.take()).to.deep.equal([]);
  return { ours, peer };
}

describe('smp against otr.js 0.2.16 (lib/sm.js, in process)', () => {
  it('we initiate, matching secrets: both succeed', () => {
    const { ours, peer } = weInitiate('correct horse', 'correct horse');
    expect(result(ours.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
    expect(peer.events).to.deep.include(['trust', true, 'answered']);
    expect(peer.events.some((e) => e[0] === 'abort')).to.equal(false);
  });

  it('we initiate, different secrets: both fail', () => {
    const { ours, peer } = weInitiate('correct horse', 'battery staple');
    expect(result(ours.events)).to.deep.equal({ kind: 'failed' });
    expect(peer.events).to.deep.include(['trust', false, 'answered']);
  });

  it('we initiate with a question: otr.js decodes it (UTF-8) and both succeed', () => {
    const { ours, peer } = weInitiate('42', '42', 'Antwort auf alles? ∞');
    expect(peer.events[0]).to.deep.equal(['question', 'Antwort auf alles? ∞']);
    expect(result(ours.events)?.kind).to.equal('succeeded');
    expect(peer.events).to.deep.include(['trust', true, 'answered']);
  });

  it('otr.js initiates, matching secrets: both succeed', () => {
    const { ours, peer } = theyInitiate('sésame', 'sésame');
    expect(ours.events[0]).to.deep.equal({ kind: 'secret-needed' });
    expect(result(ours.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
    expect(peer.events).to.deep.include(['trust', true, 'asked']);
  });

  it('otr.js initiates, different secrets: both fail', () => {
    const { ours, peer } = theyInitiate('sésame', 'ouvre-toi');
    expect(result(ours.events)).to.deep.equal({ kind: 'failed' });
    expect(peer.events).to.deep.include(['trust', false, 'asked']);
  });

  it('otr.js initiates with a question: we report its text', () => {
    const { ours, peer } = theyInitiate('blue', 'blue', 'Colour of the sky? ☀');
    expect(ours.events[0]).to.deep.equal({ kind: 'question', question: 'Colour of the sky? ☀' });
    expect(result(ours.events)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: false });
    expect(peer.events).to.deep.include(['trust', true, 'asked']);
  });

  it('otr.js aborts on our out-of-order message, and we on its', () => {
    const ours = new Ours('otrjs/ooo');
    const peer = new OtrJsPeer();
    peer.sm.rcvSecret('x');
    const theirSmp1 = peer.take();
    // Our own message 1 reaches otr.js while it is in EXPECT2.
    for (const tlv of ours.apply(startSmp(ours.ctx, ours.state, 'x'))) peer.receive(tlv);
    expect(peer.take()).to.deep.equal([{ type: 6, value: new Uint8Array(0) }]);
    expect(peer.events.at(-1)).to.deep.equal(['abort']);
    // Its message 1 reaches us in EXPECT2: we abort too.
    expect(ours.receive(theirSmp1)).to.deep.equal([{ type: 6, value: new Uint8Array(0) }]);
    expect(ours.events.at(-1)).to.deep.equal({ kind: 'aborted', by: 'us', reason: 'unexpected-message' });
  });
});
