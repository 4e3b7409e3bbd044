/**
 * The Diffie-Hellman ratchet (Double Ratchet spec sections 2.4 and 3.5): a root chain stepped
 * with DH outputs whenever the peer's ratchet key changes, feeding the symmetric-key ratchet.
 * Layering follows python-doubleratchet. Immutable: operations return a new state, so a caller
 * can discard it if the message later fails to authenticate (section 3.5: state changes only
 * after successful decryption).
 */
import { MalformedMessageError, StateError } from '../../lib/core/errors.js';
import type { RandomSource } from '../../lib/core/random.js';
import { KEY_LENGTH, X25519PrivateKey } from '../crypto/curve25519.js';
import type { X25519PublicKey } from '../crypto/curve25519.js';
import { createKdfChain, stepRootChain } from './kdf-chain.js';
import type { KdfChain } from './kdf-chain.js';
import { EMPTY_SYMMETRIC_KEY_RATCHET, nextDecryptionKey, nextEncryptionKey, replaceChain } from './symmetric-key-ratchet.js';
import type { ChainDirection, SymmetricKeyRatchetState } from './symmetric-key-ratchet.js';

/**
 * The Double Ratchet message header (section 3.1): the sender's ratchet public key, the number
 * of messages in its previous sending chain (pn) and this message's index in the current
 * chain (n). The version layer encodes it (0.3: SignalMessage; omemo:2: OMEMOMessage).
 */
export interface RatchetHeader {
  readonly ratchetKey: X25519PublicKey;
  readonly pn: number;
  readonly n: number;
}

/** Largest n/pn a header may carry: both are protobuf uint32 on the wire. */
export const MAX_HEADER_COUNTER = 0xffffffff;

/** State of the DH ratchet. */
export interface DiffieHellmanRatchetState {
  readonly ownRatchetKey: X25519PrivateKey;
  readonly otherRatchetKey: X25519PublicKey;
  readonly rootChain: KdfChain;
  readonly symmetricKeyRatchet: SymmetricKeyRatchetState;
}

/** Parameters shared by both sides of a session. */
export interface DiffieHellmanRatchetConfig {
  /** HKDF info of the root chain: "WhisperRatchet" (0.3) or "OMEMO Root Chain" (omemo:2). */
  readonly rootInfo: string;
  /** Most message keys derived (and stored as skipped) for one message (section 3.2, MAX_SKIP). */
  readonly maxSkip: number;
  /**
   * libsignal (hence every 0.3 client built on it) sends pn = max(previous chain length - 1, 0),
   * the index of its last message, not the count the Double Ratchet spec and python-doubleratchet
   * use (libsignal itself ignores pn on receipt). When true, keys up to and including index pn
   * are derived, so the last message of the old chain still decrypts when it arrives late; with
   * a count-sending peer this stores one key that is never used (and later evicted).
   */
  readonly previousCounterIsLastIndex?: boolean;
}

/** A message key derived for a message not yet received (section 3.2, MKSKIPPED). */
export interface SkippedMessageKey {
  /** Hex of the ratchet public key of the chain it belongs to. */
  readonly ratchetKey: string;
  readonly n: number;
  readonly messageKey: Uint8Array;
}

function ratchetStep(state: DiffieHellmanRatchetState, direction: ChainDirection, info: string): DiffieHellmanRatchetState {
  const dh = state.ownRatchetKey.dh(state.otherRatchetKey);
  const { chain, chainKey } = stepRootChain(state.rootChain, dh, info);
  dh.fill(0);
  const next = { ...state, rootChain: chain, symmetricKeyRatchet: replaceChain(state.symmetricKeyRatchet, direction, chainKey) };
  chainKey.fill(0);
  return next;
}

/**
 * The initiator's ratchet (section 3.3, RatchetInitAlice): root key = X3DH's SK, a fresh own
 * ratchet key from `random`, and a sending chain from DH(own, peer's signed prekey).
 */
export function createActiveDiffieHellmanRatchet(
  config: DiffieHellmanRatchetConfig,
  rootKey: Uint8Array,
  otherRatchetKey: X25519PublicKey,
  random: RandomSource,
): DiffieHellmanRatchetState {
  const state: DiffieHellmanRatchetState = {
    ownRatchetKey: X25519PrivateKey.generate(random),
    otherRatchetKey,
    rootChain: createKdfChain(rootKey),
    symmetricKeyRatchet: EMPTY_SYMMETRIC_KEY_RATCHET,
  };
  return ratchetStep(state, 'sending', config.rootInfo);
}

/**
 * The responder's ratchet, created on the first message (section 3.3, RatchetInitBob followed by
 * the first DHRatchet): own ratchet key = the signed prekey, a receiving chain from DH(spk,
 * initiator's ratchet key), then a fresh own key and a sending chain — python-doubleratchet's
 * order, so both sides derive the same keys.
 */
