/**
 * Pure element builders and readers for OTR over XMPP (XEP-0364, "Current Off-the-Record
 * Messaging Usage"): OTR wire text travels in `<message type='chat'><body/>`, and every
 * message carrying OTR data gets the hygiene elements:
 * - XEP-0380 (Explicit Message Encryption) `<encryption xmlns='urn:xmpp:eme:0'
 *   namespace='urn:xmpp:otr:0'/>`, so clients without OTR can say why they see noise;
 * - XEP-0334 (Message Processing Hints) `<no-store/>`, `<no-permanent-store/>`, `<no-copy/>`:
 *   an OTR message is useless later (its keys are gone), so archives and offline storage
 *   must not keep it;
 * - XEP-0280 (Message Carbons) `<private xmlns='urn:xmpp:carbons:2'/>`: other resources of
 *   either account cannot decrypt it, so carbons must not copy it.
 */
import { xml, type Element } from '@xmpp/xml';

/** XEP-0380 namespace. */
export const NS_EME = 'urn:xmpp:eme:0';
/** The OTR namespace used in XEP-0380's `namespace` attribute (XEP-0364). */
export const NS_OTR = 'urn:xmpp:otr:0';
/** XEP-0334 namespace. */
export const NS_HINTS = 'urn:xmpp:hints';
/** XEP-0280 namespace. */
export const NS_CARBONS = 'urn:xmpp:carbons:2';
/** XEP-0203 delayed delivery (added by stream-management resends and offline storage). */
export const NS_DELAY = 'urn:xmpp:delay';

/** Whether a body carries OTR protocol data (encoded message, fragment, query or error). */
export function isOtrWireText(text: string): boolean {
  return text.startsWith('?OTR');
}

/** Options of {@link buildChatMessage}. */
export interface ChatMessageOptions {
  /** The stanza id (unique: receivers drop a repeated id from the same sender). */
  readonly id: string;
  /** Add XEP-0334 no-store hints even to a plaintext body (ephemeral mode). */
  readonly noStore?: boolean;
}

/** The XEP-0334 and XEP-0280 hints that keep a message out of archives and carbons. */
export function hintElements(): Element[] {
  return [
    xml('no-store', { xmlns: NS_HINTS }),
    xml('no-permanent-store', { xmlns: NS_HINTS }),
    xml('no-copy', { xmlns: NS_HINTS }),
    xml('private', { xmlns: NS_CARBONS }),
  ];
}

/**
 * `<message type='chat' to id><body>text</body>...</message>`. A body with OTR data gets
 * XEP-0380's encryption element and the hints; plaintext gets the hints only with `noStore`.
 */
export function buildChatMessage(to: string, text: string, options: ChatMessageOptions): Element {
  if (typeof to !== 'string' || to.length === 0) throw new TypeError('buildChatMessage: to must be a JID');
  if (typeof options.id !== 'string' || options.id.length === 0) throw new TypeError('buildChatMessage: id must be non-empty');
  const message = xml('message', { to, type: 'chat', id: options.id }, xml('body', {}, text));
  const otr = isOtrWireText(text);
  if (otr) message.append(xml('encryption', { xmlns: NS_EME, namespace: NS_OTR, name: 'OTR' }));
  if (otr || options.noStore === true) message.append(...hintElements());
  return message;
}

/** What an incoming `<message/>` holds for OTR, or why the plugin leaves it alone. */
export type IncomingChat =
  | { readonly kind: 'chat'; readonly from: string; readonly body: string; readonly id: string | undefined; readonly delayed: boolean }
  | { readonly kind: 'bounce'; readonly from: string; readonly id: string | undefined; readonly condition: string | undefined }
  | { readonly kind: 'other' };

/** Largest body the plugin hands to the OTR engine (longer bodies are an error event). */
export const MAX_BODY_CHARS = 1 << 20;

/**
 * Reads a `<message/>` for the plugin: a one-to-one chat body (types chat, normal or none)
 * from a peer, or an error bounce of a message we sent. Everything else (groupchat,
 * headline, no body, carbons, no sender) is `other` and passes through untouched.
 */
export function readIncomingChat(stanza: Element): IncomingChat {
  if (!stanza.is('message')) return { kind: 'other' };
  const from = stanza.attrs.from;
  if (typeof from !== 'string' || from.length === 0) return { kind: 'other' };
  const type = stanza.attrs.type ?? 'normal';
  const id = stanza.attrs.id;
  if (type === 'error') {
    const error = stanza.getChild('error');
    const condition = error?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === 'urn:ietf:params:xml:ns:xmpp-stanzas')?.name;
    return { kind: 'bounce', from, id, condition };
  }
  if (type !== 'chat' && type !== 'normal') return { kind: 'other' };
  const bodies = stanza.getChildren('body');
  if (bodies.length === 0) return { kind: 'other' };
  // Several bodies (xml:lang alternatives): OTR sends one; take the first.
  const body = (bodies[0] as Element).text();
  return { kind: 'chat', from, body, id, delayed: stanza.getChild('delay', NS_DELAY) !== undefined };
}

/** Replaces the text of the stanza's `<body/>` (the decrypted text for middleware after the plugin). */
export function replaceBody(stanza: Element, text: string): void {
  const body = stanza.getChild('body');
  if (body === undefined) return;
  body.children = [text];
  for (const extra of stanza.getChildren('body').slice(1)) stanza.remove(extra);
}

/** The bare JID (local@domain) of a JID, lower-cased (RFC 7622: localpart and domain are case-insensitive here). */
export function bareJid(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash < 0 ? jid : jid.slice(0, slash)).toLowerCase();
}

/** The JID with its bare part lower-cased and the resource kept as is. */
export function normalizeJid(jid: string): string {
  const slash = jid.indexOf('/');
  return slash < 0 ? jid.toLowerCase() : jid.slice(0, slash).toLowerCase() + jid.slice(slash);
}

/** Whether the JID has a resource. */
export function isFullJid(jid: string): boolean {
  const slash = jid.indexOf('/');
  return slash > 0 && slash < jid.length - 1;
}
