/**
 * An `OtrEndpoint` over any peer process that speaks the libotr harness' JSON-lines protocol
 * (lib/conformance/libotr-harness.c: libotr itself; test/interop/potr/potr_peer.py: potr).
 * The two peers differ only in how they are started; everything an endpoint does with the
 * answers (wire messages, shown text, SMP and TLV 8 events) is here once.
 */
import { emptySmp, toHex } from './otr-endpoint.js';
import type { EndpointMessageState, OtrEndpoint, ReceivedSymKey } from './otr-endpoint.js';

/** The events both peers report (libotr's OTRL_* callbacks, named the same by potr_peer.py). */
export type HarnessEvent =
  | { readonly type: 'gone_secure' }
  | { readonly type: 'gone_insecure' }
  | { readonly type: 'still_secure'; readonly reply?: boolean }
  | { readonly type: 'new_fingerprint'; readonly fingerprint: string }
  | { readonly type: 'smp'; readonly event: string; readonly progress?: number; readonly question?: string }
  | { readonly type: 'msg'; readonly event: string; readonly message?: string; readonly error?: string }
  | { readonly type: 'symkey'; readonly use: number; readonly usedata: string; readonly key: string };

/** The answer of an acting command. */
export interface HarnessAction<E extends HarnessEvent = HarnessEvent> {
  readonly wire: string[];
  readonly events: E[];
}

/** What an endpoint needs of a harness-protocol peer process. */
export interface HarnessPeer<E extends HarnessEvent> {
  readonly account: string;
  readonly fingerprint: string;
  startAke(peer: string): Promise<HarnessAction<E>>;
  send(peer: string, text: string): Promise<HarnessAction<E>>;
  receive(peer: string, wire: string): Promise<HarnessAction<E> & { readonly show: string | null; readonly decrypted: boolean }>;
  end(peer: string): Promise<HarnessAction<E>>;
  status(peer: string): Promise<{ readonly msgstate: EndpointMessageState; readonly protocol_version: number; readonly ssid: string | null; readonly their_fingerprint: string | null }>;
  extraSymKey(peer: string, use: number, usedataHex: string): Promise<HarnessAction<E> & { readonly key: string }>;
  smpStart(peer: string, secret: string, question?: string): Promise<HarnessAction<E>>;
  smpRespond(peer: string, secret: string): Promise<HarnessAction<E>>;
  smpAbort(peer: string): Promise<HarnessAction<E>>;
  close(): Promise<void>;
}

/** One conversation of a harness-protocol peer with `peerAccount`. */
export class HarnessEndpoint<E extends HarnessEvent, P extends HarnessPeer<E>> implements OtrEndpoint {
  readonly arbitrarySymKeyUse = true;
  readonly shown: { text: string; encrypted: boolean }[] = [];
  readonly receivedSymKeys: ReceivedSymKey[] = [];
  readonly smp = emptySmp();
  /** Every event the peer reported, for diagnostics and assertions. */
  readonly events: E[] = [];
  /** Every wire message the peer produced, in order. */
  readonly sent: string[] = [];

  protected constructor(
    readonly label: string,
    readonly peer: P,
    readonly peerAccount: string,
  ) {}

  get account(): string {
    return this.peer.account;
  }

  get fingerprint(): string {
    return this.peer.fingerprint;
  }

  protected note(action: HarnessAction<E>): string[] {
    for (const e of action.events) {
      this.events.push(e);
      if (e.type === 'symkey') this.receivedSymKeys.push({ use: e.use, usedataHex: e.usedata, keyHex: e.key });
      if (e.type === 'smp') {
        if (e.event === 'ask_for_secret' || e.event === 'ask_for_answer') {
          this.smp.asked = true;
          this.smp.question = e.question;
        } else if (e.event === 'success') this.smp.result = 'success';
        else if (e.event === 'failure') this.smp.result = 'failure';
        else if (e.event === 'abort' || e.event === 'cheated' || e.event === 'error') this.smp.result = 'abort';
      }
    }
    this.sent.push(...action.wire);
    return action.wire;
  }

  async startAke(): Promise<string[]> {
    return this.note(await this.peer.startAke(this.peerAccount));
  }

  async send(text: string): Promise<string[]> {
    return this.note(await this.peer.send(this.peerAccount, text));
  }

  async receive(wire: string): Promise<string[]> {
    const r = await this.peer.receive(this.peerAccount, wire);
    if (r.show !== null) this.shown.push({ text: r.show, encrypted: r.decrypted });
    return this.note(r);
  }

  async end(): Promise<string[]> {
    return this.note(await this.peer.end(this.peerAccount));
  }

  async state(): Promise<EndpointMessageState> {
    return (await this.peer.status(this.peerAccount)).msgstate;
  }

  async protocolVersion(): Promise<number> {
    return (await this.peer.status(this.peerAccount)).protocol_version;
  }

  async ssid(): Promise<string | undefined> {
    return (await this.peer.status(this.peerAccount)).ssid ?? undefined;
  }

  async theirFingerprint(): Promise<string | undefined> {
    return (await this.peer.status(this.peerAccount)).their_fingerprint ?? undefined;
  }

  async extraSymKey(use: number, usedata: Uint8Array): Promise<{ keyHex: string; toSend: string[] }> {
    const r = await this.peer.extraSymKey(this.peerAccount, use, toHex(usedata));
    return { keyHex: r.key, toSend: this.note(r) };
  }

  async smpStart(secret: string, question?: string): Promise<string[]> {
    return this.note(await this.peer.smpStart(this.peerAccount, secret, question));
  }

  async smpRespond(secret: string): Promise<string[]> {
    return this.note(await this.peer.smpRespond(this.peerAccount, secret));
  }

  async smpAbort(): Promise<string[]> {
    return this.note(await this.peer.smpAbort(this.peerAccount));
  }

  resetSmp(): void {
    this.smp.asked = false;
    this.smp.question = undefined;
    this.smp.result = undefined;
  }

  async close(): Promise<void> {
    await this.peer.close();
  }
}
