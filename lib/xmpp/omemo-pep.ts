/**
 * OMEMO's PEP traffic (XEP-0163 over XEP-0060) for both versions:
 * - 0.3 (XEP-0384 0.3.0 section 4.2-4.3): device list node
 *   `eu.siacs.conversations.axolotl.devicelist` item `current`; one bundle node per device,
 *   `eu.siacs.conversations.axolotl.bundles:<id>`, item `current`;
 * - omemo:2 (XEP-0384 section 5.3): `urn:xmpp:omemo:2:devices` item `current`, and the single
 *   `urn:xmpp:omemo:2:bundles` node with one item per device (item id = device id,
 *   `pubsub#max_items=max`).
 * Everything is published with publish-options `pubsub#access_model=open`; a
 * precondition-not-met answer (the node exists with other options) reconfigures the node and
 * retries once (XEP-0060 7.1.5, 8.2.4). Our own device list is always fetched and merged
 * before publishing, so other devices of the account are never dropped.
 */
import type { Element } from '@xmpp/xml';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import { decodeDeviceList03, encodeDeviceList03 } from '../../omemo/versions/v03/xml.js';
import { decodeDeviceList2, encodeDeviceList2, type DeviceListEntry2 } from '../../omemo/versions/v2/xml.js';
import { bundleNode03 } from '../../omemo/versions/v03/profile.js';
import type { XmlElement } from '../../omemo/xml-element.js';
import { MalformedMessageError, ProtocolError } from '../core/errors.js';
import {
  BUNDLES_NODE_2, configureRequest, deviceListNode, isMissingNode, isPreconditionNotMet, itemPayloads, itemsRequest, publishRequest, toLtx, toXmlElement,
} from './omemo-stanzas.js';

/** @xmpp/iq's caller: resolves with the result's child, rejects with a StanzaError. */
export interface IqCallerLike {
  get(child: Element, to?: string, timeout?: number): Promise<Element | undefined>;
  set(child: Element, to?: string, timeout?: number): Promise<Element | undefined>;
}

/** What a device list holds: ids, and for omemo:2 the entries with their labels. */
export interface FetchedDeviceList {
  readonly ids: readonly number[];
  /** omemo:2 entries (labels kept so a merge preserves them); 0.3 lists have none. */
  readonly entries2: readonly DeviceListEntry2[];
  /** The node or item did not exist. */
  readonly missing: boolean;
}

/** Reads a device list payload (either version) into ids; MalformedMessageError on garbage. */
export function decodeDeviceListPayload(version: OmemoVersion, payload: Element): FetchedDeviceList {
  const element = toXmlElement(payload);
  if (version === '0.3') return { ids: decodeDeviceList03(element), entries2: [], missing: false };
  const entries2 = decodeDeviceList2(element);
  return { ids: entries2.map((e) => e.id), entries2, missing: false };
}

function wrap(error: unknown, what: string): ProtocolError {
  if (error instanceof ProtocolError) return error;
  const condition = (error as { condition?: unknown } | null)?.condition;
  return new ProtocolError(`xmpp.omemo.pep-${typeof condition === 'string' ? condition : 'failed'}`, `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** PEP operations for OMEMO. */
export class OmemoPep {
  readonly #iq: IqCallerLike;
  readonly #timeoutMs: number;

  constructor(iq: IqCallerLike, timeoutMs = 10_000) {
    this.#iq = iq;
    this.#timeoutMs = timeoutMs;
  }

  /** Publishes `payload` as item `itemId` of our `node`, reconfiguring the node on precondition-not-met. */
  async publish(node: string, itemId: string, payload: Element): Promise<void> {
    try {
      await this.#iq.set(publishRequest(node, itemId, payload), undefined, this.#timeoutMs);
    } catch (error) {
      if (!isPreconditionNotMet(error)) throw wrap(error, `publish ${node}`);
      try {
        await this.#iq.set(configureRequest(node), undefined, this.#timeoutMs);
        await this.#iq.set(publishRequest(node, itemId, payload), undefined, this.#timeoutMs);
      } catch (again) {
        throw wrap(again, `publish ${node} after reconfiguring`);
      }
    }
  }

  /** The items of `node` of `jid` (our own account when undefined); empty when the node is missing. */
  async items(node: string, jid: string | undefined, itemId?: string): Promise<{ readonly items: { readonly id: string | undefined; readonly payload: Element }[]; readonly missing: boolean }> {
    let result: Element | undefined;
    try {
      result = await this.#iq.get(itemsRequest(node, itemId), jid, this.#timeoutMs);
    } catch (error) {
      if (isMissingNode(error)) return { items: [], missing: true };
      throw wrap(error, `fetch ${node}`);
    }
    const items = itemPayloads(result?.getChild('items'));
    return { items, missing: items.length === 0 };
  }

  /** Fetches the device list of `jid` (undefined: ours). MalformedMessageError on a garbage list. */
  async fetchDeviceList(version: OmemoVersion, jid: string | undefined): Promise<FetchedDeviceList> {
    const { items, missing } = await this.items(deviceListNode(version), jid);
    const current = items.find((i) => i.id === 'current') ?? items[0];
    if (missing || current === undefined) return { ids: [], entries2: [], missing: true };
    return decodeDeviceListPayload(version, current.payload);
  }

  /**
   * Adds `deviceId` to our device list: fetches the list, keeps every device already in it
   * (never drops another device of ours) and publishes only if ours was missing. Returns the
   * published (or unchanged) ids.
   */
  async ensureOwnDevice(version: OmemoVersion, deviceId: number): Promise<{ readonly ids: readonly number[]; readonly published: boolean }> {
    let current: FetchedDeviceList;
    try {
      current = await this.fetchDeviceList(version, undefined);
    } catch (error) {
      // A garbage list of ours is replaced by one with just this device rather than blocking us.
      if (!(error instanceof MalformedMessageError)) throw error;
      current = { ids: [], entries2: [], missing: true };
    }
    if (!current.missing && current.ids.includes(deviceId)) return { ids: current.ids, published: false };
    const ids = [...current.ids, deviceId];
    await this.publishDeviceList(version, ids, current.entries2);
    return { ids, published: true };
  }

  /** Publishes a device list (omemo:2 labels of `previous` entries kept). */
  async publishDeviceList(version: OmemoVersion, ids: readonly number[], previous: readonly DeviceListEntry2[] = []): Promise<void> {
    let payload: XmlElement;
    if (version === '0.3') payload = encodeDeviceList03(ids);
    else payload = encodeDeviceList2(ids.map((id) => previous.find((e) => e.id === id) ?? { id }));
    await this.publish(deviceListNode(version), 'current', toLtx(payload));
  }

  /** Publishes our bundle element for `version`. */
  async publishBundle(version: OmemoVersion, deviceId: number, bundle: XmlElement): Promise<void> {
    if (version === '0.3') await this.publish(bundleNode03(deviceId), 'current', toLtx(bundle));
    else await this.publish(BUNDLES_NODE_2, String(deviceId), toLtx(bundle));
  }

  /** Fetches `jid`'s bundle of `deviceId` (undefined when not published). */
  async fetchBundle(version: OmemoVersion, jid: string, deviceId: number): Promise<XmlElement | undefined> {
    const { items } = version === '0.3'
      ? await this.items(bundleNode03(deviceId), jid)
      : await this.items(BUNDLES_NODE_2, jid, String(deviceId));
    const item = version === '0.3' ? (items.find((i) => i.id === 'current') ?? items[0]) : items.find((i) => i.id === String(deviceId));
    return item === undefined ? undefined : toXmlElement(item.payload);
  }
}
