/**
 * Element codecs of omemo:2 (XEP-0384 sections 5.3.1 device list, 5.3.2 bundle, 6 message
 * format): `<encrypted>`, `<devices>`, `<bundle>`, as plain objects in and {@link XmlElement}s
 * out. Keys are raw 32 bytes (identity key Ed25519). Decoders are strict (MalformedMessageError
 * `omemo.xml.*`).
 */
import { bytesToBase64 } from '../../../lib/core/bytes.js';
import { MalformedMessageError } from '../../../lib/core/errors.js';
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
import { NAMESPACE_2 } from './profile.js';

/** One `<key rid kex>`: an OMEMOAuthenticatedMessage, or an OMEMOKeyExchange when `kex`. */
export interface EncryptedKey2 {
  readonly rid: number;
  readonly kex: boolean;
  readonly data: Uint8Array;
}

/** `<keys jid>`: the keys for the devices of one bare JID (match on jid AND rid). */
export interface KeysForJid2 {
  readonly jid: string;
  readonly keys: readonly EncryptedKey2[];
}

/** `<encrypted>`: header (sid, keys per JID) and the optional payload (absent = empty message). */
export interface Encrypted2 {
  readonly sid: number;
  readonly keys: readonly KeysForJid2[];
  readonly payload?: Uint8Array | undefined;
}

/** One `<device id label labelsig>` of a device list. */
export interface DeviceListEntry2 {
  readonly id: number;
  readonly label?: string | undefined;
  /** Base64 signature of the label by the identity key (XEP-0384 5.3.1); kept verbatim. */
  readonly labelsig?: string | undefined;
}

/** A published bundle (raw keys; identity key Ed25519). */
export interface Bundle2 {
  readonly spkId: number;
  readonly spk: Uint8Array;
  readonly spks: Uint8Array;
  readonly ik: Uint8Array;
  readonly preKeys: readonly { readonly id: number; readonly key: Uint8Array }[];
}

/** Bound on `<key>` elements in one message. */
export const MAX_KEYS = 1000;
/** Bound on devices in a device list and prekeys in a bundle. */
export const MAX_LIST_ENTRIES = 1000;
/** Bound on a device label's length. */
export const MAX_LABEL_LENGTH = 256;

const NS = NAMESPACE_2;

function malformed(code: string, message: string): MalformedMessageError {
  return new MalformedMessageError(`omemo.xml.${code}`, message);
}

/**
 * A plausible bare JID: 1..3071 characters, no resource, no whitespace or control characters.
 * Full JID validation (stringprep/PRECIS) belongs to the XMPP layer; this keeps the encoder and
 * decoder symmetric and keeps obvious junk out of session lookups.
 */
function isPlausibleBareJid(jid: string): boolean {
  return jid.length > 0 && jid.length <= 3071 && !/[\s/\u0000-\u001f\u007f]/.test(jid);
}

function checkJid(jid: string): string {
  if (!isPlausibleBareJid(jid)) throw new RangeError('jid must be a bare JID');
  return jid;
}

/** `<encrypted xmlns='urn:xmpp:omemo:2'>`. `kex` is written only when true. */
export function encodeEncrypted2(encrypted: Encrypted2): XmlElement {
  const header = xmlElement('header', { sid: checkDeviceId(encrypted.sid, 'sid') }, encrypted.keys.map((group) =>
    xmlElement('keys', { jid: checkJid(group.jid) }, group.keys.map((key) =>
      xmlElement('key', { rid: checkDeviceId(key.rid, 'rid'), kex: key.kex ? 'true' : undefined }, [], bytesToBase64(key.data)))),
  ));
  const children = [header];
  if (encrypted.payload !== undefined) {
    // An empty <payload/> is not valid base64Binary content for python-omemo; a message without
    // payload is written by leaving `payload` undefined.
    if (encrypted.payload.length === 0) throw new RangeError('encodeEncrypted2: empty payload (omit it instead)');
    children.push(xmlElement('payload', {}, [], bytesToBase64(encrypted.payload)));
  }
  return xmlElement('encrypted', { xmlns: NS }, children);
}

/** Parses `<encrypted>`. Every `<keys>` needs a jid and at least one `<key>`. */
export function decodeEncrypted2(element: XmlElement): Encrypted2 {
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
  if (header.children.length === 0) throw malformed('missing-element', 'Header without <keys>');
  const groups: KeysForJid2[] = [];
  let total = 0;
  for (const keysElement of header.children) {
    expectChild(keysElement, 'keys', NS);
    onlyAttributes(keysElement, ['jid']);
    const jid = keysElement.attrs['jid'];
    if (jid === undefined || jid === '') throw malformed('missing-attribute', '<keys> without jid');
    if (!isPlausibleBareJid(jid)) throw malformed('bad-jid', '<keys> jid is not a bare JID');
    if (keysElement.children.length === 0) throw malformed('missing-element', '<keys> without <key>');
    const keys: EncryptedKey2[] = [];
    for (const keyElement of keysElement.children) {
      if (++total > MAX_KEYS) throw malformed('too-many-elements', 'Too many <key> elements');
      expectChild(keyElement, 'key', NS);
      leaf(keyElement, ['rid', 'kex']);
      keys.push({
        rid: parseDeviceId(keyElement.attrs['rid'], 'rid'),
        kex: parseBooleanAttribute(keyElement.attrs['kex'], 'kex'),
        data: parseBase64(keyElement, 'key'),
      });
    }
    groups.push({ jid, keys });
  }
  return { sid, keys: groups, payload };
}

