/**
 * Encrypted media over OMEMO: XEP-0454 (OMEMO Media Sharing) with XEP-0363 HTTP File Upload.
 *
 *   const media = omemoMedia({ omemo, iqCaller: xmpp.iqCaller }, { tls: { ca } });
 *   await media.sendFile('bob@example.org', bytes, { filename: 'photo.jpg', contentType: 'image/jpeg' });
 *
 *   omemo.on('message', async (m) => {
 *     const file = media.find(m.text);               // an aesgcm:// URL, or undefined
 *     if (file) bytes = await media.download(file);  // exact plaintext, or a typed error
 *   });
 *
 * Sending (XEP-0454 sections 3-4): a fresh 32-byte key and 12-byte IV, AES-256-GCM with the
 * tag appended, upload of the ciphertext to a slot of the account's upload service, then the
 * `aesgcm://` URL (the key in its fragment) as the body of an OMEMO-encrypted message. No
 * XEP-0066 out-of-band element is added: outside the encryption it would carry the key in the
 * clear. The upload service sees the ciphertext, its size, the filename and the content type
 * given here (pass neutral ones to hide them).
 *
 * Receiving: {@link OmemoMedia.find} recognises a decrypted body that is exactly one aesgcm
 * URL; {@link OmemoMedia.download} fetches it over validated HTTPS with a size limit counted
 * while streaming, and decrypts all or nothing: a tampered file is VerificationError
 * `media.auth-failed`, never partial plaintext.
 */
import type { XmppClient } from '@xmpp/client';
import { bytesToHex, wipe } from '../core/bytes.js';
import { decryptMedia, encryptMedia, generateMediaKey, MEDIA_TAG_LENGTH } from '../core/crypto/media-encryption.js';
import type { RandomSource } from '../core/random.js';
import { systemRandom } from '../core/random.js';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import { findAesgcmUrl, formatAesgcmUrl, parseAesgcmUrl, type AesgcmUrl } from './aesgcm-url.js';
import { httpsGet } from './https-transfer.js';
import { HttpUpload, type HttpUploadOptions, type UploadIqCaller } from './http-upload.js';
import { MediaError } from './media-errors.js';
import type { OmemoSendOptions, OmemoSendResult } from './omemo-plugin.js';

/** What the helper needs of the OMEMO plugin (an {@link OmemoPlugin} satisfies it). */
export interface OmemoMediaSender {
  /** Our bare JID (its domain is where the upload service is looked for). */
  readonly account: string;
  send(to: string, text: string, options?: OmemoSendOptions): Promise<OmemoSendResult>;
}

/** Dependencies of {@link omemoMedia}. */
export interface OmemoMediaDependencies {
  readonly omemo: OmemoMediaSender;
  /** The client's iqCaller (`xmpp.iqCaller` of an @xmpp/client client). */
  readonly iqCaller: UploadIqCaller | XmppClient['iqCaller'];
  /** Where to discover the upload service (default: the domain of `omemo.account`). */
  readonly domain?: string | undefined;
}

/** Options of {@link omemoMedia}: TLS trust and timeouts of the HTTPS transfers, and limits. */
export interface OmemoMediaOptions extends HttpUploadOptions {
  /** Largest plaintext {@link OmemoMedia.download} accepts, in bytes (default 100 MiB). */
  readonly maxDownloadBytes?: number | undefined;
  readonly random?: RandomSource | undefined;
}

/** Options of {@link OmemoMedia.sendFile}. */
export interface SendFileOptions {
  /** The name the upload service sees and puts in the URL (default: 16 random hex digits). */
  readonly filename?: string | undefined;
  /** The content type declared to the service (default `application/octet-stream`). */
  readonly contentType?: string | undefined;
  /** OMEMO version of the message carrying the URL (default: the plugin's choice). */
  readonly version?: OmemoVersion | undefined;
}

/** What {@link OmemoMedia.sendFile} did. */
export interface SendFileResult {
  /** The `aesgcm://` URL sent. It contains the file's key: treat it as a secret. */
  readonly url: string;
  /** The https URL the ciphertext is served from. */
  readonly getUrl: string;
  /** Bytes uploaded (plaintext + 16-byte tag). */
  readonly uploadedBytes: number;
  /** The OMEMO message that carried the URL. */
  readonly message: OmemoSendResult;
}

