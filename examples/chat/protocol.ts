/**
 * Which protocol the chat client uses per contact: `/proto JID otr|omemo|auto|plain`.
 * OTR, OMEMO and auto are the library's EncryptionChooser (auto: OMEMO when the contact
 * publishes an OMEMO device list, OTR otherwise), with one rule on top: under auto, an OTR
 * session that is already encrypted (the user or the contact started it) is used rather than
 * answering in the other protocol. `plain` sends an unencrypted message, on the user's
 * explicit request only. Asking for OTR also makes the OTR policy for that contact
 * require encryption, so those messages are held until the AKE is done instead of going out
 * in plaintext.
 */
import { xml } from '@xmpp/client';
import { randomBytes } from 'node:crypto';
import {
  EncryptionChooser, type ChosenSend, type EncryptionPreference, type OmemoPlugin, type OtrPlugin, type OtrPolicyName, type ProtocolChoice, type SendOutcome,
} from '../../lib/index.js';

/** What the user can ask for. */
export type Preference = EncryptionPreference | 'plain';

/** The preferences `/proto` accepts. */
export const PREFERENCES: readonly Preference[] = ['otr', 'omemo', 'auto', 'plain'];

/** The protocol for a contact and why: the chooser's decision, or an encrypted OTR session kept under auto. */
export type RoutedChoice = ProtocolChoice | {
  readonly protocol: 'otr';
  readonly preference: 'auto';
  readonly omemoVersion: undefined;
  readonly reason: 'auto-otr-session';
};

/** What {@link ProtocolRouter.send} did. */
export type RoutedSend =
  | ChosenSend
  | { readonly protocol: 'otr'; readonly choice: RoutedChoice; readonly result: SendOutcome }
  | { readonly protocol: 'plain'; readonly to: string };

const KEEP_OTR: RoutedChoice = { protocol: 'otr', preference: 'auto', omemoVersion: undefined, reason: 'auto-otr-session' };

/** Something that writes a stanza (the @xmpp/client client). */
export interface StanzaWriter {
  send(element: ReturnType<typeof xml>): Promise<unknown>;
}

/** Per-contact protocol choice over the two plugins. */
export class ProtocolRouter {
  readonly #chooser: EncryptionChooser;
  readonly #otr: OtrPlugin;
  readonly #writer: StanzaWriter;
  readonly #accountPolicy: OtrPolicyName;
  readonly #plain = new Set<string>();

  constructor(deps: { readonly omemo: OmemoPlugin; readonly otr: OtrPlugin; readonly writer: StanzaWriter; readonly accountPolicy: OtrPolicyName }) {
    this.#chooser = new EncryptionChooser({ omemo: deps.omemo, otr: deps.otr }, 'auto');
    this.#otr = deps.otr;
    this.#writer = deps.writer;
    this.#accountPolicy = deps.accountPolicy;
  }

  /** Sets the preference for a contact (any resource: the choice is per bare JID). */
  set(jid: string, preference: Preference): void {
    if (!PREFERENCES.includes(preference)) throw new TypeError(`unknown protocol ${String(preference)}: ${PREFERENCES.join(', ')}`);
    const bare = bareOf(jid);
    if (preference === 'plain') {
      this.#plain.add(bare);
      this.#chooser.setPreference(bare, 'auto');
    } else {
      this.#plain.delete(bare);
      this.#chooser.setPreference(bare, preference);
    }
    this.#otr.setPolicy(bare, preference === 'otr' ? 'require-encryption' : this.#accountPolicy);
  }

  /** The preference for a contact. */
  preference(jid: string): Preference {
    return this.#plain.has(bareOf(jid)) ? 'plain' : this.#chooser.preference(jid);
  }

  /** The latest decision for a contact (undefined before the first message or {@link decide}). */
  choice(jid: string): RoutedChoice | undefined {
    if (this.#plain.has(bareOf(jid))) return undefined;
    return this.#keepsOtr(jid) ? KEEP_OTR : this.#chooser.protocolFor(jid);
  }

  /** Decides now (auto looks the contact's OMEMO device lists up). */
  async decide(jid: string): Promise<RoutedChoice | undefined> {
    if (this.#plain.has(bareOf(jid))) return undefined;
    return this.#keepsOtr(jid) ? KEEP_OTR : this.#chooser.decide(jid);
  }

  /** Under auto: is an OTR session with `jid` (that resource, or any resource of a bare JID) encrypted? */
  #keepsOtr(jid: string): boolean {
    if (this.#chooser.preference(jid) !== 'auto') return false;
    const full = jid.includes('/');
    return this.#otr.sessions().some((s) => s.security.kind === 'encrypted' && (full ? s.jid === jid : bareOf(s.jid) === bareOf(jid)));
  }

  /** Sends `text` with the contact's protocol. */
  async send(to: string, text: string): Promise<RoutedSend> {
    if (this.#plain.has(bareOf(to))) {
      await this.#writer.send(xml('message', { to, type: 'chat', id: `plain-${randomBytes(9).toString('base64url')}` }, xml('body', {}, text)));
      return { protocol: 'plain', to };
    }
    if (this.#keepsOtr(to)) return { protocol: 'otr', choice: KEEP_OTR, result: await this.#otr.send(to, text) };
    return this.#chooser.send(to, text);
  }
}

/** The bare JID of a full or bare JID. */
export function bareOf(jid: string): string {
  const slash = jid.indexOf('/');
  return (slash < 0 ? jid : jid.slice(0, slash)).toLowerCase();
}
