/**
 * S-expressions as libgcrypt reads and writes them, which is the syntax of libotr's
 * `otr.private_key` (libotr writes it with `gcry_sexp_sprint(..., GCRYSEXP_FMT_ADVANCED)` and
 * reads it with `gcry_sexp_sscan`).
 *
 * The parser accepts the subset of libgcrypt's syntax such files use: lists, tokens, quoted
 * strings with C-like escapes, `#hex#` values (whitespace allowed inside) and canonical
 * verbatim values (`5:hello`). Base64 (`|..|`) and display hints (`[..]`) are refused. Input
 * size, nesting depth and node count are bounded; every failure is a MalformedMessageError.
 *
 * The writer reproduces GCRYSEXP_FMT_ADVANCED byte for byte (proved against libgcrypt by
 * test/interop/libotr-keys.test.ts), including its choice per value between a token, a
 * quoted string and hex.
 */
import { MalformedMessageError } from '../lib/core/errors.js';

/** A value: an octet string (libgcrypt "data"). */
export interface SExpAtom {
  readonly kind: 'atom';
  readonly bytes: Uint8Array;
}

/** A list of values and lists. */
export interface SExpList {
  readonly kind: 'list';
  readonly items: readonly SExpression[];
}

/** An S-expression. */
export type SExpression = SExpAtom | SExpList;

/** Bounds applied while parsing (all have defaults). */
export interface SExpLimits {
  /** Largest input accepted, in bytes (default 1 MiB). */
  readonly maxBytes?: number;
  /** Deepest list nesting (default 16). */
  readonly maxDepth?: number;
  /** Most atoms plus lists in total (default 65536). */
  readonly maxNodes?: number;
}

const DEFAULT_MAX_BYTES = 1 << 20;
const DEFAULT_MAX_DEPTH = 16;
const DEFAULT_MAX_NODES = 1 << 16;

const encoder = new TextEncoder();

/** An atom from bytes or from a string (UTF-8). */
export function sexpAtom(value: Uint8Array | string): SExpAtom {
  return { kind: 'atom', bytes: typeof value === 'string' ? encoder.encode(value) : Uint8Array.from(value) };
}

/** A list of the given items. */
export function sexpList(...items: SExpression[]): SExpList {
  return { kind: 'list', items };
}

