/**
 * A device's long-term identity key pair, usable by both OMEMO versions.
 *
 * OMEMO 0.3 publishes the identity key as a Curve25519 key and signs with XEdDSA (XEP-0384
 * 0.3.0 section 4.3, the bundle's signedPreKeySignature); omemo:2 publishes it as Ed25519 and
 * signs with plain Ed25519 (XEP-0384 section 5.3.2). Both run X25519 with it inside X3DH. The
 * pair may be born either way:
 *
 * - from an Ed25519 seed (python-omemo's choice, and the only way to sign natively for omemo:2):
 *   the X25519 private key is the clamped SHA-512(seed) half (libsodium
 *   crypto_sign_ed25519_sk_to_curve25519), the Montgomery public key its birational image;
 * - from an X25519 private key (what libsignal-based 0.3 clients store): the Edwards public key
 *   is the sign-0 key of XEdDSA's calculate_key_pair, and every signature is XEdDSA, which
 *   verifies as Ed25519 under that key.
 */
import { base64ToBytes, bytesToBase64, wipe } from '../../lib/core/bytes.js';
import { StorageError } from '../../lib/core/errors.js';
import type { RandomSource } from '../../lib/core/random.js';
import { Ed25519PrivateKey, KEY_LENGTH, X25519PrivateKey } from './curve25519.js';
import { ed25519SeedToX25519Private, x25519PrivateToEd25519Public, xeddsaSign } from './xeddsa.js';

/** Serialized form of an identity key pair: which secret it was born from, and that secret. */
export type IdentityKeySecret =
  | { readonly kind: 'ed25519-seed'; readonly seed: Uint8Array }
  | { readonly kind: 'x25519-private'; readonly privateKey: Uint8Array };

/** A device identity key pair. Immutable except for {@link IdentityKeyPair.wipe}. */
export class IdentityKeyPair {
  /** The X25519 private key used in X3DH's DH1/DH2. */
  readonly dhPrivateKey: X25519PrivateKey;
  /** The 32-byte Curve25519 public key (0.3 wire form, without the 0x05 prefix). */
  readonly montgomeryPublicKey: Uint8Array;
  /** The 32-byte Ed25519 public key (omemo:2 wire form). */
  readonly edwardsPublicKey: Uint8Array;
  readonly #seedKey: Ed25519PrivateKey | undefined;
  readonly #seed: Uint8Array | undefined;

  private constructor(dhPrivateKey: X25519PrivateKey, edwardsPublicKey: Uint8Array, seedKey?: Ed25519PrivateKey, seed?: Uint8Array) {
    this.dhPrivateKey = dhPrivateKey;
    this.montgomeryPublicKey = dhPrivateKey.publicKey.bytes;
    this.edwardsPublicKey = edwardsPublicKey;
    this.#seedKey = seedKey;
    this.#seed = seed;
  }

  /** An identity born from a 32-byte Ed25519 seed. */
  static fromEd25519Seed(seed: Uint8Array): IdentityKeyPair {
    const seedKey = Ed25519PrivateKey.fromSeed(seed);
    const dh = ed25519SeedToX25519Private(seed);
    const pair = new IdentityKeyPair(X25519PrivateKey.fromBytes(dh), seedKey.publicKey.bytes, seedKey, Uint8Array.from(seed));
    wipe(dh);
    return pair;
  }

  /** An identity born from a 32-byte X25519 private key (libsignal-style 0.3 identity). */
  static fromX25519PrivateKey(privateKey: Uint8Array): IdentityKeyPair {
    if (privateKey.length !== KEY_LENGTH) throw new RangeError('IdentityKeyPair: X25519 private key must be 32 bytes');
    return new IdentityKeyPair(X25519PrivateKey.fromBytes(privateKey), x25519PrivateToEd25519Public(privateKey));
  }

