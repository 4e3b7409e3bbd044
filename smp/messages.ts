/**
 * The values carried by the four SMP messages, in wire order (OTR v3 spec, "The Socialist
 * Millionaires' Protocol (SMP)", sections "Receiving a type 2..5 TLV"). Names follow the
 * spec: g2a/g2b are halves of the g2 exchange, c/D values are zero-knowledge proofs.
 */

/** SMP message 1 (TLV type 2 or 7): g2a, c2, D2, g3a, c3, D3. */
export interface Smp1Message {
  readonly g2a: bigint;
  readonly c2: bigint;
  readonly d2: bigint;
  readonly g3a: bigint;
  readonly c3: bigint;
  readonly d3: bigint;
}

/** SMP message 2 (TLV type 3): g2b, c2, D2, g3b, c3, D3, Pb, Qb, cP, D5, D6. */
export interface Smp2Message {
  readonly g2b: bigint;
  readonly c2: bigint;
  readonly d2: bigint;
  readonly g3b: bigint;
  readonly c3: bigint;
  readonly d3: bigint;
  readonly pb: bigint;
  readonly qb: bigint;
  readonly cp: bigint;
  readonly d5: bigint;
  readonly d6: bigint;
}

/** SMP message 3 (TLV type 4): Pa, Qa, cP, D5, D6, Ra, cR, D7. */
export interface Smp3Message {
  readonly pa: bigint;
  readonly qa: bigint;
  readonly cp: bigint;
  readonly d5: bigint;
  readonly d6: bigint;
  readonly ra: bigint;
  readonly cr: bigint;
  readonly d7: bigint;
}

/** SMP message 4 (TLV type 5): Rb, cR, D7. */
export interface Smp4Message {
  readonly rb: bigint;
  readonly cr: bigint;
  readonly d7: bigint;
}

/** MPI counts of each message (libotr sm.c `SM_MSG1_LEN`..`SM_MSG4_LEN`). */
export const SMP_MPI_COUNT = { smp1: 6, smp2: 11, smp3: 8, smp4: 3 } as const;
