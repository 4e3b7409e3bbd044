/**
 * A KDF chain (Double Ratchet spec section 2.2): a key and the number of steps taken. Each step
 * feeds the key and some input to a KDF, keeps part of the output as the next key and returns
 * the rest. Immutable: a step returns a new chain.
 */
import { CHAIN_KEY_LENGTH, kdfChainKey, kdfRootKey } from '../kdf.js';

/** State of a KDF chain. */
export interface KdfChain {
  /** Current chain key (32 bytes). */
  readonly key: Uint8Array;
  /** Number of steps performed so far (python-doubleratchet's `length`). */
  readonly length: number;
}

/** A new chain at length 0. Throws RangeError unless the key is 32 bytes. */
export function createKdfChain(key: Uint8Array): KdfChain {
  if (key.length !== CHAIN_KEY_LENGTH) throw new RangeError('createKdfChain: key must be 32 bytes');
  return { key: Uint8Array.from(key), length: 0 };
}

/**
 * One root-chain step (KDF_RK, Double Ratchet section 5.2) with a DH output as input: returns
 * the advanced chain and the new message-chain key.
 */
export function stepRootChain(chain: KdfChain, dhOutput: Uint8Array, info: string): { chain: KdfChain; chainKey: Uint8Array } {
  const { rootKey, chainKey } = kdfRootKey(chain.key, dhOutput, info);
  return { chain: { key: rootKey, length: chain.length + 1 }, chainKey };
}

/**
 * One message-chain step (KDF_CK, Double Ratchet section 5.2): returns the advanced chain and
 * the message key (HMAC(ck, 0x01)); the next chain key is HMAC(ck, 0x02).
 */
export function stepMessageChain(chain: KdfChain): { chain: KdfChain; messageKey: Uint8Array } {
  const { chainKey, messageKey } = kdfChainKey(chain.key);
  return { chain: { key: chainKey, length: chain.length + 1 }, messageKey };
}
