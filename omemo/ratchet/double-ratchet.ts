/**
 * The Double Ratchet (Signal, "The Double Ratchet Algorithm", revision 1, section 3) over the
 * DH ratchet, with a bounded store of skipped message keys and a pluggable AEAD.
 *
 * Version-agnostic: the header encoding and the message authentication are the AEAD callback's
 * business (OMEMO 0.3: AES-256-CBC + HMAC-SHA256/8 over senderIK33 || receiverIK33 || 0x33 ||
 * SignalMessage protobuf; omemo:2: AES-256-CBC + HMAC-SHA256/16 over AD || OMEMOMessage).
 *
 * Pure and immutable: `state in -> state out`. A failed decryption throws and leaves the state
 * the caller holds untouched; only a successful one returns a new state (section 3.5).
 */
import { ProtocolError, StateError, VerificationError } from '../../lib/core/errors.js';
import type { RandomSource } from '../../lib/core/random.js';
import type { X25519PrivateKey, X25519PublicKey } from '../crypto/curve25519.js';
import type { SessionAssociatedData } from '../x3dh.js';
import {
  checkRatchetHeader, createActiveDiffieHellmanRatchet, createPassiveDiffieHellmanRatchet,
  nextDiffieHellmanDecryptionKey, nextDiffieHellmanEncryptionKey,
} from './diffie-hellman-ratchet.js';
import type { DiffieHellmanRatchetConfig, DiffieHellmanRatchetState, RatchetHeader, SkippedMessageKey } from './diffie-hellman-ratchet.js';

/** Default MAX_SKIP and skipped-key store size (XEP-0384 section 4.3 recommends 1000 for both). */
export const DEFAULT_MAX_SKIP = 1000;

/**
 * The per-version message encryption. Both directions receive the 32-byte message key, the
 * header, and the session's associated data for that direction.
 */
