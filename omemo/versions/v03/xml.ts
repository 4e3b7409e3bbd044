/**
 * Element codecs of OMEMO 0.3 (XEP-0384 0.3.0 sections 4.3, 4.5, 5): `<encrypted>`, the device
 * list `<list>` and the `<bundle>`, as plain objects in and {@link XmlElement}s out. Keys are
 * raw 32 bytes in the objects and 0x05 || key in the XML. Decoders are strict (unknown
 * children or attributes, bad numbers/base64/booleans -> MalformedMessageError `omemo.xml.*`).
 */
import { bytesToBase64 } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
import { parseCurve25519PublicKey, serializeCurve25519PublicKey } from '../../x3dh.js';
import { xmlElement } from '../../xml-element.js';
import type { XmlElement } from '../../xml-element.js';
import {
  checkDeviceId,
  checkUint32Id,
  expectChild,
  expectRoot,
  leaf,
  onlyAttributes,
  parseBase64,
  parseBooleanAttribute,
  parseDeviceId,
  parseUint32,
  singleChild,
} from '../xml-fields.js';
import { LEGACY_PAYLOAD_IV_LENGTH, PAYLOAD_IV_LENGTH } from './payload.js';
import { NAMESPACE_03 } from './profile.js';

/** One `<key rid prekey>`: a SignalMessage, or a PreKeySignalMessage when `prekey` is true. */
export interface EncryptedKey03 {
  readonly rid: number;
  readonly prekey: boolean;
  readonly data: Uint8Array;
}

/** `<encrypted>`: header (sid, keys, iv) and the optional payload (absent = key transport). */
export interface Encrypted03 {
  readonly sid: number;
  readonly keys: readonly EncryptedKey03[];
  readonly iv: Uint8Array;
  readonly payload?: Uint8Array | undefined;
}

/** A published bundle (keys raw, 32 bytes; the signature as published, sign bit included). */
export interface Bundle03 {
  readonly signedPreKeyId: number;
  readonly signedPreKey: Uint8Array;
  readonly signedPreKeySignature: Uint8Array;
  readonly identityKey: Uint8Array;
  readonly preKeys: readonly { readonly id: number; readonly key: Uint8Array }[];
}

/** Bound on `<key>` elements in one message (one per recipient device). */
export const MAX_KEYS = 1000;
/** Bound on devices in a device list and prekeys in a bundle. */
export const MAX_LIST_ENTRIES = 1000;

const NS = NAMESPACE_03;

function malformed(code: string, message: string): MalformedMessageError {
  return new MalformedMessageError(`omemo.xml.${code}`, message);
}

function keyElement(name: string, key: Uint8Array, attrs: Record<string, string> = {}): XmlElement {
  return xmlElement(name, attrs, [], bytesToBase64(serializeCurve25519PublicKey(key)));
}

/** `<encrypted xmlns='eu.siacs.conversations.axolotl'>`. `prekey` is written only when true. */
export function encodeEncrypted03(encrypted: Encrypted03): XmlElement {
  const keys = encrypted.keys.map((key) =>
    xmlElement('key', { rid: checkDeviceId(key.rid, 'rid'), prekey: key.prekey ? 'true' : undefined }, [], bytesToBase64(key.data)),
  );
  const header = xmlElement('header', { sid: checkDeviceId(encrypted.sid, 'sid') }, [
    ...keys,
    xmlElement('iv', {}, [], bytesToBase64(encrypted.iv)),
  ]);
  const children = [header];
  if (encrypted.payload !== undefined) {
    // An empty <payload/> is not valid base64Binary content for python-omemo; a message without
    // payload is written by leaving `payload` undefined.
    if (encrypted.payload.length === 0) throw new RangeError('encodeEncrypted03: empty payload (omit it instead)');
    children.push(xmlElement('payload', {}, [], bytesToBase64(encrypted.payload)));
  }
  return xmlElement('encrypted', { xmlns: NS }, children);
}

/** Parses `<encrypted>`; `<header>`/`<payload>` and `<key>`/`<iv>` may come in any order. */
export function decodeEncrypted03(element: XmlElement): Encrypted03 {
  expectRoot(element, 'encrypted', NS);
  onlyAttributes(element, []);
  let header: XmlElement | undefined;
  let payload: Uint8Array | undefined;
  for (const child of element.children) {
    if (child.name === 'header' && header === undefined) header = child;
    else if (child.name === 'payload' && payload === undefined) {
      expectChild(child, 'payload', NS);
      payload = parseBase64(leaf(child), 'payload');
    } else throw malformed('unexpected-element', `Unexpected or repeated <${child.name}>`);
  }
  if (header === undefined) throw malformed('missing-element', 'Missing <header>');
  expectChild(header, 'header', NS);
  onlyAttributes(header, ['sid']);
  const sid = parseDeviceId(header.attrs['sid'], 'sid');
  const keys: EncryptedKey03[] = [];
  let iv: Uint8Array | undefined;
  for (const child of header.children) {
    if (child.name === 'key') {
      if (keys.length >= MAX_KEYS) throw malformed('too-many-elements', 'Too many <key> elements');
      expectChild(child, 'key', NS);
      leaf(child, ['rid', 'prekey']);
      keys.push({
        rid: parseDeviceId(child.attrs['rid'], 'rid'),
        prekey: parseBooleanAttribute(child.attrs['prekey'], 'prekey'),
        data: parseBase64(child, 'key'),
      });
    } else if (child.name === 'iv' && iv === undefined) {
      expectChild(child, 'iv', NS);
      iv = parseBase64(leaf(child), 'iv');
      if (iv.length !== PAYLOAD_IV_LENGTH && iv.length !== LEGACY_PAYLOAD_IV_LENGTH) throw malformed('bad-length', 'iv must be 12 or 16 bytes');
    } else throw malformed('unexpected-element', `Unexpected or repeated <${child.name}>`);
  }
  if (iv === undefined) throw malformed('missing-element', 'Missing <iv>');
  return { sid, keys, iv, payload };
}

