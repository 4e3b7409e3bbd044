/**
 * OTR policies (OTR v3 spec, "Policies"; libotr proto.h OTRL_POLICY_*). ALLOW_V1 is not
 * offered: version 1 is obsolete and unsupported.
 */
import type { OtrVersion } from './message-types.js';

/** The boolean policy flags of the spec. */
export interface OtrPolicy {
  /** ALLOW_V2: allow version 2 of the protocol. */
  readonly allowV2: boolean;
  /** ALLOW_V3: allow version 3 of the protocol. */
  readonly allowV3: boolean;
  /** REQUIRE_ENCRYPTION: refuse to send unencrypted messages (they are held until encrypted). */
  readonly requireEncryption: boolean;
  /** SEND_WHITESPACE_TAG: advertise OTR support with the whitespace tag. */
  readonly sendWhitespaceTag: boolean;
  /** WHITESPACE_START_AKE: start the AKE when a whitespace tag arrives. */
  readonly whitespaceStartAke: boolean;
  /** ERROR_START_AKE: reply to an OTR Error Message with a Query Message. */
  readonly errorStartAke: boolean;
}

/** OTRL_POLICY_NEVER: OTR disabled. */
export const OTR_POLICY_NEVER: OtrPolicy = Object.freeze({
  allowV2: false,
  allowV3: false,
  requireEncryption: false,
  sendWhitespaceTag: false,
  whitespaceStartAke: false,
  errorStartAke: false,
});

/** OTRL_POLICY_MANUAL: both versions, nothing automatic. */
export const OTR_POLICY_MANUAL: OtrPolicy = Object.freeze({ ...OTR_POLICY_NEVER, allowV2: true, allowV3: true });

/** OTRL_POLICY_OPPORTUNISTIC (libotr's OTRL_POLICY_DEFAULT): advertise and start automatically. */
export const OTR_POLICY_OPPORTUNISTIC: OtrPolicy = Object.freeze({
  ...OTR_POLICY_MANUAL,
  sendWhitespaceTag: true,
  whitespaceStartAke: true,
  errorStartAke: true,
});

/** OTRL_POLICY_ALWAYS: opportunistic, and never send plaintext. */
export const OTR_POLICY_ALWAYS: OtrPolicy = Object.freeze({ ...OTR_POLICY_OPPORTUNISTIC, requireEncryption: true });

/** libotr's default policy. */
export const OTR_POLICY_DEFAULT: OtrPolicy = OTR_POLICY_OPPORTUNISTIC;

/** Whether the policy allows `version`. */
export function policyAllowsVersion(policy: OtrPolicy, version: OtrVersion): boolean {
  return version === 3 ? policy.allowV3 : policy.allowV2;
}

/** Whether OTR is enabled at all (spec: "They all assume that at least one of ALLOW_V1, ALLOW_V2 or ALLOW_V3 is set"). */
export function policyEnablesOtr(policy: OtrPolicy): boolean {
  return policy.allowV2 || policy.allowV3;
}

/**
 * The version to start an AKE with, given what the peer offered (spec, "Receiving a Query
 * Message": version 3 if offered and allowed, else version 2 if offered and allowed).
 */
export function chooseVersion(policy: OtrPolicy, offered: Iterable<number>): OtrVersion | undefined {
  const set = new Set(offered);
  if (set.has(3) && policy.allowV3) return 3;
  if (set.has(2) && policy.allowV2) return 2;
  return undefined;
}
