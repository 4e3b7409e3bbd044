/**
 * XEP-0357 (Push Notifications) stanzas on the client side, as pure builders and parsers:
 * disco#info on the account (§4), `<enable/>` with a publish-options form carrying the secret
 * (§5) and, where the server supports it, the `tigase:push:encrypt:0` `<encrypt
 * alg='aes-128-gcm'>` key; `<disable/>` of one node or of every node at an app server (§6).
 */
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';

export const NS_PUSH = 'urn:xmpp:push:0';
export const NS_PUSH_ENCRYPT = 'tigase:push:encrypt:0';
/** The feature naming the AES-128-GCM algorithm of `tigase:push:encrypt:0`. */
export const FEATURE_PUSH_ENCRYPT_AES128GCM = 'tigase:push:encrypt:aes-128-gcm';
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DATA = 'jabber:x:data';
const FORM_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';

/** What the account's server offers for push. */
export interface PushSupport {
  /** `urn:xmpp:push:0` is advertised (XEP-0357 §4). */
  readonly push: boolean;
  /** `tigase:push:encrypt:0` together with `tigase:push:encrypt:aes-128-gcm`. */
  readonly encryption: boolean;
}

/** A disco#info query (XEP-0030 §3.1). */
export function discoInfoQuery(): XmppClientElement {
  return xml('query', { xmlns: NS_DISCO_INFO });
}

/** Reads push support from a disco#info result `<query/>`. */
export function parsePushSupport(query: XmppClientElement): PushSupport {
  const features = new Set(query.getChildren('feature').map((f) => f.attrs['var'] ?? ''));
  return {
    push: features.has(NS_PUSH),
    encryption: features.has(NS_PUSH_ENCRYPT) && features.has(FEATURE_PUSH_ENCRYPT_AES128GCM),
  };
}

/** Fields of `<enable/>`. */
export interface EnableParameters {
  /** The app server's JID (XEP-0357 §5 `jid`). */
  readonly jid: string;
  /** The node the app server gave this device. */
  readonly node: string;
  /** The publish-options `secret` the server will present to the app server. */
  readonly secret: string | undefined;
  /** Base64 of the 16-byte AES-128-GCM key for `tigase:push:encrypt:0`, when used. */
  readonly encryptionKey: string | undefined;
}

/** `<enable xmlns='urn:xmpp:push:0' jid node>` (XEP-0357 §5, Example 9). */
export function enableElement(p: EnableParameters): XmppClientElement {
  const children: XmppClientElement[] = [];
  if (p.secret !== undefined) {
    children.push(
      xml(
        'x',
        { xmlns: NS_DATA, type: 'submit' },
        xml('field', { var: 'FORM_TYPE' }, xml('value', {}, FORM_PUBLISH_OPTIONS)),
        xml('field', { var: 'secret' }, xml('value', {}, p.secret)),
      ),
    );
  }
  if (p.encryptionKey !== undefined) children.push(xml('encrypt', { xmlns: NS_PUSH_ENCRYPT, alg: 'aes-128-gcm' }, p.encryptionKey));
  return xml('enable', { xmlns: NS_PUSH, jid: p.jid, node: p.node }, ...children);
}

/** `<disable xmlns='urn:xmpp:push:0' jid [node]>`: without `node`, every node at `jid` (XEP-0357 §6). */
export function disableElement(jid: string, node?: string): XmppClientElement {
  return xml('disable', { xmlns: NS_PUSH, jid, ...(node !== undefined ? { node } : {}) });
}
