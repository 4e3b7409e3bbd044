/**
 * Our SMP maths against libotr 4.1.1's own (sm.h `otrl_sm_step1`..`otrl_sm_step5`, exported by
 * libotr.so), through the small C harness next to this file: libotr's messages in, ours out,
 * both directions, matching and different secrets, and libotr's verdict on a tampered message
 * of ours. Session-level SMP interop (TLVs inside data messages) is the interop suite's job.
 * Needs gcc, libgcrypt20-dev and libotr5-dev: skipped loudly locally, FAILS under CI=true.
 */
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bigIntToBytes, bytesToHex, hexToBytes } from '../../../lib/core/bytes.js';
import {
  decodeSmp2,
  deriveSmpSecret,
  encodeSmp2,
  initialSmpState,
  receiveSmpTlv,
  respondSmp,
  SMP_TLV_TYPE,
  startSmp,
  type SmpContext,
  type SmpTlv,
} from '../../../smp/index.js';
import { LIBOTR_PEER, probeLibotr, requirePeer } from '../../interop/peer-availability.js';
import { aliceFingerprint, bobFingerprint, pair, ssid } from './smp-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const PROG = { ok: 0, succeeded: 1, failed: -1, cheated: -2 } as const;

/** One libotr OtrlSMState in a harness process. */
class LibotrSm {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];

  constructor(binary: string) {
    this.#child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#lines = createInterface({ input: this.#child.stdout });
    this.#lines.on('line', (line) => this.#waiting.shift()?.(line));
  }

  async call(command: string, bytes: Uint8Array, flag?: number): Promise<{ err: number; prog: number; output: Uint8Array | undefined }> {
    const line = await new Promise<string>((resolve) => {
      this.#waiting.push(resolve);
      this.#child.stdin.write(`${command} ${bytesToHex(bytes)}${flag === undefined ? '' : ` ${flag}`}\n`);
    });
    const [err, prog, hex] = line.split(' ');
    return { err: Number(err), prog: Number(prog), output: hex === '-' || hex === undefined ? undefined : hexToBytes(hex) };
  }

  close(): void {
    this.#child.stdin.end('quit\n');
    this.#lines.close();
  }
}

/** The 32-byte combined secret libotr's caller (message.c init_respond_smp) passes to sm.c. */
function combined(secret: string): Uint8Array {
  return bigIntToBytes(deriveSmpSecret({ initiatorFingerprint: aliceFingerprint, responderFingerprint: bobFingerprint, ssid, userSecret: secret }), 32);
}

