/**
 * OTR's Authenticated Key Exchange, versions 2 and 3 (OTR v3 spec, "Authenticated Key
 * Exchange (AKE)", "Authentication state" and "State transitions"), byte-compatible with
 * libotr 4.1's auth.c.
 *
 * Pure functions: `initiateAke` and `receiveAkeMessage` take the current `AuthState` and
 * return the next one with the message bodies to send; nothing here does I/O or keeps state
 * between calls. A rejected message (bad encoding, MAC, signature, hash or range) returns the
 * state it was given, unchanged, with a typed `error`; messages the spec says to ignore return
 * it unchanged with an `ignored` reason. A state object must not be used again once a call
 * has moved past it: secrets it held (MAC and AES keys) are wiped.
 */
import { bytesToBigInt, constantTimeEqual, wipe } from '../lib/core/bytes.js';
import { aesCtr } from '../lib/core/crypto/aes.js';
import { dsaSign, dsaVerify, isValidDsaPublicKey, type DsaPrivateKey, type DsaPublicKey } from '../lib/core/crypto/dsa.js';
import { hmacSha256, sha256 } from '../lib/core/crypto/hash.js';
import type { ModpGroup } from '../lib/core/crypto/modp-group.js';
import { MalformedMessageError, ProtocolError, VerificationError } from '../lib/core/errors.js';
import type { RandomSource } from '../lib/core/random.js';
import { computeAkeSharedSecret, deriveAkeKeys, wipeAkeKeys, type AkeKeys } from './ake-keys.js';
import {
  AKE_MAC_BYTES,
  decodeAkeSignedIdentity,
  decodeDhCommitMessage,
  decodeDhKeyMessage,
  decodeRevealSignatureMessage,
  decodeSignatureMessage,
  encodeAkeMacInput,
  encodeAkeSignedIdentity,
  encodeDhCommitMessage,
  encodeDhKeyMessage,
  encodeRevealSignatureMessage,
  encodeSignatureMessage,
  REVEALED_KEY_BYTES,
} from './ake-messages.js';
import { OtrReader, OtrWriter } from './codec.js';
import { generateOtrDhKeyPair, type OtrDhKeyPair } from './dh-key-pair.js';
import { OTR_MESSAGE_TYPE, type OtrVersion } from './message-types.js';

/** The four AKE message types. */
export type AkeMessageType =
  | typeof OTR_MESSAGE_TYPE.dhCommit
  | typeof OTR_MESSAGE_TYPE.dhKey
  | typeof OTR_MESSAGE_TYPE.revealSignature
  | typeof OTR_MESSAGE_TYPE.signature;

/** An AKE message to send: the session layer adds the header (and v3 instance tags). */
export interface AkeOutgoingMessage {
  readonly version: OtrVersion;
  readonly type: AkeMessageType;
  readonly body: Uint8Array;
}

/**
 * A received AKE message: its header fields and body, as `decodeOtrMessage` returns them.
 * For v2 the instance tags are absent (or 0) and not checked.
 */
export interface AkeIncomingMessage {
  readonly version: OtrVersion;
  readonly type: AkeMessageType;
  readonly body: Uint8Array;
  readonly senderInstanceTag?: number;
  readonly receiverInstanceTag?: number;
}

/** Parameters of our side of the AKE. */
export interface AkeParams {
  /**
   * The protocol version to speak: `initiateAke` sends a D-H Commit of this version, and a
   * received D-H Commit of another version is ignored (the session layer picks the version
   * per its policy before calling, as the spec's "If the message is version 2 and ALLOW_V2 is
   * not set, ignore this message").
   */
  readonly version: OtrVersion;
  /** Our long-term DSA key, signing M_A / M_B. */
  readonly ourLongTermKey: DsaPrivateKey;
  /** The keyid of our AKE D-H key (must be > 0; libotr uses 1). */
  readonly ourKeyId: number;
  /** Our instance tag (v3; >= 0x100). Ignored for v2. */
  readonly ourInstanceTag?: number;
  /** Randomness for the D-H key, r and DSA nonces. */
  readonly random: RandomSource;
  /** The MODP group (and its modexp engine). */
  readonly group: ModpGroup;
}

/** Fields common to the states with an AKE in progress. */
interface AkeInProgress {
  /** The protocol version of this AKE. */
  readonly version: OtrVersion;
  /** Our D-H key pair for this AKE. */
  readonly ourDh: OtrDhKeyPair;
  /** Its keyid. */
  readonly ourKeyId: number;
  /** The peer's instance tag once known (v3), else 0. */
  readonly theirInstanceTag: number;
}

