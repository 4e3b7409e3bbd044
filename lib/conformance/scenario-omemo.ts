/**
 * What an OMEMO conformance scenario is (the OMEMO counterpart of scenario.ts): a named case for
 * one OMEMO version with a fixed set-up (devices per side), a body that drives both parties
 * through an `OmemoExchange`, and checks that pass or throw a `ScenarioFailure`. Also the kit's
 * view of `<encrypted>` elements (XEP-0384 section 4.4), which it reads and tampers with.
 */
import { base64ToBytes, bytesToBase64 } from '../core/bytes.js';
import { parseXml, serializeXml } from '../../omemo/xml-codec.js';
import type { XmlElement } from '../../omemo/xml-element.js';
import type { OmemoExchange } from './exchange-omemo.js';
import type { LineOmemoVersion, OmemoLineDecryption } from './line-protocol-omemo.js';
import type { OmemoParty } from './party-omemo.js';
import { check } from './scenario.js';

/** How the two parties are set up before a scenario runs. */
export interface OmemoScenarioSetup {
  readonly version: LineOmemoVersion;
  /** Devices of the implementation under test (default 1). */
  readonly iutDevices?: number;
  /** Devices of the reference peer (default 1). */
  readonly referenceDevices?: number;
}

/** What a scenario's body gets. */
export interface OmemoScenarioContext {
  readonly version: LineOmemoVersion;
  readonly iut: OmemoParty;
  readonly reference: OmemoParty;
  readonly exchange: OmemoExchange;
  note(text: string): void;
}

/** A named OMEMO conformance case. */
export interface OmemoScenario {
  readonly family: 'omemo';
  /** Stable id, e.g. `omemo.v03.key-exchange.iut-first`. */
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly setup: OmemoScenarioSetup;
  run(context: OmemoScenarioContext): Promise<void>;
}

/** A `<key>` of an `<encrypted>` element as the kit sees it. */
export interface WireKey {
  readonly rid: number;
  /** omemo:2: the `<keys jid>` it sits in. */
  readonly jid?: string;
  /** `prekey="true"` (0.3) or `kex="true"` (omemo:2). */
  readonly keyExchange: boolean;
  readonly data: Uint8Array;
}

function walk(element: XmlElement, visit: (e: XmlElement, parent: XmlElement | undefined) => void, parent?: XmlElement): void {
  visit(element, parent);
  for (const c of element.children) walk(c, visit, element);
}

/** The `<key>` elements of an `<encrypted>` element (both versions). */
export function wireKeys(xml: string): WireKey[] {
  const keys: WireKey[] = [];
  walk(parseXml(xml), (e, parent) => {
    if (e.name !== 'key' || e.attrs['rid'] === undefined) return;
    const data = base64ToBytes(e.text) ?? new Uint8Array(0);
    const keyExchange = e.attrs['prekey'] === 'true' || e.attrs['prekey'] === '1' || e.attrs['kex'] === 'true' || e.attrs['kex'] === '1';
    const jid = parent?.name === 'keys' ? parent.attrs['jid'] : undefined;
    keys.push({ rid: Number(e.attrs['rid']), keyExchange, data, ...(jid === undefined ? {} : { jid }) });
  });
  return keys;
}

function mapElement(element: XmlElement, f: (e: XmlElement, parent: XmlElement | undefined) => XmlElement, parent?: XmlElement): XmlElement {
  const mapped = f(element, parent);
  return { ...mapped, children: mapped.children.map((c) => mapElement(c, f, mapped)) };
}

/** `xml` with the base64 text of the `<key>` for device `rid` (or of `<payload>` when rid is 'payload') replaced by `mutate(bytes)`. */
export function tamper(xml: string, target: number | 'payload', mutate: (bytes: Uint8Array) => Uint8Array): string {
  let hits = 0;
  const out = mapElement(parseXml(xml), (e) => {
    const hit = target === 'payload' ? e.name === 'payload' : e.name === 'key' && e.attrs['rid'] === String(target);
    if (!hit) return e;
    const bytes = base64ToBytes(e.text);
    if (bytes === undefined || bytes.length === 0) throw new Error(`tamper: the ${e.name} is not base64`);
    hits++;
    return { ...e, text: bytesToBase64(mutate(bytes)) };
  });
  if (hits === 0) throw new Error(`tamper: no ${target === 'payload' ? '<payload>' : `<key rid="${target}">`} in the message`);
  return serializeXml(out);
}

/** `bytes` with bit 0 of byte `index` flipped (negative: from the end). */
export function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const i = index < 0 ? out.length + index : index;
  if (i < 0 || i >= out.length) throw new RangeError('flipBit: index out of range');
  out[i] = (out[i] as number) ^ 0x01;
  return out;
}

/**
 * Flips a bit of the ratchet message's MAC inside a `<key>`'s bytes: 0.3 (libsignal's
 * SignalMessage, version byte || protobuf || 8-byte truncated HMAC): the last byte; omemo:2
 * (OMEMOAuthenticatedMessage, XEP-0384 section 7: field 1 `mac`, 16 bytes, first): its first byte.
 */
export function flipMacBit(version: LineOmemoVersion, data: Uint8Array): Uint8Array {
  if (version === '0.3') return flipBit(data, -1);
  if (data[0] !== 0x0a || data[1] !== 0x10) throw new Error('flipMacBit: not an OMEMOAuthenticatedMessage with a 16-byte mac first');
  return flipBit(data, 2);
}

/** The only decryption of a message by a single-device party; checks the message was for it. */
export function single(results: readonly OmemoLineDecryption[], who: string): OmemoLineDecryption {
  check(results.length === 1, `${who} reported ${results.length} decryptions of a message for its one device`);
  return results[0] as OmemoLineDecryption;
}

/** `results` hold exactly `text` for one device, accepted. */
export function checkText(results: readonly OmemoLineDecryption[], text: string, who: string): void {
  const r = single(results, who);
  check(r.error === null, `${who} rejected a genuine message: ${String(r.error)}`);
  check(r.plaintext === text, `${who} decrypted ${JSON.stringify(r.plaintext?.slice(0, 60) ?? null)}, expected ${JSON.stringify(text.slice(0, 60))}`);
}

/** The kit delivered every empty message without a rejection. */
export function checkAutomatic(context: OmemoScenarioContext): void {
  check(context.exchange.automaticErrors.length === 0, context.exchange.automaticErrors.join('; '));
}

/** Sessions both ways: the implementation's first message (key exchange) and the reference's reply. */
export async function establish(context: OmemoScenarioContext): Promise<void> {
  const { exchange, iut, reference } = context;
  await exchange.introduce();
  checkText(await exchange.transmit(iut, 'hello from the implementation'), 'hello from the implementation', 'the reference');
  checkText(await exchange.transmit(reference, 'hello from the reference'), 'hello from the reference', 'the implementation');
  checkAutomatic(context);
}
