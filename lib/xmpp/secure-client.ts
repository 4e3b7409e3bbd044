/**
 * TLS that the application controls, for @xmpp/client 0.14, which has no TLS options of its own
 * (its STARTTLS calls `tls.connect({socket, host})` and its direct TLS `{port, host}`).
 *
 * `secureTransport({ entity }, tls)` hooks an @xmpp/client entity before `start()`:
 * - its transports are replaced by subclasses of the client's own TCP (`xmpp:`, RFC 6120 §5
 *   STARTTLS) and TLS (`xmpps:`, XEP-0368) transports whose socket is a {@link SecureSocket};
 *   any other scheme (WebSocket) is refused with `tls.unsupported-transport`;
 * - it performs STARTTLS itself, ahead of every other stream-feature handler: on an unencrypted
 *   stream, `<stream:features>` is reduced to nothing before @xmpp/client's middleware sees it
 *   (so SASL can never run in the clear), stanzas arriving before TLS are emptied into an inert
 *   element, and the upgrade uses the policy's CA, pins and reference identity;
 * - with no STARTTLS on offer, the connection fails with `tls.starttls-unavailable` unless
 *   `insecure.allowPlaintext` is set.
 *
 * `secureClient(options)` is `client(options)` with the hook applied (and XEP-0198's inbound
 * counter corrected: stream-management-counter.ts). After `start()`,
 * `security` tells how the connection is protected (protocol, certificate fingerprints).
 */
import { client } from '@xmpp/client';
import type { XmppClient, XmppClientElement, XmppClientOptions, XmppTransportClass } from '@xmpp/client';
import { SecureSocket } from './secure-socket.js';
import { correctStreamManagementCounter } from './stream-management-counter.js';
import type { SecureSocketContext, SecureSocketParameters } from './secure-socket.js';
import { TlsError } from './tls-errors.js';
import { resolveTlsPolicy } from './tls-options.js';
import type { ConnectionSecurity, TlsOptions, TlsPolicy } from './tls-options.js';

export { TlsError } from './tls-errors.js';
export type { TlsErrorCode } from './tls-errors.js';
export type { ConnectionSecurity, InsecureTlsOptions, ServerCertificateInfo, TlsOptions } from './tls-options.js';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';

/** What {@link secureTransport} hooks: an @xmpp/client entity, before `start()`. */
export type SecurableEntity = XmppClient;

/** The handle returned by {@link secureTransport}. */
export interface SecureTransport {
  /** The validated policy in force. */
  readonly policy: TlsPolicy;
  /**
   * How the current connection is protected: `{kind: 'tls', method, protocol, cipher,
   * certificate: {fingerprintSha256, spkiSha256, ...}, validation, pinned}`, or
   * `{kind: 'plaintext'}` (only with `insecure.allowPlaintext`), or undefined before the
   * connection is secured.
   */
  readonly security: ConnectionSecurity | undefined;
  /**
   * Calls `listener` each time a connection is secured (every reconnect makes a new handshake,
   * so a changed server certificate is seen here), or plaintext is accepted, before any
   * XMPP data is sent on it. Returns a function that removes the listener.
   */
  onSecured(listener: (security: ConnectionSecurity) => void): () => void;
}

/** Options of {@link secureClient}: @xmpp/client's, plus `tls`. */
export interface SecureClientOptions extends XmppClientOptions {
  /** TLS policy; omitted = validate against the system roots, refuse plaintext. */
  readonly tls?: TlsOptions;
}

/** An @xmpp/client whose transport is secured; `security` as in {@link SecureTransport}. */
export type SecureXmppClient = XmppClient & { readonly transportSecurity: SecureTransport };

function findTransport(entity: SecurableEntity, probe: string): XmppTransportClass | undefined {
  return entity.transports.find((T) => {
    try {
      return T.prototype.socketParameters(probe) !== undefined;
    } catch {
      return false;
    }
  });
}

function hostPort(params: unknown, fallbackPort: number): { host: string; port: number } {
  const p = params as { host?: unknown; port?: unknown };
  if (typeof p.host !== 'string') throw new TypeError('service: no host');
  return { host: p.host, port: typeof p.port === 'number' && p.port > 0 ? p.port : fallbackPort };
}

/**
 * Secures an @xmpp/client entity (see the module comment). Call before `start()`; throws a
 * TypeError when the entity is already connected or lacks the TCP/TLS transports.
 */
