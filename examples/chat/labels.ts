/**
 * What every line of the chat client starts with: the protocol a message came with (OTR,
 * OMEMO 0.3, OMEMO 2 or plaintext) and the trust of the sender's key or device, and how a
 * contact's protocol choice reads.
 */
import { formatFingerprint, parseFingerprint, type SecurityState } from '../../lib/index.js';
import type { OmemoVersion, TrustState } from '../../omemo/index.js';
import type { Preference, RoutedChoice } from './protocol.js';

/** `[plaintext]`, `[OTR unverified]`, `[OTR verified (smp|manual)]` or `[finished: ...]`. */
export function otrLabel(security: SecurityState): string {
  if (security.kind === 'plaintext') return '[plaintext]';
  if (security.kind === 'finished') return '[finished: /otr end or /otr start]';
  return security.trust === 'unverified' ? '[OTR unverified]' : `[OTR verified (${security.trust})]`;
}

/** "OMEMO 0.3" or "OMEMO 2". */
export function omemoName(version: OmemoVersion): string {
  return `OMEMO ${version}`;
}

/** The trust of an OMEMO device as shown: undecided and distrusted devices stand out in capitals. */
export function omemoTrustText(trust: TrustState, blind: boolean): string {
  if (trust === 'trusted') return blind ? 'trusted (blind)' : 'trusted';
  if (trust === 'verified') return 'verified';
  if (trust === 'distrusted') return 'DISTRUSTED';
  return 'UNDECIDED (not trusted)';
}

/** `[OMEMO 2 | device 123 trusted (blind)]`. */
export function omemoLabel(version: OmemoVersion, deviceId: number, trust: TrustState, blind: boolean): string {
  return `[${omemoName(version)} | device ${deviceId} ${omemoTrustText(trust, blind)}]`;
}

/** How the protocol for a contact was chosen, for humans. */
export function choiceText(preference: Preference, choice: RoutedChoice | undefined): string {
  if (preference === 'plain') return 'plaintext (/proto plain)';
  if (choice === undefined) return `${preference} (decided at the next message)`;
  const proto = choice.protocol === 'omemo' ? (choice.omemoVersion === undefined ? 'OMEMO' : omemoName(choice.omemoVersion)) : 'OTR';
  if (choice.reason === 'auto-devices') return `${proto} (auto: the contact publishes OMEMO devices)`;
  if (choice.reason === 'auto-otr-session') return 'OTR (auto: an OTR session is encrypted)';
  if (choice.reason === 'auto-no-devices') return `${proto} (auto: the contact publishes no OMEMO device)`;
  return `${proto} (/proto ${preference})`;
}

/** A 40-hex OTR fingerprint in libotr's five groups; anything else unchanged. */
export function otrFingerprintText(hex: string): string {
  const bytes = parseFingerprint(hex);
  return bytes === undefined ? hex : formatFingerprint(bytes);
}
