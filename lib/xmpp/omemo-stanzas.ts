/**
 * Pure element builders and readers for OMEMO over XMPP (XEP-0384 0.3.0 and XEP-0384
 * `urn:xmpp:omemo:2`): conversion between @xmpp/xml elements and the transport-free
 * {@link XmlElement} model of `omemo/`, the PEP (XEP-0163 / XEP-0060) requests the plugin
 * sends, the `<message>` carrying an `<encrypted>` element with its hygiene (XEP-0380 EME,
 * XEP-0334 store hint, a fallback body), XEP-0280 carbons unwrapping, PEP event notifications
 * and XEP-0115 entity capabilities.
 */
import { createHash } from 'node:crypto';
import { xml, type Element } from '@xmpp/xml';
import { xmlElement, type XmlElement } from '../../omemo/xml-element.js';
import { NAMESPACE_03, DEVICE_LIST_NODE_03 } from '../../omemo/versions/v03/profile.js';
import { NAMESPACE_2, DEVICE_LIST_NODE_2, BUNDLES_NODE_2 } from '../../omemo/versions/v2/profile.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import { NS_EME, NS_HINTS, NS_CARBONS, bareJid } from './otr-stanzas.js';

export { NAMESPACE_03, DEVICE_LIST_NODE_03, NAMESPACE_2, DEVICE_LIST_NODE_2, BUNDLES_NODE_2 };

/** XEP-0060 namespaces. */
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
export const NS_PUBSUB_ERRORS = 'http://jabber.org/protocol/pubsub#errors';
/** XEP-0004 data forms. */
export const NS_DATA = 'jabber:x:data';
/** XEP-0030 / XEP-0115. */
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_CAPS = 'http://jabber.org/protocol/caps';
/** XEP-0297 forwarding (inside carbons). */
export const NS_FORWARD = 'urn:xmpp:forward:0';

/** The fallback body of XEP-0384 (both versions use the same sentence in practice). */
export const OMEMO_FALLBACK_BODY = "I sent you an OMEMO encrypted message but your client doesn't seem to support that.";

/** The `+notify` features (XEP-0163 section 4.4) that make the server push contacts' device lists. */
export const OMEMO_NOTIFY_FEATURES: readonly string[] = [`${DEVICE_LIST_NODE_03}+notify`, `${DEVICE_LIST_NODE_2}+notify`];

/** The namespace of a version's elements. */
export function namespaceOf(version: OmemoVersion): string {
  return version === '0.3' ? NAMESPACE_03 : NAMESPACE_2;
}

/** The device list node of a version. */
export function deviceListNode(version: OmemoVersion): string {
  return version === '0.3' ? DEVICE_LIST_NODE_03 : DEVICE_LIST_NODE_2;
}

// ---- element model conversion --------------------------------------------------------------

/** Bounds on converting a network element (hostile input stays bounded). */
const MAX_CONVERT_DEPTH = 16;
const MAX_CONVERT_ELEMENTS = 4096;

/**
 * Converts an @xmpp/xml element to the `omemo/` model: whitespace-only text between children
 * is dropped; an element with both children and text keeps only its children (OMEMO has no
 * mixed content). RangeError past the depth / size bounds.
 */
export function toXmlElement(element: Element): XmlElement {
  let count = 0;
  const convert = (el: Element, depth: number): XmlElement => {
    if (depth > MAX_CONVERT_DEPTH || ++count > MAX_CONVERT_ELEMENTS) throw new RangeError('element too deep or too large');
    const children = el.children.filter((c): c is Element => typeof c !== 'string');
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(el.attrs)) if (typeof v === 'string') attrs[k] = v;
    if (children.length > 0) return xmlElement(el.name, attrs, children.map((c) => convert(c, depth + 1)));
    return xmlElement(el.name, attrs, [], el.children.filter((c): c is string => typeof c === 'string').join(''));
  };
  return convert(element, 0);
}

/** Converts an `omemo/` element to an @xmpp/xml element. */
export function toLtx(element: XmlElement): Element {
  const out = xml(element.name, { ...element.attrs });
  if (element.children.length > 0) out.append(...element.children.map(toLtx));
  else if (element.text !== '') out.append(element.text);
  return out;
}

// ---- PEP requests ---------------------------------------------------------------------------

function field(name: string, value: string, type?: string): Element {
  return xml('field', type === undefined ? { var: name } : { var: name, type }, xml('value', {}, value));
}

/** The node options OMEMO needs: open access (both versions), and max items for omemo:2's bundles node. */
export function nodeOptions(node: string): Readonly<Record<string, string>> {
  return node === BUNDLES_NODE_2 ? { 'pubsub#access_model': 'open', 'pubsub#max_items': 'max' } : { 'pubsub#access_model': 'open' };
}

function form(formType: string, options: Readonly<Record<string, string>>): Element {
  return xml('x', { xmlns: NS_DATA, type: 'submit' }, field('FORM_TYPE', formType, 'hidden'), ...Object.entries(options).map(([k, v]) => field(k, v)));
}