/** True if `expr` is an atom whose bytes are exactly the ASCII string `name`. */
export function isAtomNamed(expr: SExpression | undefined, name: string): boolean {
  if (expr?.kind !== 'atom' || expr.bytes.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (expr.bytes[i] !== name.charCodeAt(i)) return false;
  return true;
}

// Characters libgcrypt allows in a token (after a non-digit first character).
const TOKEN_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./_:*+=';
const IS_TOKEN_CHAR = new Uint8Array(256);
for (const c of TOKEN_CHARS) IS_TOKEN_CHAR[c.charCodeAt(0)] = 1;
const isDigit = (b: number): boolean => b >= 0x30 && b <= 0x39;
const isWhitespace = (b: number): boolean => b === 0x20 || (b >= 0x09 && b <= 0x0d);
const hexValue = (b: number): number =>
  b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1;

function syntax(message: string, offset: number): MalformedMessageError {
  return new MalformedMessageError('sexp.syntax', `S-expression: ${message} at offset ${offset}`);
}

/**
 * Parses exactly one S-expression (whitespace around it allowed) from `input` (bytes, or a
 * string taken as UTF-8). Throws MalformedMessageError ('sexp.syntax', 'sexp.too-large',
 * 'sexp.too-deep').
 */
export function parseSExpression(input: Uint8Array | string, limits: SExpLimits = {}): SExpression {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxNodes = limits.maxNodes ?? DEFAULT_MAX_NODES;
  // Check a string's length before encoding it: a UTF-8 encoding is at most 3x its UTF-16 length.
  if (typeof input === 'string' && input.length > maxBytes) {
    throw new MalformedMessageError('sexp.too-large', `S-expression input exceeds ${maxBytes} bytes`);
  }
  const bytes = typeof input === 'string' ? encoder.encode(input) : input;
  if (bytes.length > maxBytes) throw new MalformedMessageError('sexp.too-large', `S-expression input exceeds ${maxBytes} bytes`);

  let offset = 0;
  let nodes = 0;
  const countNode = (): void => {
    if (++nodes > maxNodes) throw new MalformedMessageError('sexp.too-large', `S-expression has more than ${maxNodes} nodes`);
  };
  const skipWhitespace = (): void => {
    while (offset < bytes.length && isWhitespace(bytes[offset] as number)) offset++;
  };

  // An explicit stack instead of recursion: depth is bounded anyway, but this keeps the
  // parser's own stack use independent of the input.
  const stack: SExpression[][] = [];
  let result: SExpression | undefined;

  const emit = (expr: SExpression): void => {
    const top = stack[stack.length - 1];
    if (top) top.push(expr);
    else result = expr;
  };

  skipWhitespace();
  if (offset >= bytes.length) throw syntax('empty input', offset);
  do {
    skipWhitespace();
    if (offset >= bytes.length) throw syntax('unexpected end of input (unclosed list)', offset);
    const b = bytes[offset] as number;
    if (b === 0x28 /* ( */) {
      countNode();
      if (stack.length >= maxDepth) throw new MalformedMessageError('sexp.too-deep', `S-expression nested deeper than ${maxDepth}`);
      stack.push([]);
      offset++;
    } else if (b === 0x29 /* ) */) {
      const items = stack.pop();
      if (!items) throw syntax('unbalanced ")"', offset);
      offset++;
      emit({ kind: 'list', items });
    } else {
      countNode();
      emit({ kind: 'atom', bytes: readAtom() });
    }
  } while (stack.length > 0);
  skipWhitespace();
  if (offset !== bytes.length) throw syntax('trailing data after the expression', offset);
  return result as SExpression;

  function readAtom(): Uint8Array {
    const b = bytes[offset] as number;
    if (b === 0x22 /* " */) return readQuoted();
    if (b === 0x23 /* # */) return readHex();
    if (isDigit(b)) return readVerbatim();
    if (IS_TOKEN_CHAR[b]) {
      const start = offset;
      while (offset < bytes.length && IS_TOKEN_CHAR[bytes[offset] as number]) offset++;
      return bytes.slice(start, offset);
    }
    throw syntax(`unsupported character 0x${b.toString(16).padStart(2, '0')}`, offset);
  }

  function readVerbatim(): Uint8Array {
    const start = offset;
    let length = 0;
    while (offset < bytes.length && isDigit(bytes[offset] as number)) {
      length = length * 10 + ((bytes[offset] as number) - 0x30);
      if (length > bytes.length) throw syntax('verbatim length exceeds the input', start);
      offset++;
    }
    if (bytes[offset] !== 0x3a /* : */) throw syntax('digit not followed by ":" (a token cannot start with a digit)', offset);
    offset++;
    if (offset + length > bytes.length) throw syntax('truncated verbatim value', start);
    const out = bytes.slice(offset, offset + length);
    offset += length;
    return out;
  }

  function readHex(): Uint8Array {
    const start = offset++;
    const digits: number[] = [];
    for (;;) {
      if (offset >= bytes.length) throw syntax('unterminated #hex#', start);
      const c = bytes[offset++] as number;
      if (c === 0x23) break;
      if (isWhitespace(c)) continue;
      const v = hexValue(c);
      if (v < 0) throw syntax('bad character in #hex#', offset - 1);
      digits.push(v);
    }
    if (digits.length % 2 !== 0) throw syntax('odd number of digits in #hex#', start);
    const out = new Uint8Array(digits.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = ((digits[2 * i] as number) << 4) | (digits[2 * i + 1] as number);
    return out;
  }

  function readQuoted(): Uint8Array {
    const start = offset++;
    const out: number[] = [];
    for (;;) {
      if (offset >= bytes.length) throw syntax('unterminated quoted string', start);
      const c = bytes[offset++] as number;
      if (c === 0x22) break;
      if (c !== 0x5c /* \ */) {
        out.push(c);
        continue;
      }
      if (offset >= bytes.length) throw syntax('unterminated escape', offset);
      const e = bytes[offset++] as number;
      switch (e) {
        case 0x62: out.push(0x08); break; // \b
        case 0x74: out.push(0x09); break; // \t
        case 0x76: out.push(0x0b); break; // \v
        case 0x6e: out.push(0x0a); break; // \n
        case 0x66: out.push(0x0c); break; // \f
        case 0x72: out.push(0x0d); break; // \r
        case 0x22: case 0x27: case 0x5c: out.push(e); break;
        case 0x78: { // \xHH
          const hi = hexValue(bytes[offset] ?? -1);
          const lo = hexValue(bytes[offset + 1] ?? -1);
          if (hi < 0 || lo < 0) throw syntax('bad \\x escape', offset);
          out.push((hi << 4) | lo);
          offset += 2;
          break;
        }
        case 0x0a: case 0x0d: { // line continuation: backslash + (CR|LF|CRLF|LFCR)
          const next = bytes[offset];
          if ((next === 0x0a || next === 0x0d) && next !== e) offset++;
          break;
        }
        default: {
          if (e >= 0x30 && e <= 0x37) { // \ooo octal
            const o1 = (bytes[offset] ?? 0) - 0x30;
            const o2 = (bytes[offset + 1] ?? 0) - 0x30;
            if (o1 < 0 || o1 > 7 || o2 < 0 || o2 > 7) throw syntax('bad octal escape', offset);
            const value = ((e - 0x30) << 6) | (o1 << 3) | o2;
            if (value > 0xff) throw syntax('octal escape above 0377', offset);
            out.push(value);
            offset += 2;
            break;
          }
          throw syntax('unknown escape', offset - 1);
        }
      }
    }
    return Uint8Array.from(out);
  }
}

// ---------------------------------------------------------------------------------------------
// Writer: GCRYSEXP_FMT_ADVANCED.

const ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x08, '\\b'], [0x09, '\\t'], [0x0b, '\\v'], [0x0a, '\\n'], [0x0c, '\\f'], [0x0d, '\\r'],
  [0x22, '\\"'], [0x27, "\\'"], [0x5c, '\\\\'],
]);

