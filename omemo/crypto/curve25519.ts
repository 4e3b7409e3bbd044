/**
 * X25519 (RFC 7748) and Ed25519 (RFC 8032) keys over node:crypto (OpenSSL).
 *
 * Raw key bytes are imported as JWK KeyObjects: measured here, importing a private key costs
 * ~40 us and a public key ~7 us, a DH ~35 us, against ~1600 us for a pure-JS X25519 (see
 * /work/shared/notes/omemo.md). Each key object builds its KeyObject once and caches it, so
 * long-lived keys (identity, signed prekey, the own ratchet key) pay the import once.
 *
 * Keys are `Uint8Array` wrappers with length checks at the boundary. Private keys copy their
 * input and can be wiped.
 */
import { createPrivateKey, createPublicKey, diffieHellman, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { bytesToHex, constantTimeEqual, wipe } from '../../lib/core/bytes.js';
import { VerificationError } from '../../lib/core/errors.js';
import type { RandomSource } from '../../lib/core/random.js';

/** Length of every X25519/Ed25519 key and of an X25519 shared secret (RFC 7748 section 5). */
export const KEY_LENGTH = 32;
/** Length of an Ed25519 signature (RFC 8032 section 5.1.6). */
export const SIGNATURE_LENGTH = 64;

/** Placeholder `x` for private JWKs: Node 20 insists on `x`, but derives the real one from `d`. */
const JWK_PLACEHOLDER_X = 'A'.repeat(43);

function checkLength(name: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array`);
  if (bytes.length !== length) throw new RangeError(`${name}: expected ${length} bytes, got ${bytes.length}`);
}

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function fromBase64Url(text: string | undefined, name: string): Uint8Array {
  if (text === undefined) throw new Error(`${name}: node:crypto exported a JWK without a key`);
  const bytes = new Uint8Array(Buffer.from(text, 'base64url'));
  checkLength(name, bytes, KEY_LENGTH);
  return bytes;
}

/** An X25519 public key: the 32-byte little-endian u-coordinate (RFC 7748 section 5). */
export class X25519PublicKey {
  /** The raw 32 bytes. Treat as read-only. */
  readonly bytes: Uint8Array;
  #keyObject: KeyObject | undefined;

  private constructor(bytes: Uint8Array, keyObject?: KeyObject) {
    this.bytes = bytes;
    this.#keyObject = keyObject;
  }

  /** Wraps (a copy of) 32 raw bytes. Throws RangeError for any other length. */
  static fromBytes(bytes: Uint8Array): X25519PublicKey {
    checkLength('X25519PublicKey', bytes, KEY_LENGTH);
    return new X25519PublicKey(Uint8Array.from(bytes));
  }

  /** @internal Used by X25519PrivateKey, which already holds the KeyObject. */
  static fromKeyObject(keyObject: KeyObject): X25519PublicKey {
    const jwk = keyObject.export({ format: 'jwk' });
    return new X25519PublicKey(fromBase64Url(jwk.x, 'X25519PublicKey'), keyObject);
  }

  /** The node:crypto KeyObject, imported on first use and cached. */
  keyObject(): KeyObject {
    this.#keyObject ??= createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: toBase64Url(this.bytes) }, format: 'jwk' });
    return this.#keyObject;
  }

  /** Constant-time equality of the raw bytes. */
  equals(other: X25519PublicKey): boolean {
    return constantTimeEqual(this.bytes, other.bytes);
  }

  /** Lower-case hex of the raw bytes (public data; handy as a map key). */
  toHex(): string {
    return bytesToHex(this.bytes);
  }
}

/**
 * An X25519 private key: 32 raw bytes, clamped by the scalar multiplication itself (RFC 7748
 * section 5, decodeScalar25519), so any 32 bytes are a valid key.
 */
export class X25519PrivateKey {
  readonly #bytes: Uint8Array;
  readonly #keyObject: KeyObject;
  /** The matching public key. */
  readonly publicKey: X25519PublicKey;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#keyObject = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: toBase64Url(bytes), x: JWK_PLACEHOLDER_X },
      format: 'jwk',
    });
    this.publicKey = X25519PublicKey.fromKeyObject(createPublicKey(this.#keyObject));
  }

  /** Wraps (a copy of) 32 raw private bytes. Throws RangeError for any other length. */
  static fromBytes(bytes: Uint8Array): X25519PrivateKey {
    checkLength('X25519PrivateKey', bytes, KEY_LENGTH);
    return new X25519PrivateKey(Uint8Array.from(bytes));
  }

  /** A fresh key from 32 bytes of the injected random source. */
  static generate(random: RandomSource): X25519PrivateKey {
    const bytes = random(KEY_LENGTH);
    checkLength('X25519PrivateKey.generate: random source output', bytes, KEY_LENGTH);
    return new X25519PrivateKey(bytes);
  }

  /** A copy of the raw private bytes (for persistence; wipe it when done). */
  get bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  /** The node:crypto KeyObject (cached for the lifetime of this key). */
  keyObject(): KeyObject {
    return this.#keyObject;
  }

  /** X25519(this, peer) — see {@link x25519}. */
  dh(peer: X25519PublicKey): Uint8Array {
    return x25519(this, peer);
  }

  /**
   * Zeroes this object's copy of the private bytes. The OpenSSL KeyObject cannot be wiped
   * from JavaScript; it is freed when garbage-collected (see SECURITY.md).
   */
  wipe(): void {
    wipe(this.#bytes);
  }
}

/** An X25519 key pair as produced by {@link X25519PrivateKey}. */
export interface X25519KeyPair {
  readonly privateKey: X25519PrivateKey;
  readonly publicKey: X25519PublicKey;
}

/** Generates an X25519 key pair from the injected random source. */
export function generateX25519KeyPair(random: RandomSource): X25519KeyPair {
  const privateKey = X25519PrivateKey.generate(random);
  return { privateKey, publicKey: privateKey.publicKey };
}

/**
 * X25519 Diffie-Hellman (RFC 7748 section 6.1). A peer key of small order gives an all-zero
 * secret, which RFC 7748 section 6.1 says to reject; OpenSSL refuses it and we report
 * VerificationError `omemo.x25519-small-order`.
 */
export function x25519(privateKey: X25519PrivateKey, publicKey: X25519PublicKey): Uint8Array {
  let secret: Uint8Array;
  try {
    secret = new Uint8Array(diffieHellman({ privateKey: privateKey.keyObject(), publicKey: publicKey.keyObject() }));
  } catch (cause) {
    throw new VerificationError('omemo.x25519-small-order', 'X25519 with a small-order public key', { cause });
  }
  // Belt and braces in case an OpenSSL build does not check (RFC 7748 section 6.1).
  if (secret.every((b) => b === 0)) throw new VerificationError('omemo.x25519-small-order', 'X25519 gave an all-zero secret');
  return secret;
}

/** An Ed25519 public key: the 32-byte encoded point (RFC 8032 section 5.1.2). */
export class Ed25519PublicKey {
  /** The raw 32 bytes. Treat as read-only. */
  readonly bytes: Uint8Array;
  #keyObject: KeyObject | undefined;
  #invalid = false;

  private constructor(bytes: Uint8Array, keyObject?: KeyObject) {
    this.bytes = bytes;
    this.#keyObject = keyObject;
  }

  /** Wraps (a copy of) 32 raw bytes. Throws RangeError for any other length. */
  static fromBytes(bytes: Uint8Array): Ed25519PublicKey {
    checkLength('Ed25519PublicKey', bytes, KEY_LENGTH);
    return new Ed25519PublicKey(Uint8Array.from(bytes));
  }

  /** @internal Used by Ed25519PrivateKey. */
  static fromKeyObject(keyObject: KeyObject): Ed25519PublicKey {
    const jwk = keyObject.export({ format: 'jwk' });
    return new Ed25519PublicKey(fromBase64Url(jwk.x, 'Ed25519PublicKey'), keyObject);
  }

  /** The node:crypto KeyObject, or undefined if OpenSSL rejects the encoding. Cached. */
  keyObject(): KeyObject | undefined {
    if (this.#keyObject === undefined && !this.#invalid) {
      try {
        this.#keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(this.bytes) }, format: 'jwk' });
      } catch {
        this.#invalid = true;
      }
    }
    return this.#keyObject;
  }

  /**
   * Verifies an Ed25519 signature (RFC 8032 section 5.1.7) with OpenSSL. Returns false for a
   * wrong-length signature, a non-canonical S, or a key OpenSSL cannot decode.
   */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== SIGNATURE_LENGTH) return false;
    const key = this.keyObject();
    if (key === undefined) return false;
    try {
      return nodeVerify(null, message, key, signature);
    } catch {
      return false;
    }
  }

  /** Constant-time equality of the raw bytes. */
  equals(other: Ed25519PublicKey): boolean {
    return constantTimeEqual(this.bytes, other.bytes);
  }
}

/** An Ed25519 private key: the 32-byte seed of RFC 8032 section 5.1.5. */
export class Ed25519PrivateKey {
  readonly #seed: Uint8Array;
  readonly #keyObject: KeyObject;
  /** The matching public key. */
  readonly publicKey: Ed25519PublicKey;

  private constructor(seed: Uint8Array) {
    this.#seed = seed;
    this.#keyObject = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: toBase64Url(seed), x: JWK_PLACEHOLDER_X },
      format: 'jwk',
    });
    this.publicKey = Ed25519PublicKey.fromKeyObject(createPublicKey(this.#keyObject));
  }

  /** Wraps (a copy of) a 32-byte seed. Throws RangeError for any other length. */
  static fromSeed(seed: Uint8Array): Ed25519PrivateKey {
    checkLength('Ed25519PrivateKey', seed, KEY_LENGTH);
    return new Ed25519PrivateKey(Uint8Array.from(seed));
  }

  /** A fresh key from a 32-byte seed drawn from the injected random source. */
  static generate(random: RandomSource): Ed25519PrivateKey {
    const seed = random(KEY_LENGTH);
    checkLength('Ed25519PrivateKey.generate: random source output', seed, KEY_LENGTH);
    return new Ed25519PrivateKey(seed);
  }

  /** A copy of the seed (for persistence; wipe it when done). */
  get seed(): Uint8Array {
    return Uint8Array.from(this.#seed);
  }

  /** Deterministic Ed25519 signature (RFC 8032 section 5.1.6). */
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, message, this.#keyObject));
  }

  /** Zeroes this object's copy of the seed (the OpenSSL KeyObject cannot be wiped). */
  wipe(): void {
    wipe(this.#seed);
  }
}