/** `<pubsub><publish node><item id>payload</item></publish><publish-options/></pubsub>` (XEP-0060 7.1.5). */
export function publishRequest(node: string, itemId: string, payload: Element): Element {
  return xml(
    'pubsub',
    { xmlns: NS_PUBSUB },
    xml('publish', { node }, xml('item', { id: itemId }, payload)),
    xml('publish-options', {}, form(`${NS_PUBSUB}#publish-options`, nodeOptions(node))),
  );
}

/** `<pubsub xmlns=owner><configure node><x type=submit/></configure></pubsub>` (XEP-0060 8.2.4). */
export function configureRequest(node: string): Element {
  return xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('configure', { node }, form(`${NS_PUBSUB}#node_config`, nodeOptions(node))));
}

/** `<pubsub><items node>[<item id/>]</items></pubsub>` (XEP-0060 6.5). */
export function itemsRequest(node: string, itemId?: string): Element {
  const items = xml('items', { node });
  if (itemId !== undefined) items.append(xml('item', { id: itemId }));
  return xml('pubsub', { xmlns: NS_PUBSUB }, items);
}

/** The payloads of the items of an `<items>` result or event (first child element of each `<item>`), with their ids. */
export function itemPayloads(items: Element | undefined): { readonly id: string | undefined; readonly payload: Element }[] {
  if (items === undefined) return [];
  const out: { id: string | undefined; payload: Element }[] = [];
  for (const item of items.getChildren('item')) {
    const payload = item.children.find((c): c is Element => typeof c !== 'string');
    if (payload !== undefined) out.push({ id: item.attrs.id, payload });
  }
  return out;
}

/** A PEP notification (XEP-0163 section 4.3): the publisher's bare JID, the node and its items. */
export interface PepEvent {
  readonly from: string;
  readonly node: string;
  readonly items: Element;
}

/** Reads a PEP event notification from a `<message>` (headline or any type), or undefined. */
export function readPepEvent(stanza: Element): PepEvent | undefined {
  if (!stanza.is('message')) return undefined;
  const event = stanza.getChild('event', NS_PUBSUB_EVENT);
  const items = event?.getChild('items');
  const node = items?.attrs.node;
  if (items === undefined || typeof node !== 'string') return undefined;
  const from = stanza.attrs.from;
  // A PEP event comes from the owner's bare JID; without `from` it is our own account's.
  return { from: typeof from === 'string' && from.length > 0 ? bareJid(from) : '', node, items };
}

/** Whether a StanzaError-like failure is XEP-0060's precondition-not-met (7.1.5: conflict + pubsub#errors). */
export function isPreconditionNotMet(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { condition?: unknown; element?: Element; application?: Element };
  if (e.application?.name === 'precondition-not-met') return true;
  return e.element?.getChild('precondition-not-met', NS_PUBSUB_ERRORS) !== undefined;
}

/** Whether a fetch failed because the node or item does not exist (XEP-0060: item-not-found; Prosody: forbidden for others' missing PEP nodes). */
export function isMissingNode(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const condition = (error as { condition?: unknown }).condition;
  return condition === 'item-not-found' || condition === 'forbidden';
}

// ---- messages -------------------------------------------------------------------------------

/**
 * `<message type='chat' to id>` with the `<encrypted>` element, XEP-0380's
 * `<encryption name='OMEMO' namespace>`, XEP-0334's `<store/>` (offline storage and MAM keep
 * OMEMO messages: other devices need them), XEP-0359's `<origin-id>` and, unless `body` is false (empty key-transport
 * messages), the fallback body.
 */
export function buildOmemoMessage(to: string, id: string, version: OmemoVersion, encrypted: XmlElement, body = true): Element {
  const message = xml('message', { to, type: 'chat', id }, toLtx(encrypted), xml('encryption', { xmlns: NS_EME, name: 'OMEMO', namespace: namespaceOf(version) }));
  message.append(xml('store', { xmlns: NS_HINTS }));
  // XEP-0359 origin-id: lets our other devices recognise this message when it comes back from the archive.
  message.append(xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id }));
  if (body) message.append(xml('body', {}, OMEMO_FALLBACK_BODY));
  return message;
}

/** An incoming message with an `<encrypted>` element, after carbons unwrapping. */
export interface IncomingOmemo {
  /** The message that carries the `<encrypted>` element (the forwarded one for carbons). */
  readonly message: Element;
  readonly encrypted: Element;
  readonly version: OmemoVersion;
  /** Bare JID of the sender (ours for a sent carbon). */
  readonly senderJid: string;
  /** Full JID of the sender as stamped (may be a bare JID). */
  readonly senderFullJid: string;
  /** Bare JID of the addressee (ours for received messages, the contact's for sent carbons). */
  readonly toJid: string;
  /** XEP-0280: 'sent' (another device of ours sent it), 'received' (a copy for us), or undefined. */
  readonly carbon: 'sent' | 'received' | undefined;
  readonly type: string;
  readonly id: string | undefined;
}

