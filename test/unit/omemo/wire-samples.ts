/**
 * Real python-omemo 1.0 stanzas/device lists/bundles for both versions, captured by
 * test/vectors/omemo-wire/generate.mjs, for unit tests that must run without the peer.
 */
import { readFileSync } from 'node:fs';
import { base64ToBytes } from '../../../lib/core/bytes.js';
import { parseXml } from '../../../omemo/xml-codec.js';
import type { XmlElement } from '../../../omemo/xml-element.js';

/** The captured XML strings of one version. */
export interface VersionSamples {
  readonly kex: string;
  readonly empty: string;
  readonly followup: string;
  readonly devicelist: string;
  readonly bundle: string;
}

const raw = JSON.parse(readFileSync(new URL('../../vectors/omemo-wire/python-samples.json', import.meta.url), 'utf8')) as Record<string, VersionSamples>;

function samples(ns: string): VersionSamples {
  const s = raw[ns];
  if (s === undefined) throw new Error(`no samples for ${ns}`);
  return s;
}

/** OMEMO 0.3 samples. */
export const SAMPLES_03 = samples('eu.siacs.conversations.axolotl');
/** omemo:2 samples. */
export const SAMPLES_2 = samples('urn:xmpp:omemo:2');

/** Every `<key>` payload (decoded base64) of a sample `<encrypted>` with its key-exchange flag. */
export function sampleKeys(xml: string): { data: Uint8Array; kex: boolean }[] {
  const out: { data: Uint8Array; kex: boolean }[] = [];
  const walk = (e: XmlElement): void => {
    if (e.name === 'key') {
      const data = base64ToBytes(e.text);
      if (data === undefined) throw new Error('bad sample');
      out.push({ data, kex: e.attrs['prekey'] === 'true' || e.attrs['kex'] === 'true' });
    }
    e.children.forEach(walk);
  };
  walk(parseXml(xml));
  return out;
}
