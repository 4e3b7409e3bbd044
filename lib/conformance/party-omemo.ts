/**
 * One side of an OMEMO conversation as the conformance kit sees it: an OMEMO line-protocol
 * endpoint (line-protocol-omemo.ts) over a `LineTransport` (a spawned program, or our manager
 * in-process through `inProcessOurOmemo`). The implementation under test and the reference
 * peer are interchangeable.
 */
import type {
  LineOmemoVersion, OmemoLineDecrypted, OmemoLineEncrypted, OmemoLineEvent, OmemoLineInfo,
} from './line-protocol-omemo.js';
import { OurOmemoLineHandler, type OmemoBrokenBehaviour } from './our-omemo-line-handler.js';
import { PartyError, type LineTransport } from './party.js';

type Json = Record<string, unknown>;

/** Options of `OmemoParty.init`. */
export interface OmemoPartyInit {
  readonly jid: string;
  readonly version: LineOmemoVersion;
  readonly stateDir?: string;
  readonly devices?: number;
}

/** One OMEMO side: typed commands over a transport, and everything it reported so far. */
export class OmemoParty {
  readonly events: OmemoLineEvent[] = [];
  /** Filled by `init` (and refreshed by `info`). */
  info: OmemoLineInfo | undefined;

  constructor(
    readonly label: string,
    private readonly transport: LineTransport,
  ) {}

  private async call<T>(request: Json): Promise<T> {
    const answer = await this.transport.request(request);
    if (answer['ok'] !== true) throw new PartyError(this.label, `${String(request['cmd'])} failed: ${String(answer['error'] ?? 'no answer')}`);
    const events = answer['events'];
    if (Array.isArray(events)) this.events.push(...(events as OmemoLineEvent[]));
    return answer as T;
  }

  /** Our JID (after `init`). */
  get jid(): string {
    if (this.info === undefined) throw new PartyError(this.label, 'not initialised');
    return this.info.jid;
  }

  /** Our device ids, in order (after `init`). */
  get deviceIds(): number[] {
    return (this.info?.devices ?? []).map((d) => d.device_id);
  }

  async init(options: OmemoPartyInit): Promise<OmemoLineInfo> {
    const request: Json = { cmd: 'init', jid: options.jid, version: options.version, devices: options.devices ?? 1 };
    if (options.stateDir !== undefined) request['state_dir'] = options.stateDir;
    this.info = await this.call<OmemoLineInfo>(request);
    const count = options.devices ?? 1;
    if (this.info.devices.length !== count) throw new PartyError(this.label, `init: ${this.info.devices.length} devices, ${count} asked for`);
    return this.info;
  }

  async refresh(): Promise<OmemoLineInfo> {
    this.info = await this.call<OmemoLineInfo>({ cmd: 'info' });
    return this.info;
  }

  /** Tells this party what `other` publishes (its device list and bundles). */
  async learn(other: OmemoLineInfo): Promise<OmemoLineEncrypted['outbox']> {
    const answer = await this.call<{ outbox?: OmemoLineEncrypted['outbox'] }>({ cmd: 'peer_devices', jid: other.jid, device_list: other.device_list, bundles: other.bundles });
    return answer.outbox ?? [];
  }

  async encrypt(toJid: string, plaintext: string, device?: number): Promise<OmemoLineEncrypted> {
    const request: Json = { cmd: 'encrypt', to_jid: toJid, plaintext };
    if (device !== undefined) request['device'] = device;
    const answer = await this.call<OmemoLineEncrypted>(request);
    return { ...answer, outbox: answer.outbox ?? [] };
  }

  async decrypt(fromJid: string, xml: string): Promise<OmemoLineDecrypted> {
    const answer = await this.call<OmemoLineDecrypted>({ cmd: 'decrypt', from_jid: fromJid, xml });
    if (!Array.isArray(answer.results)) throw new PartyError(this.label, 'decrypt: no results');
    return { ...answer, outbox: answer.outbox ?? [] };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Our OMEMO session manager in-process (the kit's default OMEMO reference peer). */
export function inProcessOurOmemo(broken: Iterable<OmemoBrokenBehaviour> = []): LineTransport {
  const handler = new OurOmemoLineHandler(broken);
  return {
    async request(request: Json): Promise<Json> {
      return JSON.parse(await handler.handleLine(JSON.stringify(request))) as Json;
    },
    async close(): Promise<void> {},
  };
}
