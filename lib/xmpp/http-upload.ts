/**
 * XEP-0363 HTTP File Upload (`urn:xmpp:http:upload:0`) for an @xmpp/client entity:
 *
 *   const upload = httpUpload({ iqCaller: xmpp.iqCaller, domain: 'example.org' }, { tls: { ca } });
 *   const service = await upload.discover();          // { jid, maxFileSize } or undefined
 *   const slot = await upload.upload(bytes, { filename: 'a.bin', contentType: 'application/octet-stream' });
 *   slot.getUrl                                       // where the file can be fetched
 *
 * - Discovery (section 2): disco#items of the account's domain, then disco#info of each item
 *   (and of the domain itself) until one has the feature; `max-file-size` is read from the
 *   XEP-0128 form whose FORM_TYPE is the namespace.
 * - Slot request (section 4): `<request filename size content-type/>`; refusals become
 *   MediaError `upload.file-too-large` (with the service's `max-file-size`), `upload.not-allowed`,
 *   `upload.quota` (with the `<retry stamp>`), `upload.refused`.
 * - Upload (section 5): PUT over HTTPS only (an `http:` slot is `media.insecure-url`), TLS
 *   validated by our policy (https-transfer.ts), forwarding only the headers the XEP allows
 *   (Authorization, Cookie, Expires; newlines stripped), with Content-Type and Content-Length.
 */
import { xml, type Element } from '@xmpp/xml';
import { MediaError } from './media-errors.js';
import { httpsPut, requireHttpsUrl, type HttpsTransferOptions } from './https-transfer.js';

/** XEP-0363 namespace. */
export const NS_HTTP_UPLOAD = 'urn:xmpp:http:upload:0';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_DATA = 'jabber:x:data';
/** The only slot headers a client may send (XEP-0363 section 5). */
export const ALLOWED_SLOT_HEADERS: readonly string[] = ['Authorization', 'Cookie', 'Expires'];
/** At most this many disco items are asked for disco#info (hostile servers list thousands). */
const MAX_ITEMS_PROBED = 32;

/** @xmpp/iq's caller: `request(iq)` resolves with the result `<iq>`, rejects with a StanzaError (with `.element`, the `<error>`). */
export interface UploadIqCaller {
  request(stanza: Element, timeout?: number): Promise<Element>;
}

/** What {@link HttpUpload} needs. */
export interface HttpUploadDependencies {
  readonly iqCaller: UploadIqCaller;
  /** The account's domain (where the upload service is discovered). */
  readonly domain: string;
}

/** Options of {@link httpUpload}. */
export interface HttpUploadOptions extends HttpsTransferOptions {
  /** IQ timeout in ms (default 10 000). */
  readonly iqTimeoutMs?: number | undefined;
}

/** A discovered upload service. */
export interface UploadService {
  readonly jid: string;
  /** The service's `max-file-size` in bytes, when it announced one. */
  readonly maxFileSize: number | undefined;
}

/** What the slot is for. */
export interface UploadFile {
  /** Seen by the server (and in the URL): choose a neutral one for privacy. No `/`. */
  readonly filename: string;
  readonly size: number;
  /** Default `application/octet-stream`. */
  readonly contentType?: string | undefined;
}

/** An upload slot (XEP-0363 section 4). */
export interface UploadSlot {
  /** https URL to PUT to. */
  readonly putUrl: string;
  /** https URL the file will be served from. */
  readonly getUrl: string;
  /** The allowed headers the service asked for, newlines stripped. */
  readonly headers: Readonly<Record<string, string>>;
}

/** `disco#info` of `jid` answered with the upload feature: the service, else undefined. */
export function readUploadService(jid: string, info: Element): UploadService | undefined {
  const features = info.getChildren('feature').map((f) => f.attrs.var);
  if (!features.includes(NS_HTTP_UPLOAD)) return undefined;
  let maxFileSize: number | undefined;
  for (const form of info.getChildren('x', NS_DATA)) {
    const fields = form.getChildren('field');
    const type = fields.find((f) => f.attrs.var === 'FORM_TYPE')?.getChildText('value');
    if (type !== NS_HTTP_UPLOAD) continue;
    const value = fields.find((f) => f.attrs.var === 'max-file-size')?.getChildText('value')?.trim();
    if (value !== undefined && /^\d{1,15}$/.test(value)) maxFileSize = Number(value);
  }
  return { jid, maxFileSize };
}

