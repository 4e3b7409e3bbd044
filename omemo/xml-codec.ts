/**
 * A strict, small XML parser and serializer for OMEMO payload elements (`<encrypted>`, device
 * lists, bundles, SCE envelopes). It accepts the subset these elements need and rejects the
 * rest with MalformedMessageError `omemo.xml.*`: no DOCTYPE, processing instructions, comments,
 * CDATA, namespace prefixes or mixed content; only the five predefined entities and character
 * references; duplicate attributes rejected; input size, depth and element count bounded
 * before any work. An optional leading `<?xml ...?>` declaration is skipped.
 */
import { MalformedMessageError } from '../lib/core/errors.js';
import type { XmlElement } from './xml-element.js';

/** Bounds applied while parsing hostile input. */
export interface XmlLimits {
  /** Maximum input length in UTF-16 code units. */
  readonly maxLength: number;
  /** Maximum nesting depth (the root is depth 1). */
  readonly maxDepth: number;
  /** Maximum number of elements. */
  readonly maxElements: number;
}

/** Defaults: generous for a bundle with 100+ prekeys or a header for many devices. */
export const DEFAULT_XML_LIMITS: XmlLimits = { maxLength: 256 * 1024, maxDepth: 16, maxElements: 4096 };

const NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
const ATTR_NAME = /^(?:[A-Za-z_][A-Za-z0-9._-]*|xml:lang)$/;
// XML 1.0 Char production, minus what may not appear literally.
const INVALID_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function malformed(code: string, message: string): MalformedMessageError {
  return new MalformedMessageError(`omemo.xml.${code}`, message);
}

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