export function secureTransport({ entity }: { entity: SecurableEntity }, tls: TlsOptions = {}): SecureTransport {
  const policy = resolveTlsPolicy(tls);
  if (entity.status !== 'offline') throw new TypeError('secureTransport: call it before start()');
  const Tcp = findTransport(entity, 'xmpp://localhost:5222');
  const Tls = findTransport(entity, 'xmpps://localhost:5223');
  if (!Tcp || !Tls) throw new TypeError('secureTransport: the entity has no @xmpp/tcp and @xmpp/tls transports');
  const socketOf = (T: XmppTransportClass): unknown => (T.prototype as { Socket?: unknown }).Socket;
  if ([Tcp, Tls].some((T) => typeof socketOf(T) === 'function' && (socketOf(T) as { prototype: unknown }).prototype instanceof SecureSocket)) {
    throw new TypeError('secureTransport: this entity is already secured (one policy per entity)');
  }

  const listeners = new Set<(security: ConnectionSecurity) => void>();
  const context: SecureSocketContext = {
    policy,
    servername: () => policy.servername ?? String(entity.options.domain ?? ''),
    onSecured: (security) => {
      for (const listener of [...listeners]) {
        try {
          listener(security);
        } catch (error) {
          entity.emit('error', error);
        }
      }
    },
  };
  class BoundSocket extends SecureSocket {
    constructor() {
      super(context);
    }
  }
  class SecureTcp extends Tcp {
    override socketParameters(service: string): SecureSocketParameters | undefined {
      const base = super.socketParameters(service);
      return base === undefined ? undefined : { mode: 'starttls', ...hostPort(base, 5222) };
    }
  }
  class SecureTls extends Tls {
    override socketParameters(service: string): SecureSocketParameters | undefined {
      const base = super.socketParameters(service);
      return base === undefined ? undefined : { mode: 'direct-tls', ...hostPort(base, 5223) };
    }
  }
  class Unsupported extends Tcp {
    override socketParameters(service: string): SecureSocketParameters {
      return { mode: 'unsupported', service };
    }
  }
  for (const T of [SecureTcp, SecureTls, Unsupported]) {
    Object.defineProperty(T.prototype, 'Socket', { value: BoundSocket, writable: true, configurable: true });
  }
  entity.transports.splice(0, entity.transports.length, SecureTcp, SecureTls, Unsupported);

  // STARTTLS, ahead of @xmpp/client's middleware (prepended 'element' listener).
  const onElement = (element: XmppClientElement): void => {
    const socket = entity.socket;
    if (!(socket instanceof SecureSocket) || !socket.plaintextPending) return;
    if (!element.is('features', NS_STREAM)) {
      // RFC 6120 §5.3.1/§8: no stanza is processed before stream negotiation. A stanza sent in
      // the clear is emptied into an inert nonza, so no handler (e.g. the ping responder)
      // answers it, and its content never reaches the application.
      if (element.name === 'iq' || element.name === 'message' || element.name === 'presence') {
        element.name = 'dropped-before-tls';
        element.attrs = {};
        element.children.splice(0, element.children.length);
      }
      return;
    }
    const offered = element.getChild('starttls', NS_TLS) !== undefined;
    if (!offered && policy.allowPlaintext && !socket.startTlsRequested) {
      socket.acceptPlaintext();
      return;
    }
    element.children.splice(0, element.children.length); // nothing else is negotiable in the clear
    if (socket.startTlsRequested) return; // features again while STARTTLS is under way: ignore
    if (!offered) {
      socket.fail(new TlsError('tls.starttls-unavailable', 'server offers no STARTTLS; plaintext refused (insecure.allowPlaintext not set)'));
      return;
    }
    void negotiateStartTls(entity, socket);
  };
  entity.prependListener('element', onElement);

  return {
    policy,
    get security(): ConnectionSecurity | undefined {
      const socket = entity.socket;
      return socket instanceof SecureSocket ? socket.security : undefined;
    },
    onSecured(listener: (security: ConnectionSecurity) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

async function negotiateStartTls(entity: SecurableEntity, socket: SecureSocket): Promise<void> {
  // RFC 6120 §5.4.2.2-3: the server answers <proceed/> or <failure/>. What it sent before it
  // read our request (stanzas, emptied above) is skipped; a stream error ends the wait.
  let onReply: ((el: XmppClientElement) => void) | undefined;
  const reply = new Promise<XmppClientElement>((resolve) => {
    onReply = (el: XmppClientElement): void => {
      if (el.attrs['xmlns'] === NS_TLS || el.is('proceed', NS_TLS) || el.is('failure', NS_TLS) || el.is('error', NS_STREAM)) resolve(el);
    };
    entity.on('element', onReply);
  });
  try {
    let el: XmppClientElement;
    try {
      await socket.requestStartTls();
      el = await withTimeout(reply, entity.options.timeout ?? 2000);
    } finally {
      if (onReply) entity.removeListener('element', onReply);
    }
    if (!el.is('proceed', NS_TLS)) {
      socket.fail(new TlsError('tls.starttls-failed', 'server refused STARTTLS'));
      return;
    }
    await socket.startTls(); // on failure the socket has emitted the typed error already
  } catch (error) {
    if (!(error instanceof TlsError)) socket.fail(new TlsError('tls.starttls-failed', 'STARTTLS negotiation failed', { cause: error }));
    return;
  }
  try {
    await entity.restart(); // RFC 6120 §5.4.3.3: a new stream over TLS
  } catch (error) {
    entity.emit('error', error);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * `client(options)` from @xmpp/client with {@link secureTransport} applied; the handle is
 * `xmpp.transportSecurity`.
 */
export function secureClient(options: SecureClientOptions): SecureXmppClient {
  const { tls, ...clientOptions } = options;
  resolveTlsPolicy(tls); // validate before creating anything
  const xmpp = client(clientOptions);
  correctStreamManagementCounter(xmpp);
  const transportSecurity = secureTransport({ entity: xmpp }, tls);
  return Object.assign(xmpp, { transportSecurity });
}
