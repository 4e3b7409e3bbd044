/**
 * The SMP state machine (OTR v3 spec, "The SMP state machine" and "State Transitions"), as
 * pure functions: each takes the current state and returns `{ state, toSend, events }`. No
 * I/O, no exceptions for anything a peer sends: a malformed message or a failed check
 * aborts the protocol (an abort TLV in `toSend`) and reports `cheated`.
 *
 * States are the spec's SMPSTATE_EXPECT1..4 plus `awaiting-secret`: message 1 was received
 * and verified and the user must now type the secret. For the peer's messages that state is
 * EXPECT1 (libotr keeps `nextExpected = OTRL_SMP_EXPECT1` until `otrl_message_respond_smp`):
 * a new message 1 replaces it, anything else out of order aborts.
 *
 * Decisions, from the spec and libotr 4.1.1 message.c (with Pidgin's handlers, which abort
 * on libotr's CHEATED and ERROR events):
 * - Out-of-order message (e.g. message 3 in EXPECT2): go to EXPECT1 and send an abort
 *   ("If smpstate is not SMPSTATE_EXPECTn: Set smpstate to SMPSTATE_EXPECT1 and send a type 6
 *   TLV"); event `aborted` by us with reason `unexpected-message`.
 * - Simultaneous start: both sides are in EXPECT2 when the other's message 1 arrives, which
 *   is out of order for the spec and libotr: both abort and end in EXPECT1 (each then
 *   receives the other's abort while idle, which is silent). Neither run completes; the
 *   users start again (one at a time). This is what two libotr clients do.
 * - Start while a run is underway (including `awaiting-secret`): send an abort, then the new
 *   message 1 (spec: "send a type 6 TLV (SMP abort) to the other party and then proceed as if
 *   smpstate was SMPSTATE_EXPECT1"). The TLVs of `toSend` MUST be sent in order, each in its
 *   own data message: libotr handles the TLVs of one data message by type, abort last, so an
 *   abort bundled with a message 1 would cancel it.
 * - Abort received: EXPECT1; event `aborted` by peer unless we were idle already.
 * - Progress (like libotr's `handle_smp_event` percentages, which Pidgin's bar shows): 25 on
 *   receiving message 1 (libotr), 60 on receiving message 2 (libotr), 100 on the result
 *   (libotr); 20 when we start and 40 when we answer, where libotr reports nothing.
 * - Result: `succeeded` carries `authenticatedPeer`: false when we answered the peer's
 *   question (libotr then leaves the fingerprint's trust alone, message.c `set_smp_trust` is
 *   called only if `received_question == 0`), true otherwise: the application marks the
 *   fingerprint verified only then. On `failed` libotr clears the "smp" trust under the same
 *   condition.
 * - When the OTR message state leaves ENCRYPTED (or a new AKE changes the session id), the
 *   session must drop the SMP state: use `initialSmpState()` ("If at any point
 *   MSGSTATE_ENCRYPTED becomes unset, SMP must abandon its state").
 */
import { ProtocolError, StateError } from '../lib/core/errors.js';
import type { ModpGroup } from '../lib/core/crypto/modp-group.js';
import type { RandomSource } from '../lib/core/random.js';
import {
  decodeSmp1,
  decodeSmp2,
  decodeSmp3,
  decodeSmp4,
  encodeSmp1,
  encodeSmp1WithQuestion,
  encodeSmp2,
  encodeSmp3,
  encodeSmp4,
  splitSmp1WithQuestion,
} from './codec.js';
import {
  smpStep1,
  smpStep2a,
  smpStep2b,
  smpStep3,
  smpStep4,
  smpStep5,
  type AliceAfterSmp1,
  type AliceAfterSmp3,
  type BobAfterSmp1,
  type BobAfterSmp2,
} from './math.js';
import { deriveSmpSecret, SMP_FINGERPRINT_BYTES, SMP_SSID_BYTES } from './secret.js';
import { SMP_TLV_TYPE, type SmpTlv } from './tlv.js';

/** What SMP needs from the OTR session: both fingerprints and the secure session id. */
export interface SmpSessionInfo {
  /** Our long-term DSA key's fingerprint (20 bytes). */
  readonly ourFingerprint: Uint8Array;
  /** The peer's fingerprint in this session (20 bytes). */
  readonly theirFingerprint: Uint8Array;
  /** The session's secure session id (8 bytes). */
  readonly ssid: Uint8Array;
}

