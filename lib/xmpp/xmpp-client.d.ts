/**
 * The part of @xmpp/client 0.14 (and of its transports) that lib/xmpp/ and the interop tests
 * use. @xmpp/* ship no type declarations. Elements are typed structurally here
 * (`XmppClientElement`) so this file does not depend on a declaration of @xmpp/xml.
 */
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';

  /** An ltx element as @xmpp/xml builds and parses it (structural subset). */
  export interface XmppClientElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: (XmppClientElement | string)[];
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): XmppClientElement | undefined;
    getChildren(name: string, xmlns?: string): XmppClientElement[];
    getChildText(name: string, xmlns?: string): string | null;
    text(): string;
    toString(): string;
  }

  /** A transport instance (@xmpp/connection-tcp and subclasses); the client calls its prototype's methods. */
  export interface XmppTransport {
    socketParameters(service: string): unknown;
  }

  /** A transport class: @xmpp/client consults `prototype.socketParameters` and `prototype.Socket`. */
  export interface XmppTransportClass {
    new (options?: unknown): XmppTransport;
    readonly prototype: XmppTransport;
  }

  /** Options of `client()`. */
  export interface XmppClientOptions {
    service?: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    lang?: string;
    timeout?: number;
    credentials?: unknown;
  }

  /** What `client()` returns: the entity (a @xmpp/connection) with its plugins attached. */
  export interface XmppClient extends EventEmitter {
    readonly entity: XmppClient;
    readonly options: XmppClientOptions;
    readonly status: string;
    readonly jid: { toString(): string; bare(): { toString(): string } } | null;
    /** The current socket wrapper (@xmpp/tls Socket, net.Socket subclass, or a replacement). */
    socket: unknown;
    /** Transport classes tried in order by `connect(service)`. */
    transports: XmppTransportClass[];
    readonly reconnect: { start(): void; stop(): void } & EventEmitter;
    readonly middleware: { use(fn: (ctx: unknown, next: () => Promise<unknown>) => unknown): unknown };
    readonly streamFeatures: {
      use(name: string, xmlns: string, fn: (ctx: unknown, next: () => Promise<unknown>, feature: XmppClientElement) => unknown): unknown;
    };
    readonly iqCaller: {
      get(child: XmppClientElement, to?: string, timeout?: number): Promise<XmppClientElement>;
      set(child: XmppClientElement, to?: string, timeout?: number): Promise<XmppClientElement>;
      /** Sends a whole `<iq>` and resolves with the whole result `<iq>` (rejects with a StanzaError). */
      request(stanza: XmppClientElement, timeout?: number): Promise<XmppClientElement>;
    };
    readonly streamManagement: EventEmitter & { enabled: boolean; id: string };
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    disconnect(): Promise<unknown>;
    restart(): Promise<unknown>;
    send(element: XmppClientElement): Promise<void>;
    sendReceive(element: XmppClientElement, timeout?: number): Promise<XmppClientElement>;
    write(text: string): Promise<void>;
    isSecure(): boolean;
  }

  export function client(options?: XmppClientOptions): XmppClient;
  export function xml(
    name: string,
    attrs?: Record<string, string | undefined> | null,
    ...children: (XmppClientElement | string | undefined)[]
  ): XmppClientElement;
  export function jid(value: string): { toString(): string; local: string; domain: string; resource: string };
}