/** `<list xmlns='eu.siacs.conversations.axolotl'><device id/>..</list>`. */
export function encodeDeviceList03(deviceIds: readonly number[]): XmlElement {
  return xmlElement('list', { xmlns: NS }, deviceIds.map((id) => xmlElement('device', { id: checkDeviceId(id, 'device id') })));
}

/** Parses a device list; duplicate ids are rejected. An empty list is allowed (no devices). */
export function decodeDeviceList03(element: XmlElement): number[] {
  expectRoot(element, 'list', NS);
  onlyAttributes(element, []);
  if (element.text.trim() !== '') throw malformed('mixed-content', 'Unexpected text in <list>');
  if (element.children.length > MAX_LIST_ENTRIES) throw malformed('too-many-elements', 'Device list too long');
  const ids: number[] = [];
  for (const child of element.children) {
    expectChild(child, 'device', NS);
    leaf(child, ['id']);
    if (child.text !== '') throw malformed('unexpected-text', '<device> must be empty');
    const id = parseDeviceId(child.attrs['id'], 'device id');
    if (ids.includes(id)) throw malformed('duplicate-device', 'Duplicate device id');
    ids.push(id);
  }
  return ids;
}

/** `<bundle xmlns='eu.siacs.conversations.axolotl'>` in the element order of the XEP. */
export function encodeBundle03(bundle: Bundle03): XmlElement {
  if (bundle.signedPreKeySignature.length !== 64) throw new RangeError('signedPreKeySignature must be 64 bytes');
  return xmlElement('bundle', { xmlns: NS }, [
    keyElement('signedPreKeyPublic', bundle.signedPreKey, { signedPreKeyId: checkUint32Id(bundle.signedPreKeyId, 'signedPreKeyId') }),
    xmlElement('signedPreKeySignature', {}, [], bytesToBase64(bundle.signedPreKeySignature)),
    keyElement('identityKey', bundle.identityKey),
    xmlElement('prekeys', {}, bundle.preKeys.map((preKey) =>
      keyElement('preKeyPublic', preKey.key, { preKeyId: checkUint32Id(preKey.id, 'preKeyId') }))),
  ]);
}

function decodeKey(element: XmlElement, what: string): Uint8Array {
  const bytes = parseBase64(element, what);
  return parseCurve25519PublicKey(bytes);
}

/** Parses a bundle. Requires at least one prekey; duplicate prekey ids are rejected. */
export function decodeBundle03(element: XmlElement): Bundle03 {
  expectRoot(element, 'bundle', NS);
  onlyAttributes(element, []);
  for (const child of element.children) {
    if (!['signedPreKeyPublic', 'signedPreKeySignature', 'identityKey', 'prekeys'].includes(child.name)) {
      throw malformed('unexpected-element', `Unexpected <${child.name}>`);
    }
    expectChild(child, child.name, NS);
  }
  const spk = leaf(singleChild(element, 'signedPreKeyPublic'), ['signedPreKeyId']);
  const signature = parseBase64(leaf(singleChild(element, 'signedPreKeySignature')), 'signedPreKeySignature', 64);
  const identityKey = decodeKey(leaf(singleChild(element, 'identityKey')), 'identityKey');
  const prekeys = singleChild(element, 'prekeys');
  onlyAttributes(prekeys, []);
  if (prekeys.children.length === 0) throw malformed('missing-element', 'Bundle has no prekeys');
  if (prekeys.children.length > MAX_LIST_ENTRIES) throw malformed('too-many-elements', 'Too many prekeys');
  const preKeys: { id: number; key: Uint8Array }[] = [];
  for (const child of prekeys.children) {
    expectChild(child, 'preKeyPublic', NS);
    leaf(child, ['preKeyId']);
    const id = parseUint32(child.attrs['preKeyId'], 'preKeyId');
    if (preKeys.some((p) => p.id === id)) throw malformed('duplicate-prekey', 'Duplicate preKeyId');
    preKeys.push({ id, key: decodeKey(child, 'preKeyPublic') });
  }
  return {
    signedPreKeyId: parseUint32(spk.attrs['signedPreKeyId'], 'signedPreKeyId'),
    signedPreKey: decodeKey(spk, 'signedPreKeyPublic'),
    signedPreKeySignature: signature,
    identityKey,
    preKeys,
  };
}
