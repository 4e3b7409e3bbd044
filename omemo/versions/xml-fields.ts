/**
 * Strict field readers shared by the two versions' element codecs: namespaces, decimal ids,
 * XML Schema booleans, base64 content, child lookup. Every failure is a MalformedMessageError
 * `omemo.xml.*` (the input came from the network).
 */
import { base64ToBytes, bytesToBase64 } from '../../lib/core/bytes.js';
import { MalformedMessageError } from '../../lib/core/errors.js';
import type { XmlElement } from '../xml-element.js';

/** Largest OMEMO device id (XEP-0384: ids are 1 .. 2^31 - 1). */
export const MAX_DEVICE_ID = 0x7fffffff;

function malformed(code: string, message: string): MalformedMessageError {
  return new MalformedMessageError(`omemo.xml.${code}`, message);
}

/** Checks name and namespace of a root element (its `xmlns` must be `namespace`). */
export function expectRoot(element: XmlElement, name: string, namespace: string): void {
  if (element.name !== name || element.attrs['xmlns'] !== namespace) {
    throw malformed('unexpected-element', `Expected <${name} xmlns='${namespace}'>`);
  }
}

/** Checks a descendant: its name, and that it does not switch to another namespace. */
export function expectChild(element: XmlElement, name: string, namespace: string): void {
  const xmlns = element.attrs['xmlns'];
  if (element.name !== name || (xmlns !== undefined && xmlns !== namespace)) {
    throw malformed('unexpected-element', `Unexpected element <${element.name}>`);
  }
}

/** Rejects attributes outside `allowed` (plus xmlns). */
export function onlyAttributes(element: XmlElement, allowed: readonly string[]): void {
  for (const key of Object.keys(element.attrs)) {
    if (key !== 'xmlns' && !allowed.includes(key)) throw malformed('unexpected-attribute', `Unexpected attribute ${key}`);
  }
}

/** A canonical decimal (no sign, no leading zeros) in [min, max]. */
export function parseDecimal(text: string | undefined, min: number, max: number, what: string): number {
  if (text === undefined) throw malformed('missing-attribute', `Missing ${what}`);
  if (!/^(?:0|[1-9][0-9]{0,9})$/.test(text)) throw malformed('bad-number', `Bad ${what}`);
  const value = Number(text);
  if (value < min || value > max) throw malformed('out-of-range', `${what} out of range`);
  return value;
}

/** A device id attribute (1 .. 2^31 - 1). */
export function parseDeviceId(text: string | undefined, what: string): number {
  return parseDecimal(text, 1, MAX_DEVICE_ID, what);
}

/** A uint32 id attribute (prekey and signed prekey ids). */
export function parseUint32(text: string | undefined, what: string): number {
  return parseDecimal(text, 0, 0xffffffff, what);
}

/**
 * An optional xs:boolean attribute. "true"/"1" -> true, "false"/"0" or absent -> false, any
 * other value is rejected (python-omemo's bool(attr) would read "false" as true, so we never
 * write false and never guess).
 */
export function parseBooleanAttribute(text: string | undefined, what: string): boolean {
  if (text === undefined || text === 'false' || text === '0') return false;
  if (text === 'true' || text === '1') return true;
  throw malformed('bad-boolean', `Bad boolean ${what}`);
}

/**
 * Base64 element text as xs:base64Binary allows it: XML whitespace between characters is
 * ignored (some clients wrap long lines), everything else is strict: standard alphabet,
 * required padding, and canonical (zero) padding bits, so one byte string has exactly one
 * accepted spelling. Optionally checks the decoded length.
 */
export function parseBase64(element: XmlElement, what: string, exactLength?: number): Uint8Array {
  if (element.children.length > 0) throw malformed('unexpected-element', `<${element.name}> must hold text`);
  const compact = element.text.replace(/[ \t\r\n]/g, '');
  const bytes = compact === '' ? undefined : base64ToBytes(compact);
  if (bytes === undefined || bytesToBase64(bytes) !== compact) throw malformed('bad-base64', `Bad base64 in ${what}`);
  if (exactLength !== undefined && bytes.length !== exactLength) throw malformed('bad-length', `${what} must be ${exactLength} bytes`);
  return bytes;
}

/** Range checks for values we are asked to encode (RangeError: caller bug). */
export function checkDeviceId(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 1 || value > MAX_DEVICE_ID) throw new RangeError(`${what} must be 1..2^31-1`);
  return String(value);
}

/** Range check for uint32 ids we encode. */
export function checkUint32Id(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${what} must be a uint32`);
  return String(value);
}

/** Leaf element with no attributes other than `allowed`, no children. */
export function leaf(element: XmlElement, allowed: readonly string[] = []): XmlElement {
  onlyAttributes(element, allowed);
  if (element.children.length > 0) throw malformed('unexpected-element', `<${element.name}> must not have children`);
  return element;
}

/** The single child named `name`; malformed when missing or repeated. */
export function singleChild(parent: XmlElement, name: string): XmlElement {
  const found = parent.children.filter((c) => c.name === name);
  if (found.length !== 1) throw malformed(found.length === 0 ? 'missing-element' : 'duplicate-element', `Expected one <${name}>`);
  return found[0] as XmlElement;
}
