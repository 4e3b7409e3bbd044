/**
 * Typed errors of the OMEMO session manager (XEP-0384 section 4 message handling). Every one
 * extends a {@link ProtocolError} class of lib/core/errors.ts and carries a stable `code`;
 * messages never name JIDs, keys or plaintext.
 */
import { StateError } from '../lib/core/errors.js';

/** A message from a device we have no session with and that carries no key exchange. */
export class NoSessionError extends StateError {
  constructor() {
    super('omemo.no-session', 'No session with the sending device and no key exchange in the message');
  }
}

/** An operation named a device the manager knows nothing about (no bundle, no session). */
export class UnknownDeviceError extends StateError {
  constructor() {
    super('omemo.unknown-device', 'Unknown device');
  }
}

/** The sending device is distrusted: the message is refused before any state changes. */
export class UntrustedDeviceError extends StateError {
  constructor() {
    super('omemo.untrusted-device', 'The sending device is distrusted');
  }
}

/** The message holds no `<key>` for this device (jid and rid). */
export class NotForThisDeviceError extends StateError {
  constructor() {
    super('omemo.not-for-this-device', 'The message holds no key for this device');
  }
}

/** A key exchange names a one-time prekey or signed prekey we do not have (used or never published). */
export class UnknownPreKeyError extends StateError {
  constructor(what: 'pre-key' | 'signed-pre-key') {
    super(`omemo.unknown-${what}`, `The key exchange names an unknown ${what === 'pre-key' ? 'prekey' : 'signed prekey'}`);
  }
}

/** A message claims to come from our own device id. */
export class OwnDeviceMessageError extends StateError {
  constructor() {
    super('omemo.own-device', 'The message claims to come from this device');
  }
}

/** An identity key in a key exchange differs from the one recorded for the device. */
export class IdentityMismatchError extends StateError {
  constructor() {
    super('omemo.identity-mismatch', 'The identity key differs from the one recorded for this device');
  }
}

/** Why a device was left out of an encryption (see OmemoSessionManager.encrypt). */
export interface SkippedDeviceInfo {
  readonly jid: string;
  readonly deviceId: number;
  readonly reason: 'untrusted' | 'no-bundle' | 'bad-bundle';
}

/** Not a single device of the recipients could be encrypted to; `skipped` says why for each. */
export class NoRecipientsError extends StateError {
  readonly skipped: readonly SkippedDeviceInfo[];

  constructor(skipped: readonly SkippedDeviceInfo[]) {
    super('omemo.no-recipients', 'No device of the recipients can be encrypted to');
    this.skipped = skipped;
  }
}
