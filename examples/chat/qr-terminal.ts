/**
 * QR codes in the terminal: the `qr` package (paulmillr, zero dependencies) encodes the text
 * (ISO/IEC 18004, byte mode, error correction level M, smallest version that fits, mask
 * chosen by the standard's penalty rules); this file draws the module matrix with Unicode
 * half blocks, two module rows per text line, as `qrencode -t UTF8` does.
 *
 * Drawn for a dark terminal background: light modules (and the 4-module quiet zone the
 * standard requires, section 6.3.8) are printed as block characters, dark modules as spaces.
 */
import encodeQR from 'qr';

/** Width of the quiet zone in modules (ISO/IEC 18004 section 6.3.8). */
export const QUIET_ZONE = 4;

/** The QR symbol of `text` as rows of modules, `true` = dark, without quiet zone. */
export function qrMatrix(text: string): boolean[][] {
  // The encoder insists on a border of at least one module: take it off again.
  const withBorder = encodeQR(text, 'raw', { ecc: 'medium', encoding: 'byte', border: 1 });
  return withBorder.slice(1, -1).map((row) => row.slice(1, -1));
}

/**
 * Draws `matrix` with half blocks: each character holds an upper and a lower module,
 * '█' both light, '▀' upper light, '▄' lower light, ' ' both dark.
 */
export function renderHalfBlocks(matrix: readonly (readonly boolean[])[], quietZone = QUIET_ZONE): string[] {
  const size = matrix.length;
  const full = size + 2 * quietZone;
  const light = (x: number, y: number): boolean => {
    const mx = x - quietZone;
    const my = y - quietZone;
    if (mx < 0 || my < 0 || mx >= size || my >= size) return true;
    return matrix[my]?.[mx] !== true;
  };
  const lines: string[] = [];
  for (let y = 0; y < full; y += 2) {
    let line = '';
    for (let x = 0; x < full; x++) {
      const upper = light(x, y);
      const lower = y + 1 < full ? light(x, y + 1) : false;
      line += upper ? (lower ? '█' : '▀') : lower ? '▄' : ' ';
    }
    lines.push(line);
  }
  return lines;
}

/** The QR code of `text`, ready to print. */
export function qrLines(text: string): string[] {
  return renderHalfBlocks(qrMatrix(text));
}