/** The injected dependencies of every step. */
export interface SmpContext {
  readonly info: SmpSessionInfo;
  readonly random: RandomSource;
  readonly group: ModpGroup;
}

/** What the SMP machine tells the application. */
export type SmpEvent =
  /** The peer started SMP with a question; answer with `respondSmp`. */
  | { readonly kind: 'question'; readonly question: string }
  /** The peer started SMP without a question; answer with `respondSmp`. */
  | { readonly kind: 'secret-needed' }
  /** Progress for a progress bar, 0..100. */
  | { readonly kind: 'progress'; readonly percent: number }
  /** The secrets match. Mark the peer's fingerprint verified only if `authenticatedPeer`. */
  | { readonly kind: 'succeeded'; readonly authenticatedPeer: boolean }
  /** The protocol completed and the secrets differ. */
  | { readonly kind: 'failed' }
  /** The run was aborted: by the user, by the peer, or by us on an out-of-order message. */
  | { readonly kind: 'aborted'; readonly by: 'us' | 'peer'; readonly reason?: 'unexpected-message' }
  /** A received SMP message was malformed or failed a check; we sent an abort. */
  | { readonly kind: 'cheated'; readonly reason: string };

/** The SMP state (spec's smpstate plus the values each step keeps). */
export type SmpState =
  /** SMPSTATE_EXPECT1, idle. */
  | { readonly kind: 'expect1' }
  /** SMPSTATE_EXPECT1 with a verified message 1 waiting for the user's secret. */
  | { readonly kind: 'awaiting-secret'; readonly question: string | undefined; readonly bob: BobAfterSmp1 }
  /** SMPSTATE_EXPECT2: we sent message 1. */
  | { readonly kind: 'expect2'; readonly alice: AliceAfterSmp1 }
  /** SMPSTATE_EXPECT3: we sent message 2. */
  | { readonly kind: 'expect3'; readonly bob: BobAfterSmp2; readonly receivedQuestion: boolean }
  /** SMPSTATE_EXPECT4: we sent message 3. */
  | { readonly kind: 'expect4'; readonly alice: AliceAfterSmp3 };

/** Result of every transition. `toSend` TLVs go out in order, one data message each. */
export interface SmpStep {
  readonly state: SmpState;
  readonly toSend: SmpTlv[];
  readonly events: SmpEvent[];
}

/** Progress percentages reported (see the module doc). */
export const SMP_PROGRESS = { started: 20, receivedSmp1: 25, responded: 40, receivedSmp2: 60, done: 100 } as const;

const IDLE: SmpState = Object.freeze({ kind: 'expect1' });
const ABORT_TLV: SmpTlv = Object.freeze({ type: SMP_TLV_TYPE.abort, value: new Uint8Array(0) });

/** The initial state: SMPSTATE_EXPECT1, nothing underway. */
export function initialSmpState(): SmpState {
  return IDLE;
}

/** True when a run is underway (any state but idle EXPECT1). */
export function isSmpInProgress(state: SmpState): boolean {
  return state.kind !== 'expect1';
}

/**
 * The user starts SMP with `secret` and optionally a question (TLV 7 instead of 2). If a run
 * is underway, an abort is sent first (spec, "User requests to begin SMP"). Throws
 * TypeError/RangeError for a bad secret, question or session info (caller bugs).
 */
export function startSmp(ctx: SmpContext, state: SmpState, secret: string | Uint8Array, question?: string): SmpStep {
  checkInfo(ctx.info);
  if (question !== undefined && typeof question !== 'string') throw new TypeError('startSmp: question must be a string');
  const x = deriveSmpSecret({
    initiatorFingerprint: ctx.info.ourFingerprint,
    responderFingerprint: ctx.info.theirFingerprint,
    ssid: ctx.info.ssid,
    userSecret: secret,
  });
  const { message, alice } = smpStep1(ctx.group, ctx.random, x);
  const payload = encodeSmp1(message);
  const tlv: SmpTlv =
    question === undefined
      ? { type: SMP_TLV_TYPE.smp1, value: payload }
      : { type: SMP_TLV_TYPE.smp1WithQuestion, value: encodeSmp1WithQuestion(question, payload) };
  return {
    state: { kind: 'expect2', alice },
    toSend: isSmpInProgress(state) ? [ABORT_TLV, tlv] : [tlv],
    events: [{ kind: 'progress', percent: SMP_PROGRESS.started }],
  };
}