/** AUTHSTATE_NONE: no AKE in progress. */
export interface AuthStateNone {
  readonly kind: 'none';
}

/** AUTHSTATE_AWAITING_DHKEY: we sent a D-H Commit. */
export interface AuthStateAwaitingDhKey extends AkeInProgress {
  readonly kind: 'awaiting-dh-key';
  /** The AES key r that encrypts our g^x; revealed in our Reveal Signature Message. */
  readonly r: Uint8Array;
  /** SHA-256 of our g^x MPI, compared with a competing D-H Commit's. */
  readonly hashedGx: Uint8Array;
  /** The D-H Commit we sent, for retransmission. */
  readonly dhCommitMessage: AkeOutgoingMessage;
}

/** AUTHSTATE_AWAITING_REVEALSIG: we received a D-H Commit and sent a D-H Key. */
export interface AuthStateAwaitingRevealSignature extends AkeInProgress {
  readonly kind: 'awaiting-reveal-signature';
  /** The peer's encrypted g^x from their D-H Commit. */
  readonly theirEncryptedGx: Uint8Array;
  /** The peer's hashed g^x from their D-H Commit. */
  readonly theirHashedGx: Uint8Array;
  /** The D-H Key we sent, for retransmission. */
  readonly dhKeyMessage: AkeOutgoingMessage;
}

/** AUTHSTATE_AWAITING_SIG: we received a D-H Key and sent a Reveal Signature. */
export interface AuthStateAwaitingSignature extends AkeInProgress {
  readonly kind: 'awaiting-signature';
  /** The peer's g^y from their D-H Key Message. */
  readonly theirDhPublic: bigint;
  /** The keys derived from s (c', m1', m2' verify the Signature Message). */
  readonly keys: AkeKeys;
  /** The Reveal Signature we sent, for retransmission. */
  readonly revealSignatureMessage: AkeOutgoingMessage;
}

/** The authentication state (spec, "Authentication state"; V1_SETUP is not supported). */
export type AuthState = AuthStateNone | AuthStateAwaitingDhKey | AuthStateAwaitingRevealSignature | AuthStateAwaitingSignature;

/** The result of a completed AKE, consumed by the data-message layer. */
export interface AkeResult {
  readonly version: OtrVersion;
  /** Secure session id, 8 bytes. */
  readonly ssid: Uint8Array;
  /**
   * Which half of the ssid to show in bold: the first if we sent the Reveal Signature
   * Message, the second if we sent the Signature Message (spec, "Computing AES keys, MAC
   * keys, and the secure session id"; libotr's session_id_half).
   */
  readonly ssidBoldHalf: 'first' | 'second';
  /** The peer's long-term key, authenticated by the AKE. */
  readonly theirLongTermKey: DsaPublicKey;
  /** Our D-H key of the AKE and its keyid. */
  readonly ourKeyId: number;
  readonly ourDhPrivate: bigint;
  readonly ourDhPublic: bigint;
  /** The peer's D-H key of the AKE and its keyid. */
  readonly theirKeyId: number;
  readonly theirDhPublic: bigint;
}

/** Why a message was ignored, as the spec or libotr prescribes. */
export type AkeIgnoreReason =
  /** The message type is not expected in the current state ("Ignore the message"). */
  | 'unexpected-in-state'
  /** Our D-H Commit's hash is higher: the competing commit is ignored and ours resent. */
  | 'lost-commit-comparison'
  /** A D-H Key with another g^y than the one we answered, in AWAITING_SIG. */
  | 'dh-key-mismatch'
  /** The version differs from the AKE's (or the one the caller allows). */
  | 'version-mismatch'
  /** A v3 instance tag check failed (spec, "Instance Tags"). */
  | 'instance-tag-mismatch';

/** The outcome of one AKE step. */
export interface AkeStep {
  /** The next state (the same object when nothing changed). */
  readonly state: AuthState;
  /** Messages to send, in order. */
  readonly toSend: readonly AkeOutgoingMessage[];
  /** Set when the AKE completed with this message. */
  readonly completed?: AkeResult;
  /** Set when the message was ignored (possibly with a retransmission in `toSend`). */
  readonly ignored?: AkeIgnoreReason;
  /** Set when the message was rejected; `state` is then the one given. */
  readonly error?: ProtocolError;
}

/** The smallest valid instance tag (spec, "Instance Tags"). */
export const MIN_INSTANCE_TAG = 0x100;

