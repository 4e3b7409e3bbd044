/**
 * Trust in peer devices (XEP-0384 section 9: "Clients MUST NOT use a newly built session ... to
 * transmit data without ensuring trust first"). Trust is held per device and fingerprint:
 *
 * - `undecided`: never decided; no messages are encrypted to it; its messages are decrypted
 *   and flagged (the XEP allows decrypting "not (yet) trusted" sessions);
 * - `trusted`: the user (or blind trust) accepted it; `blind` tells which;
 * - `verified`: the user compared the fingerprint out of band (QR code, reading it out);
 * - `distrusted`: the user rejected it: nothing is encrypted to it, its messages are refused.
 *
 * Policies:
 * - `blind-trust-before-verification` (BTBV, Conversations' default and ours): while none of a
 *   contact's devices is verified, every new device of that contact is trusted blindly; once
 *   one is verified, new devices stay undecided and blindly trusted ones are no longer used for
 *   sending (they stay `trusted`+`blind` in storage and count again if the verification is
 *   withdrawn);
 * - `manual`: every new device is undecided until the user decides.
 *
 * Pure functions over plain records; the manager persists the records.
 */

/** Trust state of one device. */
export type TrustState = 'undecided' | 'trusted' | 'distrusted' | 'verified';

/** All trust states (for validation). */
export const TRUST_STATES: readonly TrustState[] = ['undecided', 'trusted', 'distrusted', 'verified'];

/** How new devices are treated. */
export type TrustPolicy = 'blind-trust-before-verification' | 'manual';

/** What the manager records about a peer device. */
export interface DeviceTrust {
  readonly state: TrustState;
  /** True when `state` is `trusted` because of blind trust rather than a user decision. */
  readonly blind: boolean;
}

/**
 * The trust a device gets when its fingerprint is first seen. `contactHasVerifiedDevice`:
 * whether another device of the same JID is verified.
 */
export function initialTrust(policy: TrustPolicy, contactHasVerifiedDevice: boolean): DeviceTrust {
  if (policy === 'blind-trust-before-verification' && !contactHasVerifiedDevice) return { state: 'trusted', blind: true };
  return { state: 'undecided', blind: false };
}

/**
 * Whether messages may be encrypted to the device. Under BTBV a blindly trusted device stops
 * counting once the contact has a verified device.
 */
export function mayEncryptTo(policy: TrustPolicy, trust: DeviceTrust, contactHasVerifiedDevice: boolean): boolean {
  if (trust.state === 'verified') return true;
  if (trust.state !== 'trusted') return false;
  return !(trust.blind && policy === 'blind-trust-before-verification' && contactHasVerifiedDevice);
}

/** Whether messages from the device are decrypted at all (only `distrusted` ones are refused). */
export function mayDecryptFrom(trust: DeviceTrust): boolean {
  return trust.state !== 'distrusted';
}

/** The effective state reported to the application (BTBV demotes blind trust after a verification). */
export function effectiveTrust(policy: TrustPolicy, trust: DeviceTrust, contactHasVerifiedDevice: boolean): TrustState {
  if (trust.state === 'trusted' && !mayEncryptTo(policy, trust, contactHasVerifiedDevice)) return 'undecided';
  return trust.state;
}
