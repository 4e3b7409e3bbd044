/**
 * Key management of the data phase (OTR v3 spec, "Exchanging data", "When you send a Data
 * Message", "When you receive a Data Message" and "Revealing MAC keys"), with libotr 4.1's
 * state layout (context_priv.h): our_keyid with our current and previous D-H key pairs,
 * their_keyid with their current and previous public keys, the session keys of the (up to
 * four) pairings with their sending/receiving counters, and the MAC keys to reveal.
 *
 * Receiving is split in two so a rejected message changes nothing: `prepareReceive` selects
 * the keys (throwing a typed error for an unknown keyid); the caller verifies the MAC; then
 * `acceptReceived` checks the counter and the next D-H key, all before the first mutation,
 * and only then records the counter and rotates keys.
 */
import { concatBytes, wipe } from '../lib/core/bytes.js';
import { isInModpRange, type ModpGroup } from '../lib/core/crypto/modp-group.js';
import { StateError, VerificationError } from '../lib/core/errors.js';
import type { RandomSource } from '../lib/core/random.js';
import { generateOtrDhKeyPair } from './dh-key-pair.js';
import { deriveSessionKeys, wipeSessionKeys, type SessionKeys } from './session-keys.js';

/** Largest keyid: an INT. */
const MAX_KEY_ID = 0xffffffff;
/** Largest 8-byte counter. */
const MAX_COUNTER = (1n << 64n) - 1n;

/** One of our D-H key pairs and its serial number. */
export interface OurDhKey {
  readonly keyId: number;
  readonly privateKey: bigint;
  readonly publicKey: bigint;
}

/** One of the peer's D-H public keys and its serial number. */
export interface TheirDhKey {
  readonly keyId: number;
  readonly publicKey: bigint;
}

/** The session keys of one (our keyid, their keyid) pairing and their counters. */
export interface SessionKeySlot {
  readonly ourKeyId: number;
  readonly theirKeyId: number;
  readonly keys: SessionKeys;
  /** Top half of the last counter we sent with this pairing (0 = none yet). */
  sendingCounter: bigint;
  /** Top half of the last counter we accepted with this pairing (0 = none yet). */
  receivingCounter: bigint;
  /** Whether the sending MAC key has MACed a message (libotr's sendmacused). */
  sendingMacKeyUsed: boolean;
  /** Whether the receiving MAC key has verified a message (libotr's rcvmacused). */
  receivingMacKeyUsed: boolean;
}

/** What `nextSending` gives the encoder of a Data Message. */
export interface SendingKeys {
  readonly senderKeyId: number;
  readonly recipientKeyId: number;
  /** Our most recent public key, advertised as "DH y". */
  readonly nextDh: bigint;
  /** The 8-byte top half of the counter, strictly larger than the previous one. */
  readonly counter: Uint8Array;
  readonly keys: SessionKeys;
}

/** Where the data phase starts: the keys authenticated by the AKE (`AkeResult`'s fields). */
export interface DataPhaseStart {
  readonly ourKeyId: number;
  readonly ourDhPrivate: bigint;
  readonly ourDhPublic: bigint;
  readonly theirKeyId: number;
  readonly theirDhPublic: bigint;
}

/** 8-byte big-endian encoding of a counter. */
export function counterToBytes(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value);
  return out;
}

/** Counter bytes as a number. */
export function counterFromBytes(bytes: Uint8Array): bigint {
  if (bytes.length !== 8) throw new RangeError('counter must be 8 bytes');
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}

/**
 * The D-H key state of one encrypted session. Not persistent: a session's keys live only in
 * memory, as in libotr.
 */
export class DataKeyManager {
  #ourCurrent: OurDhKey;
  #ourPrevious: OurDhKey | undefined;
  #theirCurrent: TheirDhKey;
  #theirPrevious: TheirDhKey | undefined;
  readonly #slots = new Map<string, SessionKeySlot>();
  #macKeysToReveal: Uint8Array[] = [];
  readonly #group: ModpGroup;
  readonly #random: RandomSource;
  #wiped = false;

  /**
   * Starts from the AKE (spec, "When you receive a Data Message"/AKE completion): our AKE
   * key becomes our previous key (keyid ourKeyId) and a fresh pair, keyid ourKeyId + 1,
   * our current one; their AKE key is their current key and they have no previous key.
   * `pendingReveal` carries used MAC keys of a session this one replaces.
   */
  constructor(start: DataPhaseStart, group: ModpGroup, random: RandomSource, pendingReveal: readonly Uint8Array[] = []) {
    if (!Number.isInteger(start.ourKeyId) || start.ourKeyId < 1 || start.ourKeyId >= MAX_KEY_ID) throw new RangeError('ourKeyId must be 1..2^32-2');
    if (!Number.isInteger(start.theirKeyId) || start.theirKeyId < 1 || start.theirKeyId > MAX_KEY_ID) throw new RangeError('theirKeyId must be > 0');
    this.#group = group;
    this.#random = random;
    this.#ourPrevious = { keyId: start.ourKeyId, privateKey: start.ourDhPrivate, publicKey: start.ourDhPublic };
    const next = generateOtrDhKeyPair(group, random);
    this.#ourCurrent = { keyId: start.ourKeyId + 1, privateKey: next.privateKey, publicKey: next.publicKey };
    this.#theirCurrent = { keyId: start.theirKeyId, publicKey: start.theirDhPublic };
    this.#theirPrevious = undefined;
    this.#macKeysToReveal = pendingReveal.map((k) => k.slice());
  }