function decodeEntities(raw: string): string {
  if (raw.includes('<')) throw malformed('bad-char', "Literal '<' in text or attribute");
  return raw.replace(/&([^;&]{0,10});|&/g, (match, ref: string | undefined) => {
    if (ref === undefined) throw malformed('bad-entity', 'Bare ampersand');
    switch (ref) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: break;
    }
    let cp: number;
    if (/^#x[0-9A-Fa-f]{1,6}$/.test(ref)) cp = parseInt(ref.slice(2), 16);
    else if (/^#[0-9]{1,7}$/.test(ref)) cp = parseInt(ref.slice(1), 10);
    else throw malformed('bad-entity', `Unknown entity ${match.slice(0, 12)}`);
    if (!isXmlChar(cp)) throw malformed('bad-entity', 'Character reference to a non-XML character');
    return String.fromCodePoint(cp);
  });
}

class Parser {
  pos = 0;
  elements = 0;

  constructor(readonly input: string, readonly limits: XmlLimits) {}

  skipWhitespace(): void {
    while (this.pos < this.input.length && /[ \t\r\n]/.test(this.input[this.pos] as string)) this.pos++;
  }

  readName(pattern: RegExp): string {
    const match = /^[^\s=/>"'<]+/.exec(this.input.slice(this.pos, this.pos + 256));
    if (match === null || !pattern.test(match[0])) throw malformed('bad-name', 'Invalid or unsupported name');
    this.pos += match[0].length;
    return match[0];
  }

  expect(text: string): void {
    if (!this.input.startsWith(text, this.pos)) throw malformed('unexpected', `Expected '${text}'`);
    this.pos += text.length;
  }

  element(depth: number): XmlElement {
    if (depth > this.limits.maxDepth) throw malformed('too-deep', 'Nesting too deep');
    if (++this.elements > this.limits.maxElements) throw malformed('too-many-elements', 'Too many elements');
    this.expect('<');
    const name = this.readName(NAME);
    const attrs: Record<string, string> = {};
    for (;;) {
      const before = this.pos;
      this.skipWhitespace();
      const c = this.input[this.pos];
      if (c === undefined) throw malformed('truncated', 'Unexpected end of input');
      if (c === '/' || c === '>') break;
      if (this.pos === before) throw malformed('unexpected', 'Missing whitespace before attribute');
      const attrName = this.readName(ATTR_NAME);
      this.skipWhitespace();
      this.expect('=');
      this.skipWhitespace();
      const quote = this.input[this.pos];
      if (quote !== '"' && quote !== "'") throw malformed('unexpected', 'Attribute value must be quoted');
      const end = this.input.indexOf(quote, this.pos + 1);
      if (end < 0) throw malformed('truncated', 'Unterminated attribute value');
      if (Object.hasOwn(attrs, attrName)) throw malformed('duplicate-attribute', 'Duplicate attribute');
      attrs[attrName] = decodeEntities(this.input.slice(this.pos + 1, end));
      this.pos = end + 1;
    }
    if (this.input.startsWith('/>', this.pos)) {
      this.pos += 2;
      return { name, attrs, children: [], text: '' };
    }
    this.expect('>');
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const lt = this.input.indexOf('<', this.pos);
      if (lt < 0) throw malformed('truncated', 'Unterminated element');
      text += decodeEntities(this.input.slice(this.pos, lt));
      this.pos = lt;
      if (this.input.startsWith('</', this.pos)) {
        this.pos += 2;
        const closing = this.readName(NAME);
        if (closing !== name) throw malformed('mismatched-tag', 'Mismatched closing tag');
        this.skipWhitespace();
        this.expect('>');
        break;
      }
      const next = this.input[this.pos + 1];
      if (next === '!' || next === '?') throw malformed('unsupported', 'Comments, CDATA, DOCTYPE and PIs are not accepted');
      children.push(this.element(depth + 1));
    }
    if (children.length > 0) {
      // Whitespace between child elements is formatting; anything else is mixed content.
      if (!/^[ \t\r\n]*$/.test(text)) throw malformed('mixed-content', 'Mixed content is not accepted');
      text = '';
    }
    return { name, attrs, children, text };
  }
}

/**
 * Parses one XML element from `input`. MalformedMessageError `omemo.xml.*` for anything outside
 * the accepted subset, oversized input or trailing content.
 */
export function parseXml(input: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  if (input.length > limits.maxLength) throw malformed('oversized', 'XML input too long');
  if (INVALID_CHAR.test(input)) throw malformed('bad-char', 'Input contains a non-XML character');
  const parser = new Parser(input, limits);
  parser.skipWhitespace();
  if (input.startsWith('<?xml', parser.pos)) {
    const end = input.indexOf('?>', parser.pos);
    if (end < 0 || !/^<\?xml[ \t\r\n][^<>]*$/.test(input.slice(parser.pos, end))) throw malformed('unsupported', 'Bad XML declaration');
    parser.pos = end + 2;
    parser.skipWhitespace();
  }
  if (/^<[!?]/.test(input.slice(parser.pos, parser.pos + 2))) throw malformed('unsupported', 'DOCTYPE, comments and PIs are not accepted');
  const root = parser.element(1);
  parser.skipWhitespace();
  if (parser.pos !== input.length) throw malformed('trailing', 'Content after the root element');
  return root;
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttr(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

/**
 * Serializes an element (attributes in insertion order, double quotes, `<a/>` when empty).
 * TypeError for names or characters that cannot be written (caller bug).
 */
export function serializeXml(element: XmlElement): string {
  if (!NAME.test(element.name)) throw new TypeError(`serializeXml: invalid element name ${element.name}`);
  let out = `<${element.name}`;
  for (const [key, value] of Object.entries(element.attrs)) {
    if (!ATTR_NAME.test(key) && key !== 'xmlns') throw new TypeError(`serializeXml: invalid attribute name ${key}`);
    if (INVALID_CHAR.test(value)) throw new TypeError('serializeXml: attribute contains a non-XML character');
    out += ` ${key}="${escapeAttr(value)}"`;
  }
  if (element.children.length > 0 && element.text !== '') throw new TypeError('serializeXml: mixed content');
  if (element.children.length === 0 && element.text === '') return `${out}/>`;
  if (INVALID_CHAR.test(element.text)) throw new TypeError('serializeXml: text contains a non-XML character');
  out += '>';
  out += element.children.length > 0 ? element.children.map(serializeXml).join('') : escapeText(element.text);
  return `${out}</${element.name}>`;
}
