/**
 * OUR engine (`OtrConversation` from otr/) as an `OtrEndpoint` for the shared interop cases.
 * The fingerprint is computed here independently of otr/ (SHA-1 over the MPIs p, q, g, y,
 * OTR v3 spec "Fingerprints"), so the assertion "the peer sees our fingerprint" does not
 * trust our own code.
 */
import { createHash, randomInt } from 'node:crypto';
import { generateDsaKey } from '../../../lib/core/crypto/dsa.js';
import type { DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { OtrConversation } from '../../../otr/conversation.js';
import type { OtrEvent, OtrResult } from '../../../otr/events.js';
import { OTR_POLICY_OPPORTUNISTIC } from '../../../otr/policy.js';
import type { OtrPolicy } from '../../../otr/policy.js';
import type { SmpEvent } from '../../../smp/index.js';
import { emptySmp, toHex } from '../otr-endpoint.js';
import type { EndpointMessageState, OtrEndpoint, ReceivedSymKey } from '../otr-endpoint.js';
import type { EndpointFactory } from '../otr-interop-cases.js';

const keys = new Map<string, DsaPrivateKey>();
const tags = new Map<string, number>();

/** Our DSA key for `account`, generated once per process. */
export function ourKey(account: string): DsaPrivateKey {
  let k = keys.get(account);
  if (k === undefined) {
    k = generateDsaKey();
    keys.set(account, k);
  }
  return k;
}

function ourInstanceTag(account: string): number {
  let t = tags.get(account);
  if (t === undefined) {
    t = randomInt(0x100, 0xffffffff);
    tags.set(account, t);
  }
  return t;
}

function mpi(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  const body = v === 0n ? Buffer.alloc(0) : Buffer.from(hex, 'hex');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** OTR fingerprint of a DSA key: SHA-1(MPI(p) || MPI(q) || MPI(g) || MPI(y)), lowercase hex. */
export function independentFingerprint(key: { p: bigint; q: bigint; g: bigint; y: bigint }): string {
  return createHash('sha1')
    .update(Buffer.concat([mpi(key.p), mpi(key.q), mpi(key.g), mpi(key.y)]))
    .digest('hex');
}

/** Maps our SMP event (from smp/) onto the shared observation. */
function smpOutcome(event: SmpEvent): 'asked' | 'success' | 'failure' | 'abort' | undefined {
  switch (event.kind) {
    case 'question':
    case 'secret-needed':
      return 'asked';
    case 'succeeded':
      return 'success';
    case 'failed':
      return 'failure';
    case 'aborted':
    case 'cheated':
      return 'abort';
    default:
      return undefined;
  }
}

/** Our conversation with one peer. */
export class OurEndpoint implements OtrEndpoint {
  readonly label = 'ours';
  readonly arbitrarySymKeyUse = true;
  readonly shown: { text: string; encrypted: boolean }[] = [];
  readonly receivedSymKeys: ReceivedSymKey[] = [];
  readonly smp = emptySmp();
  /** Every event our engine reported. */
  readonly events: OtrEvent[] = [];
  readonly fingerprint: string;

  private constructor(
    readonly account: string,
    readonly conversation: OtrConversation,
    key: DsaPrivateKey,
  ) {
    this.fingerprint = independentFingerprint(key);
  }

  /** Creates our conversation for `account` with `peerAccount`. */
  static async create(
    account: string,
    peerAccount: string,
    options: { versions: 'default' | 'v2'; fragmentSize?: number; policy?: OtrPolicy },
  ): Promise<OurEndpoint> {
    const key = ourKey(account);
    const policy: OtrPolicy =
      options.policy ??
      (options.versions === 'v2' ? { ...OTR_POLICY_OPPORTUNISTIC, allowV3: false } : OTR_POLICY_OPPORTUNISTIC);
    const conversation = new OtrConversation({
      accountName: account,
      protocol: 'xmpp',
      peerName: peerAccount,
      privateKey: key,
      instanceTag: ourInstanceTag(account),
      policy,
      ...(options.fragmentSize === undefined ? {} : { maxFragmentSize: options.fragmentSize }),
    });
    return new OurEndpoint(account, conversation, key);
  }

  private note(result: OtrResult): string[] {
    if (result.show !== undefined) this.shown.push({ text: result.show.text, encrypted: result.show.encrypted });
    for (const e of result.events) {
      this.events.push(e);
      if (e.kind === 'extra-symmetric-key' && e.fromPeer) {
        this.receivedSymKeys.push({ use: e.use, usedataHex: toHex(e.useData), keyHex: toHex(e.key) });
      } else if (e.kind === 'smp') {
        const outcome = smpOutcome(e.event);
        if (outcome === 'asked') {
          this.smp.asked = true;
          this.smp.question = e.event.kind === 'question' && e.event.question.length > 0 ? e.event.question : undefined;
        } else if (outcome === 'success' || outcome === 'failure' || outcome === 'abort') this.smp.result = outcome;
      }
    }
    return [...result.toSend];
  }

  async startAke(): Promise<string[]> {
    return this.note(this.conversation.startAke());
  }

  async send(text: string): Promise<string[]> {
    return this.note(this.conversation.send(text));
  }

  async receive(wire: string): Promise<string[]> {
    return this.note(this.conversation.receive(wire));
  }

  async end(): Promise<string[]> {
    return this.note(this.conversation.end());
  }

  async state(): Promise<EndpointMessageState> {
    return this.conversation.messageState;
  }

  async protocolVersion(): Promise<number> {
    return this.conversation.messageState === 'encrypted' ? (this.conversation.version ?? 0) : 0;
  }

  async ssid(): Promise<string | undefined> {
    const s = this.conversation.ssid;
    return s === undefined ? undefined : toHex(s);
  }

  async theirFingerprint(): Promise<string | undefined> {
    const f = this.conversation.theirFingerprint;
    return f === undefined ? undefined : toHex(f);
  }

  async extraSymKey(use: number, usedata: Uint8Array): Promise<{ keyHex: string; toSend: string[] }> {
    const { key, result } = this.conversation.useExtraSymmetricKey(use, usedata);
    return { keyHex: toHex(key), toSend: this.note(result) };
  }

  async smpStart(secret: string, question?: string): Promise<string[]> {
    return this.note(this.conversation.startSmp(secret, question));
  }

  async smpRespond(secret: string): Promise<string[]> {
    return this.note(this.conversation.respondSmp(secret));
  }

  async smpAbort(): Promise<string[]> {
    return this.note(this.conversation.abortSmp());
  }

  resetSmp(): void {
    this.smp.asked = false;
    this.smp.question = undefined;
    this.smp.result = undefined;
  }

  async close(): Promise<void> {
    // nothing to release: the conversation is in-process
  }
}

/** Our engine for the shared interop cases. */
export const ourFactory: EndpointFactory = {
  label: 'ours',
  create: (account, peerAccount, options) => OurEndpoint.create(account, peerAccount, options),
  canBeV2Only: true,
  acceptsV2: true,
  supportsSmp: true,
  smallFragmentSize: 150,
};
