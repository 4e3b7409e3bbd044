/**
 * The socket @xmpp/connection talks to when a client is secured by secure-client.ts. It has the
 * interface @xmpp/connection expects of a transport socket (`connect`, `write`, `end`, `secure`,
 * events `connect`/`data`/`close`/`error`) and owns the TLS handshake for both XEP-0368 direct
 * TLS and RFC 6120 §5 STARTTLS, with the options of a {@link TlsPolicy}.
 *
 * It is deliberately NOT a `net.Socket`: @xmpp/starttls then leaves the upgrade to us (it only
 * upgrades `net.Socket`s, with fixed options). Until the connection is secure (or plaintext was
 * explicitly accepted) `write` lets through only the stream header and footer: nothing else
 * (credentials, stanzas) can reach the network in the clear.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { TlsError, classifyTlsError } from './tls-errors.js';
import { checkSecuredSocket, nodeTlsOptions } from './tls-options.js';
import type { ConnectionSecurity, TlsPolicy } from './tls-options.js';

/** What the secure transports' `socketParameters()` return. */
export type SecureSocketParameters =
  | { readonly mode: 'starttls' | 'direct-tls'; readonly host: string; readonly port: number }
  | { readonly mode: 'unsupported'; readonly service: string };

/** What a socket needs from the client it belongs to. */
export interface SecureSocketContext {
  readonly policy: TlsPolicy;
  /** The reference identity at connect time (policy.servername, else the XMPP domain). */
  servername(): string;
  /** Called once per connection when it is secured, or when plaintext is accepted. */
  onSecured?(security: ConnectionSecurity): void;
}

/** RFC 6120 §5.4.2.1 */
const STARTTLS_REQUEST = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

type Phase =
  | { readonly name: 'idle' }
  /** TCP up, no TLS: `accepted` once plaintext was allowed; `startTlsRequested` after `<starttls/>`. */
  | { readonly name: 'plain'; readonly socket: Socket; readonly accepted: boolean; readonly startTlsRequested: boolean }
  | { readonly name: 'handshake'; readonly socket: TLSSocket; readonly method: 'starttls' | 'direct-tls' }
  | { readonly name: 'secure'; readonly socket: TLSSocket; readonly security: ConnectionSecurity & { kind: 'tls' } }
  | { readonly name: 'closed' };

/** A transport socket that is secure or refuses to carry XMPP. */
export class SecureSocket extends EventEmitter {
  readonly #context: SecureSocketContext;
  #phase: Phase = { name: 'idle' };
  #unsubscribe: (() => void) | undefined;

  constructor(context: SecureSocketContext) {
    super();
    this.#context = context;
  }

  /** True once TLS is established and verified (read by @xmpp/connection's `isSecure()`). */
  get secure(): boolean {
    return this.#phase.name === 'secure';
  }

  /** The underlying node socket (a TLSSocket once secure), like @xmpp/tls' Socket exposes. */
  get socket(): Socket | TLSSocket | null {
    const p = this.#phase;
    return p.name === 'plain' || p.name === 'handshake' || p.name === 'secure' ? p.socket : null;
  }

  /** How this connection is protected, once known (undefined before TLS or plaintext acceptance). */
  get security(): ConnectionSecurity | undefined {
    const p = this.#phase;
    if (p.name === 'secure') return p.security;
    if (p.name === 'plain' && p.accepted) return { kind: 'plaintext' };
    return undefined;
  }

  /** Whether the stream is unencrypted and plaintext was not accepted (STARTTLS still to come or under way). */
  get plaintextPending(): boolean {
    return this.#phase.name === 'plain' && !this.#phase.accepted;
  }

  /** Whether `<starttls/>` was already sent on this connection. */
  get startTlsRequested(): boolean {
    return this.#phase.name === 'plain' && this.#phase.startTlsRequested;
  }