type Encoding = 'hex' | 'string' | 'token';

/**
 * libgcrypt's choice of rendering for a value (sexp.c, suitable_encoding): hex if it starts
 * with 0x00 or a byte >= 0x80 or contains a control character without a named escape or a
 * byte in 0x7f..0xa0; a token if every byte is a token character and the first is not a
 * digit; otherwise a quoted string. One deliberate difference: libgcrypt writes a value with
 * an inner NUL byte raw (a bug: it cannot read that back); we write it as hex.
 */
function suitableEncoding(bytes: Uint8Array): Encoding {
  if (bytes.length === 0) return 'string';
  const first = bytes[0] as number;
  if (first & 0x80 || first === 0) return 'hex';
  let maybeToken = true;
  for (const b of bytes) {
    if (b === 0) return 'hex';
    if ((b < 0x20 || (b >= 0x7f && b <= 0xa0)) && !ESCAPES.has(b)) return 'hex';
    if (maybeToken && !IS_TOKEN_CHAR[b]) maybeToken = false;
  }
  return maybeToken && !isDigit(first) ? 'token' : 'string';
}

function renderAtom(bytes: Uint8Array, out: number[]): void {
  const push = (text: string): void => {
    for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i));
  };
  switch (suitableEncoding(bytes)) {
    case 'token':
      for (const b of bytes) out.push(b);
      return;
    case 'string':
      out.push(0x22);
      for (const b of bytes) {
        const escape = ESCAPES.get(b);
        if (escape) push(escape);
        else out.push(b);
      }
      out.push(0x22);
      return;
    case 'hex':
      push('#');
      for (const b of bytes) push(b.toString(16).padStart(2, '0').toUpperCase());
      push('#');
      return;
  }
}

type Event = { readonly type: 'open' } | { readonly type: 'close' } | { readonly type: 'data'; readonly bytes: Uint8Array };

function flatten(expr: SExpression, events: Event[], depth: number): void {
  if (depth > DEFAULT_MAX_DEPTH * 4) throw new RangeError('formatSExpression: nesting too deep');
  if (expr.kind === 'atom') {
    events.push({ type: 'data', bytes: expr.bytes });
    return;
  }
  events.push({ type: 'open' });
  for (const item of expr.items) flatten(item, events, depth + 1);
  events.push({ type: 'close' });
}

/**
 * Renders a list exactly as libgcrypt's `gcry_sexp_sprint(GCRYSEXP_FMT_ADVANCED)` does:
 * a nested list starts on a new line indented by its depth, a value is followed by a space
 * unless a ")" follows, a ")" is followed by a newline and indentation unless another list
 * or the end follows, and the whole ends with a newline. Throws TypeError for a bare atom
 * (libgcrypt S-expressions are lists).
 */
export function formatSExpressionAdvanced(expr: SExpression): Uint8Array {
  if (expr.kind !== 'list') throw new TypeError('formatSExpressionAdvanced: the top level must be a list');
  const events: Event[] = [];
  flatten(expr, events, 0);
  const out: number[] = [];
  const indentTo = (n: number): void => {
    for (let i = 0; i < n; i++) out.push(0x20);
  };
  let indent = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as Event;
    const next = events[i + 1];
    switch (event.type) {
      case 'open':
        if (indent > 0) {
          out.push(0x0a);
          indentTo(indent);
        }
        out.push(0x28);
        indent++;
        break;
      case 'close':
        out.push(0x29);
        indent--;
        if (next !== undefined && next.type !== 'open') {
          out.push(0x0a);
          indentTo(indent);
        }
        break;
      case 'data':
        renderAtom(event.bytes, out);
        if (next?.type !== 'close') out.push(0x20);
        break;
    }
  }
  out.push(0x0a);
  return Uint8Array.from(out);
}
