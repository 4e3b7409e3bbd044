/**
 * Loader for the known-answer vectors produced by test/vectors/omemo/generate.py from Debian's
 * python3-xeddsa / python3-x3dh / python3-doubleratchet.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hexToBytes } from '../../../lib/core/bytes.js';

export interface XeddsaVector {
  priv: string; message: string; nonce: string; montgomeryPublic: string;
  edwardsPublicSign0: string; edwardsPublicSign1: string; edwardsPublicForced: string;
  naturalSignBit: 0 | 1; signaturePure: string; signatureLibsignal: string;
}
export interface SeedVector {
  seed: string; message: string; ed25519Public: string; x25519Private: string; x25519Public: string;
  montgomeryFromEdwards: string; signature: string;
}
export interface X25519Vector { privateA: string; privateB: string; publicA: string; publicB: string; shared: string }
export interface X3dhVector {
  profile: '0.3' | '2'; withPreKey: boolean;
  aliceIdentitySecret: string; aliceIdentityPublic: string; bobIdentitySecret: string; bobIdentityPublic: string;
  bobSignedPreKeyPrivate: string; bobSignedPreKeyPublic: string; bobSignedPreKeySignature: string;
  bobOneTimePreKeyPrivate: string | null; bobOneTimePreKeyPublic: string | null;
  aliceEphemeralPrivate: string; aliceEphemeralPublic: string; sharedSecret: string; associatedData: string;
}
export interface RatchetSnapshot {
  rootKey: string; ownRatchetPrivate: string; otherRatchetPublic: string;
  sendingChainKey: string | null; sendingChainLength: number | null;
  receivingChainKey: string | null; receivingChainLength: number | null;
  previousSendingChainLength: number | null;
  skippedMessageKeys: { ratchetPublic: string; n: number; messageKey: string }[];
}
export interface RatchetStep {
  kind: 'send' | 'recv'; actor: 'alice' | 'bob'; label: string; plaintext: string; messageKey: string;
  header?: { ratchetPublic: string; pn: number; n: number }; ciphertext?: string; state: RatchetSnapshot;
}
export interface RatchetVector {
  profile: '0.3' | '2'; sharedSecret: string; associatedData: string; bobSignedPreKeyPrivate: string;
  bobSignedPreKeyPublic: string; rootInfo: string; ratchetPrivateKeys: Record<'alice' | 'bob', string[]>;
  steps: RatchetStep[];
}
export interface RatchetWireStep {
  kind: 'send' | 'recv'; actor: 'alice' | 'bob'; label: string; plaintext: string; messageKey: string;
  associatedData?: string; header?: { ratchetPublic: string; pn: number; n: number }; wire?: string;
}
export interface RatchetWireVector {
  profile: '0.3' | '2'; sharedSecret: string; aliceIdentityEncoded: string; bobIdentityEncoded: string;
  bobSignedPreKeyPrivate: string; bobSignedPreKeyPublic: string; rootInfo: string; messageKeyInfo: string;
  ratchetPrivateKeys: Record<'alice' | 'bob', string[]>; steps: RatchetWireStep[];
}
export interface OmemoVectors {
  xeddsa: XeddsaVector[]; seeds: SeedVector[]; x25519: X25519Vector[]; x3dh: X3dhVector[]; ratchet: RatchetVector[];
  ratchetWire: RatchetWireVector[];
}

const path = fileURLToPath(new URL('../../vectors/omemo/vectors.json', import.meta.url));

/** The parsed vectors file. */
export const vectors: OmemoVectors = JSON.parse(readFileSync(path, 'utf8')) as OmemoVectors;

/** Hex to bytes, for brevity in tests. */
export const hex = (text: string): Uint8Array => hexToBytes(text);
