/**
 * Our OMEMO session manager behind the conformance kit's OMEMO line protocol
 * (line-protocol-omemo.ts): one JID, one `OmemoSessionManager` per device, each over its own
 * in-memory store. Used in-process as the kit's reference peer and, through
 * `xmpp-otr-omemo line-peer --omemo`, as a program under test.
 *
 * `OmemoBrokenBehaviour` makes it deliberately non-conforming, so the kit's own tests can check
 * that a broken peer fails exactly the scenarios that look for that defect.
 */
import { bytesToHex, bytesToUtf8, utf8ToBytes } from '../core/bytes.js';
import { ProtocolError, VerificationError } from '../core/errors.js';
import { systemRandom } from '../core/random.js';
import { MemoryStore } from '../core/store/store.js';
import { NotForThisDeviceError } from '../../omemo/errors.js';
import type { OmemoEvent, OutgoingMessage } from '../../omemo/manager-events.js';
import { createSceEnvelope, parseSceEnvelope, serializeSceEnvelope } from '../../omemo/sce.js';
import { OmemoSessionManager } from '../../omemo/session-manager.js';
import { decodeDeviceList03, encodeDeviceList03 } from '../../omemo/versions/v03/xml.js';
import { decodeDeviceList2, encodeDeviceList2 } from '../../omemo/versions/v2/xml.js';
import { parseXml, serializeXml } from '../../omemo/xml-codec.js';
import { xmlElement } from '../../omemo/xml-element.js';
import type { LineOmemoVersion, OmemoLineDecryption, OmemoLineEvent, OmemoLineInfo, OmemoLineOutgoing } from './line-protocol-omemo.js';
import { CommandError, str, type LineJson } from './line-fields.js';

/** Deliberate defects (for the kit's self-tests only). */
export type OmemoBrokenBehaviour =
  /** Decrypts an already-decrypted message again (keeps every message's plaintext and shows it again). */
  | 'omemo-accept-replay'
  /** Tears the session down after a message that fails authentication (one forged message kills it). */
  | 'omemo-drop-session-on-bad-mac';

/** The broken behaviours by name (for the CLI). */
export const OMEMO_BROKEN_BEHAVIOURS: readonly OmemoBrokenBehaviour[] = ['omemo-accept-replay', 'omemo-drop-session-on-bad-mac'];

/** Most devices one handler hosts. */
export const MAX_LINE_DEVICES = 8;
/** Most messages the `omemo-accept-replay` defect remembers. */
const MAX_REPLAY_CACHE = 1000;

type Json = LineJson;