describe('smp maths against libotr 4.1.1 sm.c (C harness)', function () {
  this.timeout(60000);
  let dir: string | undefined;
  let binary = '';
  const open: LibotrSm[] = [];
  const libotr = (): LibotrSm => {
    const sm = new LibotrSm(binary);
    open.push(sm);
    return sm;
  };

  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    dir = mkdtempSync(join(tmpdir(), 'smp-libotr-'));
    binary = join(dir, 'libotr-sm-harness');
    const gcrypt = execFileSync('libgcrypt-config', ['--cflags', '--libs'], { encoding: 'utf8' }).split(/\s+/).filter((s) => s.length > 0);
    execFileSync('gcc', ['-O2', '-Wall', join(here, 'libotr-sm-harness.c'), ...gcrypt, '-lotr', '-o', binary], { stdio: ['ignore', 'pipe', 'pipe'] });
  });

  afterEach(() => {
    for (const sm of open.splice(0)) sm.close();
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** libotr is Alice (initiator), we are Bob. */
  async function libotrInitiates(aliceSecret: string, bobSecret: string): Promise<{ events: string[]; final: number }> {
    const alice = libotr();
    const { bob } = pair(`libotr-init/${aliceSecret}/${bobSecret}`);
    const one = await alice.call('step1', combined(aliceSecret));
    expect(one.err).to.equal(0);
    const events: string[] = [];
    let state = initialSmpState();
    const receive = (ctx: SmpContext, tlv: SmpTlv): SmpTlv[] => {
      const step = receiveSmpTlv(ctx, state, tlv);
      state = step.state;
      events.push(...step.events.map((e) => e.kind));
      return step.toSend;
    };
    expect(receive(bob, { type: SMP_TLV_TYPE.smp1, value: one.output as Uint8Array })).to.deep.equal([]);
    const respond = respondSmp(bob, state, bobSecret);
    state = respond.state;
    const three = await alice.call('step3', (respond.toSend[0] as SmpTlv).value);
    expect([three.err, three.prog], 'libotr accepts our message 2').to.deep.equal([0, PROG.ok]);
    const smp4 = receive(bob, { type: SMP_TLV_TYPE.smp3, value: three.output as Uint8Array });
    expect(smp4.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.smp4]);
    const five = await alice.call('step5', (smp4[0] as SmpTlv).value);
    return { events, final: five.prog };
  }

  /** We are Alice (initiator), libotr is Bob. */
  async function weInitiate(aliceSecret: string, bobSecret: string): Promise<{ events: string[]; bobProg: number }> {
    const bob = libotr();
    const { alice } = pair(`libotr-resp/${aliceSecret}/${bobSecret}`);
    const start = startSmp(alice, initialSmpState(), aliceSecret);
    const two = await bob.call('step2a', (start.toSend[0] as SmpTlv).value, 0);
    expect([two.err, two.prog], 'libotr accepts our message 1').to.deep.equal([0, PROG.ok]);
    const twoB = await bob.call('step2b', combined(bobSecret));
    expect(twoB.err).to.equal(0);
    const afterTwo = receiveSmpTlv(alice, start.state, { type: SMP_TLV_TYPE.smp2, value: twoB.output as Uint8Array });
    expect(afterTwo.toSend.map((t) => t.type), 'we accept libotr\'s message 2').to.deep.equal([SMP_TLV_TYPE.smp3]);
    const four = await bob.call('step4', (afterTwo.toSend[0] as SmpTlv).value);
    expect(four.prog, 'libotr accepts our message 3').to.not.equal(PROG.cheated);
    const afterFour = receiveSmpTlv(alice, afterTwo.state, { type: SMP_TLV_TYPE.smp4, value: four.output as Uint8Array });
    expect(afterFour.state.kind).to.equal('expect1');
    return { events: [...afterTwo.events, ...afterFour.events].map((e) => e.kind), bobProg: four.prog };
  }

  it('libotr initiates, matching secrets: both succeed', async () => {
    const { events, final } = await libotrInitiates('shared secret', 'shared secret');
    expect(events).to.deep.equal(['secret-needed', 'progress', 'progress', 'succeeded']);
    expect(final).to.equal(PROG.succeeded);
  });

  it('libotr initiates, different secrets: both fail', async () => {
    const { events, final } = await libotrInitiates('shared secret', 'other secret');
    expect(events.at(-1)).to.equal('failed');
    expect(final).to.equal(PROG.failed);
  });

  it('we initiate, matching secrets: both succeed', async () => {
    const { events, bobProg } = await weInitiate('ünïcödé', 'ünïcödé');
    expect(events).to.deep.equal(['progress', 'progress', 'succeeded']);
    expect(bobProg).to.equal(PROG.succeeded);
  });

  it('we initiate, different secrets: both fail', async () => {
    const { events, bobProg } = await weInitiate('a', 'b');
    expect(events.at(-1)).to.equal('failed');
    expect(bobProg).to.equal(PROG.failed);
  });

  it('libotr calls a tampered message 2 of ours cheating, and we call a tampered one of libotr\'s cheating', async () => {
    const { alice, bob } = pair('libotr-tamper');
    // Ours to libotr: libotr Alice, our Bob's message 2 with D5 changed.
    const lAlice = libotr();
    const one = await lAlice.call('step1', combined('t'));
    const awaiting = receiveSmpTlv(bob, initialSmpState(), { type: SMP_TLV_TYPE.smp1, value: one.output as Uint8Array }).state;
    const ours2 = decodeSmp2((respondSmp(bob, awaiting, 't').toSend[0] as SmpTlv).value);
    const three = await lAlice.call('step3', encodeSmp2({ ...ours2, d5: ours2.d5 === 1n ? 2n : ours2.d5 - 1n }));
    expect(three.prog).to.equal(PROG.cheated);
    // libotr's to ours: libotr Bob's message 2 with Qb changed.
    const lBob = libotr();
    const start = startSmp(alice, initialSmpState(), 't');
    await lBob.call('step2a', (start.toSend[0] as SmpTlv).value, 0);
    const theirs2 = decodeSmp2(((await lBob.call('step2b', combined('t'))).output as Uint8Array));
    const step = receiveSmpTlv(alice, start.state, { type: SMP_TLV_TYPE.smp2, value: encodeSmp2({ ...theirs2, qb: (theirs2.qb * 4n) % alice.group.p }) });
    expect(step.events.map((e) => e.kind)).to.deep.equal(['cheated']);
    expect(step.toSend.map((t) => t.type)).to.deep.equal([SMP_TLV_TYPE.abort]);
  });
});
