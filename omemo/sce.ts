/**
 * XEP-0420 Stanza Content Encryption envelopes, the plaintext of omemo:2 payloads
 * (XEP-0384 section 6.1, "SCE profile"): `<envelope xmlns='urn:xmpp:sce:1'>` holding
 * `<content>` and the affix elements `<rpad>`, `<time stamp>`, `<from jid>`, `<to jid>`.
 *
 * Parsing is strict: each affix at most once, `<content>` exactly once, every content child
 * carrying its own namespace (XEP-0420 section 8: "Elements in the content element MUST be
 * identified using an element name and namespace"), timestamps in XEP-0082 DateTime form.
 * Checking `from`/`to`/`time` against the enclosing stanza is the caller's job (XEP-0420
 * section 5 table), because only the caller knows the stanza.
 */
import { utf8ToBytes } from '../lib/core/bytes.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import type { RandomSource } from '../lib/core/random.js';
import { parseXml, serializeXml } from './xml-codec.js';
import { xmlElement } from './xml-element.js';
import type { XmlElement } from './xml-element.js';

/** XEP-0420 namespace. */
export const SCE_NAMESPACE = 'urn:xmpp:sce:1';
/** Upper bound (exclusive) of the random rpad length we send. */
export const RPAD_MAX_LENGTH = 200;
/** Bound on a serialized envelope we accept (bytes of UTF-8). */
export const MAX_ENVELOPE_LENGTH = 128 * 1024;

/** A decoded envelope. Affixes are absent when the sender did not include them. */
export interface SceEnvelope {
  /** The children of `<content>` (each with its own xmlns). */
  readonly content: readonly XmlElement[];
  /** Random padding (only its presence matters; longer paddings MUST NOT be rejected). */
  readonly rpad?: string | undefined;
  /** `<time stamp>`, an XEP-0082 DateTime string as sent. */
  readonly time?: string | undefined;
  /** `<from jid>`: the sender's bare JID. */
  readonly from?: string | undefined;
  /** `<to jid>`: the recipient's bare JID (the room's in MUC). */
  readonly to?: string | undefined;
}

/** Inputs for building an envelope to send. */
export interface SceEnvelopeInput {
  readonly content: readonly XmlElement[];
  readonly from: string;
  readonly to: string;
  /** Sending time; omitted from the envelope when undefined. */
  readonly time?: Date | undefined;
}

const DATETIME = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
const RPAD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function malformed(code: string, message: string): MalformedMessageError {
  return new MalformedMessageError(`omemo.sce.${code}`, message);
}

/** A random-length (0..199) random rpad string from `random`. */
export function randomRpad(random: RandomSource): string {
  const lengthBytes = random(2);
  const length = (((lengthBytes[0] as number) << 8) | (lengthBytes[1] as number)) % RPAD_MAX_LENGTH;
  const chars = random(length);
  let out = '';
  for (const c of chars) out += RPAD_ALPHABET[c & 63];
  return out;
}

/** Builds an envelope element with a random rpad (XEP-0384 6.1: rpad, from and to; time optional). */
export function createSceEnvelope(input: SceEnvelopeInput, random: RandomSource): XmlElement {
  return encodeSceEnvelope({
    content: input.content,
    rpad: randomRpad(random),
    time: input.time === undefined ? undefined : input.time.toISOString(),
    from: input.from,
    to: input.to,
  });
}

/** Encodes an envelope object as an element. RangeError for content children without xmlns. */
export function encodeSceEnvelope(envelope: SceEnvelope): XmlElement {
  for (const child of envelope.content) {
    if (child.attrs['xmlns'] === undefined) throw new RangeError('SCE content elements need a namespace');
  }
  const children: XmlElement[] = [xmlElement('content', {}, envelope.content)];
  if (envelope.rpad !== undefined) children.push(xmlElement('rpad', {}, [], envelope.rpad));
  if (envelope.time !== undefined) {
    if (!DATETIME.test(envelope.time)) throw new RangeError('time must be an XEP-0082 DateTime');
    children.push(xmlElement('time', { stamp: envelope.time }));
  }
  if (envelope.from !== undefined) children.push(xmlElement('from', { jid: envelope.from }));
  if (envelope.to !== undefined) children.push(xmlElement('to', { jid: envelope.to }));
  return xmlElement('envelope', { xmlns: SCE_NAMESPACE }, children);
}

