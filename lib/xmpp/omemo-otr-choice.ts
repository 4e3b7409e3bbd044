/**
 * OTR and OMEMO side by side on one @xmpp/client: per contact the application asks for
 * 'omemo', 'otr' or 'auto'. With 'auto', OMEMO (XEP-0384) is used when the contact publishes
 * an OMEMO device list (PEP, either version), OTR (XEP-0364) otherwise; the decision is kept
 * per contact and visible ({@link EncryptionChooser.protocolFor}, the `protocol` of every send).
 *
 * Register the OMEMO plugin (with `consume: true`) before the OTR plugin, so OMEMO messages
 * never reach the OTR plugin's plaintext path.
 */
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import type { OmemoPlugin, OmemoSendResult } from './omemo-plugin.js';
import type { OtrPlugin, SendOutcome } from './otr-plugin.js';
import { bareJid } from './otr-stanzas.js';

/** What the application asks for, per contact. */
export type EncryptionPreference = 'omemo' | 'otr' | 'auto';

/** The protocol in use for a contact and why. */
export interface ProtocolChoice {
  readonly protocol: 'omemo' | 'otr';
  readonly preference: EncryptionPreference;
  /** The OMEMO version, when OMEMO. */
  readonly omemoVersion: OmemoVersion | undefined;
  /** 'requested' (preference named it) or 'auto-devices' / 'auto-no-devices'. */
  readonly reason: 'requested' | 'auto-devices' | 'auto-no-devices';
}

/** What {@link EncryptionChooser.send} did. */
export type ChosenSend =
  | { readonly protocol: 'omemo'; readonly choice: ProtocolChoice; readonly result: OmemoSendResult }
  | { readonly protocol: 'otr'; readonly choice: ProtocolChoice; readonly result: SendOutcome };

/** Chooses between the two plugins per contact. */
export class EncryptionChooser {
  readonly #omemo: OmemoPlugin;
  readonly #otr: OtrPlugin;
  readonly #preferences = new Map<string, EncryptionPreference>();
  readonly #choices = new Map<string, ProtocolChoice>();
  readonly #default: EncryptionPreference;

  constructor(plugins: { readonly omemo: OmemoPlugin; readonly otr: OtrPlugin }, defaultPreference: EncryptionPreference = 'auto') {
    this.#omemo = plugins.omemo;
    this.#otr = plugins.otr;
    this.#default = defaultPreference;
  }

  /** Sets the preference for a contact (bare JID); forgets the previous decision. */
  setPreference(jid: string, preference: EncryptionPreference): void {
    if (preference !== 'omemo' && preference !== 'otr' && preference !== 'auto') throw new TypeError('unknown encryption preference');
    const bare = bareJid(jid);
    this.#preferences.set(bare, preference);
    this.#choices.delete(bare);
  }

  /** The preference for a contact. */
  preference(jid: string): EncryptionPreference {
    return this.#preferences.get(bareJid(jid)) ?? this.#default;
  }

  /** The last decision for a contact (undefined before the first send or {@link decide}). */
  protocolFor(jid: string): ProtocolChoice | undefined {
    return this.#choices.get(bareJid(jid));
  }

  /** Decides the protocol for `jid` now ('auto' looks the contact's OMEMO device lists up). */
  async decide(jid: string): Promise<ProtocolChoice> {
    const bare = bareJid(jid);
    const preference = this.preference(bare);
    let choice: ProtocolChoice;
    if (preference === 'otr') {
      choice = { protocol: 'otr', preference, omemoVersion: undefined, reason: 'requested' };
    } else {
      const version = await this.#omemo.chooseVersion(bare);
      if (preference === 'omemo') choice = { protocol: 'omemo', preference, omemoVersion: version, reason: 'requested' };
      else if (version !== undefined) choice = { protocol: 'omemo', preference, omemoVersion: version, reason: 'auto-devices' };
      else choice = { protocol: 'otr', preference, omemoVersion: undefined, reason: 'auto-no-devices' };
    }
    this.#choices.set(bare, choice);
    return choice;
  }

  /**
   * Sends `text` with the protocol chosen for the contact. `to` may be a full JID (OTR
   * sessions are per resource); OMEMO always goes to the bare JID.
   */
  async send(to: string, text: string): Promise<ChosenSend> {
    const choice = await this.decide(to);
    if (choice.protocol === 'omemo') {
      const result = await this.#omemo.send(bareJid(to), text, choice.omemoVersion === undefined ? {} : { version: choice.omemoVersion });
      return { protocol: 'omemo', choice, result };
    }
    return { protocol: 'otr', choice, result: await this.#otr.send(to, text) };
  }
}