export interface RatchetAead {
  /** Encrypts and authenticates; returns the message bytes exactly as they go on the wire. */
  encrypt(messageKey: Uint8Array, header: RatchetHeader, plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array;
  /**
   * Authenticates `message` (the exact bytes received, never re-serialized) and decrypts it.
   * Throws a ProtocolError (VerificationError for a bad MAC, MalformedMessageError for bad
   * padding or encoding); any other exception is reported as VerificationError.
   */
  decrypt(messageKey: Uint8Array, header: RatchetHeader, message: Uint8Array, associatedData: Uint8Array): Uint8Array;
}

/** Session parameters: a profile per OMEMO version plus limits. */
export interface DoubleRatchetConfig {
  /** Root chain HKDF info: "WhisperRatchet" (0.3) or "OMEMO Root Chain" (omemo:2). */
  readonly rootInfo: string;
  readonly aead: RatchetAead;
  /** MAX_SKIP: most keys derived for one message (default 1000). */
  readonly maxSkip?: number;
  /** Skipped message keys kept per session, oldest evicted first (default 1000). */
  readonly maxSkippedMessageKeys?: number;
  /**
   * Read a received pn as libsignal writes it (index of the last message of the previous chain)
   * rather than as a count; set it for OMEMO 0.3. See diffie-hellman-ratchet.ts. Default false.
   */
  readonly previousCounterIsLastIndex?: boolean;
}

/** State of one Double Ratchet session. Treat as opaque and immutable; persist with state-json.ts. */
export interface DoubleRatchetState {
  readonly diffieHellmanRatchet: DiffieHellmanRatchetState;
  /** MKSKIPPED, keyed `${ratchetKeyHex}:${n}`, in insertion order (oldest first). */
  readonly skippedMessageKeys: ReadonlyMap<string, SkippedMessageKey>;
  readonly associatedData: SessionAssociatedData;
}

/** A message produced by {@link encryptMessage}. */
export interface RatchetMessage {
  readonly header: RatchetHeader;
  /** Output of the AEAD: the wire bytes of the authenticated message. */
  readonly ciphertext: Uint8Array;
}

function dhConfig(config: DoubleRatchetConfig, maxSkip: number): DiffieHellmanRatchetConfig {
  return { rootInfo: config.rootInfo, maxSkip, previousCounterIsLastIndex: config.previousCounterIsLastIndex === true };
}

function limits(config: DoubleRatchetConfig): { maxSkip: number; maxSkippedMessageKeys: number } {
  const maxSkip = config.maxSkip ?? DEFAULT_MAX_SKIP;
  const maxSkippedMessageKeys = config.maxSkippedMessageKeys ?? DEFAULT_MAX_SKIP;
  if (!Number.isSafeInteger(maxSkip) || maxSkip < 0) throw new RangeError('DoubleRatchetConfig.maxSkip must be a non-negative integer');
  if (!Number.isSafeInteger(maxSkippedMessageKeys) || maxSkippedMessageKeys < 0) {
    throw new RangeError('DoubleRatchetConfig.maxSkippedMessageKeys must be a non-negative integer');
  }
  return { maxSkip, maxSkippedMessageKeys };
}

/** Key of a skipped message key in {@link DoubleRatchetState.skippedMessageKeys}. */
export function skippedMessageKeyId(ratchetKeyHex: string, n: number): string {
  return `${ratchetKeyHex}:${n}`;
}

/**
 * Starts a session as the initiator (section 3.3): `sharedSecret` from X3DH, the peer's signed
 * prekey as its first ratchet key. The first message is then sent with {@link encryptMessage}.
 */
export function initializeActiveSession(
  config: DoubleRatchetConfig,
  params: { sharedSecret: Uint8Array; peerSignedPreKey: X25519PublicKey; associatedData: SessionAssociatedData },
  random: RandomSource,
): DoubleRatchetState {
  limits(config);
  return {
    diffieHellmanRatchet: createActiveDiffieHellmanRatchet(dhConfig(config, 0), params.sharedSecret, params.peerSignedPreKey, random),
    skippedMessageKeys: new Map(),
    associatedData: params.associatedData,
  };
}

/**
 * Starts a session as the responder from the first received message and decrypts it
 * (section 3.3 + 3.5). The returned state exists only if the message authenticates; on any
 * error nothing was created and the caller must not consume the one-time prekey.
 */
export function decryptInitialMessage(
  config: DoubleRatchetConfig,
  params: { sharedSecret: Uint8Array; ownSignedPreKey: X25519PrivateKey; associatedData: SessionAssociatedData },
  message: RatchetMessage,
  random: RandomSource,
): { state: DoubleRatchetState; plaintext: Uint8Array } {
  const { maxSkip } = limits(config);
  checkRatchetHeader(message.header);
  if (message.header.n > maxSkip) throw new StateError('omemo.ratchet-too-far-ahead', 'Message is too far ahead in its chain');
  const state: DoubleRatchetState = {
    diffieHellmanRatchet: createPassiveDiffieHellmanRatchet(
      dhConfig(config, maxSkip), params.sharedSecret, params.ownSignedPreKey, message.header.ratchetKey, random,
    ),
    skippedMessageKeys: new Map(),
    associatedData: params.associatedData,
  };
  return decryptMessage(config, state, message, random);
}

/** Encrypts one message (section 3.4, RatchetEncrypt). */
export function encryptMessage(
  config: DoubleRatchetConfig,
  state: DoubleRatchetState,
  plaintext: Uint8Array,
): { state: DoubleRatchetState; message: RatchetMessage } {
  const step = nextDiffieHellmanEncryptionKey(state.diffieHellmanRatchet);
  try {
    const ciphertext = config.aead.encrypt(step.messageKey, step.header, plaintext, state.associatedData.sending);
    return { state: { ...state, diffieHellmanRatchet: step.state }, message: { header: step.header, ciphertext } };
  } finally {
    step.messageKey.fill(0);
  }
}

function openWith(config: DoubleRatchetConfig, messageKey: Uint8Array, message: RatchetMessage, associatedData: Uint8Array): Uint8Array {
  try {
    return config.aead.decrypt(messageKey, message.header, message.ciphertext, associatedData);
  } catch (cause) {
    if (cause instanceof ProtocolError) throw cause;
    throw new VerificationError('omemo.ratchet-decryption-failed', 'Message did not decrypt', { cause });
  }
}

/**
 * Decrypts one message (section 3.5, RatchetDecrypt): tries the skipped message keys, else
 * advances the DH ratchet on a copy. On success returns the new state, with the used skipped
 * key removed and newly skipped keys appended (oldest evicted past `maxSkippedMessageKeys`).
 * On failure throws (StateError for a duplicate or too-far-ahead message, VerificationError /
 * MalformedMessageError from the AEAD or a bad key) and the input state stays valid.
 */
export function decryptMessage(
  config: DoubleRatchetConfig,
  state: DoubleRatchetState,
  message: RatchetMessage,
  random: RandomSource,
): { state: DoubleRatchetState; plaintext: Uint8Array } {
  const { maxSkip, maxSkippedMessageKeys } = limits(config);
  checkRatchetHeader(message.header);
  // the common case (nothing skipped) needs no key id, so no hex encoding of the ratchet key
  const id = state.skippedMessageKeys.size === 0 ? undefined : skippedMessageKeyId(message.header.ratchetKey.toHex(), message.header.n);
  const skippedKey = id === undefined ? undefined : state.skippedMessageKeys.get(id);
  if (id !== undefined && skippedKey !== undefined) {
    const plaintext = openWith(config, skippedKey.messageKey, message, state.associatedData.receiving);
    const skippedMessageKeys = new Map(state.skippedMessageKeys);
    skippedMessageKeys.delete(id);
    return { state: { ...state, skippedMessageKeys }, plaintext };
  }
  const step = nextDiffieHellmanDecryptionKey(dhConfig(config, maxSkip), state.diffieHellmanRatchet, message.header, random);
  let plaintext: Uint8Array;
  try {
    plaintext = openWith(config, step.messageKey, message, state.associatedData.receiving);
  } finally {
    step.messageKey.fill(0);
  }
  let skippedMessageKeys = state.skippedMessageKeys;
  if (step.skippedMessageKeys.length > 0) {
    const updated = new Map(state.skippedMessageKeys);
    for (const key of step.skippedMessageKeys) updated.set(skippedMessageKeyId(key.ratchetKey, key.n), key);
    // FIFO eviction: Map iteration order is insertion order. Evicted keys are not wiped: the
    // caller's previous state object still references them.
    for (const oldest of updated.keys()) {
      if (updated.size <= maxSkippedMessageKeys) break;
      updated.delete(oldest);
    }
    skippedMessageKeys = updated;
  }
  return { state: { ...state, diffieHellmanRatchet: step.state, skippedMessageKeys }, plaintext };
}

/** Number of messages received on the current receiving chain (for the ~53-message heartbeat). */
export function receivingChainLength(state: DoubleRatchetState): number {
  return state.diffieHellmanRatchet.symmetricKeyRatchet.receivingChain?.length ?? 0;
}

/** Number of messages sent on the current sending chain. */
export function sendingChainLength(state: DoubleRatchetState): number {
  return state.diffieHellmanRatchet.symmetricKeyRatchet.sendingChain?.length ?? 0;
}
