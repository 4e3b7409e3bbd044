/**
 * What a push notification becomes on the wire towards each push service, as pure data: the
 * target URL, method, headers and body of one HTTPS request.
 *
 * - Web Push: RFC 8030 §5 (POST to the subscription endpoint, `TTL`, `Urgency`), payload
 *   encrypted per RFC 8291 (`Content-Encoding: aes128gcm`), VAPID authorization (RFC 8292 §3).
 * - FCM HTTP v1: `POST /v1/projects/{project}/messages:send` with an OAuth 2.0 bearer token and a
 *   JSON `message` carrying only `data` (strings).
 * - APNs: HTTP/2 `POST /3/device/{token}` with a provider token (ES256 JWT, `kid`/`iss`/`iat`),
 *   `apns-topic`, `apns-push-type`, `apns-priority`, `apns-expiration`.
 *
 * The payload handed to a device is {@link DevicePayload}: counts and flags, never message text.
 */
import { encryptWebPush } from './web-push-encryption.js';
import type { WebPushEncryptionFixture } from './web-push-encryption.js';
import { signEs256Jwt } from './jwt-es256.js';
import type { Es256Key } from './jwt-es256.js';
import type { RandomSource } from '../core/random.js';
import type { AccessTokenSource } from './fcm-oauth.js';
import { utf8ToBytes } from '../core/bytes.js';

/** What the device learns from one push: no body, no sender unless the server encrypted it. */
export interface DevicePayload {
  /** The XMPP node (the device's registration id at the app server). */
  readonly node: string;
  /** `message-count` of the summary (XEP-0357 §7), when given. */
  readonly unread: number | undefined;
  /** Whether the server flagged the stanza as important (a `last-message-body` was present). */
  readonly important: boolean;
  /** The opaque `tigase:push:encrypt:0` blob, forwarded as is (the device holds the key). */
  readonly encrypted: { readonly iv: string; readonly payload: string } | undefined;
}

/** One device registration as the relay needs it (from registrations.ts). */
export type DeviceTarget =
  | {
      readonly service: 'webpush';
      /** Subscription endpoint, https: only. */
      readonly endpoint: string;
      readonly p256dh: Uint8Array;
      readonly auth: Uint8Array;
    }
  | { readonly service: 'fcm'; readonly token: string }
  | { readonly service: 'apns'; readonly token: string };

/** Credentials and endpoints of the services (from the config file). */
export interface PushServiceCredentials {
  readonly webpush?: {
    /** VAPID key pair (RFC 8292 §3). */
    readonly vapidKey: Es256Key;
    /** `sub` claim: a mailto: or https: contact (RFC 8292 §2.1). */
    readonly subject: string;
    /** Seconds a push service keeps an undelivered message (RFC 8030 §5.2). Default 3600. */
    readonly ttlSeconds?: number;
  };
  readonly fcm?: {
    readonly projectId: string;
    /**
     * An OAuth 2.0 access token with the firebase.messaging scope, or a source of them (a
     * service account, fcm-oauth.ts). Resolve a source with {@link resolveCredentials} first.
     */
    readonly accessToken: string | AccessTokenSource;
    /** Default `https://fcm.googleapis.com`. */
    readonly baseUrl?: string;
  };
  readonly apns?: {
    readonly key: Es256Key;
    readonly keyId: string;
    readonly teamId: string;
    /** The app's bundle id (`apns-topic`). */
    readonly topic: string;
    /** Default `https://api.push.apple.com` (sandbox: `https://api.sandbox.push.apple.com`). */
    readonly baseUrl?: string;
  };
}

