/**
 * OMEMO devices for the chat client: our own device's fingerprints and QR code (`/fp`), a
 * contact's devices with version, fingerprint and trust (`/devices`), and finding a device by
 * id or fingerprint for `/trust`, `/distrust` and `/verify` (XEP-0384 section 9: the user
 * compares fingerprints out of band before trusting).
 */
import { OmemoPep, type OmemoPlugin } from '../../lib/index.js';
import { formatFingerprint, type OmemoVersion, type TrustState } from '../../omemo/index.js';
import { omemoName, omemoTrustText } from './labels.js';
import { qrLines } from './qr-terminal.js';

const VERSIONS: readonly OmemoVersion[] = ['0.3', '2'];

/** A contact's device as `/devices` shows it. */
export interface ShownDevice {
  readonly deviceId: number;
  /** The versions whose published device list names it. */
  readonly versions: readonly OmemoVersion[];
  /** 64 hex, undefined when no bundle could be fetched. */
  readonly fingerprint: string | undefined;
  readonly trust: TrustState | undefined;
  readonly blind: boolean;
}

/** Fingerprints and device lists of OMEMO contacts. */
export class OmemoDevices {
  readonly #omemo: OmemoPlugin;
  readonly #pep: OmemoPep;

  constructor(omemo: OmemoPlugin, iqCaller: ConstructorParameters<typeof OmemoPep>[0]) {
    this.#omemo = omemo;
    this.#pep = new OmemoPep(iqCaller);
  }

  /** `/fp`: our device under both versions (one identity, one fingerprint), the xmpp: URI and its QR code. */
  ownLines(): string[] {
    const manager = this.#omemo.manager;
    const fingerprint = manager.formatOwnFingerprint('conversations');
    const uri = manager.ownFingerprintUri();
    return [
      ...VERSIONS.map((v) => `* ours, ${omemoName(v)} device ${manager.deviceId}: ${fingerprint}`),
      `* scan to verify us: ${uri}`,
      ...qrLines(uri),
    ];
  }

  /**
   * `/devices`: fetches the contact's device lists (both versions) and the bundles of devices
   * whose fingerprint is not known yet, then lists every device.
   */
  async list(jid: string): Promise<ShownDevice[]> {
    const manager = this.#omemo.manager;
    const versionsOf = new Map<number, OmemoVersion[]>();
    for (const version of VERSIONS) {
      let ids: readonly number[];
      try {
        ids = await this.#omemo.refreshDeviceList(version, jid);
      } catch {
        ids = await manager.deviceList(version, jid);
      }
      for (const id of ids) versionsOf.set(id, [...(versionsOf.get(id) ?? []), version]);
    }
    let known = await manager.devices(jid);
    for (const [id, versions] of versionsOf) {
      if (known.some((d) => d.deviceId === id) || (jid === manager.ownJid && id === manager.deviceId)) continue;
      for (const version of versions) {
        const bundle = await this.#pep.fetchBundle(version, jid, id).catch(() => undefined);
        if (bundle === undefined) continue;
        await manager.processBundle(version, jid, id, bundle).catch(() => undefined);
        break;
      }
    }
    known = await manager.devices(jid);
    const ids = new Set([...versionsOf.keys(), ...known.map((d) => d.deviceId)]);
    return [...ids].sort((a, b) => a - b).map((deviceId) => {
      const info = known.find((d) => d.deviceId === deviceId);
      return {
        deviceId, versions: versionsOf.get(deviceId) ?? [],
        fingerprint: info === undefined ? undefined : formatFingerprint(info.fingerprint, 'hex'),
        trust: info?.trust, blind: info?.storedTrust.blind ?? false,
      };
    });
  }

  /** One `/devices` line. */
  static line(jid: string, d: ShownDevice): string {
    const versions = d.versions.length === 0 ? 'no longer listed' : d.versions.map(omemoName).join(' + ');
    const fp = d.fingerprint === undefined ? 'fingerprint unknown (no bundle)' : formatFingerprint(d.fingerprint, 'conversations');
    const trust = d.trust === undefined ? '-' : omemoTrustText(d.trust, d.blind);
    return `* ${jid} device ${d.deviceId} [${versions}] ${fp} ${trust}`;
  }

  /** The trust shown for a sender device right now (effective trust and whether it is blind). */
  async trustOf(jid: string, deviceId: number): Promise<{ readonly trust: TrustState | undefined; readonly blind: boolean }> {
    const info = (await this.#omemo.manager.devices(jid)).find((d) => d.deviceId === deviceId);
    return { trust: info?.trust, blind: info?.storedTrust.blind ?? false };
  }

  /**
   * The device of `jid` that `which` names: a device id, or a fingerprint (64 hex, spaces
   * allowed) of a recorded device. Undefined when no recorded device matches.
   */
  async find(jid: string, which: string): Promise<number | undefined> {
    const devices = await this.#omemo.manager.devices(jid);
    const compact = which.replace(/\s+/g, '').toLowerCase();
    if (/^[0-9a-f]{64}$/.test(compact)) return devices.find((d) => formatFingerprint(d.fingerprint, 'hex') === compact)?.deviceId;
    if (/^[0-9]{1,10}$/.test(compact)) return devices.find((d) => d.deviceId === Number(compact))?.deviceId;
    return undefined;
  }
}