/**
 * The user answers a received message 1 with `secret` (after a `question` or
 * `secret-needed` event). Throws StateError `smp.not-awaiting-secret` unless the state is
 * `awaiting-secret` (e.g. the peer aborted meanwhile; check `state.kind` first).
 */
export function respondSmp(ctx: SmpContext, state: SmpState, secret: string | Uint8Array): SmpStep {
  checkInfo(ctx.info);
  if (state.kind !== 'awaiting-secret') throw new StateError('smp.not-awaiting-secret', 'no SMP message 1 is waiting for a secret');
  const y = deriveSmpSecret({
    initiatorFingerprint: ctx.info.theirFingerprint,
    responderFingerprint: ctx.info.ourFingerprint,
    ssid: ctx.info.ssid,
    userSecret: secret,
  });
  const { message, bob } = smpStep2b(ctx.group, ctx.random, state.bob, y);
  return {
    state: { kind: 'expect3', bob, receivedQuestion: state.question !== undefined },
    toSend: [{ type: SMP_TLV_TYPE.smp2, value: encodeSmp2(message) }],
    events: [{ kind: 'progress', percent: SMP_PROGRESS.responded }],
  };
}

/** The user aborts: always sends an abort TLV (spec, "In all cases") and returns to EXPECT1. */
export function abortSmp(_ctx: SmpContext, state: SmpState): SmpStep {
  return {
    state: IDLE,
    toSend: [ABORT_TLV],
    events: isSmpInProgress(state) ? [{ kind: 'aborted', by: 'us' }] : [],
  };
}

/**
 * Handles one received SMP TLV (types 2..7; any other type is not SMP's and is ignored:
 * state unchanged, nothing sent). Never throws for peer input.
 */
export function receiveSmpTlv(ctx: SmpContext, state: SmpState, tlv: SmpTlv): SmpStep {
  checkInfo(ctx.info);
  switch (tlv.type) {
    case SMP_TLV_TYPE.abort:
      return { state: IDLE, toSend: [], events: isSmpInProgress(state) ? [{ kind: 'aborted', by: 'peer' }] : [] };
    case SMP_TLV_TYPE.smp1:
    case SMP_TLV_TYPE.smp1WithQuestion:
      if (state.kind !== 'expect1' && state.kind !== 'awaiting-secret') return unexpected();
      return guarded(() => receiveSmp1(ctx, tlv));
    case SMP_TLV_TYPE.smp2:
      if (state.kind !== 'expect2') return unexpected();
      return guarded(() => receiveSmp2(ctx, state.alice, tlv.value));
    case SMP_TLV_TYPE.smp3:
      if (state.kind !== 'expect3') return unexpected();
      return guarded(() => receiveSmp3(ctx, state.bob, state.receivedQuestion, tlv.value));
    case SMP_TLV_TYPE.smp4:
      if (state.kind !== 'expect4') return unexpected();
      return guarded(() => receiveSmp4(ctx, state.alice, tlv.value));
    default:
      return { state, toSend: [], events: [] };
  }
}

/** Every input of the machine: the user's three actions and a received TLV. */
export type SmpInput =
  | { readonly kind: 'start'; readonly secret: string | Uint8Array; readonly question?: string }
  | { readonly kind: 'respond'; readonly secret: string | Uint8Array }
  | { readonly kind: 'abort' }
  | { readonly kind: 'receive'; readonly tlv: SmpTlv };

/**
 * The single pure transition function (house rule: one `step()` with an exhaustive switch);
 * `startSmp`, `respondSmp`, `abortSmp` and `receiveSmpTlv` are its four cases.
 */
