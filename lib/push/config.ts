/**
 * The app server's JSON configuration file, validated into {@link PushAppServerConfig}. Paths
 * are relative to the file's directory. Secrets may be given inline or (better) as `...File`
 * paths. See examples/push-app-server/config.example.json.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PushConfigError } from './errors.js';
import { loadEs256Key } from './jwt-es256.js';
import { ServiceAccountTokens, parseServiceAccount } from './fcm-oauth.js';
import type { AccessTokenSource } from './fcm-oauth.js';
import type { ComponentOptions } from './component-connection.js';
import type { DeviceTarget, PushServiceCredentials } from './push-services.js';
import type { NewRegistration } from './registrations.js';
import type { RelayOptions } from './relay.js';

/** The validated configuration. */
export interface PushAppServerConfig {
  readonly component: ComponentOptions;
  readonly storePath: string;
  readonly storePassphrase: string | undefined;
  readonly credentials: PushServiceCredentials;
  readonly relay: RelayOptions;
  /** Registrations to create or update at start-up. */
  readonly registrations: readonly NewRegistration[];
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Domains whose users may register devices with the `register-push` command. */
  readonly registrationDomains: readonly string[];
}

type Json = Record<string, unknown>;

function obj(v: unknown, where: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PushConfigError(`${where}: expected an object`);
  return v as Json;
}
function str(o: Json, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new PushConfigError(`${where}.${key}: expected a non-empty string`);
  return v;
}
function optStr(o: Json, key: string, where: string): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, where);
}
function optHttpsUrl(o: Json, key: string, where: string): string | undefined {
  const v = optStr(o, key, where);
  if (v === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(v);
  } catch (error) {
    throw new PushConfigError(`${where}.${key}: not a URL`, { cause: error });
  }
  if (url.protocol !== 'https:') throw new PushConfigError(`${where}.${key}: push services are reached over https: only`);
  return v;
}
function optInt(o: Json, key: string, where: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new PushConfigError(`${where}.${key}: expected a non-negative integer`);
  return v;
}

async function secretValue(o: Json, key: string, where: string, base: string): Promise<string | undefined> {
  const inline = optStr(o, key, where);
  const file = optStr(o, `${key}File`, where);
  if (inline !== undefined && file !== undefined) throw new PushConfigError(`${where}: give ${key} or ${key}File, not both`);
  if (file !== undefined) return (await readFile(resolve(base, file), 'utf8')).trim();
  return inline;
}

function b64url(o: Json, key: string, where: string, length: number): Uint8Array {
  const bytes = Buffer.from(str(o, key, where), 'base64url');
  if (bytes.length !== length) throw new PushConfigError(`${where}.${key}: expected ${length} bytes of base64url`);
  return new Uint8Array(bytes);
}

function target(o: Json, where: string): DeviceTarget {
  const service = str(o, 'service', where);
  switch (service) {
    case 'webpush':
      return { service, endpoint: str(o, 'endpoint', where), p256dh: b64url(o, 'p256dh', where, 65), auth: b64url(o, 'auth', where, 16) };
    case 'fcm':
    case 'apns':
      return { service, token: str(o, 'token', where) };
    default:
      throw new PushConfigError(`${where}.service: webpush, fcm or apns`);
  }
}

