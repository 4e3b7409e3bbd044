/**
 * A REAL otr.js (npm `otr` 0.2.16, arlolra) peer for interop tests, in-process.
 *
 * otr.js hands outgoing messages to its `io` method, which queues them through a setTimeout
 * chain; we replace `io` on each instance with a synchronous outbox so every command returns
 * the wire messages it produced, like the libotr harness does. Everything else in otr.js
 * (AKE, data messages, SMP without web workers) already runs synchronously.
 *
 * DSA key generation in otr.js takes ~2 s: keys are made once per account name per process
 * (`{nocache: true}`, otherwise two keys share cached domain parameters).
 */
import { createRequire } from 'node:module';
import { emptySmp, toHex } from '../otr-endpoint.js';
import type { EndpointMessageState, OtrEndpoint, ReceivedSymKey } from '../otr-endpoint.js';
import type { EndpointFactory } from '../otr-interop-cases.js';

/** The parts of otr.js' DSA key we use. */
export interface OtrjsDsa {
  fingerprint(): string;
  packPrivate(): string;
}

/** The parts of otr.js' OTR object we use (the package has no type declarations). */
export interface OtrjsOtr {
  ALLOW_V2: boolean;
  ALLOW_V3: boolean;
  REQUIRE_ENCRYPTION: boolean;
  SEND_WHITESPACE_TAG: boolean;
  WHITESPACE_START_AKE: boolean;
  msgstate: number;
  ssid: string | null;
  their_priv_pk: OtrjsDsa | null;
  priv: OtrjsDsa;
  ake: { otr_version: string | undefined; r: unknown; initiateAKE(version: string): void };
  sm: { abort(): void } | null | undefined;
  io: (msg: string | string[], meta?: unknown) => void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  sendMsg(msg: string): void;
  receiveMsg(msg: string): void;
  sendQueryMsg(): void;
  endOtr(): void;
  smpSecret(secret: string, question?: string): void;
  sendFile(filename: string): void;
}

interface OtrjsModule {
  OTR: (new (options: { priv: OtrjsDsa; instance_tag?: string; fragment_size?: number }) => OtrjsOtr) & {
    makeInstanceTag(): string;
  };
  DSA: new (params?: unknown, options?: { nocache?: boolean }) => OtrjsDsa;
}

const requireCjs = createRequire(import.meta.url);
let otrModule: OtrjsModule | undefined;
let bigIntModule: { bigInt2str(x: unknown, base: number): string } | undefined;

/** Loads the CommonJS `otr` package once. */
export function loadOtrjs(): OtrjsModule {
  otrModule ??= requireCjs('otr') as OtrjsModule;
  return otrModule;
}

const keys = new Map<string, OtrjsDsa>();
const tags = new Map<string, string>();

/** A DSA key for `account`, generated on first use in this process (slow) and reused. */
export function otrjsKey(account: string): OtrjsDsa {
  let k = keys.get(account);
  if (k === undefined) {
    k = new (loadOtrjs().DSA)(null, { nocache: true });
    keys.set(account, k);
  }
  return k;
}

function instanceTag(account: string): string {
  let t = tags.get(account);
  if (t === undefined) {
    t = loadOtrjs().OTR.makeInstanceTag();
    tags.set(account, t);
  }
  return t;
}

/** Binary (Latin-1) string -> lowercase hex. */
function latin1Hex(s: string): string {
  return Buffer.from(s, 'latin1').toString('hex');
}

/** Options of an otr.js endpoint. */
export interface OtrjsEndpointOptions {
  readonly account: string;
  /** "v2": ALLOW_V3 off (a v2-only peer); "v3": ALLOW_V2 off; "default": both. */
  readonly versions?: 'default' | 'v2' | 'v3';
  readonly fragmentSize?: number;
}

/** One otr.js conversation (otr.js has one OTR object per buddy) as an `OtrEndpoint`. */
export class OtrjsEndpoint implements OtrEndpoint {
  readonly label = 'otr.js';
  /** otr.js only sends and reports TLV 8 with use 1 ("file transfer", usedata = UTF-8 file name). */
  readonly arbitrarySymKeyUse = false;
  readonly shown: { text: string; encrypted: boolean }[] = [];
  readonly receivedSymKeys: ReceivedSymKey[] = [];
  readonly smp = emptySmp();
  /** otr.js 'error' events (message, severity). */
  readonly errors: { message: string; severity: string }[] = [];
  readonly otr: OtrjsOtr;
  private outbox: string[] = [];
  private lastSentKey: string | undefined;

  constructor(
    readonly account: string,
    options: OtrjsEndpointOptions,
  ) {
    const { OTR } = loadOtrjs();
    const otr = new OTR({
      priv: otrjsKey(account),
      instance_tag: instanceTag(account),
      ...(options.fragmentSize === undefined ? {} : { fragment_size: options.fragmentSize }),
    });
    otr.ALLOW_V2 = options.versions !== 'v3';
    otr.ALLOW_V3 = options.versions !== 'v2';
    otr.io = (msg: string | string[]) => {
      this.outbox.push(...([] as string[]).concat(msg));
    };
    otr.on('ui', (msg, encrypted) => this.shown.push({ text: String(msg), encrypted: encrypted === true }));
    otr.on('error', (message, severity) => this.errors.push({ message: String(message), severity: String(severity) }));
    otr.on('file', (kind, key, filename) => {
      const keyHex = latin1Hex(String(key));
      if (kind === 'receive') {
        this.receivedSymKeys.push({ use: 1, usedataHex: toHex(new TextEncoder().encode(String(filename))), keyHex });
      } else this.lastSentKey = keyHex;
    });
    otr.on('smp', (type, data) => {
      if (type === 'question') {
        this.smp.asked = true;
        this.smp.question = typeof data === 'string' && data.length > 0 ? data : undefined;
      } else if (type === 'trust') this.smp.result = data === true ? 'success' : 'failure';
      else if (type === 'abort') this.smp.result = 'abort';
    });
    this.otr = otr;
  }

