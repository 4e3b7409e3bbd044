/**
 * The common shape of one side of an OTR conversation in interop tests (libotr through the
 * C harness, otr.js in-process, or our engine), and a message pump that carries every wire
 * message to the other side in order. The shared cases in `otr-interop-cases.ts` only use
 * this interface, so the same cases run for every pair of implementations.
 */

/** Message state as every implementation can report it. */
export type EndpointMessageState = 'plaintext' | 'encrypted' | 'finished';

/** What the SMP has reported to this side so far (reset by `resetSmp`). */
export interface SmpObservation {
  /** The peer started an SMP and we are asked for the secret. */
  asked: boolean;
  /** The question that came with the request, if any. */
  question: string | undefined;
  /** Final outcome seen by this side. */
  result: 'success' | 'failure' | 'abort' | undefined;
}

/** A received extra-symmetric-key notification (TLV 8). */
export interface ReceivedSymKey {
  readonly use: number;
  readonly usedataHex: string;
  readonly keyHex: string;
}

/** One side of a conversation. All wire messages returned must be sent to the peer, in order. */
export interface OtrEndpoint {
  /** Implementation name, used in test titles ("libotr", "otr.js", "ours"). */
  readonly label: string;
  /** Our account name (the peer knows us by it). */
  readonly account: string;
  /** Our long-term DSA key fingerprint, 40 lowercase hex digits. */
  readonly fingerprint: string;
  /** Supports TLV 8 with arbitrary `use` values (otr.js only sends/reports use 1). */
  readonly arbitrarySymKeyUse: boolean;
  /** Plaintexts shown to the user, in arrival order. */
  readonly shown: { text: string; encrypted: boolean }[];
  /** TLV 8 notifications received. */
  readonly receivedSymKeys: ReceivedSymKey[];
  /** SMP progress as reported by this side. */
  readonly smp: SmpObservation;

  startAke(): Promise<string[]>;
  send(text: string): Promise<string[]>;
  receive(wire: string): Promise<string[]>;
  end(): Promise<string[]>;
  state(): Promise<EndpointMessageState>;
  protocolVersion(): Promise<number>;
  /** The 8-byte secure session id, 16 lowercase hex digits. */
  ssid(): Promise<string | undefined>;
  theirFingerprint(): Promise<string | undefined>;
  extraSymKey(use: number, usedata: Uint8Array): Promise<{ keyHex: string; toSend: string[] }>;
  smpStart(secret: string, question?: string): Promise<string[]>;
  smpRespond(secret: string): Promise<string[]>;
  smpAbort(): Promise<string[]>;
  /** Clears `smp` before a new run. */
  resetSmp(): void;
  close(): Promise<void>;
}

/** Fresh SMP observation. */
export function emptySmp(): SmpObservation {
  return { asked: false, question: undefined, result: undefined };
}

/**
 * Delivers `fromA` to b and `fromB` to a, then everything they answer, until quiet.
 * Returns how many messages were delivered. Throws if the exchange does not settle.
 */
export async function pump(
  a: OtrEndpoint,
  b: OtrEndpoint,
  fromA: readonly string[],
  fromB: readonly string[] = [],
  limit = 10_000,
): Promise<number> {
  const queue: [OtrEndpoint, string][] = [
    ...fromA.map((w): [OtrEndpoint, string] => [b, w]),
    ...fromB.map((w): [OtrEndpoint, string] => [a, w]),
  ];
  let delivered = 0;
  while (queue.length > 0) {
    const next = queue.shift();
    if (next === undefined) break;
    const [to, wire] = next;
    const answers = await to.receive(wire);
    delivered++;
    if (delivered > limit) throw new Error(`pump: exchange did not settle after ${limit} messages`);
    const other = to === a ? b : a;
    for (const w of answers) queue.push([other, w]);
  }
  return delivered;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