const ZERO_COUNTER = new Uint8Array(16);

/** The initial state. */
export const AUTH_STATE_NONE: AuthStateNone = Object.freeze({ kind: 'none' });

function checkParams(params: AkeParams): void {
  if (params.version !== 2 && params.version !== 3) throw new RangeError('AkeParams.version must be 2 or 3');
  if (!Number.isInteger(params.ourKeyId) || params.ourKeyId < 1 || params.ourKeyId > 0xffffffff) {
    throw new RangeError('AkeParams.ourKeyId must be an INT greater than 0');
  }
  if (params.version === 3) {
    const tag = params.ourInstanceTag;
    if (tag === undefined || !Number.isInteger(tag) || tag < MIN_INSTANCE_TAG || tag > 0xffffffff) {
      throw new RangeError('AkeParams.ourInstanceTag must be an instance tag >= 0x100 for version 3');
    }
  }
}

/**
 * Starts an AKE: a fresh D-H key pair and r, and a D-H Commit Message carrying AES_r(g^x)
 * and SHA-256(g^x) (spec, "D-H Commit Message"). The new state is AWAITING_DHKEY. Any AKE in
 * progress is abandoned by the caller replacing its state with this one.
 */
export function initiateAke(params: AkeParams): AkeStep {
  checkParams(params);
  const ourDh = generateOtrDhKeyPair(params.group, params.random);
  const r = params.random(REVEALED_KEY_BYTES);
  if (r.length !== REVEALED_KEY_BYTES) throw new RangeError('initiateAke: random source returned the wrong length');
  const gxMpi = new OtrWriter().mpi(ourDh.publicKey).finish();
  const hashedGx = sha256(gxMpi);
  const encryptedGx = aesCtr(r, ZERO_COUNTER, gxMpi);
  const dhCommitMessage: AkeOutgoingMessage = {
    version: params.version,
    type: OTR_MESSAGE_TYPE.dhCommit,
    body: encodeDhCommitMessage({ encryptedGx, hashedGx }),
  };
  const state: AuthStateAwaitingDhKey = {
    kind: 'awaiting-dh-key',
    version: params.version,
    ourDh,
    ourKeyId: params.ourKeyId,
    theirInstanceTag: 0,
    r,
    hashedGx,
    dhCommitMessage,
  };
  return { state, toSend: [dhCommitMessage] };
}

/**
 * Handles a received AKE message in `state`, following the spec's "State transitions" for
 * D-H Commit, D-H Key, Reveal Signature and Signature Messages, with libotr's choices where
 * the spec leaves room (a rejected Signature Message leaves the state unchanged).
 */
export function receiveAkeMessage(params: AkeParams, state: AuthState, message: AkeIncomingMessage): AkeStep {
  checkParams(params);
  const instanceCheck = checkInstanceTags(params, state, message);
  if (instanceCheck !== undefined) return { state, toSend: [], ignored: instanceCheck };
  try {
    switch (message.type) {
      case OTR_MESSAGE_TYPE.dhCommit:
        return receiveDhCommit(params, state, message);
      case OTR_MESSAGE_TYPE.dhKey:
        return receiveDhKey(params, state, message);
      case OTR_MESSAGE_TYPE.revealSignature:
        return receiveRevealSignature(params, state, message);
      case OTR_MESSAGE_TYPE.signature:
        return receiveSignature(params, state, message);
      default: {
        const unknown: never = message.type;
        throw new TypeError(`receiveAkeMessage: not an AKE message type: ${String(unknown)}`);
      }
    }
  } catch (error) {
    if (error instanceof ProtocolError) return { state, toSend: [], error };
    throw error;
  }
}

/**
 * Version and v3 instance-tag checks (spec, "Instance Tags" and "State transitions"): a
 * sender tag below 0x100, or a receiver tag that is not ours (0 is allowed only on a D-H
 * Commit), means the message is not for this session; once the peer's tag is known, messages
 * from another of the peer's instances belong to another AKE.
 */
