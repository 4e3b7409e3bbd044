/** @xmpp/middleware 0.14 (no shipped types): the factory the unit tests run the plugin on. */
declare module '@xmpp/middleware' {
  import type { Element } from '@xmpp/xml';
  export interface Middleware {
    use(fn: (ctx: { stanza: Element; name: string }, next: () => Promise<unknown>) => unknown): unknown;
    filter(fn: (ctx: { stanza: Element; name: string }, next: () => Promise<unknown>) => unknown): unknown;
  }
  export default function middleware(deps: { entity: unknown }): Middleware;
}