  /** our_keyid: the keyid of our most recent D-H key pair. */
  get ourKeyId(): number {
    return this.#ourCurrent.keyId;
  }

  /** their_keyid: the keyid of the peer's most recent public key. */
  get theirKeyId(): number {
    return this.#theirCurrent.keyId;
  }

  /** Our most recent public key. */
  get ourPublicKey(): bigint {
    return this.#ourCurrent.publicKey;
  }

  /** The peer's most recent public key. */
  get theirPublicKey(): bigint {
    return this.#theirCurrent.publicKey;
  }

  /** Number of MAC keys waiting to be revealed in the next Data Message. */
  get pendingRevealCount(): number {
    return this.#macKeysToReveal.length;
  }

  #check(): void {
    if (this.#wiped) throw new TypeError('DataKeyManager used after wipe()');
  }

  #slot(our: OurDhKey, their: TheirDhKey): SessionKeySlot {
    const id = `${our.keyId}:${their.keyId}`;
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = {
        ourKeyId: our.keyId,
        theirKeyId: their.keyId,
        keys: deriveSessionKeys(this.#group, our.privateKey, our.publicKey, their.publicKey),
        sendingCounter: 0n,
        receivingCounter: 0n,
        sendingMacKeyUsed: false,
        receivingMacKeyUsed: false,
      };
      this.#slots.set(id, slot);
    }
    return slot;
  }

  /**
   * Keys for the next Data Message we send (spec, "When you send a Data Message"): sender
   * keyid our_keyid - 1, recipient keyid their_keyid, DH y = our current public key; the
   * counter of that pairing is incremented first, so the first message carries 1.
   */
  nextSending(): SendingKeys {
    this.#check();
    const our = this.#ourPrevious;
    if (our === undefined) throw new TypeError('DataKeyManager: no acknowledged key pair');
    const slot = this.#slot(our, this.#theirCurrent);
    if (slot.sendingCounter >= MAX_COUNTER) throw new StateError('otr.data.counter-exhausted', 'sending counter exhausted for this key pair');
    slot.sendingCounter += 1n;
    slot.sendingMacKeyUsed = true;
    return {
      senderKeyId: our.keyId,
      recipientKeyId: this.#theirCurrent.keyId,
      nextDh: this.#ourCurrent.publicKey,
      counter: counterToBytes(slot.sendingCounter),
      keys: slot.keys,
    };
  }

  /**
   * Selects the session keys for a received Data Message by its keyids (spec, "When you
   * receive a Data Message"). Throws `StateError` `otr.data.unknown-key-id` when the
   * recipient keyid is not our_keyid or our_keyid - 1, or the sender keyid is not
   * their_keyid or their_keyid - 1 (the latter only while we still hold that key). Deriving
   * the keys of a new pairing caches them; that is not an observable change.
   */
  prepareReceive(senderKeyId: number, recipientKeyId: number): SessionKeySlot {
    this.#check();
    const our =
      recipientKeyId === this.#ourCurrent.keyId ? this.#ourCurrent : recipientKeyId === this.#ourPrevious?.keyId ? this.#ourPrevious : undefined;
    const their =
      senderKeyId === this.#theirCurrent.keyId
        ? this.#theirCurrent
        : senderKeyId === this.#theirPrevious?.keyId
          ? this.#theirPrevious
          : undefined;
    if (our === undefined || their === undefined) {
      throw new StateError('otr.data.unknown-key-id', 'Data Message keyids do not name keys we hold');
    }
    return this.#slot(our, their);
  }

  /**
   * Finishes receiving a message whose MAC verified with `slot`'s receiving MAC key: checks
   * the counter is strictly larger than the last one accepted with this pairing (else
   * `StateError` `otr.data.replay`) and, if the sender keyid is their_keyid, that the next
   * D-H key is in [2, p-2] (`VerificationError` `otr.data.bad-dh-public`); then records the
   * counter and rotates keys: our keys if the recipient keyid is our_keyid, theirs if the
   * sender keyid is their_keyid. Nothing changes when it throws.
   */
  acceptReceived(slot: SessionKeySlot, counter: Uint8Array, nextDh: bigint): void {
    this.#check();
    const value = counterFromBytes(counter);
    if (value <= slot.receivingCounter) throw new StateError('otr.data.replay', 'Data Message counter is not larger than the last one received');
    const rotateTheirs = slot.theirKeyId === this.#theirCurrent.keyId;
    const rotateOurs = slot.ourKeyId === this.#ourCurrent.keyId;
    if (rotateTheirs && !isInModpRange(nextDh)) {
      throw new VerificationError('otr.data.bad-dh-public', 'next D-H public value is not in [2, p-2]');
    }
    if (rotateTheirs && this.#theirCurrent.keyId >= MAX_KEY_ID) throw new StateError('otr.data.key-id-exhausted', 'their keyid cannot advance');
    if (rotateOurs && this.#ourCurrent.keyId >= MAX_KEY_ID) throw new StateError('otr.data.key-id-exhausted', 'our keyid cannot advance');
    slot.receivingCounter = value;
    slot.receivingMacKeyUsed = true;
    if (rotateOurs) this.#rotateOurs();
    if (rotateTheirs) this.#rotateTheirs(nextDh);
  }

  /** "Securely forget our_dh[our_keyid-1], increment our_keyid, and set our_dh[our_keyid] to a new D-H key pair." */
  #rotateOurs(): void {
    const forgotten = this.#ourPrevious;
    if (forgotten !== undefined) this.#forgetSlots((slot) => slot.ourKeyId === forgotten.keyId);
    this.#ourPrevious = this.#ourCurrent;
    const next = generateOtrDhKeyPair(this.#group, this.#random);
    this.#ourCurrent = { keyId: this.#ourCurrent.keyId + 1, privateKey: next.privateKey, publicKey: next.publicKey };
  }

  /** "Increment their_keyid, and set their_y[their_keyid] to the new D-H pubkey." */
  #rotateTheirs(nextDh: bigint): void {
    const forgotten = this.#theirPrevious;
    if (forgotten !== undefined) this.#forgetSlots((slot) => slot.theirKeyId === forgotten.keyId);
    this.#theirPrevious = this.#theirCurrent;
    this.#theirCurrent = { keyId: this.#theirCurrent.keyId + 1, publicKey: nextDh };
  }

  /**
   * Forgets the pairings of a key being forgotten. Their MAC keys that were used go to the
   * reveal list (spec, "Revealing MAC keys" asks for the receiving MAC keys that verified a
   * message; libotr 4.1 also reveals used sending MAC keys, which the peer has as its
   * receiving keys, and we do the same).
   */
  #forgetSlots(matches: (slot: SessionKeySlot) => boolean): void {
    for (const [id, slot] of this.#slots) {
      if (!matches(slot)) continue;
      if (slot.receivingMacKeyUsed) this.#macKeysToReveal.push(slot.keys.receivingMacKey.slice());
      if (slot.sendingMacKeyUsed) this.#macKeysToReveal.push(slot.keys.sendingMacKey.slice());
      wipeSessionKeys(slot.keys);
      this.#slots.delete(id);
    }
  }

  /** The concatenated MAC keys to reveal in the Data Message being built; the list is then emptied. */
  takeMacKeysToReveal(): Uint8Array {
    this.#check();
    const out = concatBytes(...this.#macKeysToReveal);
    wipe(...this.#macKeysToReveal);
    this.#macKeysToReveal = [];
    return out;
  }

  /** Used MAC keys of every pairing plus those pending reveal: what to reveal if this session is replaced. */
  usedMacKeys(): Uint8Array[] {
    const out = this.#macKeysToReveal.map((k) => k.slice());
    for (const slot of this.#slots.values()) {
      if (slot.receivingMacKeyUsed) out.push(slot.keys.receivingMacKey.slice());
      if (slot.sendingMacKeyUsed) out.push(slot.keys.sendingMacKey.slice());
    }
    return out;
  }

  /**
   * The extra symmetric key of the pairing used for sending (spec, "Extra symmetric key": the
   * same secbytes as the Data Message carrying the type 8 TLV). Returns a copy.
   */
  sendingExtraSymmetricKey(): Uint8Array {
    this.#check();
    const our = this.#ourPrevious;
    if (our === undefined) throw new TypeError('DataKeyManager: no acknowledged key pair');
    return this.#slot(our, this.#theirCurrent).keys.extraSymmetricKey.slice();
  }

  /** Forgets every key (end of session). BigInt private keys cannot be zeroed (SECURITY.md). */
  wipe(): void {
    for (const slot of this.#slots.values()) wipeSessionKeys(slot.keys);
    this.#slots.clear();
    wipe(...this.#macKeysToReveal);
    this.#macKeysToReveal = [];
    this.#ourPrevious = undefined;
    this.#ourCurrent = { keyId: 0, privateKey: 0n, publicKey: 0n };
    this.#theirPrevious = undefined;
    this.#wiped = true;
  }
}