function checkInstanceTags(params: AkeParams, state: AuthState, message: AkeIncomingMessage): AkeIgnoreReason | undefined {
  const expectedVersion = message.type === OTR_MESSAGE_TYPE.dhCommit || state.kind === 'none' ? params.version : state.version;
  if (message.version !== expectedVersion) return 'version-mismatch';
  if (message.version !== 3) return undefined;
  const sender = message.senderInstanceTag ?? 0;
  const receiver = message.receiverInstanceTag ?? 0;
  if (sender < MIN_INSTANCE_TAG) return 'instance-tag-mismatch';
  if (receiver !== params.ourInstanceTag && !(receiver === 0 && message.type === OTR_MESSAGE_TYPE.dhCommit)) {
    return 'instance-tag-mismatch';
  }
  if (message.type !== OTR_MESSAGE_TYPE.dhCommit && state.kind !== 'none' && state.theirInstanceTag !== 0 && state.theirInstanceTag !== sender) {
    return 'instance-tag-mismatch';
  }
  return undefined;
}

function theirTag(message: AkeIncomingMessage): number {
  return message.version === 3 ? (message.senderInstanceTag ?? 0) : 0;
}

/** Forgets the secrets of a state we are leaving. */
function wipeState(state: AuthState): void {
  if (state.kind === 'awaiting-dh-key') wipe(state.r);
  else if (state.kind === 'awaiting-signature') wipeAkeKeys(state.keys);
}

/** "Reply with a D-H Key Message, and transition authstate to AUTHSTATE_AWAITING_REVEALSIG." */
function replyWithDhKey(params: AkeParams, previous: AuthState, message: AkeIncomingMessage, commit: { encryptedGx: Uint8Array; hashedGx: Uint8Array }): AkeStep {
  const ourDh = generateOtrDhKeyPair(params.group, params.random);
  const dhKeyMessage: AkeOutgoingMessage = {
    version: message.version,
    type: OTR_MESSAGE_TYPE.dhKey,
    body: encodeDhKeyMessage({ gy: ourDh.publicKey }),
  };
  wipeState(previous);
  const state: AuthStateAwaitingRevealSignature = {
    kind: 'awaiting-reveal-signature',
    version: message.version,
    ourDh,
    ourKeyId: params.ourKeyId,
    theirInstanceTag: theirTag(message),
    theirEncryptedGx: commit.encryptedGx,
    theirHashedGx: commit.hashedGx,
    dhKeyMessage,
  };
  return { state, toSend: [dhKeyMessage] };
}

/** Spec, "Receiving a D-H Commit Message". */
function receiveDhCommit(params: AkeParams, state: AuthState, message: AkeIncomingMessage): AkeStep {
  const commit = decodeDhCommitMessage(message.body);
  switch (state.kind) {
    case 'none':
    case 'awaiting-signature':
      return replyWithDhKey(params, state, message, commit);
    case 'awaiting-dh-key':
      // "The symmetry will be broken by comparing the hashed g^x you sent in your D-H Commit
      // Message with the one you received, considered as 32-byte unsigned big-endian values."
      // Both hashes are public, so a variable-time comparison leaks nothing.
      if (bytesToBigInt(state.hashedGx) > bytesToBigInt(commit.hashedGx)) {
        return { state, toSend: [state.dhCommitMessage], ignored: 'lost-commit-comparison' };
      }
      return replyWithDhKey(params, state, message, commit);
    case 'awaiting-reveal-signature': {
      // "Retransmit your D-H Key Message (the same one as you sent when you entered
      // AUTHSTATE_AWAITING_REVEALSIG). Forget the old D-H Commit message, and use this new
      // one instead."
      const next: AuthStateAwaitingRevealSignature = {
        ...state,
        theirInstanceTag: theirTag(message),
        theirEncryptedGx: commit.encryptedGx,
        theirHashedGx: commit.hashedGx,
      };
      return { state: next, toSend: [state.dhKeyMessage] };
    }
    default:
      return assertNever(state);
  }
}

/** Spec, "Receiving a D-H Key Message". */
function receiveDhKey(params: AkeParams, state: AuthState, message: AkeIncomingMessage): AkeStep {
  const { gy } = decodeDhKeyMessage(message.body);
  switch (state.kind) {
    case 'awaiting-dh-key': {
      const keys = deriveAkeKeys(computeAkeSharedSecret(params.group, state.ourDh.privateKey, gy));
      let body: Uint8Array;
      try {
        const { encryptedSignature, macdSignature } = authenticate(params, keys.c, keys.m1, keys.m2, state.ourDh.publicKey, gy, state.ourKeyId);
        body = encodeRevealSignatureMessage({ revealedKey: state.r, encryptedSignature, macdSignature });
      } catch (error) {
        wipeAkeKeys(keys);
        throw error;
      }
      const revealSignatureMessage: AkeOutgoingMessage = { version: state.version, type: OTR_MESSAGE_TYPE.revealSignature, body };
      const next: AuthStateAwaitingSignature = {
        kind: 'awaiting-signature',
        version: state.version,
        ourDh: state.ourDh,
        ourKeyId: state.ourKeyId,
        theirInstanceTag: theirTag(message),
        theirDhPublic: gy,
        keys,
        revealSignatureMessage,
      };
      // r now travels in the clear in the Reveal Signature; the state no longer needs it.
      wipe(state.r);
      return { state: next, toSend: [revealSignatureMessage] };
    }
    case 'awaiting-signature':
      // "If this D-H Key message is the same the one you received earlier: Retransmit your
      // Reveal Signature Message. Otherwise: Ignore the message."
      if (gy === state.theirDhPublic) return { state, toSend: [state.revealSignatureMessage] };
      return { state, toSend: [], ignored: 'dh-key-mismatch' };
    case 'none':
    case 'awaiting-reveal-signature':
      return { state, toSend: [], ignored: 'unexpected-in-state' };
    default:
      return assertNever(state);
  }
}