/** Options of {@link OmemoMedia.download}. */
export interface DownloadOptions {
  /** Largest plaintext accepted, in bytes (default: the helper's `maxDownloadBytes`). */
  readonly maxBytes?: number | undefined;
}

const DEFAULT_MAX_DOWNLOAD = 100 * 1024 * 1024;

/** XEP-0454 over an OMEMO plugin. Make one with {@link omemoMedia}. */
export class OmemoMedia {
  readonly #omemo: OmemoMediaSender;
  readonly #options: OmemoMediaOptions;
  readonly #random: RandomSource;
  /** The XEP-0363 client used for uploads. */
  readonly upload: HttpUpload;

  constructor(deps: OmemoMediaDependencies, options: OmemoMediaOptions = {}) {
    if (deps === null || typeof deps !== 'object' || deps.omemo === undefined || deps.iqCaller === undefined) throw new TypeError('omemoMedia: pass { omemo, iqCaller }');
    const domain = deps.domain ?? deps.omemo.account.slice(deps.omemo.account.indexOf('@') + 1);
    this.#omemo = deps.omemo;
    this.#options = options;
    this.#random = options.random ?? systemRandom;
    const max = options.maxDownloadBytes;
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 0)) throw new RangeError('omemoMedia: maxDownloadBytes must be a non-negative integer');
    // @xmpp/client's declared element type is a narrower view of the @xmpp/xml elements it really returns.
    this.upload = new HttpUpload({ iqCaller: deps.iqCaller as UploadIqCaller, domain }, options);
  }

  /**
   * Encrypts `bytes`, uploads the ciphertext and sends its `aesgcm://` URL to `to` as an
   * OMEMO-encrypted message. Errors: MediaError (`upload.*`, `media.*`), TlsError for a refused
   * HTTPS server, and the plugin's send errors (e.g. `xmpp.omemo.no-devices`). Nothing is sent
   * to `to` unless the upload succeeded.
   */
  async sendFile(to: string, bytes: Uint8Array, options: SendFileOptions = {}): Promise<SendFileResult> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('sendFile: bytes must be a Uint8Array');
    const service = await this.upload.discover();
    if (service === undefined) throw new MediaError('upload.unavailable', 'the server offers no HTTP upload service');
    const uploadedBytes = bytes.length + MEDIA_TAG_LENGTH;
    if (service.maxFileSize !== undefined && uploadedBytes > service.maxFileSize) {
      throw new MediaError('upload.file-too-large', 'the file is larger than the upload service allows', { maxFileSize: service.maxFileSize });
    }
    const mediaKey = generateMediaKey(this.#random);
    try {
      const ciphertext = encryptMedia(bytes, mediaKey);
      const filename = options.filename ?? bytesToHex(this.#random(8));
      const slot = await this.upload.upload(ciphertext, { filename, contentType: options.contentType });
      const url = formatAesgcmUrl(slot.getUrl, mediaKey);
      const message = await this.#omemo.send(to, url, options.version === undefined ? {} : { version: options.version });
      return { url, getUrl: slot.getUrl, uploadedBytes, message };
    } finally {
      wipe(mediaKey.key, mediaKey.iv);
    }
  }

  /** The aesgcm URL a decrypted message body consists of, or undefined (see {@link findAesgcmUrl}). */
  find(text: string): AesgcmUrl | undefined {
    return findAesgcmUrl(text);
  }

  /**
   * Downloads and decrypts a shared file. `url` is an `aesgcm://` URL (parsed strictly:
   * MediaError `media.bad-url`) or its parsed form. Errors: `media.too-large` (beyond the limit,
   * counted while streaming), `media.http-status`, `media.truncated`, `media.timeout`,
   * `media.network`, TlsError, VerificationError `media.auth-failed` (tampered or wrong key).
   */
  async download(url: string | AesgcmUrl, options: DownloadOptions = {}): Promise<Uint8Array> {
    const parsed = typeof url === 'string' ? parseAesgcmUrl(url) : url;
    const maxBytes = options.maxBytes ?? this.#options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError('download: maxBytes must be a non-negative integer');
    const payload = await httpsGet(parsed.httpsUrl, maxBytes + MEDIA_TAG_LENGTH, this.#options);
    return decryptMedia(payload, parsed.mediaKey);
  }
}

/** Creates the media helper for an OMEMO plugin and the client's iqCaller. */
export function omemoMedia(deps: OmemoMediaDependencies, options: OmemoMediaOptions = {}): OmemoMedia {
  return new OmemoMedia(deps, options);
}
