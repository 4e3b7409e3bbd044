/**
 * examples/chat/qr-terminal.ts: the half-block drawing (exact strings for small matrices),
 * and the QR symbols of fingerprint URIs checked against ISO/IEC 18004 facts (size per
 * version, byte-mode capacities at level M from Table 7, the BCH-coded format information of
 * section 7.9 naming level M, finder patterns) and read back by jsQR, a decoder independent
 * of the encoder.
 */
import { expect } from 'chai';
import * as jsqrModule from 'jsqr';
import { QUIET_ZONE, qrLines, qrMatrix, renderHalfBlocks } from '../../../examples/chat/qr-terminal.js';
import { fingerprintUri } from '../../../omemo/fingerprint.js';

type QrDecoder = (data: Uint8ClampedArray, width: number, height: number) => { readonly data: string } | null;
const jsqrDefault = (jsqrModule as unknown as { default: unknown }).default;
const jsQR = (typeof jsqrDefault === 'function' ? jsqrDefault : (jsqrDefault as { default: unknown }).default) as QrDecoder;

/** Pixels of a module matrix (true = dark) with a quiet zone, for jsQR. */
function decode(matrix: readonly (readonly boolean[])[]): string | undefined {
  const scale = 3;
  const n = matrix.length + 2 * QUIET_ZONE;
  const size = n * scale;
  const pixels = new Uint8ClampedArray(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dark = matrix[Math.floor(y / scale) - QUIET_ZONE]?.[Math.floor(x / scale) - QUIET_ZONE] === true;
      const o = (y * size + x) * 4;
      pixels.fill(dark ? 0 : 255, o, o + 3);
      pixels[o + 3] = 255;
    }
  }
  return jsQR(pixels, size, size)?.data;
}

/** The 15-bit format word of section 7.9 as placed around the top-left finder (bit 0 at row 0, column 8). */
function formatWord(m: readonly (readonly boolean[])[]): number {
  const at = (row: number, col: number): number => (m[row]?.[col] === true ? 1 : 0);
  const bits: number[] = [];
  for (let i = 0; i <= 5; i++) bits.push(at(i, 8));
  bits.push(at(7, 8), at(8, 8), at(8, 7));
  for (let i = 9; i < 15; i++) bits.push(at(8, 14 - i));
  return bits.reduce((word, bit, i) => word | (bit << i), 0);
}

/** The 32 valid format words: 5 data bits, BCH(15,5) remainder of generator 0x537, masked with 0x5412. */
function validFormatWords(): Map<number, { level: number; mask: number }> {
  const words = new Map<number, { level: number; mask: number }>();
  for (let data = 0; data < 32; data++) {
    let rem = data << 10;
    for (let bit = 14; bit >= 10; bit--) if ((rem >> bit) & 1) rem ^= 0x537 << (bit - 10);
    words.set(((data << 10) | rem) ^ 0x5412, { level: data >> 3, mask: data & 7 });
  }
  return words;
}

const uriWith = (ids: readonly number[]): string => fingerprintUri('carol@example.org', ids.map((deviceId, i) => ({ deviceId, fingerprint: `${i}f`.repeat(32) })));

describe('examples/chat QR codes in the terminal', () => {
  it('draws two module rows per line with half blocks, light modules as blocks, with the quiet zone', () => {
    expect(renderHalfBlocks([[true, false], [false, true]], 0)).to.deep.equal(['▄▀']);
    expect(renderHalfBlocks([[true, true], [true, true]], 0)).to.deep.equal(['  ']);
    expect(renderHalfBlocks([[false, false], [false, false]], 0)).to.deep.equal(['██']);
    // an odd size: the last line's lower half is past the symbol and drawn dark
    expect(renderHalfBlocks([[true, false, true], [true, false, false], [false, true, true]], 0)).to.deep.equal([' █▄', '▀  ']);
    // one dark module, quiet zone 1: a 3x3 field, the dark module in the middle of the upper line's lower half
    expect(renderHalfBlocks([[true]], 1)).to.deep.equal(['█▀█', '▀▀▀']);
  });

  it('encodes a device URI at level M in the smallest version that holds it, with a valid format word', () => {
    const words = validFormatWords();
    // Byte-mode capacity at level M (ISO/IEC 18004 Table 7): version 6 holds 106 bytes, version 7 122.
    const short = 'xmpp:carol@localhost?omemo-sid-1234=' + 'ab'.repeat(32);
    const at106 = 'xmpp:carol@localhost?omemo-sid-1234567890=' + 'ab'.repeat(32);
    const at107 = 'xmpp:carol1@localhost?omemo-sid-1234567890=' + 'ab'.repeat(32);
    expect([short.length, at106.length, at107.length]).to.deep.equal([100, 106, 107]);
    for (const [text, version] of [[short, 6], [at106, 6], [at107, 7]] as const) {
      const m = qrMatrix(text);
      expect(m.length, text).to.equal(17 + 4 * version);
      expect(m.every((row) => row.length === m.length)).to.equal(true);
      const format = words.get(formatWord(m));
      expect(format, 'a valid BCH format word').to.not.equal(undefined);
      expect(format?.level, 'level M is coded 00').to.equal(0);
      // the top-left finder pattern: a dark 7x7 ring around a light ring around a dark 3x3 core
      expect(m.slice(0, 7).map((row) => row.slice(0, 7).map((d) => (d ? 1 : 0)).join(''))).to.deep.equal([
        '1111111', '1000001', '1011101', '1011101', '1011101', '1000001', '1111111',
      ]);
      expect(decode(m)).to.equal(text);
    }
  });

  it('URIs with several devices are read back by an independent decoder', () => {
    for (const ids of [[1], [2147483647, 12345], [1, 22, 333, 4444]]) {
      const uri = uriWith(ids);
      expect(decode(qrMatrix(uri))).to.equal(uri);
    }
  });

  it('qrLines is the matrix drawn with a 4-module quiet zone', () => {
    const uri = uriWith([42]);
    const lines = qrLines(uri);
    const size = qrMatrix(uri).length + 2 * QUIET_ZONE;
    expect(lines).to.have.length(Math.ceil(size / 2));
    expect(lines.every((l) => [...l].length === size)).to.equal(true);
    expect(lines[0]).to.equal('█'.repeat(size));
    expect(lines[1]).to.equal('█'.repeat(size));
  });
});
