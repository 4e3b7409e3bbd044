/**
 * Wiring between our OmemoSessionManager devices and real python-omemo peers for the interop
 * tests: publishing each side's device lists and bundles to the other (the PEP step), and
 * delivering the messages each library produced on its own (key-exchange completion,
 * heartbeats) to the right device.
 */
import { expect } from 'chai';
import { bytesToUtf8, utf8ToBytes } from '../../../lib/core/bytes.js';
import { NotForThisDeviceError } from '../../../omemo/errors.js';
import type { OmemoVersion } from '../../../omemo/fingerprint.js';
import type { DecryptResult, OutgoingMessage } from '../../../omemo/session-manager.js';
import { OmemoSessionManager } from '../../../omemo/session-manager.js';
import { createSceEnvelope, parseSceEnvelope, serializeSceEnvelope } from '../../../omemo/sce.js';
import { encodeDeviceList03 } from '../../../omemo/versions/v03/xml.js';
import { encodeDeviceList2 } from '../../../omemo/versions/v2/xml.js';
import { parseXml, serializeXml } from '../../../omemo/xml-codec.js';
import { xmlElement } from '../../../omemo/xml-element.js';
import type { KeyValueStore } from '../../../lib/core/store/store.js';
import { MemoryStore } from '../../../lib/core/store/store.js';
import { NS_03, NS_2 } from './python-omemo-peer.js';
import type { OmemoNamespace, OutboxMessage, PythonOmemoPeer } from './python-omemo-peer.js';

/** The namespace of a version. */
export function nsOf(version: OmemoVersion): OmemoNamespace {
  return version === '0.3' ? NS_03 : NS_2;
}

/** One of our devices (a manager over its own store). */
export async function ourDevice(jid: string, store: KeyValueStore = new MemoryStore()): Promise<{ manager: OmemoSessionManager; store: KeyValueStore }> {
  return { manager: await OmemoSessionManager.open({ store, ownJid: jid }), store };
}

/** The plaintext python is given for `text`: the body for 0.3, an SCE envelope for omemo:2. */
export function wirePlaintext(version: OmemoVersion, text: string, from: string, to: string): string {
  if (version === '0.3') return text;
  const envelope = createSceEnvelope({ content: [xmlElement('body', { xmlns: 'jabber:client' }, [], text)], from, to }, () => new Uint8Array(2));
  return serializeXml(envelope);
}

/** Our plaintext bytes for `text` (as {@link wirePlaintext}). */
export function ourPlaintext(version: OmemoVersion, text: string, from: string, to: string): Uint8Array {
  return version === '0.3' ? utf8ToBytes(text) : serializeSceEnvelope(parseXml(wirePlaintext(version, text, from, to)));
}

/** The text out of a plaintext we decrypted (body for 0.3, SCE `<body>` for omemo:2). */
export function textOf(version: OmemoVersion, plaintext: Uint8Array | undefined): string | undefined {
  if (plaintext === undefined) return undefined;
  if (version === '0.3') return bytesToUtf8(plaintext);
  return parseSceEnvelope(plaintext).content[0]?.text;
}

/** The text out of what python decrypted. */
export function pythonText(version: OmemoVersion, plaintext: string | null): string | undefined {
  if (plaintext === null) return undefined;
  if (version === '0.3') return plaintext;
  return parseSceEnvelope(utf8ToBytes(plaintext)).content[0]?.text;
}

/** Publishes our devices of one JID (list + bundles) to a python peer's fake PEP. */
export async function publishOurs(version: OmemoVersion, ours: readonly OmemoSessionManager[], peer: PythonOmemoPeer): Promise<void> {
  const ns = nsOf(version);
  const jid = ours[0]?.ownJid as string;
  const ids = ours.map((m) => m.deviceId);
  for (const m of ours) await peer.pepBundle(ns, jid, m.deviceId, serializeXml(m.bundleElement(version)));
  const list = version === '0.3' ? encodeDeviceList03(ids) : encodeDeviceList2(ids.map((id) => ({ id })));
  await peer.pepDeviceList(ns, jid, serializeXml(list));
}

/** Tells our manager about python peers of one JID (device list + bundles, signatures checked). */
export async function learnPeers(version: OmemoVersion, manager: OmemoSessionManager, peers: readonly PythonOmemoPeer[]): Promise<void> {
  const ns = nsOf(version);
  const jid = peers[0]?.jid as string;
  await manager.updateDeviceList(version, jid, peers.map((p) => p.info.device_id));
  for (const p of peers) await manager.processBundle(version, jid, p.info.device_id, parseXml(p.info.bundle[ns]));
}

/** Decrypts with the first of `ours` the message is for (NotForThisDevice means another device). */
export async function decryptAtOurs(ours: readonly OmemoSessionManager[], from: string, xml: string): Promise<DecryptResult[]> {
  const results: DecryptResult[] = [];
  for (const m of ours) {
    try {
      results.push(await m.decrypt(from, xml));
    } catch (error) {
      if (!(error instanceof NotForThisDeviceError)) throw error;
    }
  }
  return results;
}

/** Routes messages both libraries produced on their own until none are left. */
export class Router {
  readonly pythonOutbox: OutboxMessage[] = [];
  readonly ourOutbox: { readonly from: string; readonly message: OutgoingMessage }[] = [];
  /** Empty messages delivered, by direction. */
  delivered = { toOurs: 0, toPython: 0 };

  constructor(readonly ours: readonly OmemoSessionManager[], readonly peers: readonly PythonOmemoPeer[]) {}

  /** Remembers python's outbox from a response. */
  fromPython(response: { readonly outbox: readonly OutboxMessage[] }): void {
    this.pythonOutbox.push(...response.outbox);
  }

  /** Remembers our toSend (sent by our device of JID `from`). */
  fromOurs(messages: readonly OutgoingMessage[], from: string = this.ours[0]?.ownJid as string): void {
    for (const message of messages) this.ourOutbox.push({ from, message });
  }

  /** Delivers everything pending (empty messages: plaintext must be absent on both sides). */
  async flush(): Promise<void> {
    while (this.pythonOutbox.length > 0 || this.ourOutbox.length > 0) {
      const p = this.pythonOutbox.shift();
      if (p !== undefined) {
        const results = await decryptAtOurs(this.ours.filter((m) => m.ownJid === p.to), p.from, p.xml);
        expect(results.length, 'python empty message reached one of our devices').to.be.greaterThan(0);
        for (const r of results) {
          expect(r.plaintext).to.equal(undefined);
          this.fromOurs(r.toSend, p.to);
        }
        this.delivered.toOurs++;
      }
      const o = this.ourOutbox.shift();
      if (o !== undefined) {
        const peer = this.peers.find((x) => x.jid === o.message.to && x.info.device_id === o.message.deviceId);
        if (peer === undefined) throw new Error('empty message for an unknown python device');
        const r = await peer.decrypt(o.from, serializeXml(o.message.element));
        expect(r.plaintext).to.equal(null);
        this.fromPython(r);
        this.delivered.toPython++;
      }
    }
  }
}