  /** Opens the TCP connection (STARTTLS mode) or the TLS connection (direct TLS). */
  connect(params: SecureSocketParameters): void {
    if (this.#phase.name !== 'idle') throw new Error('SecureSocket.connect: already used');
    if (params.mode === 'unsupported') {
      queueMicrotask(() => this.#fail(new TlsError('tls.unsupported-transport', 'only xmpp: (STARTTLS) and xmpps: (direct TLS) services can be secured')));
      return;
    }
    if (params.mode === 'direct-tls') {
      const socket = tlsConnect({
        host: params.host,
        port: params.port,
        ALPNProtocols: ['xmpp-client'], // XEP-0368 §3
        ...nodeTlsOptions(this.#context.policy, this.#context.servername()),
      });
      this.#handshake(socket, 'direct-tls', () => this.emit('connect'));
      return;
    }
    const socket = netConnect({ host: params.host, port: params.port });
    this.#phase = { name: 'plain', socket, accepted: false, startTlsRequested: false };
    this.#attach(socket, { error: (e) => this.emit('error', e) });
    socket.once('connect', () => this.emit('connect'));
  }

  /** Writes the `<starttls/>` request (RFC 6120 §5.4.2.1) on the still-plain stream. */
  requestStartTls(): Promise<void> {
    const p = this.#phase;
    if (p.name !== 'plain' || p.accepted || p.startTlsRequested) {
      return Promise.reject(new Error('SecureSocket.requestStartTls: not a plain stream awaiting STARTTLS'));
    }
    this.#phase = { ...p, startTlsRequested: true };
    return new Promise((resolve, reject) => p.socket.write(STARTTLS_REQUEST, (e) => (e ? reject(e) : resolve())));
  }

  /**
   * Upgrades the plain socket after `<proceed/>` (RFC 6120 §5.4.3.3). Resolves when TLS is up
   * and verified. On failure the typed error is emitted as `error` (once), the socket is
   * destroyed, and the promise rejects with the same error.
   */
  startTls(): Promise<ConnectionSecurity> {
    const p = this.#phase;
    if (p.name !== 'plain') return Promise.reject(new Error('SecureSocket.startTls: stream is not plain'));
    this.#detach();
    const socket = tlsConnect({ socket: p.socket, host: this.#context.servername(), ...nodeTlsOptions(this.#context.policy, this.#context.servername()) });
    return new Promise((resolve, reject) => {
      this.#handshake(socket, 'starttls', () => {
        const s = this.security;
        if (s) resolve(s);
      }, reject);
    });
  }

  /** Continues without TLS: only allowed when the policy has `insecure.allowPlaintext`. */
  acceptPlaintext(): void {
    const p = this.#phase;
    if (!this.#context.policy.allowPlaintext) throw new TlsError('tls.plaintext-refused', 'plaintext is not allowed by the TLS policy');
    if (p.name !== 'plain') throw new Error('SecureSocket.acceptPlaintext: stream is not plain');
    this.#phase = { ...p, accepted: true };
    this.#context.onSecured?.({ kind: 'plaintext' });
  }

  /** Emits `error` with a typed error and destroys the connection. */
  fail(error: TlsError): void {
    this.#fail(error);
  }

  /** @xmpp/connection's write path. Refuses XMPP payload on an unaccepted plain stream. */
  write(data: string, callback?: (error?: Error | null) => void): void {
    const p = this.#phase;
    if (p.name === 'secure' || (p.name === 'plain' && p.accepted)) {
      p.socket.write(data, callback);
      return;
    }
    const framing = data.startsWith('<?xml') || data === '</stream:stream>';
    if (p.name === 'plain' && framing) {
      p.socket.write(data, callback);
      return;
    }
    const error = new TlsError('tls.plaintext-refused', 'refusing to send XMPP data on a connection that is not encrypted');
    queueMicrotask(() => callback?.(error));
  }

  /** Half-closes (after the stream footer). */
  end(): void {
    const p = this.#phase;
    if (p.name === 'plain' || p.name === 'handshake' || p.name === 'secure') p.socket.end();
    else queueMicrotask(() => this.emit('close', false));
  }

  /** Tears the connection down at once. */
  destroy(): void {
    const p = this.#phase;
    if (p.name === 'plain' || p.name === 'handshake' || p.name === 'secure') p.socket.destroy();
  }

  #handshake(socket: TLSSocket, method: 'starttls' | 'direct-tls', onSecure: () => void, onError?: (e: TlsError) => void): void {
    this.#phase = { name: 'handshake', socket, method };
    let failed = false;
    const failOnce = (e: unknown): void => {
      if (failed) return;
      failed = true;
      const typed = classifyTlsError(e);
      onError?.(typed);
      this.#fail(typed);
    };
    this.#attach(socket, {
      error: (e) => (this.#phase.name === 'secure' ? this.emit('error', e) : failOnce(e)),
    });
    socket.once('secureConnect', () => {
      try {
        const security = checkSecuredSocket(socket, this.#context.policy, method, this.#context.servername());
        this.#phase = { name: 'secure', socket, security };
      } catch (e) {
        failOnce(e);
        return;
      }
      if (this.#phase.name === 'secure') this.#context.onSecured?.(this.#phase.security);
      onSecure();
    });
  }

  #fail(error: TlsError): void {
    const sock = this.socket;
    this.emit('error', error);
    if (sock) sock.destroy();
    else {
      this.#phase = { name: 'closed' };
      this.emit('close', true);
    }
  }

  #attach(socket: Socket, handlers: { error: (e: Error) => void }): void {
    this.#detach();
    const onData = (d: Buffer): void => {
      this.emit('data', d);
    };
    const onClose = (hadError: boolean): void => {
      this.#detach();
      this.#phase = { name: 'closed' };
      this.emit('close', hadError);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', handlers.error);
    this.#unsubscribe = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', handlers.error);
    };
  }

  #detach(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