export function createPassiveDiffieHellmanRatchet(
  config: DiffieHellmanRatchetConfig,
  rootKey: Uint8Array,
  ownSignedPreKey: X25519PrivateKey,
  otherRatchetKey: X25519PublicKey,
  random: RandomSource,
): DiffieHellmanRatchetState {
  let state: DiffieHellmanRatchetState = {
    ownRatchetKey: ownSignedPreKey,
    otherRatchetKey,
    rootChain: createKdfChain(rootKey),
    symmetricKeyRatchet: EMPTY_SYMMETRIC_KEY_RATCHET,
  };
  state = ratchetStep(state, 'receiving', config.rootInfo);
  state = { ...state, ownRatchetKey: X25519PrivateKey.generate(random) };
  return ratchetStep(state, 'sending', config.rootInfo);
}

/** The next sending message key and the header to send with it (section 3.4, RatchetEncrypt). */
export function nextDiffieHellmanEncryptionKey(state: DiffieHellmanRatchetState): {
  state: DiffieHellmanRatchetState; messageKey: Uint8Array; header: RatchetHeader;
} {
  const step = nextEncryptionKey(state.symmetricKeyRatchet);
  const header: RatchetHeader = {
    ratchetKey: state.ownRatchetKey.publicKey,
    pn: state.symmetricKeyRatchet.previousSendingChainLength,
    n: step.n,
  };
  return { state: { ...state, symmetricKeyRatchet: step.state }, messageKey: step.messageKey, header };
}

/**
 * Checks a header from the network: counters are uint32, the ratchet key 32 bytes.
 * MalformedMessageError `omemo.ratchet-bad-header` otherwise.
 */
export function checkRatchetHeader(header: RatchetHeader): void {
  const ok = (value: unknown): boolean => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_HEADER_COUNTER;
  if (!ok(header.n) || !ok(header.pn) || header.ratchetKey?.bytes?.length !== KEY_LENGTH) {
    throw new MalformedMessageError('omemo.ratchet-bad-header', 'Ratchet header out of range');
  }
}

/**
 * The message key for a received header (section 3.5, RatchetDecrypt minus the skipped-key
 * lookup): performs a DH ratchet step if the header carries a new ratchet key, derives and
 * returns keys for messages skipped on the way. Throws, with no state to discard:
 * - StateError `omemo.ratchet-too-far-ahead` if more than `maxSkip` keys would be derived in
 *   the current chain (checked before any DH);
 * - StateError `omemo.ratchet-duplicate` for a message whose key was already used or dropped;
 * - VerificationError from X25519 for a small-order ratchet key.
 * If the previous receiving chain would need more than `maxSkip` keys (pn), those keys are not
 * derived (python-doubleratchet does the same): the session survives, those messages are lost.
 * See {@link DiffieHellmanRatchetConfig.previousCounterIsLastIndex} for libsignal's pn.
 */
export function nextDiffieHellmanDecryptionKey(
  config: DiffieHellmanRatchetConfig,
  state: DiffieHellmanRatchetState,
  header: RatchetHeader,
  random: RandomSource,
): { state: DiffieHellmanRatchetState; messageKey: Uint8Array; skippedMessageKeys: SkippedMessageKey[] } {
  checkRatchetHeader(header);
  const skipped: SkippedMessageKey[] = [];
  const newRatchetKey = !header.ratchetKey.equals(state.otherRatchetKey);
  const currentLength = newRatchetKey ? 0 : (state.symmetricKeyRatchet.receivingChain?.length ?? 0);
  if (header.n - currentLength > config.maxSkip) {
    throw new StateError('omemo.ratchet-too-far-ahead', 'Message is too far ahead in its chain');
  }
  let next = state;
  if (newRatchetKey) {
    let symmetric = next.symmetricKeyRatchet;
    const oldLength = symmetric.receivingChain?.length;
    const oldChainEnd = config.previousCounterIsLastIndex === true ? header.pn + 1 : header.pn;
    if (oldLength !== undefined && oldChainEnd > oldLength && oldChainEnd - oldLength <= config.maxSkip) {
      const oldKey = next.otherRatchetKey.toHex();
      for (let index = oldLength; index < oldChainEnd; index++) {
        const step = nextDecryptionKey(symmetric);
        skipped.push({ ratchetKey: oldKey, n: step.n, messageKey: step.messageKey });
        symmetric = step.state;
      }
    }
    next = ratchetStep({ ...next, symmetricKeyRatchet: symmetric, otherRatchetKey: header.ratchetKey }, 'receiving', config.rootInfo);
    next = ratchetStep({ ...next, ownRatchetKey: X25519PrivateKey.generate(random) }, 'sending', config.rootInfo);
  }
  let symmetric = next.symmetricKeyRatchet;
  const chainKeyHex = header.ratchetKey.toHex();
  const length = symmetric.receivingChain?.length ?? 0;
  if (header.n < length) throw new StateError('omemo.ratchet-duplicate', 'Message key already used or dropped');
  for (let index = length; index < header.n; index++) {
    const step = nextDecryptionKey(symmetric);
    skipped.push({ ratchetKey: chainKeyHex, n: step.n, messageKey: step.messageKey });
    symmetric = step.state;
  }
  const step = nextDecryptionKey(symmetric);
  return { state: { ...next, symmetricKeyRatchet: step.state }, messageKey: step.messageKey, skippedMessageKeys: skipped };
}
