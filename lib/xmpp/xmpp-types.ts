/**
 * The parts of an @xmpp/client 0.14 entity the OTR plugin depends on, as structural types, so
 * the plugin takes its dependencies as xmpp.js plugins do (`{ entity, middleware,
 * streamManagement }`) and works with `client()` or anything shaped like it.
 */
import type { Element } from '@xmpp/xml';

export type { Element } from '@xmpp/xml';

/** What a middleware handler sees (@xmpp/middleware's IncomingContext). */
export interface IncomingContext {
  stanza: Element;
  readonly name: string;
  readonly from?: unknown;
}

/**
 * A koa-style middleware handler; whatever it returns is sent as a reply. The context is
 * typed `unknown` here so any middleware declaration fits; @xmpp/middleware passes an
 * {@link IncomingContext}.
 */
export type MiddlewareHandler = (context: unknown, next: () => Promise<unknown>) => unknown;

/** @xmpp/middleware's incoming chain (the plugin never uses `filter`: it runs after the socket write). */
export interface MiddlewareLike {
  use(handler: MiddlewareHandler): unknown;
}

/** The connection (@xmpp/connection): send path, status and events. */
export interface EntityLike {
  send(element: Element): Promise<unknown>;
  readonly status: string;
  readonly jid?: { toString(): string } | null | undefined;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** @xmpp/stream-management's emitter: 'fail' for unacknowledged stanzas of a lost session, 'resumed'. */
export interface StreamManagementLike {
  on(event: 'fail' | 'ack', listener: (stanza: Element) => void): unknown;
  on(event: 'resumed', listener: () => void): unknown;
  removeListener(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** The dependencies of the plugin: an @xmpp/client `client()` object satisfies this. */
export interface XmppDependencies {
  readonly entity: EntityLike;
  readonly middleware: MiddlewareLike;
  readonly streamManagement?: StreamManagementLike | undefined;
}
