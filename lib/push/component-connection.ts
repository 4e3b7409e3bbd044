/**
 * A minimal XEP-0114 (Jabber Component Protocol) connection over node:net: the
 * `jabber:component:accept` stream header, the `<handshake/>` of SHA-1(stream id || secret) in
 * lowercase hex (XEP-0114 §3), then stanzas both ways. Parsing uses @xmpp/xml's streaming
 * parser (exposed as `xml.Parser` by @xmpp/client 0.14). The component protocol is plain TCP,
 * so this class only connects to a loopback address.
 *
 * Hostile or broken input is bounded: a single top-level element larger than
 * `maxStanzaBytes` closes the connection.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as netConnect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { ProtocolError } from '../core/errors.js';

const NS_COMPONENT = 'jabber:component:accept';
const NS_STREAM = 'http://etherx.jabber.org/streams';

/** Codes of {@link ComponentError}. */
export type ComponentErrorCode =
  | 'component.connect-failed'
  | 'component.handshake-refused'
  | 'component.timeout'
  | 'component.stanza-too-large'
  | 'component.xml-error'
  | 'component.closed';

/** A failed or broken component connection. */
export class ComponentError extends ProtocolError {
  declare readonly code: ComponentErrorCode;
  constructor(code: ComponentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Where and as whom to connect. */
export interface ComponentOptions {
  /** Loopback address of the XMPP server's component port (default 127.0.0.1). */
  readonly host?: string;
  readonly port: number;
  /** The component's domain, e.g. `push.localhost`. */
  readonly domain: string;
  /** The shared secret configured on the server (`component_secret`). */
  readonly secret: string;
  /** Handshake deadline (default 10000 ms). */
  readonly timeoutMs?: number;
  /** Largest accepted top-level element (default 256 KiB). */
  readonly maxStanzaBytes?: number;
}

interface XmlParser extends EventEmitter {
  write(data: string): void;
}
type XmlParserClass = new () => XmlParser;

function parserClass(): XmlParserClass {
  const P = (xml as unknown as { Parser?: unknown }).Parser;
  if (typeof P !== 'function') throw new TypeError('@xmpp/client does not expose xml.Parser (expected @xmpp/xml 0.14)');
  return P as XmlParserClass;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** An established component stream. Events: `stanza` (element), `close` (ComponentError | undefined). */
export class ComponentConnection extends EventEmitter {
  #socket: Socket;
  #closed = false;

  private constructor(socket: Socket, readonly domain: string) {
    super();
    this.#socket = socket;
  }

  /** Connects, performs the handshake, and resolves once the server accepted it. */
  static connect(options: ComponentOptions): Promise<ComponentConnection> {
    const host = options.host ?? '127.0.0.1';
    if (!LOOPBACK.has(host) && !(isIP(host) === 4 && host.startsWith('127.'))) {
      return Promise.reject(new RangeError('component: the component protocol is unencrypted; connect to a loopback address only'));
    }
    if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535) return Promise.reject(new RangeError('component.port'));
    if (typeof options.domain !== 'string' || options.domain === '') return Promise.reject(new TypeError('component.domain'));
    if (typeof options.secret !== 'string' || options.secret === '') return Promise.reject(new TypeError('component.secret'));
    const maxBytes = options.maxStanzaBytes ?? 256 * 1024;
    const Parser = parserClass();
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port: options.port });
      socket.setEncoding('utf8');
      const conn = new ComponentConnection(socket, options.domain);
      const parser = new Parser();
      let ready = false;
      let pendingBytes = 0;
      const timer = setTimeout(() => fail(new ComponentError('component.timeout', 'component handshake timed out')), options.timeoutMs ?? 10000);
      const fail = (error: ComponentError): void => {
        clearTimeout(timer);
        if (!ready) reject(error);
        conn.#shutdown(error);
      };
      socket.once('connect', () => {
        socket.write(
          `<?xml version='1.0'?><stream:stream xmlns='${NS_COMPONENT}' xmlns:stream='${NS_STREAM}' to='${xmlEscape(options.domain)}'>`,
        );
      });
      socket.on('error', (e) => fail(new ComponentError(ready ? 'component.closed' : 'component.connect-failed', `component connection error (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e })));
      socket.on('close', () => fail(new ComponentError('component.closed', 'component connection closed')));
      socket.on('data', (chunk: string) => {
        pendingBytes += Buffer.byteLength(chunk);
        if (pendingBytes > maxBytes) {
          fail(new ComponentError('component.stanza-too-large', 'element larger than the limit'));
          return;
        }
        try {
          parser.write(chunk);
        } catch (error) {
          fail(new ComponentError('component.xml-error', 'malformed XML from the server', { cause: error }));
        }
      });
      parser.on('error', (e: unknown) => fail(new ComponentError('component.xml-error', 'malformed XML from the server', { cause: e })));
      parser.on('start', (root: XmppClientElement) => {
        const id = root.attrs['id'];
        if (!id) {
          fail(new ComponentError('component.handshake-refused', 'server stream has no id'));
          return;
        }
        const digest = createHash('sha1').update(id + options.secret, 'utf8').digest('hex');
        socket.write(`<handshake>${digest}</handshake>`);
      });
      parser.on('end', () => fail(new ComponentError('component.closed', 'server closed the stream')));
      parser.on('element', (el: XmppClientElement) => {
        pendingBytes = 0;
        if (!ready) {
          if (el.is('handshake')) {
            ready = true;
            clearTimeout(timer);
            resolve(conn);
            return;
          }
          fail(new ComponentError('component.handshake-refused', `server refused the handshake (${el.is('error', NS_STREAM) ? firstChildName(el) : el.name})`));
          return;
        }
        if (el.is('error', NS_STREAM)) {
          fail(new ComponentError('component.closed', `stream error (${firstChildName(el)})`));
          return;
        }
        conn.emit('stanza', el);
      });
    });
  }

  /** Whether the stream is still up. */
  get online(): boolean {
    return !this.#closed;
  }

  /** Writes one stanza; silently ignored after close. */
  send(element: XmppClientElement): void {
    if (this.#closed) return;
    this.#socket.write(element.toString());
  }

  /** Ends the stream and the socket. */
  async close(): Promise<void> {
    if (this.#closed) return;
    const socket = this.#socket;
    socket.write('</stream:stream>');
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 1000);
      socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      socket.end();
      this.#shutdown(undefined);
    });
  }

  #shutdown(error: ComponentError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.removeAllListeners('data');
    this.#socket.on('error', () => undefined);
    if (error) this.#socket.destroy();
    this.emit('close', error);
  }
}

function firstChildName(el: XmppClientElement): string {
  const c = el.children.find((x): x is XmppClientElement => typeof x !== 'string');
  return c?.name ?? 'unknown';
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
}
