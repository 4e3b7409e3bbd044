/**
 * The app server's registrations (XEP-0357 §5: the node is the app server's handle for one
 * device): node -> device target (Web Push subscription, FCM or APNs token), the SHA-256 of the
 * node's publish-options secret, and when it was made. Persisted through a
 * {@link KeyValueStore} (the embedded FileStore in the app server), one versioned JSON
 * document per node, so each change is one atomic `set`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { StorageError } from '../core/errors.js';
import type { KeyValueStore } from '../core/store/store.js';
import type { DeviceTarget } from './push-services.js';

const PREFIX = 'push-app-server/registrations/';
const VERSION = 1;

/** A registration as the caller gives it. */
export interface NewRegistration {
  readonly node: string;
  /** The publish-options `secret` the user's server must present (XEP-0357 §5). */
  readonly secret: string;
  readonly target: DeviceTarget;
}

/** A stored registration (the secret itself is not kept, only its hash). */
export interface StoredRegistration {
  readonly node: string;
  readonly target: DeviceTarget;
  readonly createdAt: string;
}

/** Why a publish is refused. */
export type SecretCheck = { readonly ok: true; readonly registration: StoredRegistration } | { readonly ok: false; readonly reason: 'item-not-found' | 'not-authorized' };

type StoredTarget =
  | { service: 'webpush'; endpoint: string; p256dh: string; auth: string }
  | { service: 'fcm'; token: string }
  | { service: 'apns'; token: string };

interface StoredDocument {
  version: number;
  node: string;
  secretSha256: string;
  target: StoredTarget;
  createdAt: string;
}

const NODE = /^[\x21-\x7e]{1,256}$/;

function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

function encodeTarget(t: DeviceTarget): StoredTarget {
  switch (t.service) {
    case 'webpush': {
      const url = new URL(t.endpoint);
      if (url.protocol !== 'https:') throw new RangeError('webpush endpoint must be https:');
      if (t.p256dh.length !== 65 || t.auth.length !== 16) throw new RangeError('webpush keys: p256dh 65 bytes, auth 16 bytes');
      return { service: 'webpush', endpoint: url.toString(), p256dh: Buffer.from(t.p256dh).toString('base64url'), auth: Buffer.from(t.auth).toString('base64url') };
    }
    case 'fcm':
    case 'apns':
      if (typeof t.token !== 'string' || t.token.length === 0 || t.token.length > 4096) throw new RangeError(`${t.service} token: non-empty string`);
      return { service: t.service, token: t.token };
  }
}

function decodeTarget(t: StoredTarget): DeviceTarget {
  switch (t.service) {
    case 'webpush':
      return { service: 'webpush', endpoint: t.endpoint, p256dh: new Uint8Array(Buffer.from(t.p256dh, 'base64url')), auth: new Uint8Array(Buffer.from(t.auth, 'base64url')) };
    case 'fcm':
    case 'apns':
      return { service: t.service, token: t.token };
  }
}

function parse(key: string, text: string): StoredDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new StorageError('push.registration-corrupt', `registration ${key} is not JSON`, { cause: error });
  }
  const d = doc as Partial<StoredDocument>;
  if (d.version !== VERSION) throw new StorageError('push.registration-version', `registration ${key}: unknown version ${String(d.version)}`);
  if (typeof d.node !== 'string' || typeof d.secretSha256 !== 'string' || typeof d.target !== 'object' || d.target === null) {
    throw new StorageError('push.registration-corrupt', `registration ${key} is malformed`);
  }
  return d as StoredDocument;
}

/** Registrations over a key/value store. */
export class RegistrationStore {
  constructor(private readonly store: KeyValueStore) {}

  #key(node: string): string {
    return PREFIX + encodeURIComponent(node);
  }

  /** Creates or replaces the registration of `node`. */
  async put(reg: NewRegistration, now: Date = new Date()): Promise<StoredRegistration> {
    if (typeof reg.node !== 'string' || !NODE.test(reg.node)) throw new RangeError('registration.node: 1-256 printable ASCII characters');
    if (typeof reg.secret !== 'string' || reg.secret.length < 8) throw new RangeError('registration.secret: at least 8 characters');
    const doc: StoredDocument = {
      version: VERSION,
      node: reg.node,
      secretSha256: hashSecret(reg.secret).toString('base64'),
      target: encodeTarget(reg.target),
      createdAt: now.toISOString(),
    };
    await this.store.set(this.#key(reg.node), JSON.stringify(doc));
    return { node: doc.node, target: decodeTarget(doc.target), createdAt: doc.createdAt };
  }

  /** The registration of `node`, or undefined. */
  async get(node: string): Promise<StoredRegistration | undefined> {
    const text = await this.store.get(this.#key(node));
    if (text === undefined) return undefined;
    const doc = parse(node, text);
    return { node: doc.node, target: decodeTarget(doc.target), createdAt: doc.createdAt };
  }

  /** Removes the registration of `node` (no error when absent). */
  async delete(node: string): Promise<void> {
    await this.store.delete(this.#key(node));
  }

  /** Every registration, sorted by node. */
  async list(): Promise<StoredRegistration[]> {
    const out: StoredRegistration[] = [];
    for (const key of await this.store.keys(PREFIX)) {
      const text = await this.store.get(key);
      if (text === undefined) continue;
      const doc = parse(key, text);
      out.push({ node: doc.node, target: decodeTarget(doc.target), createdAt: doc.createdAt });
    }
    return out;
  }

  /**
   * XEP-0357 §8: the publish-options secret must match the node's. Unknown node:
   * `item-not-found`; missing or wrong secret: `not-authorized`. Constant-time comparison.
   */
  async check(node: string | undefined, secret: string | undefined): Promise<SecretCheck> {
    if (node === undefined || !NODE.test(node)) return { ok: false, reason: 'item-not-found' };
    const text = await this.store.get(this.#key(node));
    if (text === undefined) return { ok: false, reason: 'item-not-found' };
    const doc = parse(node, text);
    const expected = Buffer.from(doc.secretSha256, 'base64');
    const given = hashSecret(secret ?? '');
    if (secret === undefined || expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return { ok: false, reason: 'not-authorized' };
    }
    return { ok: true, registration: { node: doc.node, target: decodeTarget(doc.target), createdAt: doc.createdAt } };
  }
}