  /** A fresh identity from the injected random source (an Ed25519 seed, usable for both versions). */
  static generate(random: RandomSource): IdentityKeyPair {
    const seed = random(KEY_LENGTH);
    try {
      return IdentityKeyPair.fromEd25519Seed(seed);
    } finally {
      wipe(seed);
    }
  }

  /** Restores a pair from {@link IdentityKeyPair.secret}. */
  static fromSecret(secret: IdentityKeySecret): IdentityKeyPair {
    return secret.kind === 'ed25519-seed'
      ? IdentityKeyPair.fromEd25519Seed(secret.seed)
      : IdentityKeyPair.fromX25519PrivateKey(secret.privateKey);
  }

  /** The secret to persist (a copy; wipe it when stored). */
  secret(): IdentityKeySecret {
    return this.#seed !== undefined
      ? { kind: 'ed25519-seed', seed: Uint8Array.from(this.#seed) }
      : { kind: 'x25519-private', privateKey: this.dhPrivateKey.bytes };
  }

  /**
   * Signs with the Ed25519 key whose public half is {@link edwardsPublicKey}: RFC 8032 for a
   * seed-born pair (deterministic, `random` unused), XEdDSA for an X25519-born pair.
   * omemo:2 signs the raw 32-byte signed prekey with this.
   */
  signEd25519(message: Uint8Array, random: RandomSource): Uint8Array {
    return this.#seedKey !== undefined ? this.#seedKey.sign(message) : xeddsaSign(this.dhPrivateKey, message, random);
  }

  /**
   * XEdDSA signature (sign bit 0) verifiable under {@link montgomeryPublicKey}, as OMEMO 0.3
   * signs the 33-byte signed prekey. Works for both kinds of pair.
   */
  signXeddsa(message: Uint8Array, random: RandomSource): Uint8Array {
    return xeddsaSign(this.dhPrivateKey, message, random);
  }

  /** Zeroes the JavaScript copies of the secrets (OpenSSL's KeyObjects cannot be wiped). */
  wipe(): void {
    this.dhPrivateKey.wipe();
    this.#seedKey?.wipe();
    wipe(this.#seed);
  }
}

/** JSON form of an identity key pair (version 1). Contains the secret: store encrypted. */
export interface IdentityKeyPairJson {
  readonly version: 1;
  readonly kind: IdentityKeySecret['kind'];
  /** Base64 of the 32-byte seed or private key. */
  readonly secret: string;
}

/** Writes {@link IdentityKeyPair} as versioned JSON-ready data. */
export function serializeIdentityKeyPair(pair: IdentityKeyPair): IdentityKeyPairJson {
  const secret = pair.secret();
  const bytes = secret.kind === 'ed25519-seed' ? secret.seed : secret.privateKey;
  const json: IdentityKeyPairJson = { version: 1, kind: secret.kind, secret: bytesToBase64(bytes) };
  wipe(bytes);
  return json;
}

/** Reads {@link serializeIdentityKeyPair} output; StorageError `omemo.identity-invalid` on anything else. */
export function parseIdentityKeyPair(json: unknown): IdentityKeyPair {
  if (typeof json !== 'object' || json === null) throw new StorageError('omemo.identity-invalid', 'Stored identity key: not an object');
  const { version, kind, secret } = json as Record<string, unknown>;
  if (version !== 1) throw new StorageError('omemo.identity-unknown-version', 'Stored identity key: unknown version');
  const bytes = typeof secret === 'string' && secret.length === 44 ? base64ToBytes(secret) : undefined;
  if (bytes === undefined || bytes.length !== KEY_LENGTH) throw new StorageError('omemo.identity-invalid', 'Stored identity key: bad secret');
  try {
    if (kind === 'ed25519-seed') return IdentityKeyPair.fromEd25519Seed(bytes);
    if (kind === 'x25519-private') return IdentityKeyPair.fromX25519PrivateKey(bytes);
    throw new StorageError('omemo.identity-invalid', 'Stored identity key: unknown kind');
  } finally {
    wipe(bytes);
  }
}