/** Validates a parsed config object; `base` resolves relative paths. */
export async function parsePushConfig(raw: unknown, base: string): Promise<PushAppServerConfig> {
  const root = obj(raw, 'config');
  const c = obj(root['component'], 'component');
  const componentSecret = await secretValue(c, 'secret', 'component', base);
  if (componentSecret === undefined) throw new PushConfigError('component.secret or component.secretFile is required');
  const port = optInt(c, 'port', 'component');
  if (port === undefined) throw new PushConfigError('component.port is required');
  const component: ComponentOptions = { host: optStr(c, 'host', 'component') ?? '127.0.0.1', port, domain: str(c, 'domain', 'component'), secret: componentSecret };

  const s = obj(root['store'], 'store');
  const storePath = resolve(base, str(s, 'path', 'store'));
  const storePassphrase = await secretValue(s, 'passphrase', 'store', base);

  const t = root['tls'] === undefined ? {} : obj(root['tls'], 'tls');
  const caFile = optStr(t, 'caFile', 'tls');
  const pins = t['pins'] === undefined ? undefined : (t['pins'] as unknown);
  if (pins !== undefined && (!Array.isArray(pins) || !pins.every((p) => typeof p === 'string'))) throw new PushConfigError('tls.pins: array of strings');
  const timeoutMs = optInt(t, 'timeoutMs', 'tls');
  const tls = {
    ...(caFile ? { ca: [await readFile(resolve(base, caFile), 'utf8')] } : {}),
    ...(pins ? { pins: pins as string[] } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };

  const r = root['relay'] === undefined ? {} : obj(root['relay'], 'relay');
  const relay: RelayOptions = {
    tls,
    ...Object.fromEntries(
      (['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'maxQueue', 'concurrency'] as const)
        .map((k) => [k, optInt(r, k, 'relay')] as const)
        .filter(([, v]) => v !== undefined),
    ),
  };

  let credentials: PushServiceCredentials = {};
  if (root['webpush'] !== undefined) {
    const w = obj(root['webpush'], 'webpush');
    const key = await secretValue(w, 'vapidPrivateKey', 'webpush', base);
    if (!key) throw new PushConfigError('webpush.vapidPrivateKey or vapidPrivateKeyFile is required');
    const ttl = optInt(w, 'ttlSeconds', 'webpush');
    credentials = { ...credentials, webpush: { vapidKey: loadEs256Key(key), subject: str(w, 'subject', 'webpush'), ...(ttl !== undefined ? { ttlSeconds: ttl } : {}) } };
  }
  if (root['fcm'] !== undefined) {
    const f = obj(root['fcm'], 'fcm');
    const accountFile = optStr(f, 'serviceAccountFile', 'fcm');
    const staticToken = await secretValue(f, 'accessToken', 'fcm', base);
    if ((accountFile === undefined) === (staticToken === undefined)) {
      throw new PushConfigError('fcm: give serviceAccountFile (recommended) or accessToken/accessTokenFile');
    }
    const token: string | AccessTokenSource =
      accountFile !== undefined ? new ServiceAccountTokens(parseServiceAccount(await readFile(resolve(base, accountFile), 'utf8')), tls) : (staticToken as string);
    const baseUrl = optHttpsUrl(f, 'baseUrl', 'fcm');
    credentials = { ...credentials, fcm: { projectId: str(f, 'projectId', 'fcm'), accessToken: token, ...(baseUrl ? { baseUrl } : {}) } };
  }
  if (root['apns'] !== undefined) {
    const a = obj(root['apns'], 'apns');
    const key = await secretValue(a, 'key', 'apns', base);
    if (!key) throw new PushConfigError('apns.key or apns.keyFile (the .p8) is required');
    const baseUrl = optHttpsUrl(a, 'baseUrl', 'apns');
    credentials = {
      ...credentials,
      apns: { key: loadEs256Key(key), keyId: str(a, 'keyId', 'apns'), teamId: str(a, 'teamId', 'apns'), topic: str(a, 'topic', 'apns'), ...(baseUrl ? { baseUrl } : {}) },
    };
  }

  const regs = root['registrations'] === undefined ? [] : root['registrations'];
  if (!Array.isArray(regs)) throw new PushConfigError('registrations: expected an array');
  const registrations: NewRegistration[] = [];
  for (const [i, item] of regs.entries()) {
    const where = `registrations[${i}]`;
    const o = obj(item, where);
    const secret = await secretValue(o, 'secret', where, base);
    if (!secret) throw new PushConfigError(`${where}.secret is required`);
    registrations.push({ node: str(o, 'node', where), secret, target: target(o, where) });
  }
  const domains = root['registrationDomains'] ?? [];
  if (!Array.isArray(domains) || !domains.every((d) => typeof d === 'string' && d !== '')) {
    throw new PushConfigError('registrationDomains: array of domain names');
  }
  const logLevel = (optStr(root, 'logLevel', 'config') ?? 'info') as PushAppServerConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new PushConfigError('logLevel: debug, info, warn or error');
  return { component, storePath, storePassphrase, credentials, relay, registrations, logLevel, registrationDomains: domains as string[] };
}

/** Reads and validates the config file at `path`. */
export async function loadPushConfig(path: string): Promise<PushAppServerConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new PushConfigError(`cannot read config ${path}`, { cause: error });
  }
  return parsePushConfig(raw, dirname(resolve(path)));
}
