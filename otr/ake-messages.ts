/**
 * Codecs of the bodies of the four AKE messages (OTR v3 spec, "D-H Commit Message",
 * "D-H Key Message", "Reveal Signature Message", "Signature Message"): the bytes after the
 * protocol version, message type and (v3) instance tags, which `encoded-message.ts` frames.
 * Also the codec of the signed identity X_A / X_B carried encrypted inside the last two, and
 * the input of the MACs M_A / M_B. Decoders are strict: every length is bounded before it is
 * trusted, fixed-size fields must have their size, and trailing bytes are an error
 * (`MalformedMessageError`), as in libotr's auth.c.
 */
import type { DsaPublicKey, DsaSignature } from '../lib/core/crypto/dsa.js';
import { MalformedMessageError } from '../lib/core/errors.js';
import { MAX_MPI_BYTES, OtrReader, OtrWriter } from './codec.js';
import { decodeOtrSignature, encodeOtrPublicKey, encodeOtrSignature, readOtrPublicKey } from './public-key.js';

/** Length of the revealed AES key r (128 bits). */
export const REVEALED_KEY_BYTES = 16;
/** Length of the hashed g^x (SHA-256). */
export const HASHED_GX_BYTES = 32;
/** Length of the MAC'd signature field (SHA256-HMAC-160). */
export const AKE_MAC_BYTES = 20;
/** The largest encrypted g^x: an MPI of at most 192 bytes, AES-CTR keeps the length. */
export const MAX_ENCRYPTED_GX_BYTES = 4 + MAX_MPI_BYTES;
/**
 * The largest encrypted signature we accept: PUBKEY (four MPIs of at most 192 bytes and the
 * type), keyid and SIG (r and s of at most 192 bytes each) fit well below this bound.
 */
export const MAX_ENCRYPTED_SIGNATURE_BYTES = 4096;

/** D-H Commit Message body: AES_r(g^x MPI) and SHA-256(g^x MPI). */
export interface DhCommitMessage {
  /** Encrypted g^x (DATA). */
  readonly encryptedGx: Uint8Array;
  /** Hashed g^x (DATA, exactly 32 bytes). */
  readonly hashedGx: Uint8Array;
}

/** D-H Key Message body: g^y. */
export interface DhKeyMessage {
  /** g^y (MPI). */
  readonly gy: bigint;
}

/** Reveal Signature Message body. */
export interface RevealSignatureMessage {
  /** Revealed key r (DATA, exactly 16 bytes). */
  readonly revealedKey: Uint8Array;
  /** Encrypted signature AES_c(X_B) (DATA). */
  readonly encryptedSignature: Uint8Array;
  /** MAC'd signature: first 20 bytes of HMAC-SHA256_m2(DATA encrypted signature). */
  readonly macdSignature: Uint8Array;
}

/** Signature Message body. */
export interface SignatureMessage {
  /** Encrypted signature AES_c'(X_A) (DATA). */
  readonly encryptedSignature: Uint8Array;
  /** MAC'd signature: first 20 bytes of HMAC-SHA256_m2'(DATA encrypted signature). */
  readonly macdSignature: Uint8Array;
}

/** X_B / X_A: the sender's long-term public key, its D-H keyid and its signature of M_B / M_A. */
export interface AkeSignedIdentity {
  /** pub (PUBKEY). */
  readonly publicKey: DsaPublicKey;
  /** keyid (INT), greater than 0. */
  readonly keyId: number;
  /** sig(M) (SIG). */
  readonly signature: DsaSignature;
}

function checkLength(name: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (bytes.length !== length) throw new RangeError(`${name} must be ${length} bytes, got ${bytes.length}`);
}

/** Encodes a D-H Commit Message body. */
export function encodeDhCommitMessage(message: DhCommitMessage): Uint8Array {
  checkLength('hashedGx', message.hashedGx, HASHED_GX_BYTES);
  if (message.encryptedGx.length > MAX_ENCRYPTED_GX_BYTES) throw new RangeError('encryptedGx is too long');
  return new OtrWriter().data(message.encryptedGx).data(message.hashedGx).finish();
}

/** Decodes a D-H Commit Message body; throws MalformedMessageError. */
export function decodeDhCommitMessage(body: Uint8Array): DhCommitMessage {
  const reader = new OtrReader(body);
  const encryptedGx = reader.data(MAX_ENCRYPTED_GX_BYTES).slice();
  const hashedGx = reader.data(HASHED_GX_BYTES).slice();
  // libotr: "if (hashlen != 32) goto invval".
  if (hashedGx.length !== HASHED_GX_BYTES) throw new MalformedMessageError('otr.ake.bad-hash-length', 'hashed g^x must be 32 bytes');
  reader.end();
  return { encryptedGx, hashedGx };
}