/** `<devices xmlns='urn:xmpp:omemo:2'><device id label? labelsig?/>..</devices>`. */
export function encodeDeviceList2(devices: readonly DeviceListEntry2[]): XmlElement {
  return xmlElement('devices', { xmlns: NS }, devices.map((device) =>
    xmlElement('device', { id: checkDeviceId(device.id, 'device id'), label: device.label, labelsig: device.labelsig })));
}

/** Parses a device list; duplicate ids are rejected, an empty list is allowed. */
export function decodeDeviceList2(element: XmlElement): DeviceListEntry2[] {
  expectRoot(element, 'devices', NS);
  onlyAttributes(element, []);
  if (element.text.trim() !== '') throw malformed('mixed-content', 'Unexpected text in <devices>');
  if (element.children.length > MAX_LIST_ENTRIES) throw malformed('too-many-elements', 'Device list too long');
  const devices: DeviceListEntry2[] = [];
  for (const child of element.children) {
    expectChild(child, 'device', NS);
    leaf(child, ['id', 'label', 'labelsig']);
    if (child.text !== '') throw malformed('unexpected-text', '<device> must be empty');
    const id = parseDeviceId(child.attrs['id'], 'device id');
    if (devices.some((d) => d.id === id)) throw malformed('duplicate-device', 'Duplicate device id');
    const label = child.attrs['label'];
    if (label !== undefined && label.length > MAX_LABEL_LENGTH) throw malformed('oversized', 'Label too long');
    const labelsig = child.attrs['labelsig'];
    devices.push({ id, ...(label !== undefined ? { label } : {}), ...(labelsig !== undefined ? { labelsig } : {}) });
  }
  return devices;
}

/** `<bundle xmlns='urn:xmpp:omemo:2'>` with spk, spks, ik, prekeys (python-twomemo's order). */
export function encodeBundle2(bundle: Bundle2): XmlElement {
  const key = (name: string, bytes: Uint8Array, length: number, attrs: Record<string, string> = {}): XmlElement => {
    if (bytes.length !== length) throw new RangeError(`${name} must be ${length} bytes`);
    return xmlElement(name, attrs, [], bytesToBase64(bytes));
  };
  return xmlElement('bundle', { xmlns: NS }, [
    key('spk', bundle.spk, 32, { id: checkUint32Id(bundle.spkId, 'spk id') }),
    key('spks', bundle.spks, 64),
    key('ik', bundle.ik, 32),
    xmlElement('prekeys', {}, bundle.preKeys.map((p) => key('pk', p.key, 32, { id: checkUint32Id(p.id, 'pk id') }))),
  ]);
}

/** Parses a bundle (children in any order, each exactly once); at least one prekey. */
export function decodeBundle2(element: XmlElement): Bundle2 {
  expectRoot(element, 'bundle', NS);
  onlyAttributes(element, []);
  for (const child of element.children) {
    if (!['spk', 'spks', 'ik', 'prekeys'].includes(child.name)) throw malformed('unexpected-element', `Unexpected <${child.name}>`);
    expectChild(child, child.name, NS);
  }
  const spk = leaf(singleChild(element, 'spk'), ['id']);
  const prekeys = singleChild(element, 'prekeys');
  onlyAttributes(prekeys, []);
  if (prekeys.children.length === 0) throw malformed('missing-element', 'Bundle has no prekeys');
  if (prekeys.children.length > MAX_LIST_ENTRIES) throw malformed('too-many-elements', 'Too many prekeys');
  const preKeys: { id: number; key: Uint8Array }[] = [];
  for (const child of prekeys.children) {
    expectChild(child, 'pk', NS);
    leaf(child, ['id']);
    const id = parseUint32(child.attrs['id'], 'pk id');
    if (preKeys.some((p) => p.id === id)) throw malformed('duplicate-prekey', 'Duplicate prekey id');
    preKeys.push({ id, key: parseBase64(child, 'pk', 32) });
  }
  return {
    spkId: parseUint32(spk.attrs['id'], 'spk id'),
    spk: parseBase64(spk, 'spk', 32),
    spks: parseBase64(leaf(singleChild(element, 'spks')), 'spks', 64),
    ik: parseBase64(leaf(singleChild(element, 'ik')), 'ik', 32),
    preKeys,
  };
}
