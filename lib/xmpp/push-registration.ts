/**
 * The device's side of registering with a push app server over XMPP (lib/push's
 * device-commands.ts): the XEP-0050 `register-push` command, executed in one stage with the
 * submitted form, returns the `node` and `secret` to pass to `enable()` (lib/xmpp/push.ts);
 * `unregister-push` removes the device. This is our app server's convention, not a XEP.
 */
import { xml } from '@xmpp/client';
import type { XmppClient, XmppClientElement } from '@xmpp/client';
import { PushError } from './push-errors.js';

const NS_COMMANDS = 'http://jabber.org/protocol/commands';
const NS_DATA = 'jabber:x:data';

/** What the device registers. */
export type PushDeviceTarget =
  | { readonly service: 'webpush'; readonly endpoint: string; readonly p256dh: Uint8Array; readonly auth: Uint8Array }
  | { readonly service: 'fcm' | 'apns'; readonly token: string };

/** The app server's answer to `register-push`. */
export interface AppServerRegistration {
  readonly jid: string;
  readonly node: string;
  readonly secret: string;
}

function command(node: string, fields: Record<string, string>): XmppClientElement {
  return xml(
    'command',
    { xmlns: NS_COMMANDS, node, action: 'execute' },
    xml('x', { xmlns: NS_DATA, type: 'submit' }, ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v)))),
  );
}

async function run(iqCaller: XmppClient['iqCaller'], jid: string, node: string, fields: Record<string, string>): Promise<Map<string, string>> {
  let reply: XmppClientElement;
  try {
    reply = await iqCaller.set(command(node, fields), jid);
  } catch (error) {
    const e = error as { name?: string; condition?: string; type?: string };
    if (e?.name === 'TimeoutError') throw new PushError('push.timeout', `${node}: no answer in time`, { cause: error });
    throw new PushError('push.registration-refused', `${node}: ${e?.condition ?? 'failed'}`, { condition: e?.condition, errorType: e?.type, cause: error });
  }
  if (reply.attrs['status'] !== 'completed') throw new PushError('push.registration-refused', `${node}: command not completed`);
  const out = new Map<string, string>();
  for (const f of reply.getChild('x', NS_DATA)?.getChildren('field') ?? []) {
    const v = f.attrs['var'];
    if (v !== undefined) out.set(v, f.getChildText('value') ?? '');
  }
  return out;
}

/** Registers this device at the app server `jid`; returns the node and secret for `enable()`. */
export async function registerPushDevice(iqCaller: XmppClient['iqCaller'], jid: string, target: PushDeviceTarget): Promise<AppServerRegistration> {
  const fields: Record<string, string> =
    target.service === 'webpush'
      ? {
          service: 'webpush',
          endpoint: target.endpoint,
          p256dh: Buffer.from(target.p256dh).toString('base64url'),
          auth: Buffer.from(target.auth).toString('base64url'),
        }
      : { service: target.service, token: target.token };
  const result = await run(iqCaller, jid, 'register-push', fields);
  const node = result.get('node');
  const secret = result.get('secret');
  if (!node || !secret) throw new PushError('push.registration-refused', 'register-push: the answer has no node and secret');
  return { jid, node, secret };
}

/** Removes this device's registration at the app server. */
export async function unregisterPushDevice(iqCaller: XmppClient['iqCaller'], registration: AppServerRegistration): Promise<void> {
  await run(iqCaller, registration.jid, 'unregister-push', { node: registration.node, secret: registration.secret });
}