  get fingerprint(): string {
    return this.otr.priv.fingerprint().toLowerCase();
  }

  /** AKE restarts forced by the otr.js odd-hex key defect (see `take`). */
  dhCommitRerolls = 0;

  /**
   * Returns the outbox. Works around a KNOWN otr.js 0.2.16 defect instead of letting it make
   * tests flaky: its DH-commit AES key is `CryptoJS.enc.Hex.parse(bigInt2str(r, 16))`, and
   * when the random 128-bit r has a leading zero nibble the hex string has odd length, so
   * the key used to encrypt g^x differs from the r it later reveals (and r is revealed as a
   * minimal MPI, 15 bytes when its top byte is zero). libotr then drops the AKE (~1 in 15
   * AKEs that otr.js initiates). When otr.js has just produced such a doomed DH-commit, we
   * let it start the AKE again before anything leaves, and count it in `dhCommitRerolls`.
   */
  private take(): string[] {
    for (let i = 0; i < 50; i++) {
      const at = this.outbox.findIndex((m) => /^\?OTR:AA[IM]C|^\?OTR\|[0-9a-f|]+,0*1,\d+,\?OTR:AA[IM]C/.test(m));
      const commit = this.outbox[at];
      if (commit === undefined || this.dhCommitKeyOk()) break;
      this.dhCommitRerolls++;
      // a fragmented commit: drop all of its pieces (k = 1..n)
      const pieces = /^\?OTR\|[0-9a-f|]+,0*1,0*(\d+),/.exec(commit);
      this.outbox.splice(at, pieces?.[1] === undefined ? 1 : Number(pieces[1]));
      this.otr.ake.initiateAKE(/\?OTR:AAMC/.test(commit) ? '\x00\x03' : '\x00\x02');
    }
    return this.outbox.splice(0);
  }

  private dhCommitKeyOk(): boolean {
    bigIntModule ??= requireCjs('otr/vendor/bigint.js') as { bigInt2str(x: unknown, base: number): string };
    return bigIntModule.bigInt2str(this.otr.ake.r, 16).length === 32;
  }

  async startAke(): Promise<string[]> {
    this.otr.sendQueryMsg();
    return this.take();
  }

  async send(text: string): Promise<string[]> {
    this.otr.sendMsg(text);
    return this.take();
  }

  async receive(wire: string): Promise<string[]> {
    this.otr.receiveMsg(wire);
    return this.take();
  }

  async end(): Promise<string[]> {
    this.otr.endOtr();
    return this.take();
  }

  async state(): Promise<EndpointMessageState> {
    const s = this.otr.msgstate;
    return s === 1 ? 'encrypted' : s === 2 ? 'finished' : 'plaintext';
  }

  async protocolVersion(): Promise<number> {
    const v = this.otr.ake.otr_version;
    if (this.otr.msgstate !== 1 || v === undefined) return 0;
    return v.charCodeAt(1);
  }

  async ssid(): Promise<string | undefined> {
    return this.otr.ssid === null ? undefined : latin1Hex(this.otr.ssid);
  }

  async theirFingerprint(): Promise<string | undefined> {
    return this.otr.their_priv_pk?.fingerprint().toLowerCase();
  }

  async extraSymKey(use: number, usedata: Uint8Array): Promise<{ keyHex: string; toSend: string[] }> {
    if (use !== 1) throw new RangeError('otr.js only supports extra symmetric key use 1');
    this.lastSentKey = undefined;
    this.otr.sendFile(new TextDecoder('utf-8', { fatal: true }).decode(usedata));
    const keyHex = this.lastSentKey;
    if (keyHex === undefined) throw new Error(`otr.js did not send TLV 8: ${JSON.stringify(this.errors.at(-1))}`);
    return { keyHex, toSend: this.take() };
  }

  async smpStart(secret: string, question?: string): Promise<string[]> {
    this.otr.smpSecret(secret, question);
    return this.take();
  }

  async smpRespond(secret: string): Promise<string[]> {
    this.otr.smpSecret(secret);
    return this.take();
  }

  async smpAbort(): Promise<string[]> {
    if (!this.otr.sm) throw new Error('otr.js: no SMP state to abort');
    this.otr.sm.abort();
    return this.take();
  }

  resetSmp(): void {
    this.smp.asked = false;
    this.smp.question = undefined;
    this.smp.result = undefined;
  }

  async close(): Promise<void> {
    this.outbox = [];
  }
}

/** otr.js endpoints for the shared interop cases; "v2" means ALLOW_V3 off. */
export const otrjsFactory: EndpointFactory = {
  label: 'otr.js',
  create: async (account, _peerAccount, options) =>
    new OtrjsEndpoint(account, {
      account,
      versions: options.versions,
      ...(options.fragmentSize === undefined ? {} : { fragmentSize: options.fragmentSize }),
    }),
  canBeV2Only: true,
  acceptsV2: true,
  supportsSmp: true,
  smallFragmentSize: 150,
};
