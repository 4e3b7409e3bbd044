/** @xmpp/events and @xmpp/middleware's StanzaError 0.14 (no shipped types): the errors @xmpp/iq's caller rejects with. */
declare module '@xmpp/events' {
  export class TimeoutError extends Error {}
}
declare module '@xmpp/middleware/lib/StanzaError.js' {
  import type { Element } from '@xmpp/xml';
  export default class StanzaError extends Error {
    condition: string;
    static fromElement(element: Element): StanzaError;
  }
}
