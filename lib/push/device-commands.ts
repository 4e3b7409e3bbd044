/**
 * Device registration at the app server over XMPP, as XEP-0050 ad-hoc commands executed in
 * one stage (the request carries the submitted form): `register-push` (fields `service`, and
 * `endpoint` + `p256dh` + `auth` for Web Push or `token` for FCM/APNs) answers a completed
 * command whose result form carries a fresh `node` and `secret`, which the client then gives
 * its own server in `<enable/>` (XEP-0357 §5); `unregister-push` (fields `node`, `secret`)
 * removes one. Pure parsing and building; app-server.ts decides who may use them.
 */
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { NS_DATA, formFields } from './pubsub-publish.js';
import type { DeviceTarget } from './push-services.js';

export const NS_COMMANDS = 'http://jabber.org/protocol/commands';
export const COMMAND_REGISTER = 'register-push';
export const COMMAND_UNREGISTER = 'unregister-push';

/** A parsed command request. */
export type DeviceCommand =
  | { readonly kind: 'register'; readonly target: DeviceTarget }
  | { readonly kind: 'unregister'; readonly node: string; readonly secret: string }
  | { readonly kind: 'invalid'; readonly condition: 'bad-request' | 'item-not-found' };

const B64URL = /^[A-Za-z0-9_-]+$/;

function bytes(value: string | undefined, length: number): Uint8Array | undefined {
  if (value === undefined || !B64URL.test(value)) return undefined;
  const b = Buffer.from(value, 'base64url');
  return b.length === length ? new Uint8Array(b) : undefined;
}

/** Whether `iq` is an ad-hoc command set. */
export function isCommand(iq: XmppClientElement): boolean {
  return iq.attrs['type'] === 'set' && iq.getChild('command', NS_COMMANDS) !== undefined;
}

/** Reads a `register-push` / `unregister-push` request. */
export function parseDeviceCommand(iq: XmppClientElement): DeviceCommand {
  const command = iq.getChild('command', NS_COMMANDS);
  const node = command?.attrs['node'];
  if (node !== COMMAND_REGISTER && node !== COMMAND_UNREGISTER) return { kind: 'invalid', condition: 'item-not-found' };
  const action = command?.attrs['action'] ?? 'execute';
  if (action !== 'execute' && action !== 'complete') return { kind: 'invalid', condition: 'bad-request' };
  const form = command?.getChildren('x', NS_DATA).find((x) => x.attrs['type'] === 'submit');
  if (!form) return { kind: 'invalid', condition: 'bad-request' };
  const f = formFields(form);
  if (node === COMMAND_UNREGISTER) {
    const n = f.get('node');
    const secret = f.get('secret');
    return n && secret ? { kind: 'unregister', node: n, secret } : { kind: 'invalid', condition: 'bad-request' };
  }
  switch (f.get('service')) {
    case 'webpush': {
      const endpoint = f.get('endpoint');
      const p256dh = bytes(f.get('p256dh'), 65);
      const auth = bytes(f.get('auth'), 16);
      let ok = false;
      try {
        ok = endpoint !== undefined && endpoint.length <= 2048 && new URL(endpoint).protocol === 'https:';
      } catch {
        ok = false;
      }
      if (!ok || !p256dh || p256dh[0] !== 4 || !auth) return { kind: 'invalid', condition: 'bad-request' };
      return { kind: 'register', target: { service: 'webpush', endpoint: endpoint as string, p256dh, auth } };
    }
    case 'fcm':
    case 'apns': {
      const service = f.get('service') as 'fcm' | 'apns';
      const token = f.get('token');
      if (!token || token.length > 4096 || (service === 'apns' && !/^[0-9a-fA-F]{16,200}$/.test(token))) return { kind: 'invalid', condition: 'bad-request' };
      return { kind: 'register', target: { service, token } };
    }
    default:
      return { kind: 'invalid', condition: 'bad-request' };
  }
}

/** The completed command (XEP-0050 §3.4) with a result form of `fields`. */
export function commandCompleted(iq: XmppClientElement, sessionid: string, fields: Readonly<Record<string, string>>): XmppClientElement {
  const command = iq.getChild('command', NS_COMMANDS);
  return xml(
    'iq',
    { type: 'result', id: iq.attrs['id'], to: iq.attrs['from'], from: iq.attrs['to'] },
    xml(
      'command',
      { xmlns: NS_COMMANDS, node: command?.attrs['node'], sessionid, status: 'completed' },
      xml('x', { xmlns: NS_DATA, type: 'result' }, ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v)))),
    ),
  );
}