/** Spec, "Receiving a Reveal Signature Message". */
function receiveRevealSignature(params: AkeParams, state: AuthState, message: AkeIncomingMessage): AkeStep {
  const reveal = decodeRevealSignatureMessage(message.body);
  if (state.kind !== 'awaiting-reveal-signature') return { state, toSend: [], ignored: 'unexpected-in-state' };

  // "Use the received value of r to decrypt the value of g^x received in the D-H Commit
  // Message, and verify the hash therein."
  const gxMpi = aesCtr(reveal.revealedKey, ZERO_COUNTER, state.theirEncryptedGx);
  const hash = sha256(gxMpi);
  if (!constantTimeEqual(hash, state.theirHashedGx)) {
    throw new VerificationError('otr.ake.bad-gx-hash', 'g^x does not match the hash in the D-H Commit Message');
  }
  const gxReader = new OtrReader(gxMpi);
  let gx: bigint;
  try {
    gx = gxReader.mpi();
    gxReader.end();
  } catch (error) {
    throw new MalformedMessageError('otr.ake.bad-gx', 'the revealed g^x is not one MPI', { cause: error });
  }
  // "Verifies that Bob's g^x is a legal value (2 <= g^x <= modulus-2)".
  const keys = deriveAkeKeys(computeAkeSharedSecret(params.group, state.ourDh.privateKey, gx));
  try {
    const theirIdentity = verifyAuthentication(params.group, keys.c, keys.m1, keys.m2, reveal, state.ourDh.publicKey, gx);
    const { encryptedSignature, macdSignature } = authenticate(
      params,
      keys.cPrime,
      keys.m1Prime,
      keys.m2Prime,
      state.ourDh.publicKey,
      gx,
      state.ourKeyId,
    );
    const signatureMessage: AkeOutgoingMessage = {
      version: state.version,
      type: OTR_MESSAGE_TYPE.signature,
      body: encodeSignatureMessage({ encryptedSignature, macdSignature }),
    };
    const completed: AkeResult = {
      version: state.version,
      ssid: keys.ssid.slice(),
      ssidBoldHalf: 'second',
      theirLongTermKey: theirIdentity.publicKey,
      ourKeyId: state.ourKeyId,
      ourDhPrivate: state.ourDh.privateKey,
      ourDhPublic: state.ourDh.publicKey,
      theirKeyId: theirIdentity.keyId,
      theirDhPublic: gx,
    };
    return { state: AUTH_STATE_NONE, toSend: [signatureMessage], completed };
  } finally {
    wipeAkeKeys(keys);
  }
}

/** Spec, "Receiving a Signature Message". */
function receiveSignature(params: AkeParams, state: AuthState, message: AkeIncomingMessage): AkeStep {
  const signature = decodeSignatureMessage(message.body);
  if (state.kind !== 'awaiting-signature') return { state, toSend: [], ignored: 'unexpected-in-state' };
  const { keys } = state;
  const theirIdentity = verifyAuthentication(params.group, keys.cPrime, keys.m1Prime, keys.m2Prime, signature, state.ourDh.publicKey, state.theirDhPublic);
  const completed: AkeResult = {
    version: state.version,
    ssid: keys.ssid.slice(),
    ssidBoldHalf: 'first',
    theirLongTermKey: theirIdentity.publicKey,
    ourKeyId: state.ourKeyId,
    ourDhPrivate: state.ourDh.privateKey,
    ourDhPublic: state.ourDh.publicKey,
    theirKeyId: theirIdentity.keyId,
    theirDhPublic: state.theirDhPublic,
  };
  wipeState(state);
  return { state: AUTH_STATE_NONE, toSend: [], completed };
}

