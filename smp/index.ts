/**
 * The Socialist Millionaires' Protocol of OTR v3, transport-free. Public API:
 *
 * - `initialSmpState()`, `startSmp`, `respondSmp`, `abortSmp`, `receiveSmpTlv` (or `stepSmp`
 *   with an `SmpInput`): the state machine (`machine.ts`); each returns `{ state, toSend, events }`. The OTR session
 *   sends every `toSend` TLV in order, each in its own (empty-bodied) data message, and
 *   passes every received TLV of types 2..7 (`isSmpTlv`) to `receiveSmpTlv`.
 * - `deriveSmpSecret` (`secret.ts`), the codec (`codec.ts`) and the maths (`math.ts`) for
 *   tests and other implementations.
 */
export {
  abortSmp,
  initialSmpState,
  isSmpInProgress,
  receiveSmpTlv,
  respondSmp,
  startSmp,
  stepSmp,
  SMP_PROGRESS,
  type SmpContext,
  type SmpInput,
  type SmpEvent,
  type SmpSessionInfo,
  type SmpState,
  type SmpStep,
} from './machine.js';
export { isSmpTlv, SMP_TLV_TYPE, type SmpTlv } from './tlv.js';
export { deriveSmpSecret, SMP_FINGERPRINT_BYTES, SMP_SECRET_VERSION, SMP_SSID_BYTES, type SmpSecretInput } from './secret.js';
export {
  decodeSmp1,
  decodeSmp2,
  decodeSmp3,
  decodeSmp4,
  decodeSmpMpis,
  encodeSmp1,
  encodeSmp1WithQuestion,
  encodeSmp2,
  encodeSmp3,
  encodeSmp4,
  encodeSmpMpis,
  splitSmp1WithQuestion,
  SMP_MAX_MPI_BYTES,
} from './codec.js';
export { SMP_MPI_COUNT, type Smp1Message, type Smp2Message, type Smp3Message, type Smp4Message } from './messages.js';
export {
  checkEqualCoords,
  checkEqualLogs,
  checkKnowLog,
  isSmpExponent,
  isSmpGroupElement,
  proveEqualCoords,
  proveEqualLogs,
  proveKnowLog,
  randomSmpExponent,
  smpHash,
  smpStep1,
  smpStep2a,
  smpStep2b,
  smpStep3,
  smpStep4,
  smpStep5,
  SMP_EXPONENT_BYTES,
  SMP_HASH_VERSION,
  type AliceAfterSmp1,
  type AliceAfterSmp3,
  type BobAfterSmp1,
  type BobAfterSmp2,
  type EqualCoordsProof,
  type EqualLogsProof,
  type KnowLogProof,
  type SmpCheck,
} from './math.js';
