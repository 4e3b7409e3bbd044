/**
 * The payload codec of Encrypted Push Notifications (`tigase:push:encrypt:0`, algorithm
 * `aes-128-gcm`): the client gives the server a 16-byte key in `<enable/>`; the server
 * publishes `<encrypted xmlns='tigase:push:encrypt:0' iv='B64(12-byte IV)'>B64(ciphertext ||
 * 16-byte tag)</encrypted>` instead of the summary form; the plaintext is a UTF-8 JSON object
 * (`unread`, `sender`, `type`, `message`, `nickname`, `sid`). The app server forwards the blob
 * untouched and the device decrypts it here. `encryptPushPayload` is the server's side, for
 * tests and for servers written on this library.
 */
import { aesGcmDecrypt, aesGcmEncrypt } from '../core/crypto/aes.js';
import { base64ToBytes, bytesToBase64, bytesToUtf8, concatBytes, utf8ToBytes, wipe } from '../core/bytes.js';
import type { RandomSource } from '../core/random.js';
import { systemRandom } from '../core/random.js';
import { PushError } from './push-errors.js';

/** AES-128 key length. */
export const PUSH_KEY_LENGTH = 16;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
/** Largest encrypted blob accepted (base64 characters); push services carry at most 4 KiB. */
export const MAX_ENCRYPTED_PAYLOAD_CHARS = 8192;

/** The `<encrypted/>` element's content. */
export interface EncryptedPushBlob {
  /** Base64 IV (the `iv` attribute). */
  readonly iv: string;
  /** Base64 ciphertext with the GCM tag appended (the element's text). */
  readonly payload: string;
}

/** The decrypted notification (fields as the extension defines them; all optional). */
export interface PushPayloadContent {
  readonly unread?: number;
  readonly sender?: string;
  readonly type?: 'chat' | 'groupchat' | 'subscribe' | 'call' | string;
  readonly message?: string;
  readonly nickname?: string;
  readonly sid?: string;
}

/** A fresh random AES-128 key for `<encrypt/>`. */
export function generatePushKey(random: RandomSource = systemRandom): Uint8Array {
  const key = random(PUSH_KEY_LENGTH);
  if (key.length !== PUSH_KEY_LENGTH) throw new RangeError('random source returned the wrong length');
  return key;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new TypeError('push key must be a Uint8Array');
  if (key.length !== PUSH_KEY_LENGTH) throw new RangeError('push key must be 16 bytes (AES-128)');
}

/** The server's side: encrypts `content` as JSON under `key` with a fresh (or given) 12-byte IV. */
export function encryptPushPayload(
  key: Uint8Array,
  content: PushPayloadContent,
  options: { readonly random?: RandomSource; readonly iv?: Uint8Array } = {},
): EncryptedPushBlob {
  checkKey(key);
  const iv = options.iv ?? (options.random ?? systemRandom)(IV_LENGTH);
  if (iv.length !== IV_LENGTH) throw new RangeError('push iv must be 12 bytes');
  const plaintext = utf8ToBytes(JSON.stringify(content));
  const { ciphertext, tag } = aesGcmEncrypt(key, iv, plaintext);
  wipe(plaintext);
  return { iv: bytesToBase64(iv), payload: bytesToBase64(concatBytes(ciphertext, tag)) };
}

/**
 * The device's side: authenticates and decrypts a blob. Throws PushError
 * `push.malformed-payload` (bad base64, sizes, JSON shape) or `push.decrypt-failed` (tag).
 */
export function decryptPushPayload(key: Uint8Array, blob: EncryptedPushBlob): PushPayloadContent {
  checkKey(key);
  if (typeof blob.iv !== 'string' || typeof blob.payload !== 'string' || blob.payload.length > MAX_ENCRYPTED_PAYLOAD_CHARS) {
    throw new PushError('push.malformed-payload', 'encrypted push payload missing or too large');
  }
  const iv = base64ToBytes(blob.iv.trim());
  const data = base64ToBytes(blob.payload.replace(/\s+/g, ''));
  if (!iv || iv.length !== IV_LENGTH || !data || data.length < TAG_LENGTH) {
    throw new PushError('push.malformed-payload', 'encrypted push payload is not base64 of the expected sizes');
  }
  const plaintext = aesGcmDecrypt(key, iv, data.subarray(0, data.length - TAG_LENGTH), data.subarray(data.length - TAG_LENGTH));
  if (!plaintext) throw new PushError('push.decrypt-failed', 'encrypted push payload did not authenticate');
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytesToUtf8(plaintext));
  } catch (error) {
    throw new PushError('push.malformed-payload', 'decrypted push payload is not JSON', { cause: error });
  } finally {
    wipe(plaintext);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PushError('push.malformed-payload', 'decrypted push payload is not a JSON object');
  }
  const o = parsed as Record<string, unknown>;
  const out: { -readonly [K in keyof PushPayloadContent]: PushPayloadContent[K] } = {};
  if (typeof o['unread'] === 'number' && Number.isInteger(o['unread'])) out.unread = o['unread'];
  for (const k of ['sender', 'type', 'message', 'nickname', 'sid'] as const) {
    const v = o[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
