/** @xmpp/middleware 0.14's StanzaError (no shipped types): what @xmpp/iq rejects with on an error reply. */
declare module '@xmpp/middleware/lib/StanzaError.js' {
  import type { Element } from '@xmpp/xml';
  export default class StanzaError extends Error {
    condition: string;
    type: string | undefined;
    element: Element;
    static fromElement(element: Element): StanzaError;
  }
}