function errorText(error: unknown): string {
  if (error instanceof ProtocolError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function lineEvent(event: OmemoEvent): OmemoLineEvent {
  const { kind, ...rest } = event;
  return { type: kind, ...rest };
}

interface Device {
  manager: OmemoSessionManager;
  readonly store: MemoryStore;
}

/** See the module comment. */
export class OurOmemoLineHandler {
  readonly #broken: ReadonlySet<OmemoBrokenBehaviour>;
  #devices: Device[] = [];
  #version: LineOmemoVersion = '0.3';
  #jid = '';
  readonly #replayCache = new Map<string, OmemoLineDecryption[]>();
  #quit = false;

  constructor(broken: Iterable<OmemoBrokenBehaviour> = []) {
    this.#broken = new Set(broken);
  }

  /** True once `quit` was handled. */
  get quit(): boolean {
    return this.#quit;
  }

  /** Handles one request line and returns the answer line (never throws). */
  async handleLine(line: string): Promise<string> {
    try {
      const request = JSON.parse(line) as unknown;
      if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new CommandError('not a JSON object');
      return JSON.stringify({ ok: true, ...(await this.#handle(request as Json)) });
    } catch (error) {
      return JSON.stringify({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }

  async #handle(request: Json): Promise<Json> {
    const cmd = request['cmd'];
    if (cmd === 'quit') {
      this.#quit = true;
      return {};
    }
    if (cmd === 'init') return { ...(await this.#init(request)) };
    if (this.#devices.length === 0) throw new CommandError('init first');
    switch (cmd) {
      case 'info':
        return { ...this.#info() };
      case 'peer_devices':
        return this.#peerDevices(request);
      case 'encrypt':
        return this.#encrypt(request);
      case 'decrypt':
        return this.#decrypt(request);
      default:
        throw new CommandError(`unknown cmd ${String(cmd)}`);
    }
  }

  async #init(request: Json): Promise<OmemoLineInfo> {
    if (this.#devices.length > 0) throw new CommandError('already initialised');
    const version = request['version'];
    if (version !== '0.3' && version !== '2') throw new CommandError("version must be '0.3' or '2'");
    const count = request['devices'] ?? 1;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_LINE_DEVICES) throw new CommandError(`devices must be 1..${MAX_LINE_DEVICES}`);
    this.#jid = str(request, 'jid');
    this.#version = version;
    for (let i = 0; i < count; i++) {
      const store = new MemoryStore();
      // Small prekey pools keep start-up fast; the kit never needs more than a few.
      this.#devices.push({ store, manager: await OmemoSessionManager.open({ store, ownJid: this.#jid, preKeyCount: 20 }) });
    }
    return this.#info();
  }

  #info(): OmemoLineInfo {
    const ids = this.#devices.map((d) => d.manager.deviceId);
    const list = this.#version === '0.3' ? encodeDeviceList03(ids) : encodeDeviceList2(ids.map((id) => ({ id })));
    const bundles: Record<string, string> = {};
    for (const d of this.#devices) bundles[String(d.manager.deviceId)] = serializeXml(d.manager.bundleElement(this.#version));
    return {
      jid: this.#jid,
      version: this.#version,
      devices: this.#devices.map((d) => ({ device_id: d.manager.deviceId, fingerprint: bytesToHex(d.manager.ownFingerprint) })),
      device_list: serializeXml(list),
      bundles,
    };
  }

  async #peerDevices(request: Json): Promise<Json> {
    const jid = str(request, 'jid');
    const listElement = parseXml(str(request, 'device_list'));
    const ids = this.#version === '0.3' ? decodeDeviceList03(listElement) : decodeDeviceList2(listElement).map((e) => e.id);
    const bundles = request['bundles'];
    if (typeof bundles !== 'object' || bundles === null) throw new CommandError('missing bundles');
    const events: OmemoLineEvent[] = [];
    for (const d of this.#devices) {
      await d.manager.updateDeviceList(this.#version, jid, ids);
      for (const [id, xml] of Object.entries(bundles as Json)) {
        if (typeof xml !== 'string') throw new CommandError(`bundle ${id} is not a string`);
        const result = await d.manager.processBundle(this.#version, jid, Number(id), parseXml(xml));
        events.push(...result.events.map(lineEvent));
      }
    }
    return { events, outbox: this.#drain() };
  }

  #plaintext(text: string, to: string): Uint8Array {
    if (this.#version === '0.3') return utf8ToBytes(text);
    const body = xmlElement('body', { xmlns: 'jabber:client' }, [], text);
    return serializeSceEnvelope(createSceEnvelope({ content: [body], from: this.#jid, to }, systemRandom));
  }

  #text(plaintext: Uint8Array | undefined): string | null {
    if (plaintext === undefined) return null;
    if (this.#version === '0.3') return bytesToUtf8(plaintext);
    const body = parseSceEnvelope(plaintext).content.find((e) => e.name === 'body');
    return body?.text ?? '';
  }

  async #encrypt(request: Json): Promise<Json> {
    const to = str(request, 'to_jid');
    const which = request['device'];
    const device = which === undefined ? this.#devices[0] : this.#devices.find((d) => d.manager.deviceId === which);
    if (device === undefined) throw new CommandError(`no device ${String(which)}`);
    const result = await device.manager.encrypt(this.#version, [to], this.#plaintext(str(request, 'plaintext'), to));
    return { xml: serializeXml(result.element), events: result.events.map(lineEvent), outbox: this.#drain() };
  }

  async #decrypt(request: Json): Promise<Json> {
    const from = str(request, 'from_jid');
    const xml = str(request, 'xml');
    const cached = this.#broken.has('omemo-accept-replay') ? this.#replayCache.get(xml) : undefined;
    if (cached !== undefined) return { results: cached, events: [], outbox: [] };
    const results: OmemoLineDecryption[] = [];
    const events: OmemoLineEvent[] = [];
    const outbox: OmemoLineOutgoing[] = [];
    for (const device of this.#devices) {
      try {
        const r = await device.manager.decrypt(from, xml);
        results.push({ device_id: device.manager.deviceId, plaintext: this.#text(r.plaintext), error: null });
        events.push(...r.events.map(lineEvent));
        outbox.push(...r.toSend.map((m) => this.#outgoing(m)));
      } catch (error) {
        if (error instanceof NotForThisDeviceError) continue;
        results.push({ device_id: device.manager.deviceId, plaintext: null, error: errorText(error) });
        if (error instanceof VerificationError && this.#broken.has('omemo-drop-session-on-bad-mac')) await this.#dropSessions(device);
      }
    }
    if (this.#broken.has('omemo-accept-replay') && results.every((r) => r.error === null) && this.#replayCache.size < MAX_REPLAY_CACHE) this.#replayCache.set(xml, results);
    outbox.push(...this.#drain());
    return { results, events, outbox };
  }

  /** The `omemo-drop-session-on-bad-mac` defect: forget every session of the device. */
  async #dropSessions(device: Device): Promise<void> {
    for (const key of await device.store.keys()) if (key.split('/').includes('session')) await device.store.delete(key);
    device.manager = await OmemoSessionManager.open({ store: device.store, ownJid: this.#jid, preKeyCount: 20 });
  }

  #outgoing(message: OutgoingMessage): OmemoLineOutgoing {
    return { to_jid: message.to, xml: serializeXml(message.element) };
  }

  #drain(): OmemoLineOutgoing[] {
    return this.#devices.flatMap((d) => d.manager.drainOutgoing().map((m) => this.#outgoing(m)));
  }
}
