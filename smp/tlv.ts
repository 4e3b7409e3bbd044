/**
 * The TLV shape SMP travels in (OTR v3 spec, "TLV Types" 2..7). Declared structurally here
 * because `smp/` must not import `otr/`: an `otr/tlv.ts` `Tlv` is assignable to `SmpTlv` and
 * back.
 */

/** One TLV record: SHORT type, value of at most 65535 bytes (same shape as otr's `Tlv`). */
export interface SmpTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

/** SMP TLV types (OTR v3 spec, "TLV Types"; libotr tlv.h `OTRL_TLV_SMP*`). */
export const SMP_TLV_TYPE = {
  /** Type 2: SMP message 1. */
  smp1: 2,
  /** Type 3: SMP message 2. */
  smp2: 3,
  /** Type 4: SMP message 3. */
  smp3: 4,
  /** Type 5: SMP message 4. */
  smp4: 5,
  /** Type 6: SMP abort; empty value. */
  abort: 6,
  /** Type 7: SMP message 1Q: a NUL-terminated question, then the SMP message 1 payload. */
  smp1WithQuestion: 7,
} as const;

/** True for the TLV types the SMP state machine handles (2..7). */
export function isSmpTlv(tlv: SmpTlv): boolean {
  return tlv.type >= SMP_TLV_TYPE.smp1 && tlv.type <= SMP_TLV_TYPE.smp1WithQuestion;
}