/** The `<encrypted>` element a message carries directly (omemo:2 first), with its version. */
export function encryptedOf(message: Element): { element: Element; version: OmemoVersion } | undefined {
  const v2 = message.getChild('encrypted', NAMESPACE_2);
  if (v2 !== undefined) return { element: v2, version: '2' };
  const v03 = message.getChild('encrypted', NAMESPACE_03);
  if (v03 !== undefined) return { element: v03, version: '0.3' };
  return undefined;
}

/**
 * Reads a `<message>` for OMEMO: a direct one, or a XEP-0280 carbon (accepted only from our own
 * bare JID, XEP-0280 section 11: anyone else's carbon is a forgery). omemo:2 wins when a
 * stanza carries both versions. Groupchat and error messages are left alone (undefined).
 */
export function readIncomingOmemo(stanza: Element, ownJid: string): IncomingOmemo | undefined {
  if (!stanza.is('message')) return undefined;
  const outerFrom = typeof stanza.attrs.from === 'string' ? stanza.attrs.from : ownJid;
  for (const kind of ['sent', 'received'] as const) {
    const wrapper = stanza.getChild(kind, NS_CARBONS);
    if (wrapper === undefined) continue;
    if (bareJid(outerFrom) !== ownJid) return undefined;
    const inner = wrapper.getChild('forwarded', NS_FORWARD)?.getChild('message');
    if (inner === undefined) return undefined;
    const found = encryptedOf(inner);
    const from = inner.attrs.from;
    const to = inner.attrs.to;
    if (found === undefined || typeof from !== 'string' || typeof to !== 'string') return undefined;
    const type = inner.attrs.type ?? 'normal';
    if (type === 'groupchat' || type === 'error') return undefined;
    return {
      message: inner, encrypted: found.element, version: found.version, senderJid: bareJid(from), senderFullJid: from, toJid: bareJid(to), carbon: kind, type, id: inner.attrs.id,
    };
  }
  const found = encryptedOf(stanza);
  if (found === undefined) return undefined;
  const type = stanza.attrs.type ?? 'normal';
  if (type === 'groupchat' || type === 'error') return undefined;
  const to = typeof stanza.attrs.to === 'string' ? bareJid(stanza.attrs.to) : ownJid;
  return {
    message: stanza, encrypted: found.element, version: found.version, senderJid: bareJid(outerFrom), senderFullJid: outerFrom, toJid: to, carbon: undefined, type, id: stanza.attrs.id,
  };
}

// ---- disco / caps ---------------------------------------------------------------------------

/** Our XEP-0030 identity. */
export const DISCO_IDENTITY = { category: 'client', type: 'bot', name: 'xmpp-otr-omemo' } as const;
/** XEP-0115 node URI. */
export const CAPS_NODE = 'https://github.com/xmpp-otr-omemo';

/** The features we advertise: disco#info, caps and the OMEMO `+notify` features. */
export function discoFeatures(extra: readonly string[] = []): string[] {
  return [...new Set([NS_DISCO_INFO, NS_CAPS, ...OMEMO_NOTIFY_FEATURES, ...extra])].sort();
}

/** XEP-0115 section 5.1 verification string, SHA-1, base64 (no extended forms). */
export function capsVer(
  features: readonly string[],
  id: { readonly category: string; readonly type: string; readonly name: string } = DISCO_IDENTITY,
): string {
  const identity = `${id.category}/${id.type}//${id.name}<`;
  const s = identity + [...features].sort().map((f) => `${f}<`).join('');
  return createHash('sha1').update(s, 'utf8').digest('base64');
}

/** `<query xmlns=disco#info node?>` answering a disco#info request (XEP-0030 section 3.1). */
export function discoInfoResult(features: readonly string[], node?: string): Element {
  return xml(
    'query',
    node === undefined ? { xmlns: NS_DISCO_INFO } : { xmlns: NS_DISCO_INFO, node },
    xml('identity', { ...DISCO_IDENTITY }),
    ...features.map((f) => xml('feature', { var: f })),
  );
}

/** `<c xmlns=caps hash='sha-1' node ver/>` for presence (XEP-0115 section 4). */
export function capsElement(features: readonly string[]): Element {
  return xml('c', { xmlns: NS_CAPS, hash: 'sha-1', node: CAPS_NODE, ver: capsVer(features) });
}

/** Puts the decrypted text in the message's `<body>` (replacing the fallback) for middleware after the plugin. */
export function replaceFallbackBody(message: Element, text: string): void {
  const bodies = message.getChildren('body');
  for (const extra of bodies.slice(1)) message.remove(extra);
  const body = bodies[0];
  if (body === undefined) message.append(xml('body', {}, text));
  else body.children = [text];
}
