/**
 * Properties: whatever a peer sends, the machine never throws; an invalid value (out of
 * range, 0, 1, p-1, p, not of order q, exponent >= q or 0, any altered value) is reported as
 * `cheated` with an abort TLV, and a malformed payload (wrong MPI count, truncated, trailing
 * bytes, huge lengths, random bytes) likewise. The machine is pure, so one honest transcript
 * gives fixed states that each mutated message is tried against.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { concatBytes } from '../../../lib/core/bytes.js';
import {
  decodeSmp1,
  decodeSmp2,
  decodeSmp3,
  decodeSmp4,
  encodeSmp1,
  encodeSmp2,
  encodeSmp3,
  encodeSmp4,
  encodeSmpMpis,
  initialSmpState,
  receiveSmpTlv,
  respondSmp,
  SMP_MPI_COUNT,
  SMP_TLV_TYPE,
  startSmp,
  type SmpContext,
  type SmpState,
  type SmpStep,
  type SmpTlv,
} from '../../../smp/index.js';
import { group, pair } from './smp-helpers.js';

const { p, q } = group;
const MAX_1536 = (1n << 1536n) - 1n;

// One honest transcript and the state each message is received in.
const { alice, bob } = pair('properties');
const bobIdle = initialSmpState();
const aliceStart = startSmp(alice, initialSmpState(), 'secret');
const smp1 = aliceStart.toSend[0] as SmpTlv;
const bobAwaiting = receiveSmpTlv(bob, bobIdle, smp1).state;
const bobRespond = respondSmp(bob, bobAwaiting, 'secret');
const smp2 = bobRespond.toSend[0] as SmpTlv;
const aliceAfter2 = receiveSmpTlv(alice, aliceStart.state, smp2);
const smp3 = aliceAfter2.toSend[0] as SmpTlv;
const bobAfter3 = receiveSmpTlv(bob, bobRespond.state, smp3);
const smp4 = bobAfter3.toSend[0] as SmpTlv;

type Kind = 'element' | 'hash' | 'exponent';
interface Target {
  readonly name: string;
  readonly ctx: SmpContext;
  readonly state: SmpState;
  readonly tlv: SmpTlv;
  readonly fields: Record<string, Kind>;
  readonly mpis: () => bigint[];
  readonly encode: (values: bigint[]) => Uint8Array;
}

const targets: Target[] = [
  {
    name: 'SMP message 1',
    ctx: bob,
    state: bobIdle,
    tlv: smp1,
    fields: { g2a: 'element', c2: 'hash', d2: 'exponent', g3a: 'element', c3: 'hash', d3: 'exponent' },
    mpis: () => Object.values(decodeSmp1(smp1.value)),
    encode: (v) => encodeSmp1({ g2a: v[0]!, c2: v[1]!, d2: v[2]!, g3a: v[3]!, c3: v[4]!, d3: v[5]! }),
  },
  {
    name: 'SMP message 2',
    ctx: alice,
    state: aliceStart.state,
    tlv: smp2,
    fields: {
      g2b: 'element', c2: 'hash', d2: 'exponent', g3b: 'element', c3: 'hash', d3: 'exponent',
      pb: 'element', qb: 'element', cp: 'hash', d5: 'exponent', d6: 'exponent',
    },
    mpis: () => Object.values(decodeSmp2(smp2.value)),
    encode: (v) =>
      encodeSmp2({ g2b: v[0]!, c2: v[1]!, d2: v[2]!, g3b: v[3]!, c3: v[4]!, d3: v[5]!, pb: v[6]!, qb: v[7]!, cp: v[8]!, d5: v[9]!, d6: v[10]! }),
  },
  {
    name: 'SMP message 3',
    ctx: bob,
    state: bobRespond.state,
    tlv: smp3,
    fields: { pa: 'element', qa: 'element', cp: 'hash', d5: 'exponent', d6: 'exponent', ra: 'element', cr: 'hash', d7: 'exponent' },
    mpis: () => Object.values(decodeSmp3(smp3.value)),
    encode: (v) => encodeSmp3({ pa: v[0]!, qa: v[1]!, cp: v[2]!, d5: v[3]!, d6: v[4]!, ra: v[5]!, cr: v[6]!, d7: v[7]! }),
  },
  {
    name: 'SMP message 4',
    ctx: alice,
    state: aliceAfter2.state,
    tlv: smp4,
    fields: { rb: 'element', cr: 'hash', d7: 'exponent' },
    mpis: () => Object.values(decodeSmp4(smp4.value)),
    encode: (v) => encodeSmp4({ rb: v[0]!, cr: v[1]!, d7: v[2]! }),
  },
];

/** An element of the order-q subgroup (what an honest peer sends, but not the right one). */
const subgroupElement = fc.bigInt({ min: 1n, max: q - 1n }).map((e) => group.powG(e));

const invalidElement = fc.oneof(
  fc.constantFrom(0n, 1n, p - 1n, p, p + 1n, MAX_1536),
  fc.bigInt({ min: p, max: MAX_1536 }),
  // In range but not of order q: the negation of a subgroup element.
  subgroupElement.map((v) => p - v),
);
const invalidExponent = fc.oneof(fc.constantFrom(0n, q, q + 1n, p - 1n, p, MAX_1536), fc.bigInt({ min: q, max: MAX_1536 }));