/** The `<request/>` of XEP-0363 section 4. */
export function slotRequest(file: UploadFile): Element {
  return xml('request', { xmlns: NS_HTTP_UPLOAD, filename: file.filename, size: String(file.size), 'content-type': file.contentType ?? 'application/octet-stream' });
}

/**
 * Reads a `<slot/>` (section 4): both URLs must be https, the headers are reduced to the
 * allowed ones with newlines stripped. MediaError `upload.malformed-slot` / `media.insecure-url`.
 */
export function readSlot(slot: Element | undefined): UploadSlot {
  if (slot === undefined || !slot.is('slot', NS_HTTP_UPLOAD)) throw new MediaError('upload.malformed-slot', 'the service answered without a <slot>');
  const put = slot.getChild('put');
  const get = slot.getChild('get');
  const putUrl = put?.attrs.url;
  const getUrl = get?.attrs.url;
  if (put === undefined || typeof putUrl !== 'string' || typeof getUrl !== 'string') throw new MediaError('upload.malformed-slot', 'the slot lacks a put or get URL');
  requireHttpsUrl(putUrl);
  requireHttpsUrl(getUrl);
  const headers: Record<string, string> = {};
  for (const header of put.getChildren('header')) {
    const name = ALLOWED_SLOT_HEADERS.find((h) => h.toLowerCase() === (header.attrs.name ?? '').toLowerCase());
    if (name === undefined) continue; // section 5: any other header MUST be ignored
    const value = header.text().replace(/[\r\n]/g, '');
    // Field content of RFC 9110 section 5.5: no other control characters.
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value) || value.length > 8192) throw new MediaError('upload.malformed-slot', `the slot's ${name} header is not a valid header value`);
    headers[name] = value;
  }
  return { putUrl, getUrl, headers };
}

/** Maps the `<error>` of a refused slot request to a MediaError (XEP-0363 section 4/5). */
export function slotRefusal(error: unknown): MediaError {
  if (error instanceof MediaError) return error;
  const e = error as { condition?: unknown; element?: Element; name?: unknown } | null;
  if (e?.name === 'TimeoutError') return new MediaError('media.timeout', 'the upload service did not answer in time', { cause: error });
  const condition = typeof e?.condition === 'string' ? e.condition : undefined;
  const element = e?.element;
  const tooLarge = element?.getChild('file-too-large', NS_HTTP_UPLOAD);
  if (tooLarge !== undefined) {
    const max = tooLarge.getChildText('max-file-size')?.trim();
    return new MediaError('upload.file-too-large', 'the file is larger than the upload service allows', {
      condition, maxFileSize: max !== undefined && /^\d{1,15}$/.test(max) ? Number(max) : undefined, cause: error,
    });
  }
  if (condition === 'not-allowed' || condition === 'forbidden') return new MediaError('upload.not-allowed', 'the upload service does not allow this account to upload', { condition, cause: error });
  if (condition === 'resource-constraint') {
    const retry = element?.getChild('retry', NS_HTTP_UPLOAD)?.attrs.stamp;
    return new MediaError('upload.quota', 'the upload service refused for now (quota)', { condition, retryAt: retry, cause: error });
  }
  if (condition !== undefined) return new MediaError('upload.refused', `the upload service refused the slot (${condition})`, { condition, cause: error });
  return new MediaError('upload.refused', 'the slot request failed', { cause: error });
}

function checkFile(file: UploadFile): void {
  if (file === null || typeof file !== 'object') throw new TypeError('upload: file must be { filename, size, contentType }');
  if (typeof file.filename !== 'string' || file.filename.length === 0 || file.filename.length > 255 || /[/\u0000-\u001f\u007f]/.test(file.filename)) {
    throw new RangeError('upload: filename must be 1-255 characters without "/" or control characters');
  }
  if (!Number.isSafeInteger(file.size) || file.size < 0) throw new RangeError('upload: size must be a non-negative integer');
  if (file.contentType !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;[\t\x20-\x7e]*)?$/.test(file.contentType)) {
    throw new RangeError('upload: contentType must be a MIME type');
  }
}

/** XEP-0363 client. Make one with {@link httpUpload}. */
export class HttpUpload {
  readonly #deps: HttpUploadDependencies;
  readonly #options: HttpUploadOptions;
  #service: Promise<UploadService | undefined> | undefined;

