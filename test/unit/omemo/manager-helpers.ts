/**
 * Loopback helpers for the session manager tests: managers over memory stores with fixed
 * randomness, introduced to each other as PEP would (device lists + bundles).
 */
import { bytesToUtf8, utf8ToBytes } from '../../../lib/core/bytes.js';
import { deterministicRandom } from '../../../lib/core/crypto/deterministic-random.js';
import { MemoryStore } from '../../../lib/core/store/store.js';
import type { OmemoVersion } from '../../../omemo/fingerprint.js';
import { OmemoSessionManager } from '../../../omemo/session-manager.js';
import type { DecryptResult, OmemoSessionManagerOptions, OutgoingMessage } from '../../../omemo/session-manager.js';

export const ALICE = 'alice@a.example';
export const BOB = 'bob@b.example';
export const CAROL = 'carol@c.example';

/** A manager over a fresh (or given) memory store, randomness seeded by `seed`. */
export async function device(
  jid: string, seed: string, extra: Partial<OmemoSessionManagerOptions> = {},
): Promise<{ manager: OmemoSessionManager; store: MemoryStore }> {
  const store = (extra.store as MemoryStore | undefined) ?? new MemoryStore();
  const manager = await OmemoSessionManager.open({ store, ownJid: jid, random: deterministicRandom(seed), preKeyCount: 20, ...extra });
  return { manager, store };
}

/** `viewer` learns `devices` (all of one JID): device list and bundles. */
export async function learn(version: OmemoVersion, viewer: OmemoSessionManager, devices: readonly OmemoSessionManager[]): Promise<void> {
  const jid = devices[0]?.ownJid as string;
  await viewer.updateDeviceList(version, jid, devices.map((d) => d.deviceId));
  for (const d of devices) await viewer.processBundle(version, jid, d.deviceId, d.bundleElement(version));
}

/** Delivers empty messages produced by managers to the matching managers until none remain. */
export async function deliverAll(all: readonly OmemoSessionManager[], from: OmemoSessionManager, messages: readonly OutgoingMessage[]): Promise<number> {
  let count = 0;
  const queue = messages.map((m) => ({ from, m }));
  while (queue.length > 0) {
    const { from: sender, m } = queue.shift()!;
    const target = all.find((x) => x.ownJid === m.to && x.deviceId === m.deviceId);
    if (target === undefined) continue;
    const r = await target.decrypt(sender.ownJid, m.element);
    count++;
    for (const next of r.toSend) queue.push({ from: target, m: next });
  }
  return count;
}

export const text = (s: string): Uint8Array => utf8ToBytes(s);
export const plain = (r: DecryptResult): string | undefined => (r.plaintext === undefined ? undefined : bytesToUtf8(r.plaintext));

/** A snapshot of every key and value in a store. */
export async function snapshot(store: MemoryStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of await store.keys()) out.set(key, (await store.get(key)) as string);
  return out;
}