/** A replacement for a field: invalid for its kind, or valid-looking but different. */
function replacement(kind: Kind): fc.Arbitrary<bigint> {
  switch (kind) {
    case 'element':
      return fc.oneof(invalidElement, subgroupElement);
    case 'exponent':
      return fc.oneof(invalidExponent, fc.bigInt({ min: 1n, max: q - 1n }));
    case 'hash':
      return fc.oneof(fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }), fc.bigInt({ min: 0n, max: MAX_1536 }));
  }
}

function expectCheated(step: SmpStep, why: string): void {
  expect(step.state, why).to.deep.equal({ kind: 'expect1' });
  expect(step.toSend, why).to.deep.equal([{ type: SMP_TLV_TYPE.abort, value: new Uint8Array(0) }]);
  expect(step.events, why).to.have.length(1);
  expect(step.events[0]?.kind, why).to.equal('cheated');
}

describe('smp properties: hostile messages are always rejected, never thrown', () => {
  it('the honest transcript succeeds (sanity of the fixtures)', () => {
    expect(bobAfter3.events.at(-1)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
    expect(receiveSmpTlv(alice, aliceAfter2.state, smp4).events.at(-1)).to.deep.equal({ kind: 'succeeded', authenticatedPeer: true });
  });

  for (const target of targets) {
    const names = Object.keys(target.fields);
    const original = target.mpis();

    it(`${target.name}: any single field replaced by an invalid or different value -> cheated`, () => {
      const mutation = fc
        .nat({ max: names.length - 1 })
        .chain((index) => replacement(target.fields[names[index] as string] as Kind).map((value) => ({ index, value })))
        .filter(({ index, value }) => value !== original[index]);
      fc.assert(
        fc.property(mutation, ({ index, value }) => {
          const values = [...original];
          values[index] = value;
          expectCheated(receiveSmpTlv(target.ctx, target.state, { type: target.tlv.type, value: target.encode(values) }), names[index] as string);
        }),
        { numRuns: 60 },
      );
    });

    it(`${target.name}: wrong MPI counts, truncation, trailing bytes, huge lengths, random bytes -> cheated`, () => {
      const count = original.length;
      const payload = fc.oneof(
        fc.nat({ max: 20 }).filter((n) => n !== count).map((n) => encodeSmpMpis(Array.from({ length: n }, (_, i) => original[i % count] as bigint))),
        fc.nat({ max: target.tlv.value.length - 1 }).map((n) => target.tlv.value.slice(0, n)),
        fc.uint8Array({ minLength: 1, maxLength: 8 }).map((extra) => concatBytes(target.tlv.value, extra)),
        fc.tuple(fc.nat({ max: count - 1 }), fc.integer({ min: 193, max: 0xffffffff })).map(([i, length]) => {
          const bytes = target.tlv.value.slice();
          // Walk to MPI i's length field and overwrite it.
          let offset = 4;
          for (let k = 0; k < i; k++) offset += 4 + new DataView(bytes.buffer, offset, 4).getUint32(0);
          new DataView(bytes.buffer).setUint32(offset, length);
          return bytes;
        }),
        fc.uint8Array({ maxLength: 2000 }),
      );
      fc.assert(
        fc.property(payload, (value) => {
          expectCheated(receiveSmpTlv(target.ctx, target.state, { type: target.tlv.type, value }), 'payload');
        }),
        { numRuns: 80 },
      );
    });
  }

  it('SMP message 1Q: any question bytes before a corrupted payload, or no NUL at all -> cheated', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 50 }), fc.uint8Array({ maxLength: 300 }), (question, rest) => {
        const noNul = question.map((b) => (b === 0 ? 1 : b));
        expectCheated(receiveSmpTlv(bob, bobIdle, { type: SMP_TLV_TYPE.smp1WithQuestion, value: noNul }), 'no NUL');
        expectCheated(receiveSmpTlv(bob, bobIdle, { type: SMP_TLV_TYPE.smp1WithQuestion, value: concatBytes(noNul, Uint8Array.of(0), rest) }), 'rest');
      }),
      { numRuns: 60 },
    );
  });

  it('any TLV in any state: no exception, a well-formed step', () => {
    const states = [bobIdle, bobAwaiting, aliceStart.state, bobRespond.state, aliceAfter2.state];
    const honest = [smp1, smp2, smp3, smp4];
    fc.assert(
      fc.property(
        fc.constantFrom(...states),
        fc.oneof(fc.constantFrom(...honest), fc.record({ type: fc.integer({ min: 0, max: 10 }), value: fc.uint8Array({ maxLength: 400 }) })),
        fc.boolean(),
        (state, tlv, asAlice) => {
          const step = receiveSmpTlv(asAlice ? alice : bob, state, tlv);
          expect(step.toSend.every((t) => t.type >= 2 && t.type <= 7)).to.equal(true);
          expect(['expect1', 'awaiting-secret', 'expect2', 'expect3', 'expect4']).to.include(step.state.kind);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('message counts match libotr\'s SM_MSGn_LEN', () => {
    expect(SMP_MPI_COUNT).to.deep.equal({ smp1: 6, smp2: 11, smp3: 8, smp4: 3 });
  });
});
