import { expect } from 'chai';
import fc from 'fast-check';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import {
  decodeSmp1,
  decodeSmp2,
  decodeSmp3,
  decodeSmp4,
  decodeSmpMpis,
  encodeSmp1,
  encodeSmp1WithQuestion,
  encodeSmp2,
  encodeSmp3,
  encodeSmp4,
  encodeSmpMpis,
  splitSmp1WithQuestion,
  SMP_MPI_COUNT,
} from '../../../smp/index.js';

const mpiValue = fc.bigInt({ min: 0n, max: (1n << 1536n) - 1n });
const malformed = (code: string) => (fn: () => unknown): void => {
  expect(fn).to.throw(MalformedMessageError).with.property('code', code);
};

describe('smp/codec', () => {
  it('encodes INT count then minimal MPIs (spec, "SMP Message TLVs")', () => {
    expect(bytesToHex(encodeSmpMpis([0n, 1n, 0x0100n]))).to.equal('00000003' + '00000000' + '0000000101' + '000000020100');
    expect(bytesToHex(encodeSmp4({ rb: 2n, cr: 3n, d7: 4n }))).to.equal('00000003' + '0000000102' + '0000000103' + '0000000104');
    expect(() => encodeSmpMpis([-1n])).to.throw(RangeError);
  });

  it('round-trips each message type', () => {
    fc.assert(
      fc.property(fc.array(mpiValue, { minLength: 11, maxLength: 11 }), (v) => {
        const at = (i: number): bigint => v[i] as bigint;
        const m1 = { g2a: at(0), c2: at(1), d2: at(2), g3a: at(3), c3: at(4), d3: at(5) };
        expect(decodeSmp1(encodeSmp1(m1))).to.deep.equal(m1);
        const m2 = { g2b: at(0), c2: at(1), d2: at(2), g3b: at(3), c3: at(4), d3: at(5), pb: at(6), qb: at(7), cp: at(8), d5: at(9), d6: at(10) };
        expect(decodeSmp2(encodeSmp2(m2))).to.deep.equal(m2);
        const m3 = { pa: at(0), qa: at(1), cp: at(2), d5: at(3), d6: at(4), ra: at(5), cr: at(6), d7: at(7) };
        expect(decodeSmp3(encodeSmp3(m3))).to.deep.equal(m3);
        const m4 = { rb: at(8), cr: at(9), d7: at(10) };
        expect(decodeSmp4(encodeSmp4(m4))).to.deep.equal(m4);
      }),
      { numRuns: 50 },
    );
  });

  it('accepts non-minimal MPIs (leading zeros) up to 192 bytes, as libotr does', () => {
    expect(decodeSmpMpis(hexToBytes('00000001' + '00000003' + '000102'), 1)).to.deep.equal([0x0102n]);
  });

  it('rejects a wrong MPI count, before reading any MPI', () => {
    for (const count of Object.values(SMP_MPI_COUNT)) {
      for (const wrong of [0, count - 1, count + 1, 0xffffffff]) {
        const bytes = concatBytes(hexToBytes(wrong.toString(16).padStart(8, '0')), encodeSmpMpis(new Array<bigint>(count).fill(5n)).subarray(4));
        malformed('smp.mpi-count')(() => decodeSmpMpis(bytes, count));
      }
    }
  });

  it('rejects every truncation and any trailing byte', () => {
    const full = encodeSmp3({ pa: 1n << 1500n, qa: 7n, cp: 8n, d5: 9n, d6: 10n, ra: 11n, cr: 12n, d7: 13n });
    for (let length = 0; length < full.length; length++) {
      malformed('smp.truncated')(() => decodeSmp3(full.subarray(0, length)));
    }
    malformed('smp.trailing-bytes')(() => decodeSmp3(concatBytes(full, Uint8Array.of(0))));
  });

  it('rejects MPIs longer than 192 bytes (huge lengths) without allocating them', () => {
    malformed('smp.oversized')(() => decodeSmpMpis(hexToBytes('00000001' + '000000c1' + '00'.repeat(193)), 1));
    malformed('smp.oversized')(() => decodeSmpMpis(hexToBytes('00000001' + 'ffffffff'), 1));
    malformed('smp.oversized')(() => decodeSmpMpis(hexToBytes('00000003' + '00000001' + '05' + '80000000' + '00'), 3));
    expect(decodeSmpMpis(concatBytes(hexToBytes('00000001000000c0'), new Uint8Array(192).fill(0xff)), 1)).to.deep.equal([(1n << 1536n) - 1n]);
  });

  it('never throws anything but MalformedMessageError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(3, 6, 8, 11), (bytes, count) => {
        try {
          expect(decodeSmpMpis(bytes, count)).to.have.length(count);
        } catch (error) {
          expect(error).to.be.instanceOf(MalformedMessageError);
        }
      }),
    );
  });

  it('type 7: question, NUL, payload; split at the first NUL', () => {
    const payload = encodeSmp4({ rb: 1n, cr: 2n, d7: 3n });
    const value = encodeSmp1WithQuestion('Wer? ✓', payload);
    expect(bytesToHex(value)).to.equal(bytesToHex(concatBytes(utf8ToBytes('Wer? ✓'), Uint8Array.of(0), payload)));
    expect(splitSmp1WithQuestion(value)).to.deep.equal({ question: 'Wer? ✓', payload });
    expect(splitSmp1WithQuestion(Uint8Array.of(0))).to.deep.equal({ question: '', payload: new Uint8Array(0) });
    expect(splitSmp1WithQuestion(Uint8Array.of(0xff, 0, 9)).question).to.equal('\ufffd');
    malformed('smp.question-unterminated')(() => splitSmp1WithQuestion(utf8ToBytes('no terminator')));
    expect(() => encodeSmp1WithQuestion('a\0b', payload)).to.throw(RangeError);
    expect(() => encodeSmp1WithQuestion('x'.repeat(0xffff), payload)).to.throw(RangeError);
  });
});