/**
 * Builds the encrypted signature and its MAC: M = HMAC-SHA256_m1(g^x, g^y, pub, keyid),
 * X = pub, keyid, sig(M), AES-CTR_c(X), and the first 160 bits of HMAC-SHA256_m2 over the
 * encrypted signature DATA field including its 4-byte length (spec, "Reveal Signature
 * Message" / "Signature Message"; the primed keys for the latter).
 */
function authenticate(
  params: AkeParams,
  c: Uint8Array,
  m1: Uint8Array,
  m2: Uint8Array,
  ourDhPublic: bigint,
  theirDhPublic: bigint,
  keyId: number,
): { encryptedSignature: Uint8Array; macdSignature: Uint8Array } {
  const publicKey = publicPart(params.ourLongTermKey);
  const macInput = encodeAkeMacInput(ourDhPublic, theirDhPublic, publicKey, keyId);
  const m = hmacSha256(m1, macInput);
  const signature = dsaSign(params.ourLongTermKey, m, params.random, params.group.engine);
  const x = encodeAkeSignedIdentity({ publicKey, keyId, signature });
  const encryptedSignature = aesCtr(c, ZERO_COUNTER, x);
  const macdSignature = akeMac(m2, encryptedSignature);
  wipe(m, x);
  return { encryptedSignature, macdSignature };
}

/** First 20 bytes of HMAC-SHA256_key(DATA(encryptedSignature)). */
function akeMac(key: Uint8Array, encryptedSignature: Uint8Array): Uint8Array {
  const full = hmacSha256(key, new OtrWriter().data(encryptedSignature).finish());
  const mac = full.slice(0, AKE_MAC_BYTES);
  wipe(full);
  return mac;
}

/**
 * Verifies a received encrypted signature: the MAC first (m2 / m2'), then decrypts X with c
 * (c'), checks the keyid is not 0 and the public key is a valid DSA key, and verifies the
 * signature over M = HMAC-SHA256_m1(their g^x, our g^y, their pub, keyid).
 */
function verifyAuthentication(
  group: ModpGroup,
  c: Uint8Array,
  m1: Uint8Array,
  m2: Uint8Array,
  received: { encryptedSignature: Uint8Array; macdSignature: Uint8Array },
  ourDhPublic: bigint,
  theirDhPublic: bigint,
): { publicKey: DsaPublicKey; keyId: number } {
  const expectedMac = akeMac(m2, received.encryptedSignature);
  const macOk = constantTimeEqual(expectedMac, received.macdSignature);
  wipe(expectedMac);
  if (!macOk) throw new VerificationError('otr.ake.bad-mac', 'the MAC of the encrypted signature does not verify');
  const x = aesCtr(c, ZERO_COUNTER, received.encryptedSignature);
  try {
    const identity = decodeAkeSignedIdentity(x);
    if (identity.keyId === 0) throw new VerificationError('otr.ake.bad-key-id', 'the D-H keyid must be greater than 0');
    if (!hostileSafe(() => isValidDsaPublicKey(identity.publicKey))) {
      throw new VerificationError('otr.ake.bad-public-key', 'the long-term public key is not a valid DSA key');
    }
    const macInput = encodeAkeMacInput(theirDhPublic, ourDhPublic, identity.publicKey, identity.keyId);
    const m = hmacSha256(m1, macInput);
    const signatureOk = hostileSafe(() => dsaVerify(identity.publicKey, m, identity.signature, group.engine));
    wipe(m);
    if (!signatureOk) throw new VerificationError('otr.ake.bad-signature', 'the signature of the AKE does not verify');
    return { publicKey: identity.publicKey, keyId: identity.keyId };
  } finally {
    wipe(x);
  }
}

/**
 * Runs a check over values a peer chose (its DSA key and signature). The arithmetic below it
 * throws RangeError for degenerate values (an even modulus, a non-invertible s); for a peer's
 * values that is a failed check, not a caller bug, so it counts as `false`.
 */
function hostileSafe(check: () => boolean): boolean {
  try {
    return check();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) return false;
    throw error;
  }
}

/** The public part of a DSA private key, without x. */
function publicPart(key: DsaPrivateKey): DsaPublicKey {
  return { p: key.p, q: key.q, g: key.g, y: key.y };
}

function assertNever(value: never): never {
  throw new TypeError(`unexpected AKE state: ${JSON.stringify(value)}`);
}