  constructor(deps: HttpUploadDependencies, options: HttpUploadOptions = {}) {
    if (deps === null || typeof deps !== 'object' || typeof deps.iqCaller?.request !== 'function') throw new TypeError('httpUpload: pass { iqCaller, domain } (an @xmpp/client iqCaller)');
    if (typeof deps.domain !== 'string' || deps.domain.length === 0 || deps.domain.includes('@') || deps.domain.includes('/')) throw new TypeError('httpUpload: domain must be the account\'s domain');
    this.#deps = deps;
    this.#options = options;
  }

  get #timeout(): number {
    return this.#options.iqTimeoutMs ?? 10_000;
  }

  async #iq(type: 'get' | 'set', to: string, child: Element): Promise<Element> {
    return this.#deps.iqCaller.request(xml('iq', { type, to }, child), this.#timeout);
  }

  /**
   * Finds the upload service (cached after the first success; `refresh` asks again). Resolves
   * undefined when the server offers none; rejects with `media.timeout` when disco gets no answer.
   */
  discover(refresh = false): Promise<UploadService | undefined> {
    if (this.#service === undefined || refresh) {
      const lookup = this.#discover();
      this.#service = lookup;
      lookup.catch(() => {
        if (this.#service === lookup) this.#service = undefined;
      });
    }
    return this.#service;
  }

  async #discover(): Promise<UploadService | undefined> {
    const domain = this.#deps.domain;
    const candidates: string[] = [];
    try {
      const items = await this.#iq('get', domain, xml('query', { xmlns: NS_DISCO_ITEMS }));
      for (const item of items.getChild('query', NS_DISCO_ITEMS)?.getChildren('item') ?? []) {
        const jid = item.attrs.jid;
        if (typeof jid === 'string' && jid.length > 0 && !candidates.includes(jid) && item.attrs.node === undefined) candidates.push(jid);
        if (candidates.length >= MAX_ITEMS_PROBED) break;
      }
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'TimeoutError') throw new MediaError('media.timeout', 'disco#items got no answer', { cause: error });
    }
    candidates.push(domain);
    for (const jid of candidates) {
      let info: Element | undefined;
      try {
        info = (await this.#iq('get', jid, xml('query', { xmlns: NS_DISCO_INFO }))).getChild('query', NS_DISCO_INFO);
      } catch {
        continue; // an item that does not answer disco#info is not the service
      }
      const service = info === undefined ? undefined : readUploadService(jid, info);
      if (service !== undefined) return service;
    }
    return undefined;
  }

  /** Requests a slot from the discovered service (MediaError `upload.unavailable` when there is none). */
  async requestSlot(file: UploadFile): Promise<UploadSlot> {
    checkFile(file);
    const service = await this.discover();
    if (service === undefined) throw new MediaError('upload.unavailable', 'the server offers no HTTP upload service');
    let answer: Element;
    try {
      answer = await this.#iq('get', service.jid, slotRequest(file));
    } catch (error) {
      throw slotRefusal(error);
    }
    return readSlot(answer.getChild('slot', NS_HTTP_UPLOAD));
  }

  /** PUTs `bytes` into `slot` over validated HTTPS (section 5). */
  async put(slot: UploadSlot, bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    const headers: Record<string, string> = { 'Content-Type': contentType };
    for (const name of ALLOWED_SLOT_HEADERS) {
      const value = slot.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    await httpsPut(slot.putUrl, bytes, headers, this.#options);
  }

  /**
   * Discovers the service, refuses a file over its `max-file-size` before asking
   * (`upload.file-too-large`), requests a slot and PUTs the bytes. Resolves with the slot.
   */
  async upload(bytes: Uint8Array, file: { readonly filename: string; readonly contentType?: string | undefined }): Promise<UploadSlot> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('upload: bytes must be a Uint8Array');
    const service = await this.discover();
    if (service === undefined) throw new MediaError('upload.unavailable', 'the server offers no HTTP upload service');
    if (service.maxFileSize !== undefined && bytes.length > service.maxFileSize) {
      throw new MediaError('upload.file-too-large', 'the file is larger than the upload service allows', { maxFileSize: service.maxFileSize });
    }
    const slot = await this.requestSlot({ filename: file.filename, size: bytes.length, contentType: file.contentType });
    await this.put(slot, bytes, file.contentType);
    return slot;
  }
}

/** Creates an XEP-0363 client over `{ iqCaller, domain }`. */
export function httpUpload(deps: HttpUploadDependencies, options: HttpUploadOptions = {}): HttpUpload {
  return new HttpUpload(deps, options);
}