/** One request to a push service. */
export interface PushRequest {
  readonly url: URL;
  /** APNs requires HTTP/2; the others use HTTP/1.1. */
  readonly http2: boolean;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Clock and randomness, injected. */
export interface RequestContext {
  /** Seconds since the epoch. */
  readonly now: () => number;
  readonly random?: RandomSource;
  /** Test-only: fixed Web Push ephemeral key and salt. */
  readonly webPushFixture?: WebPushEncryptionFixture;
}

function jsonPayload(p: DevicePayload): Record<string, string> {
  const data: Record<string, string> = { node: p.node, important: p.important ? '1' : '0' };
  if (p.unread !== undefined) data['unread'] = String(p.unread);
  if (p.encrypted) {
    data['encrypted'] = p.encrypted.payload;
    data['iv'] = p.encrypted.iv;
  }
  return data;
}

/** The origin a VAPID token is bound to (RFC 8292 §2: `aud` is the endpoint's origin). */
function origin(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/** Replaces an FCM token source by a current token (exchanging it when needed). */
export async function resolveCredentials(credentials: PushServiceCredentials, service: DeviceTarget['service']): Promise<PushServiceCredentials> {
  const fcm = credentials.fcm;
  if (service !== 'fcm' || !fcm || typeof fcm.accessToken === 'string') return credentials;
  return { ...credentials, fcm: { ...fcm, accessToken: await fcm.accessToken.token() } };
}

/** Builds the request that carries `payload` to `target`; RangeError when the service has no credentials configured. */
export function buildPushRequest(
  target: DeviceTarget,
  payload: DevicePayload,
  credentials: PushServiceCredentials,
  context: RequestContext,
): PushRequest {
  switch (target.service) {
    case 'webpush': {
      const c = credentials.webpush;
      if (!c) throw new RangeError('webpush: no VAPID credentials configured');
      const url = new URL(target.endpoint);
      const now = Math.floor(context.now());
      // RFC 8292 §2: exp at most 24 h ahead; 12 h is the usual choice.
      const jwt = signEs256Jwt(c.vapidKey, { typ: 'JWT' }, { aud: origin(url), exp: now + 12 * 3600, sub: c.subject });
      const plaintext = utf8ToBytes(JSON.stringify(jsonPayload(payload)));
      const body = encryptWebPush(
        plaintext,
        { p256dh: target.p256dh, auth: target.auth },
        { ...(context.random ? { random: context.random } : {}), ...(context.webPushFixture ? { fixture: context.webPushFixture } : {}) },
      );
      plaintext.fill(0);
      return {
        url,
        http2: false,
        method: 'POST',
        headers: {
          'content-type': 'application/octet-stream',
          'content-encoding': 'aes128gcm',
          ttl: String(c.ttlSeconds ?? 3600),
          urgency: payload.important ? 'high' : 'normal',
          authorization: `vapid t=${jwt}, k=${Buffer.from(c.vapidKey.publicKey).toString('base64url')}`,
        },
        body,
      };
    }
    case 'fcm': {
      const c = credentials.fcm;
      if (!c) throw new RangeError('fcm: no credentials configured');
      if (typeof c.accessToken !== 'string') throw new TypeError('fcm: resolve the access token source first (resolveCredentials)');
      const url = new URL(`/v1/projects/${encodeURIComponent(c.projectId)}/messages:send`, c.baseUrl ?? 'https://fcm.googleapis.com');
      const message = {
        message: {
          token: target.token,
          data: jsonPayload(payload),
          android: { priority: payload.important ? 'high' : 'normal' },
        },
      };
      return {
        url,
        http2: false,
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${c.accessToken}` },
        body: utf8ToBytes(JSON.stringify(message)),
      };
    }
    case 'apns': {
      const c = credentials.apns;
      if (!c) throw new RangeError('apns: no credentials configured');
      if (!/^[0-9a-fA-F]{16,200}$/.test(target.token)) throw new RangeError('apns: device token must be hex');
      const url = new URL(`/3/device/${target.token}`, c.baseUrl ?? 'https://api.push.apple.com');
      const jwt = signEs256Jwt(c.key, { kid: c.keyId }, { iss: c.teamId, iat: Math.floor(context.now()) });
      const body = payload.important
        ? // mutable-content lets a notification service extension decrypt `encrypted` on the device.
          { aps: { alert: { 'loc-key': 'NEW_MESSAGE' }, 'mutable-content': 1, sound: 'default' }, ...jsonPayload(payload) }
        : { aps: { 'content-available': 1 }, ...jsonPayload(payload) };
      return {
        url,
        http2: true,
        method: 'POST',
        headers: {
          authorization: `bearer ${jwt}`,
          'apns-topic': c.topic,
          'apns-push-type': payload.important ? 'alert' : 'background',
          'apns-priority': payload.important ? '10' : '5',
          'apns-expiration': String(Math.floor(context.now()) + 3600),
          'content-type': 'application/json',
        },
        body: utf8ToBytes(JSON.stringify(body)),
      };
    }
  }
}
