/**
 * What the chat client's parts share: the two plugins, the protocol router, the OMEMO device
 * helper, the terminal and the current contact.
 */
import type { OmemoPlugin, OtrPlugin } from '../../lib/index.js';
import { otrLabel, omemoName } from './labels.js';
import type { OmemoDevices } from './omemo-devices.js';
import type { ProtocolRouter } from './protocol.js';
import type { Terminal } from './terminal.js';

/** The running client. */
export interface ChatApp {
  readonly account: string;
  readonly otr: OtrPlugin;
  readonly omemo: OmemoPlugin;
  readonly router: ProtocolRouter;
  readonly devices: OmemoDevices;
  readonly term: Terminal;
  /** The current contact (`/to`), a bare or full JID. */
  peer: string | undefined;
  shutdown(): Promise<void>;
}

/**
 * The state of the conversation with `jid` for status lines: `[OMEMO 0.3]`, `[plaintext (/proto plain)]`,
 * the OTR state, or the preference (`[auto]`) while nothing is decided.
 */
export function contactLabel(app: ChatApp, jid: string | undefined): string {
  if (jid === undefined) return '';
  if (app.router.preference(jid) === 'plain') return '[plaintext (/proto plain)]';
  const choice = app.router.choice(jid);
  const otr = app.otr.session(jid).security;
  if (choice === undefined && otr.kind === 'plaintext') return `[${app.router.preference(jid)}]`;
  if (choice?.protocol === 'omemo') return `[${choice.omemoVersion === undefined ? 'OMEMO' : omemoName(choice.omemoVersion)}]`;
  return otrLabel(otr);
}

/** Prints status lines prefixed with the state of the conversation with `jid` (default: the current contact). */
export function say(app: ChatApp, text: string, jid: string | undefined = app.peer): void {
  const label = contactLabel(app, jid);
  app.term.print(label === '' ? text : `${label} ${text}`);
}
