/**
 * A correction of @xmpp/stream-management 0.14.0's count of handled inbound stanzas (the 'h'
 * of XEP-0198 §4), applied by {@link secureClient} to every connection it makes.
 *
 * XEP-0198 §4: "The counter for the received stanzas ('h') is set to zero and started after
 * receiving either <enable/> or <enabled/>". The library counts every stanza from the start of
 * the stream and resets the counter when its `<enable/>` procedure's promise settles, which is a
 * microtask AFTER the parser has emitted `<enabled/>`. Elements that arrive in the same TCP read
 * as `<enabled/>` are handled synchronously before that reset:
 * - an `<r/>` there is answered with the count since the stream began (bind result and
 *   everything else received before `<enabled/>`). Prosody answers "Client acknowledged more
 *   stanzas than sent by server" and closes the stream: the session is lost and messages sent to
 *   this resource in the meantime bounce (this broke our own Prosody tests now and then);
 * - stanzas there are counted and then forgotten by the late reset, so a later resume makes the
 *   server send them again (duplicates).
 *
 * The fix resets the counter synchronously when `<enabled/>` is parsed (the connection emits
 * `nonza` before it parses the next element) and ignores the library's one late reset.
 */
import type { XmppClient, XmppClientElement } from '@xmpp/client';

const NS_SM = 'urn:xmpp:sm:3';

/** The part of the stream-management plugin the correction touches. */
interface InboundCounter {
  inbound: number;
}

/** Makes `xmpp`'s XEP-0198 inbound counter start exactly at `<enabled/>` (see the file comment). */
export function correctStreamManagementCounter(xmpp: XmppClient): void {
  const sm = xmpp.streamManagement as unknown as InboundCounter;
  let inbound = sm.inbound;
  // Set when <enabled/> is parsed; the library's own reset to 0 follows in a microtask of the
  // same turn (no I/O can come between), and is the one write to ignore.
  let libraryResetPending = false;
  Object.defineProperty(sm, 'inbound', {
    configurable: true,
    enumerable: true,
    get: () => inbound,
    set: (value: number) => {
      if (libraryResetPending && value === 0) {
        libraryResetPending = false;
        return;
      }
      inbound = value;
    },
  });
  xmpp.on('nonza', (element: XmppClientElement) => {
    if (element.name === 'enabled' && element.attrs.xmlns === NS_SM) {
      inbound = 0;
      libraryResetPending = true;
    }
  });
}
