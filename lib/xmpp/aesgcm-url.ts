/**
 * The `aesgcm://` URL of XEP-0454 (OMEMO Media Sharing) section 4: the HTTPS download URL of an
 * encrypted file with its scheme replaced by `aesgcm`, and the secret in the fragment: 24 hex
 * digits of IV then 64 hex digits of key (`aesgcm://host/path#<iv><key>`). Files from older
 * clients carry a 16-byte IV (96 hex digits), accepted when parsing only.
 *
 * Parsing is strict, because the URL arrives from the network and decides where we connect:
 * only RFC 3986 characters, valid percent escapes, exactly one `#` and a fragment of hex digits
 * of one of the two exact lengths, a non-empty host written the way the WHATWG URL parser
 * normalizes it (no `0x7f.1`, no empty or zero-padded port), and no userinfo. The port maps as
 * for https (none = 443). Pure functions, no I/O.
 */
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { LEGACY_MEDIA_IV_LENGTH, MEDIA_IV_LENGTH, MEDIA_KEY_LENGTH, type MediaKey } from '../core/crypto/media-encryption.js';
import { MediaError } from './media-errors.js';

/** The URL scheme of XEP-0454. */
export const AESGCM_SCHEME = 'aesgcm';
/** Longest URL accepted (hostile peers send arbitrary text). */
export const MAX_AESGCM_URL_LENGTH = 8192;

/** A parsed `aesgcm://` URL. */
export interface AesgcmUrl {
  /** Where the encrypted file is: the same URL with `https:` and without the fragment. */
  readonly httpsUrl: string;
  /** IV (12 bytes, or 16 for legacy files) and 32-byte key. */
  readonly mediaKey: MediaKey;
}

const PREFIX = `${AESGCM_SCHEME}://`;
/** RFC 3986 unreserved, reserved and `%`, plus `|` and `^` that WHATWG leaves unescaped in paths. */
const URL_CHARS = /^[A-Za-z0-9\-._~:/?[\]@!$&'()*+,;=%|^]*$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
const HEX = /^[0-9A-Fa-f]*$/;
const FRAGMENT_LENGTHS: ReadonlyMap<number, number> = new Map([
  [2 * (MEDIA_IV_LENGTH + MEDIA_KEY_LENGTH), MEDIA_IV_LENGTH],
  [2 * (LEGACY_MEDIA_IV_LENGTH + MEDIA_KEY_LENGTH), LEGACY_MEDIA_IV_LENGTH],
]);

function bad(reason: string): MediaError {
  return new MediaError('media.bad-url', `not a valid aesgcm URL: ${reason}`);
}

/**
 * Checks the part after `scheme://` and before `#` and returns the https URL it stands for.
 * Shared by parsing and formatting so that what we write is exactly what we accept.
 */
function httpsUrlOf(rest: string): string {
  if (!URL_CHARS.test(rest)) throw bad('characters outside RFC 3986');
  if (BAD_ESCAPE.test(rest)) throw bad('a bad percent escape');
  const end = rest.search(/[/?]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  if (authority.length === 0) throw bad('no host');
  if (authority.includes('@')) throw bad('userinfo is not allowed');
  let url: URL;
  try {
    url = new URL(`https://${rest}`);
  } catch (error) {
    throw new MediaError('media.bad-url', 'not a valid aesgcm URL: it does not parse', { cause: error });
  }
  if (url.username !== '' || url.password !== '' || url.hostname === '') throw bad('no host, or userinfo');
  const written = authority.toLowerCase();
  if (written !== url.host && written !== `${url.host}:443`) throw bad('the host or port is not in canonical form');
  return url.href;
}

/**
 * Parses an `aesgcm://` URL (XEP-0454 section 4). Throws MediaError `media.bad-url` for
 * anything that is not exactly one, with a fragment of 88 (or legacy 96) hex digits.
 */
export function parseAesgcmUrl(text: string): AesgcmUrl {
  if (typeof text !== 'string') throw new TypeError('parseAesgcmUrl: text must be a string');
  if (text.length > MAX_AESGCM_URL_LENGTH) throw bad('too long');
  if (text.slice(0, PREFIX.length).toLowerCase() !== PREFIX) throw bad(`the scheme is not ${AESGCM_SCHEME}:`);
  const hash = text.indexOf('#');
  if (hash < 0) throw bad('no key fragment');
  const fragment = text.slice(hash + 1);
  if (!HEX.test(fragment)) throw bad('the fragment is not hex');
  const ivLength = FRAGMENT_LENGTHS.get(fragment.length);
  if (ivLength === undefined) throw bad('the fragment has the wrong length');
  const httpsUrl = httpsUrlOf(text.slice(PREFIX.length, hash));
  const secret = hexToBytes(fragment);
  return { httpsUrl, mediaKey: { iv: secret.slice(0, ivLength), key: secret.slice(ivLength) } };
}

/**
 * Writes the `aesgcm://` URL for a file served at `getUrl` (the slot's https GET URL) under
 * `mediaKey` (12-byte IV). MediaError `media.insecure-url` unless `getUrl` is https,
 * `media.bad-url` when it has a fragment, userinfo or characters {@link parseAesgcmUrl} refuses.
 */
export function formatAesgcmUrl(getUrl: string | URL, mediaKey: MediaKey): string {
  if (mediaKey.iv.length !== MEDIA_IV_LENGTH) throw new RangeError(`formatAesgcmUrl: the IV must be ${MEDIA_IV_LENGTH} bytes`);
  if (mediaKey.key.length !== MEDIA_KEY_LENGTH) throw new RangeError(`formatAesgcmUrl: the key must be ${MEDIA_KEY_LENGTH} bytes`);
  let url: URL;
  try {
    url = new URL(getUrl);
  } catch (error) {
    throw new MediaError('media.bad-url', 'the download URL does not parse', { cause: error });
  }
  if (url.protocol !== 'https:') throw new MediaError('media.insecure-url', 'the download URL is not https');
  if (url.hash !== '' || url.href.includes('#')) throw bad('the download URL already has a fragment');
  const rest = url.href.slice('https://'.length);
  httpsUrlOf(rest);
  return `${PREFIX}${rest}#${bytesToHex(mediaKey.iv)}${bytesToHex(mediaKey.key)}`;
}

/**
 * The aesgcm URL a decrypted message body consists of, or `undefined` when the body is anything
 * else (text around it, several URLs, or a malformed URL: then it is just text). Clients send
 * the URL alone as the body (XEP-0454 section 4).
 */
export function findAesgcmUrl(body: string): AesgcmUrl | undefined {
  if (typeof body !== 'string') return undefined;
  const text = body.trim();
  if (text.slice(0, PREFIX.length).toLowerCase() !== PREFIX || /\s/.test(text)) return undefined;
  try {
    return parseAesgcmUrl(text);
  } catch {
    return undefined;
  }
}
