/**
 * The XEP-0357 §7 publish as an app server receives it, and its answers, as pure functions:
 * `parsePushPublish` reads `<iq type='set'><pubsub><publish node><item><notification
 * xmlns='urn:xmpp:push:0'>` with its `urn:xmpp:push:summary` form, the publish-options secret
 * (XEP-0357 §5) and an optional `tigase:push:encrypt:0` `<encrypted iv>` blob. It keeps only
 * what a device may learn (count, importance, the opaque encrypted blob): the
 * `last-message-body` and `last-message-sender` values are read as present/absent and dropped.
 */
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';

export const NS_PUSH = 'urn:xmpp:push:0';
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_DATA = 'jabber:x:data';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_PUSH_ENCRYPT = 'tigase:push:encrypt:0';
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const FORM_SUMMARY = 'urn:xmpp:push:summary';
const FORM_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';

/** A parsed push publish. */
export interface PushPublish {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly node: string | undefined;
  readonly secret: string | undefined;
  readonly unread: number | undefined;
  readonly important: boolean;
  readonly encrypted: { readonly iv: string; readonly payload: string } | undefined;
}

/** Data form fields as var -> first value. */
export function formFields(form: XmppClientElement | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of form?.getChildren('field') ?? []) {
    const name = f.attrs['var'];
    if (name !== undefined && !out.has(name)) out.set(name, f.getChildText('value') ?? '');
  }
  return out;
}

function findForm(parent: XmppClientElement | undefined, formType: string): XmppClientElement | undefined {
  return parent?.getChildren('x', NS_DATA).find((x) => formFields(x).get('FORM_TYPE') === formType);
}

/** Whether `iq` is a pubsub publish set (the only thing a push app server accepts). */
export function isPubsubPublish(iq: XmppClientElement): boolean {
  return iq.is('iq') && iq.attrs['type'] === 'set' && iq.getChild('pubsub', NS_PUBSUB)?.getChild('publish') !== undefined;
}

/** Reads a publish (see the module comment). */
export function parsePushPublish(iq: XmppClientElement): PushPublish {
  const pubsub = iq.getChild('pubsub', NS_PUBSUB);
  const publish = pubsub?.getChild('publish');
  const notification = publish?.getChild('item')?.getChild('notification', NS_PUSH);
  const summary = formFields(findForm(notification, FORM_SUMMARY));
  const options = formFields(findForm(pubsub?.getChild('publish-options'), FORM_PUBLISH_OPTIONS));
  const countText = summary.get('message-count');
  const count = countText !== undefined && /^\d{1,9}$/.test(countText) ? Number(countText) : undefined;
  const enc = notification?.getChild('encrypted', NS_PUSH_ENCRYPT);
  const iv = enc?.attrs['iv'];
  const payload = enc?.text().trim();
  return {
    id: iq.attrs['id'] ?? '',
    from: iq.attrs['from'] ?? '',
    to: iq.attrs['to'] ?? '',
    node: publish?.attrs['node'],
    secret: options.get('secret'),
    unread: count,
    important: summary.has('last-message-body') || (enc !== undefined && enc.attrs['type'] === 'voip'),
    encrypted: iv !== undefined && payload ? { iv, payload } : undefined,
  };
}

/** `<iq type='result'/>` answering `iq`. */
export function iqResult(iq: XmppClientElement, child?: XmppClientElement): XmppClientElement {
  return xml('iq', { type: 'result', id: iq.attrs['id'], to: iq.attrs['from'], from: iq.attrs['to'] }, child);
}

/** Stanza error types (RFC 6120 §8.3.2). */
export type StanzaErrorType = 'auth' | 'cancel' | 'modify' | 'wait';

/** `<iq type='error'>` with a defined condition (RFC 6120 §8.3.3). */
export function iqError(iq: XmppClientElement, type: StanzaErrorType, condition: string): XmppClientElement {
  return xml(
    'iq',
    { type: 'error', id: iq.attrs['id'], to: iq.attrs['from'], from: iq.attrs['to'] },
    xml('error', { type }, xml(condition, { xmlns: NS_STANZAS })),
  );
}

/** XEP-0357 §4 / XEP-0030: the app server's identity, category `pubsub`, type `push` (and XEP-0050 when offered). */
export function discoInfo(commands = false): XmppClientElement {
  return xml(
    'query',
    { xmlns: NS_DISCO_INFO },
    xml('identity', { category: 'pubsub', type: 'push', name: 'push app server' }),
    xml('feature', { var: NS_PUSH }),
    xml('feature', { var: NS_DISCO_INFO }),
    commands ? xml('feature', { var: 'http://jabber.org/protocol/commands' }) : undefined,
  );
}