function affixAttribute(element: XmlElement, name: string): string {
  const keys = Object.keys(element.attrs).filter((k) => k !== 'xmlns');
  if (element.children.length > 0 || element.text !== '' || keys.length !== 1 || keys[0] !== name) {
    throw malformed('bad-affix', `<${element.name}> must be empty with exactly a '${name}' attribute`);
  }
  const value = element.attrs[name] as string;
  if (value === '') throw malformed('bad-affix', `Empty '${name}'`);
  return value;
}

/** Parses an envelope element strictly (see the module comment). */
export function decodeSceEnvelope(element: XmlElement): SceEnvelope {
  if (element.name !== 'envelope' || element.attrs['xmlns'] !== SCE_NAMESPACE) throw malformed('not-envelope', 'Expected an SCE <envelope>');
  if (Object.keys(element.attrs).length !== 1) throw malformed('unexpected-attribute', 'Unexpected attribute on <envelope>');
  const seen = new Set<string>();
  let content: readonly XmlElement[] | undefined;
  let rpad: string | undefined;
  let time: string | undefined;
  let from: string | undefined;
  let to: string | undefined;
  for (const child of element.children) {
    const xmlns = child.attrs['xmlns'];
    if (xmlns !== undefined && xmlns !== SCE_NAMESPACE) throw malformed('unexpected-element', 'Foreign element in <envelope>');
    if (seen.has(child.name)) throw malformed('duplicate-element', `Repeated <${child.name}>`);
    seen.add(child.name);
    switch (child.name) {
      case 'content':
        if (Object.keys(child.attrs).some((k) => k !== 'xmlns') || child.text !== '') throw malformed('bad-content', 'Bad <content>');
        for (const item of child.children) {
          const ns = item.attrs['xmlns'];
          if (ns === undefined || ns === SCE_NAMESPACE) throw malformed('bad-content', 'Content elements need their own namespace');
        }
        content = child.children;
        break;
      case 'rpad':
        if (Object.keys(child.attrs).some((k) => k !== 'xmlns') || child.children.length > 0) throw malformed('bad-affix', 'Bad <rpad>');
        rpad = child.text;
        break;
      case 'time':
        time = affixAttribute(child, 'stamp');
        if (!DATETIME.test(time)) throw malformed('bad-time', 'time stamp is not an XEP-0082 DateTime');
        break;
      case 'from':
        from = affixAttribute(child, 'jid');
        break;
      case 'to':
        to = affixAttribute(child, 'jid');
        break;
      default:
        throw malformed('unexpected-element', `Unknown affix <${child.name}>`);
    }
  }
  if (content === undefined) throw malformed('missing-content', 'Envelope without <content>');
  return { content, rpad, time, from, to };
}

/** Serializes an envelope element to the UTF-8 bytes that go into encryptPayload2. */
export function serializeSceEnvelope(envelope: XmlElement): Uint8Array {
  return utf8ToBytes(serializeXml(envelope));
}

/**
 * Parses decrypted payload bytes as an envelope. Invalid UTF-8, invalid XML or a bad envelope
 * -> MalformedMessageError (XEP-0420 section 8: "Invalid XML MUST be rejected").
 */
export function parseSceEnvelope(bytes: Uint8Array): SceEnvelope {
  if (bytes.length > MAX_ENVELOPE_LENGTH) throw malformed('oversized', 'Envelope too long');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformed('bad-utf8', 'Envelope is not valid UTF-8');
  }
  return decodeSceEnvelope(parseXml(text, { maxLength: MAX_ENVELOPE_LENGTH, maxDepth: 32, maxElements: 4096 }));
}
