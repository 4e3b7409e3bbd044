/**
 * The symmetric-key ratchet (Double Ratchet spec section 2.3): a sending and a receiving
 * message chain. Immutable: every operation returns a new state.
 */
import { StateError } from '../../lib/core/errors.js';
import { createKdfChain, stepMessageChain } from './kdf-chain.js';
import type { KdfChain } from './kdf-chain.js';

/** State of the symmetric-key ratchet. */
export interface SymmetricKeyRatchetState {
  readonly sendingChain: KdfChain | undefined;
  readonly receivingChain: KdfChain | undefined;
  /** Length of the sending chain before the last replacement: the header's `pn`. */
  readonly previousSendingChainLength: number;
}

/** An empty ratchet: no chains yet, pn = 0. */
export const EMPTY_SYMMETRIC_KEY_RATCHET: SymmetricKeyRatchetState = Object.freeze({
  sendingChain: undefined,
  receivingChain: undefined,
  previousSendingChainLength: 0,
});

/** Which chain. */
export type ChainDirection = 'sending' | 'receiving';

/**
 * Replaces one chain with a fresh one from `chainKey`. Replacing the sending chain records the
 * old chain's length as the new `previousSendingChainLength` (Double Ratchet section 3.5, PN).
 */
export function replaceChain(state: SymmetricKeyRatchetState, direction: ChainDirection, chainKey: Uint8Array): SymmetricKeyRatchetState {
  const chain = createKdfChain(chainKey);
  if (direction === 'sending') {
    return { ...state, sendingChain: chain, previousSendingChainLength: state.sendingChain?.length ?? 0 };
  }
  return { ...state, receivingChain: chain };
}

/** Steps the sending chain: the next message key and the new state. StateError if none exists. */
export function nextEncryptionKey(state: SymmetricKeyRatchetState): { state: SymmetricKeyRatchetState; messageKey: Uint8Array; n: number } {
  if (state.sendingChain === undefined) throw new StateError('omemo.ratchet-no-sending-chain', 'No sending chain yet');
  const n = state.sendingChain.length;
  const { chain, messageKey } = stepMessageChain(state.sendingChain);
  return { state: { ...state, sendingChain: chain }, messageKey, n };
}

/** Steps the receiving chain: the next message key and the new state. StateError if none exists. */
export function nextDecryptionKey(state: SymmetricKeyRatchetState): { state: SymmetricKeyRatchetState; messageKey: Uint8Array; n: number } {
  if (state.receivingChain === undefined) throw new StateError('omemo.ratchet-no-receiving-chain', 'No receiving chain yet');
  const n = state.receivingChain.length;
  const { chain, messageKey } = stepMessageChain(state.receivingChain);
  return { state: { ...state, receivingChain: chain }, messageKey, n };
}