/** Encodes a D-H Key Message body. */
export function encodeDhKeyMessage(message: DhKeyMessage): Uint8Array {
  return new OtrWriter().mpi(message.gy).finish();
}

/** Decodes a D-H Key Message body; throws MalformedMessageError. Range checks are the caller's. */
export function decodeDhKeyMessage(body: Uint8Array): DhKeyMessage {
  const reader = new OtrReader(body);
  const gy = reader.mpi();
  reader.end();
  return { gy };
}

/** Encodes a Reveal Signature Message body. */
export function encodeRevealSignatureMessage(message: RevealSignatureMessage): Uint8Array {
  checkLength('revealedKey', message.revealedKey, REVEALED_KEY_BYTES);
  checkLength('macdSignature', message.macdSignature, AKE_MAC_BYTES);
  return new OtrWriter().data(message.revealedKey).data(message.encryptedSignature).raw(message.macdSignature).finish();
}

/** Decodes a Reveal Signature Message body; throws MalformedMessageError. */
export function decodeRevealSignatureMessage(body: Uint8Array): RevealSignatureMessage {
  const reader = new OtrReader(body);
  const revealedKey = reader.data(REVEALED_KEY_BYTES).slice();
  // libotr: "if (rlen != 16) goto invval".
  if (revealedKey.length !== REVEALED_KEY_BYTES) throw new MalformedMessageError('otr.ake.bad-key-length', 'revealed key must be 16 bytes');
  const encryptedSignature = reader.data(MAX_ENCRYPTED_SIGNATURE_BYTES).slice();
  const macdSignature = reader.fixed(AKE_MAC_BYTES, 'MAC').slice();
  reader.end();
  return { revealedKey, encryptedSignature, macdSignature };
}

/** Encodes a Signature Message body. */
export function encodeSignatureMessage(message: SignatureMessage): Uint8Array {
  checkLength('macdSignature', message.macdSignature, AKE_MAC_BYTES);
  return new OtrWriter().data(message.encryptedSignature).raw(message.macdSignature).finish();
}

/** Decodes a Signature Message body; throws MalformedMessageError. */
export function decodeSignatureMessage(body: Uint8Array): SignatureMessage {
  const reader = new OtrReader(body);
  const encryptedSignature = reader.data(MAX_ENCRYPTED_SIGNATURE_BYTES).slice();
  const macdSignature = reader.fixed(AKE_MAC_BYTES, 'MAC').slice();
  reader.end();
  return { encryptedSignature, macdSignature };
}

/**
 * The bytes MAC'd into M_B (or M_A): g^x MPI, g^y MPI, PUBKEY, keyid INT, where g^x is the
 * signer's own D-H public value and g^y the peer's (spec, "Reveal Signature Message").
 * The same in v2 and v3: instance tags are not part of it (libotr's calculate_pubkey_auth).
 */
export function encodeAkeMacInput(signerDhPublic: bigint, peerDhPublic: bigint, signerPublicKey: DsaPublicKey, keyId: number): Uint8Array {
  return new OtrWriter().mpi(signerDhPublic).mpi(peerDhPublic).raw(encodeOtrPublicKey(signerPublicKey)).int(keyId).finish();
}

/** Encodes X_B / X_A: PUBKEY, keyid, SIG. */
export function encodeAkeSignedIdentity(identity: AkeSignedIdentity): Uint8Array {
  if (!Number.isInteger(identity.keyId) || identity.keyId < 1 || identity.keyId > 0xffffffff) {
    throw new RangeError('keyId must be an INT greater than 0');
  }
  return new OtrWriter()
    .raw(encodeOtrPublicKey(identity.publicKey))
    .int(identity.keyId)
    .raw(encodeOtrSignature(identity.signature, identity.publicKey.q))
    .finish();
}

/**
 * Decodes X_B / X_A (after decryption); throws MalformedMessageError. The SIG is the rest of
 * the structure and must be exactly as long as the key's q allows (libotr reads it the same
 * way). The keyid is returned as read: the caller rejects 0.
 */
export function decodeAkeSignedIdentity(bytes: Uint8Array): AkeSignedIdentity {
  const reader = new OtrReader(bytes);
  const publicKey = readOtrPublicKey(reader);
  const keyId = reader.int();
  const signature = decodeOtrSignature(reader.rest(), publicKey.q);
  reader.end();
  return { publicKey, keyId, signature };
}
