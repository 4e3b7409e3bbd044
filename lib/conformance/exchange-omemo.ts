/**
 * The kit's OMEMO "server": it carries device lists and bundles (PEP) and `<encrypted>`
 * elements between the implementation under test and the reference peer, delivers the empty
 * messages each sends on its own, and records every message as evidence. Scenarios that test
 * hostile input deliver their own (tampered or replayed) messages, recorded as from the kit.
 */
import type { WireRecord, WireSender } from './exchange.js';
import type { OmemoLineDecrypted, OmemoLineDecryption, OmemoLineOutgoing } from './line-protocol-omemo.js';
import type { OmemoParty } from './party-omemo.js';

/** Stops an exchange of empty messages that does not settle. */
export const MAX_OMEMO_DELIVERIES = 1000;

export class OmemoExchange {
  readonly log: WireRecord[] = [];
  /** Empty messages the parties sent on their own that the kit delivered. */
  automatic = 0;
  /** Rejections of messages the parties sent on their own (a conforming pair has none). */
  readonly automaticErrors: string[] = [];

  constructor(
    readonly iut: OmemoParty,
    readonly reference: OmemoParty,
  ) {}

  other(party: OmemoParty): OmemoParty {
    return party === this.iut ? this.reference : this.iut;
  }

  role(party: OmemoParty): 'iut' | 'reference' {
    return party === this.iut ? 'iut' : 'reference';
  }

  /** Each party learns what the other publishes now (device list and bundles). */
  async introduce(): Promise<void> {
    const iutInfo = await this.iut.refresh();
    const refInfo = await this.reference.refresh();
    await this.deliverOutbox(this.reference, await this.reference.learn(iutInfo));
    await this.deliverOutbox(this.iut, await this.iut.learn(refInfo));
  }

  /** `from` encrypts `text` to the other party; the message is recorded, not delivered. */
  async encrypt(from: OmemoParty, text: string, device?: number): Promise<string> {
    const answer = await from.encrypt(this.other(from).jid, text, device);
    this.log.push({ from: this.role(from), to: this.role(this.other(from)), text: answer.xml, note: `encrypted "${text.slice(0, 40)}"` });
    await this.deliverOutbox(from, answer.outbox);
    return answer.xml;
  }

  /**
   * Delivers `xml` (sent by the other party, or by the kit when `note` is given) to `to`, then
   * every empty message that causes, and returns what `to` made of `xml`.
   */
  async deliver(to: OmemoParty, xml: string, note?: string): Promise<OmemoLineDecrypted> {
    const from = this.other(to);
    const sender: WireSender = note === undefined ? this.role(from) : 'kit';
    this.log.push({ from: sender, to: this.role(to), text: xml, ...(note === undefined ? {} : { note }) });
    const answer = await to.decrypt(from.jid, xml);
    await this.deliverOutbox(to, answer.outbox);
    return answer;
  }

  /** `from` encrypts `text`, the other party decrypts it; returns the decryptions. */
  async transmit(from: OmemoParty, text: string, device?: number): Promise<readonly OmemoLineDecryption[]> {
    const xml = await this.encrypt(from, text, device);
    return (await this.deliver(this.other(from), xml)).results;
  }

  /** Delivers messages `from` sent on its own (and their answers) until none are left. */
  async deliverOutbox(from: OmemoParty, outbox: readonly OmemoLineOutgoing[]): Promise<void> {
    const queue: [OmemoParty, OmemoLineOutgoing][] = outbox.map((m) => [from, m]);
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [sender, message] = next;
      const to = this.other(sender);
      if (++this.automatic > MAX_OMEMO_DELIVERIES) throw new Error(`the empty messages did not settle after ${MAX_OMEMO_DELIVERIES}`);
      this.log.push({ from: this.role(sender), to: this.role(to), text: message.xml, note: 'sent on its own (empty message)' });
      const answer = await to.decrypt(sender.jid, message.xml);
      for (const r of answer.results) {
        if (r.error !== null) this.automaticErrors.push(`${to.label} device ${r.device_id} rejected an empty message: ${r.error}`);
        else if (r.plaintext !== null) this.automaticErrors.push(`${to.label} device ${r.device_id} found text in an empty message`);
      }
      for (const m of answer.outbox) queue.push([to, m]);
    }
  }
}