export function stepSmp(ctx: SmpContext, state: SmpState, input: SmpInput): SmpStep {
  switch (input.kind) {
    case 'start':
      return startSmp(ctx, state, input.secret, input.question);
    case 'respond':
      return respondSmp(ctx, state, input.secret);
    case 'abort':
      return abortSmp(ctx, state);
    case 'receive':
      return receiveSmpTlv(ctx, state, input.tlv);
    default: {
      const unknown: never = input;
      throw new TypeError(`stepSmp: unknown input ${String((unknown as { kind?: unknown }).kind)}`);
    }
  }
}

function receiveSmp1(ctx: SmpContext, tlv: SmpTlv): SmpStep {
  let question: string | undefined;
  let payload = tlv.value;
  if (tlv.type === SMP_TLV_TYPE.smp1WithQuestion) ({ question, payload } = splitSmp1WithQuestion(tlv.value));
  const checked = smpStep2a(ctx.group, ctx.random, decodeSmp1(payload));
  if (!checked.ok) return cheated(checked.reason);
  const ask: SmpEvent = question === undefined ? { kind: 'secret-needed' } : { kind: 'question', question };
  return {
    state: { kind: 'awaiting-secret', question, bob: checked.value },
    toSend: [],
    events: [ask, { kind: 'progress', percent: SMP_PROGRESS.receivedSmp1 }],
  };
}

function receiveSmp2(ctx: SmpContext, alice: AliceAfterSmp1, value: Uint8Array): SmpStep {
  const checked = smpStep3(ctx.group, ctx.random, alice, decodeSmp2(value));
  if (!checked.ok) return cheated(checked.reason);
  return {
    state: { kind: 'expect4', alice: checked.value.alice },
    toSend: [{ type: SMP_TLV_TYPE.smp3, value: encodeSmp3(checked.value.message) }],
    events: [{ kind: 'progress', percent: SMP_PROGRESS.receivedSmp2 }],
  };
}

function receiveSmp3(ctx: SmpContext, bob: BobAfterSmp2, receivedQuestion: boolean, value: Uint8Array): SmpStep {
  const checked = smpStep4(ctx.group, ctx.random, bob, decodeSmp3(value));
  if (!checked.ok) return cheated(checked.reason);
  return {
    state: IDLE,
    toSend: [{ type: SMP_TLV_TYPE.smp4, value: encodeSmp4(checked.value.message) }],
    events: [{ kind: 'progress', percent: SMP_PROGRESS.done }, result(checked.value.secretsMatch, !receivedQuestion)],
  };
}

function receiveSmp4(ctx: SmpContext, alice: AliceAfterSmp3, value: Uint8Array): SmpStep {
  const checked = smpStep5(ctx.group, alice, decodeSmp4(value));
  if (!checked.ok) return cheated(checked.reason);
  return { state: IDLE, toSend: [], events: [{ kind: 'progress', percent: SMP_PROGRESS.done }, result(checked.value.secretsMatch, true)] };
}

function result(secretsMatch: boolean, authenticatedPeer: boolean): SmpEvent {
  return secretsMatch ? { kind: 'succeeded', authenticatedPeer } : { kind: 'failed' };
}

/** Runs a receive handler; a codec error (malformed input) is reported like a failed check. */
function guarded(handle: () => SmpStep): SmpStep {
  try {
    return handle();
  } catch (error) {
    if (error instanceof ProtocolError) return cheated(`malformed SMP message: ${error.code}`);
    throw error;
  }
}

function cheated(reason: string): SmpStep {
  return { state: IDLE, toSend: [ABORT_TLV], events: [{ kind: 'cheated', reason }] };
}

function unexpected(): SmpStep {
  return { state: IDLE, toSend: [ABORT_TLV], events: [{ kind: 'aborted', by: 'us', reason: 'unexpected-message' }] };
}

function checkInfo(info: SmpSessionInfo): void {
  if (!(info.ourFingerprint instanceof Uint8Array) || info.ourFingerprint.length !== SMP_FINGERPRINT_BYTES) {
    throw new RangeError('SMP: ourFingerprint must be 20 bytes');
  }
  if (!(info.theirFingerprint instanceof Uint8Array) || info.theirFingerprint.length !== SMP_FINGERPRINT_BYTES) {
    throw new RangeError('SMP: theirFingerprint must be 20 bytes');
  }
  if (!(info.ssid instanceof Uint8Array) || info.ssid.length !== SMP_SSID_BYTES) throw new RangeError('SMP: ssid must be 8 bytes');
}
