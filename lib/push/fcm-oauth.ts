/**
 * OAuth 2.0 access tokens for FCM HTTP v1 from a Google service account: a JWT assertion
 * (RFC 7523 §2.1, RS256 per RFC 7518 §3.3) with `iss` = the account's `client_email`,
 * `scope` = firebase.messaging, `aud` = its `token_uri`, one hour of validity, exchanged at
 * `token_uri` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 6749 §4.5)
 * over the same validated TLS as the pushes. Tokens are cached until a minute before expiry;
 * concurrent callers share one exchange.
 */
import { createPrivateKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { bytesToUtf8, utf8ToBytes } from '../core/bytes.js';
import { PushConfigError, PushRelayError } from './errors.js';
import { sendPushRequest } from './tls-sender.js';
import type { PushTlsOptions } from './tls-sender.js';

/** The OAuth scope of FCM HTTP v1. */
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/** The parts of a service-account JSON key file that are used. */
export interface ServiceAccount {
  readonly clientEmail: string;
  readonly privateKey: KeyObject;
  /** https: only. */
  readonly tokenUri: string;
}

/** Parses a service-account key file (`type`, `client_email`, `private_key`, `token_uri`). */
export function parseServiceAccount(json: string): ServiceAccount {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch (error) {
    throw new PushConfigError('fcm service account: not JSON', { cause: error });
  }
  const email = o['client_email'];
  const key = o['private_key'];
  const uri = o['token_uri'] ?? 'https://oauth2.googleapis.com/token';
  if (typeof email !== 'string' || typeof key !== 'string' || typeof uri !== 'string') {
    throw new PushConfigError('fcm service account: client_email, private_key and token_uri must be strings');
  }
  if (new URL(uri).protocol !== 'https:') throw new PushConfigError('fcm service account: token_uri must be https:');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new PushConfigError('fcm service account: private_key is not a PEM private key', { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new PushConfigError('fcm service account: private_key must be RSA (RS256)');
  return { clientEmail: email, privateKey, tokenUri: uri };
}

const b64url = (data: Uint8Array | string): string => Buffer.from(data).toString('base64url');

/** The RFC 7523 assertion for `account` at time `now` (seconds). */
export function serviceAccountAssertion(account: ServiceAccount, now: number): string {
  const iat = Math.floor(now);
  const input = `${b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64url(
    JSON.stringify({ iss: account.clientEmail, scope: FCM_SCOPE, aud: account.tokenUri, iat, exp: iat + 3600 }),
  )}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), account.privateKey))}`;
}

/** A source of bearer tokens for FCM. */
export interface AccessTokenSource {
  token(): Promise<string>;
}

/** Caches exchanged tokens (see the module comment). */
export class ServiceAccountTokens implements AccessTokenSource {
  #cached: { token: string; expiresAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(
    private readonly account: ServiceAccount,
    private readonly tls: PushTlsOptions = {},
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  /** A valid access token; throws PushRelayError when the exchange fails (retryable unless 4xx). */
  token(): Promise<string> {
    const c = this.#cached;
    if (c && c.expiresAt - 60 > this.now()) return Promise.resolve(c.token);
    this.#pending ??= this.#exchange().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #exchange(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: serviceAccountAssertion(this.account, this.now()) });
    const response = await sendPushRequest(
      { url: new URL(this.account.tokenUri), http2: false, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: utf8ToBytes(form.toString()) },
      this.tls,
    );
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(bytesToUtf8(response.body)) as typeof parsed;
    } catch (error) {
      throw new PushRelayError('push.network', 'token endpoint answered something that is not JSON', { retryable: true, cause: error });
    }
    if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
      throw new PushRelayError('push.network', 'token endpoint answered without an access_token', { retryable: true });
    }
    const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 3600;
    this.#cached = { token: parsed.access_token, expiresAt: this.now() + lifetime };
    return parsed.access_token;
  }
}
