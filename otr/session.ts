/**
 * One OTR session with one remote instance of the peer (libotr's child context): the
 * message state (OTR v3 spec, "The protocol state machine": MSGSTATE_PLAINTEXT, _ENCRYPTED,
 * _FINISHED) as a discriminated union, the authentication state of the AKE (`ake.ts`) and,
 * while encrypted, the data-phase keys (`key-management.ts`).
 *
 * The session turns received AKE and Data Messages into wire messages and events and
 * encrypts outgoing messages; routing by instance tag, fragments, query messages, tags,
 * policies on plaintext and held messages are `conversation.ts`'s job. Every method that
 * handles peer input returns a typed error event instead of throwing, and leaves the state
 * as it was when the message is rejected.
 */
import { bytesToUtf8, utf8ToBytes, wipe } from '../lib/core/bytes.js';
import type { DsaPrivateKey, DsaPublicKey } from '../lib/core/crypto/dsa.js';
import type { ModpGroup } from '../lib/core/crypto/modp-group.js';
import { ProtocolError, StateError } from '../lib/core/errors.js';
import type { RandomSource } from '../lib/core/random.js';
import { AUTH_STATE_NONE, initiateAke, receiveAkeMessage, type AkeMessageType, type AkeOutgoingMessage, type AkeParams, type AkeResult, type AuthState } from './ake.js';
import { wipeAkeKeys } from './ake-keys.js';
import { decryptDataMessage, encryptDataMessage } from './data-exchange.js';
import { DATA_MESSAGE_FLAG, peekDataMessageFlags } from './data-message.js';
import { encodeOtrMessage, type DecodedOtrMessage } from './encoded-message.js';
import { buildStandardErrorMessage, OTR_ERROR_CODE } from './error-message.js';
import type { OtrEvent } from './events.js';
import { DataKeyManager } from './key-management.js';
import { OTR_MESSAGE_TYPE, type OtrVersion } from './message-types.js';
import { otrFingerprint } from './public-key.js';
import { abortSmp, initialSmpState, isSmpTlv, receiveSmpTlv, respondSmp, startSmp, type SmpContext, type SmpState, type SmpStep } from '../smp/index.js';
import { decodeMessageWithTlvs, encodeMessageWithTlvs, TLV_TYPE, type Tlv } from './tlv.js';

/** The keyid of our D-H key in the AKE (libotr always uses 1). */
export const AKE_KEY_ID = 1;
/** libotr's HEARTBEAT_INTERVAL: 60 seconds, in milliseconds. */
export const HEARTBEAT_INTERVAL_MS = 60_000;

/** What an encrypted session knows (MSGSTATE_ENCRYPTED). */
export interface SecureSession {
  readonly version: OtrVersion;
  readonly keys: DataKeyManager;
  readonly ssid: Uint8Array;
  readonly ssidBoldHalf: 'first' | 'second';
  readonly theirLongTermKey: DsaPublicKey;
  readonly theirFingerprint: Uint8Array;
}

/** The message state. */
export type MessageState =
  /** MSGSTATE_PLAINTEXT. */
  | { readonly kind: 'plaintext' }
  /** MSGSTATE_ENCRYPTED. */
  | { readonly kind: 'encrypted'; readonly secure: SecureSession }
  /** MSGSTATE_FINISHED: the peer ended; keys are forgotten, sending is refused. */
  | { readonly kind: 'finished'; readonly version: OtrVersion; readonly theirFingerprint: Uint8Array; readonly ssid: Uint8Array };

/** Everything a session needs that does not change. */
export interface OtrSessionContext {
  readonly accountName: string;
  readonly ourPrivateKey: DsaPrivateKey;
  readonly ourInstanceTag: number;
  readonly random: RandomSource;
  readonly group: ModpGroup;
  readonly now: () => number;
}

/** What a session step produced: encoded (unfragmented) messages, events, text to show. */
export interface SessionStep {
  readonly toSend: string[];
  readonly events: OtrEvent[];
  /** Decrypted human-readable text (non-empty), if any. */
  readonly show?: string;
  /** Set when the AKE completed with this message. */
  readonly secured?: boolean;
  /** Received TLVs of types the session does not know (the spec says to ignore them). */
  readonly tlvs?: readonly Tlv[];
}

/** A session with one remote instance. */
export class OtrSession {
  readonly #context: OtrSessionContext;
  /** The peer's instance tag; 0 for a v2 session (no tags) until known. */
  theirInstanceTag: number;
  #authState: AuthState = AUTH_STATE_NONE;
  #messageState: MessageState = { kind: 'plaintext' };
  /** When we last sent a Data Message (for heartbeats), per the injected clock. */
  #lastSent = Number.NEGATIVE_INFINITY;
  /** Order in which sessions became secure, so the conversation can pick the most recent. */
  securedSequence = 0;
  /** The SMP state of the current encrypted session (reset whenever the keys change). */
  #smpState: SmpState = initialSmpState();
  #ourFingerprint: Uint8Array | undefined;

  constructor(context: OtrSessionContext, theirInstanceTag: number) {
    this.#context = context;
    this.theirInstanceTag = theirInstanceTag;
  }

  /** The current message state. */
  get messageState(): MessageState {
    return this.#messageState;
  }

  /** The current authentication state. */
  get authState(): AuthState {
    return this.#authState;
  }

  /** The SMP state. */
  get smpState(): SmpState {
    return this.#smpState;
  }

  /** Adopts an AKE started elsewhere (libotr copies the master's AKE to a child on a D-H Key). */
  adoptAuthState(state: AuthState): void {
    this.#authState = state;
  }

  #akeParams(version: OtrVersion): AkeParams {
    return {
      version,
      ourLongTermKey: this.#context.ourPrivateKey,
      ourKeyId: AKE_KEY_ID,
      ourInstanceTag: this.#context.ourInstanceTag,
      random: this.#context.random,
      group: this.#context.group,
    };
  }

  #encodeAke(message: AkeOutgoingMessage): string {
    const v3 = message.version === 3;
    return encodeOtrMessage(
      {
        version: message.version,
        type: message.type,
        senderInstanceTag: v3 ? this.#context.ourInstanceTag : 0,
        receiverInstanceTag: v3 ? this.theirInstanceTag : 0,
      },
      message.body,
    );
  }

  /** Starts an AKE with this instance: sends a D-H Commit, authstate AWAITING_DHKEY. */
  startAke(version: OtrVersion): SessionStep {
    const step = initiateAke(this.#akeParams(version));
    this.#authState = step.state;
    return { toSend: step.toSend.map((m) => this.#encodeAke(m)), events: [{ kind: 'ake-started', version }] };
  }

  /** Handles a D-H Commit, D-H Key, Reveal Signature or Signature Message. */
  receiveAke(message: DecodedOtrMessage): SessionStep {
    const step = receiveAkeMessage(this.#akeParams(message.version), this.#authState, {
      version: message.version,
      type: message.type as AkeMessageType,
      body: message.body,
      senderInstanceTag: message.senderInstanceTag,
      receiverInstanceTag: message.receiverInstanceTag,
    });
    this.#authState = step.state;
    if (message.version === 3 && this.theirInstanceTag === 0) this.theirInstanceTag = message.senderInstanceTag;
    const toSend = step.toSend.map((m) => this.#encodeAke(m));
    const events: OtrEvent[] = [];
    if (step.error !== undefined) events.push({ kind: 'error', error: step.error });
    else if (step.ignored !== undefined) events.push({ kind: 'ignored', reason: 'ake-ignored' });
    if (step.completed !== undefined) {
      events.push(...this.#goEncrypted(step.completed));
      return { toSend, events, secured: true };
    }
    return { toSend, events };
  }

  /** AKE completed: MSGSTATE_ENCRYPTED with fresh data-phase keys. */
  #goEncrypted(result: AkeResult): OtrEvent[] {
    const previous = this.#messageState;
    // Used MAC keys of a session this AKE replaces are revealed in the new session's first message.
    const pendingReveal = previous.kind === 'encrypted' ? previous.secure.keys.usedMacKeys() : [];
    const keys = new DataKeyManager(result, this.#context.group, this.#context.random, pendingReveal);
    wipe(...pendingReveal);
    if (previous.kind === 'encrypted') previous.secure.keys.wipe();
    const theirFingerprint = otrFingerprint(result.theirLongTermKey);
    // A new ssid: an SMP run of the replaced session cannot continue.
    this.#smpState = initialSmpState();
    this.#messageState = {
      kind: 'encrypted',
      secure: {
        version: result.version,
        keys,
        ssid: result.ssid,
        ssidBoldHalf: result.ssidBoldHalf,
        theirLongTermKey: result.theirLongTermKey,
        theirFingerprint,
      },
    };
    return [
      { kind: 'fingerprint-seen', fingerprint: theirFingerprint.slice(), instanceTag: this.theirInstanceTag },
      {
        kind: 'went-secure',
        version: result.version,
        fingerprint: theirFingerprint.slice(),
        ssid: result.ssid.slice(),
        ssidBoldHalf: result.ssidBoldHalf,
        instanceTag: this.theirInstanceTag,
        refreshed: previous.kind === 'encrypted',
      },
    ];
  }

  #errorReply(code: (typeof OTR_ERROR_CODE)[keyof typeof OTR_ERROR_CODE]): string {
    return buildStandardErrorMessage(code, this.#context.accountName);
  }

  /**
   * Handles a Data Message (spec, "Receiving a Data Message"). Not encrypted, or unreadable:
   * an error event and an Error Message reply, unless IGNORE_UNREADABLE is set (then it is
   * ignored silently). Readable: the text to show, TLV handling (1 -> FINISHED, 8 -> extra
   * key event), other TLVs handed back, and a heartbeat if we have not sent for 60 s.
   */
  receiveData(message: DecodedOtrMessage): SessionStep {
    const state = this.#messageState;
    const ignoreUnreadable = (peekDataMessageFlags(message.body) & DATA_MESSAGE_FLAG.ignoreUnreadable) !== 0;
    if (state.kind !== 'encrypted' || state.secure.version !== message.version) {
      if (ignoreUnreadable) return { toSend: [], events: [{ kind: 'ignored', reason: 'unreadable-flagged-ignore' }] };
      const error = new ProtocolError('otr.data.not-encrypted', 'received an encrypted message while not in an encrypted session');
      return { toSend: [this.#errorReply(OTR_ERROR_CODE.messageNotInPrivate)], events: [{ kind: 'error', error }] };
    }
    let decrypted;
    try {
      decrypted = decryptDataMessage(state.secure.keys, message, message.body);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (ignoreUnreadable) return { toSend: [], events: [{ kind: 'ignored', reason: 'unreadable-flagged-ignore' }, { kind: 'error', error }] };
      const code = error.code.startsWith('otr.data.') ? OTR_ERROR_CODE.messageUnreadable : OTR_ERROR_CODE.messageMalformed;
      return { toSend: [this.#errorReply(code)], events: [{ kind: 'error', error }] };
    }
    const { message: textBytes, tlvs } = decodeMessageWithTlvs(decrypted.plaintext);
    wipe(decrypted.plaintext);
    const text = bytesToUtf8(textBytes);
    wipe(textBytes);
    const events: OtrEvent[] = [];
    const toSend: string[] = [];
    const others: Tlv[] = [];
    let disconnected = false;
    for (const tlv of tlvs) {
      if (isSmpTlv(tlv)) {
        const step = receiveSmpTlv(this.#smpContext(state.secure), this.#smpState, tlv);
        this.#smpState = step.state;
        toSend.push(...this.#sendSmpTlvs(step));
        events.push(...step.events.map((event): OtrEvent => ({ kind: 'smp', event })));
      } else if (tlv.type === TLV_TYPE.disconnected) disconnected = true;
      else if (tlv.type === TLV_TYPE.extraSymmetricKey && tlv.value.length >= 4) {
        const use = new DataView(tlv.value.buffer, tlv.value.byteOffset, 4).getUint32(0);
        events.push({ kind: 'extra-symmetric-key', key: decrypted.extraSymmetricKey.slice(), use, useData: tlv.value.slice(4), fromPeer: true });
      } else if (tlv.type !== TLV_TYPE.padding) others.push(tlv);
    }
    wipe(decrypted.extraSymmetricKey);
    if (text.length === 0 && tlvs.every((t) => t.type === TLV_TYPE.padding)) events.push({ kind: 'heartbeat-received' });
    // Only a shown message earns a heartbeat in reply: one answering a heartbeat would never stop.
    if (text.length > 0 && !disconnected && this.#context.now() - this.#lastSent >= HEARTBEAT_INTERVAL_MS) {
      // libotr: "If we didn't send a message in the last HEARTBEAT_INTERVAL seconds, send a heartbeat."
      toSend.push(this.encrypt('', [], DATA_MESSAGE_FLAG.ignoreUnreadable));
      events.push({ kind: 'heartbeat-sent' });
    }
    if (disconnected) {
      state.secure.keys.wipe();
      this.#smpState = initialSmpState();
      this.#messageState = { kind: 'finished', version: state.secure.version, theirFingerprint: state.secure.theirFingerprint, ssid: state.secure.ssid };
      events.push({ kind: 'went-insecure', reason: 'peer-ended', instanceTag: this.theirInstanceTag });
    }
    return { toSend, events, ...(text.length > 0 ? { show: text } : {}), ...(others.length > 0 ? { tlvs: others } : {}) };
  }

  /**
   * Encrypts `text` and `tlvs` into an encoded Data Message. Throws TypeError unless
   * encrypted (caller bug: the conversation checks the state first).
   */
  encrypt(text: string, tlvs: readonly Tlv[] = [], flags = 0): string {
    return this.encryptWithKey(text, tlvs, flags).text;
  }

  /** As `encrypt`, also returning the extra symmetric key of the pairing used (wipe it). */
  encryptWithKey(text: string, tlvs: readonly Tlv[], flags: number): { text: string; extraSymmetricKey: Uint8Array } {
    const state = this.#messageState;
    if (state.kind !== 'encrypted') throw new TypeError('OtrSession.encrypt: session is not encrypted');
    const textBytes = utf8ToBytes(text);
    const plaintext = encodeMessageWithTlvs(textBytes, tlvs);
    const v3 = state.secure.version === 3;
    const out = encryptDataMessage(
      state.secure.keys,
      {
        version: state.secure.version,
        senderInstanceTag: v3 ? this.#context.ourInstanceTag : 0,
        receiverInstanceTag: v3 ? this.theirInstanceTag : 0,
      },
      plaintext,
      flags,
    );
    wipe(textBytes, plaintext);
    this.#lastSent = this.#context.now();
    return out;
  }

  #smpContext(secure: SecureSession): SmpContext {
    const key = this.#context.ourPrivateKey;
    this.#ourFingerprint ??= otrFingerprint({ p: key.p, q: key.q, g: key.g, y: key.y });
    return {
      info: { ourFingerprint: this.#ourFingerprint, theirFingerprint: secure.theirFingerprint, ssid: secure.ssid },
      random: this.#context.random,
      group: this.#context.group,
    };
  }

  /**
   * Sends SMP TLVs as libotr does: each in a Data Message with an empty human-readable part,
   * flagged IGNORE_UNREADABLE (otrl_message_initiate_smp / respond_smp).
   */
  #sendSmpTlvs(step: SmpStep): string[] {
    return step.toSend.map((tlv) => this.encrypt('', [tlv], DATA_MESSAGE_FLAG.ignoreUnreadable));
  }

  #smp(run: (ctx: SmpContext, state: SmpState) => SmpStep): SessionStep {
    const state = this.#messageState;
    if (state.kind !== 'encrypted') throw new StateError('otr.not-encrypted', 'SMP needs an encrypted session');
    const step = run(this.#smpContext(state.secure), this.#smpState);
    this.#smpState = step.state;
    return { toSend: this.#sendSmpTlvs(step), events: step.events.map((event): OtrEvent => ({ kind: 'smp', event })) };
  }

  /** Starts SMP with `secret` (and a question: TLV 7). Throws StateError `otr.not-encrypted` unless encrypted. */
  startSmp(secret: string | Uint8Array, question?: string): SessionStep {
    return this.#smp((ctx, state) => startSmp(ctx, state, secret, question));
  }

  /** Answers the peer's SMP message 1. Throws StateError (`otr.not-encrypted`, `smp.not-awaiting-secret`). */
  respondSmp(secret: string | Uint8Array): SessionStep {
    return this.#smp((ctx, state) => respondSmp(ctx, state, secret));
  }

  /** Aborts SMP (sends TLV 6). Throws StateError `otr.not-encrypted` unless encrypted. */
  abortSmp(): SessionStep {
    return this.#smp((ctx, state) => abortSmp(ctx, state));
  }

  /**
   * Ends the session (spec, "User requests to end an OTR conversation"): if encrypted, a
   * Data Message with an empty message and TLV 1 (flagged IGNORE_UNREADABLE, as libotr's
   * otrl_message_disconnect does); keys are forgotten; MSGSTATE_PLAINTEXT.
   */
  end(): SessionStep {
    const state = this.#messageState;
    const toSend: string[] = [];
    const events: OtrEvent[] = [];
    this.#smpState = initialSmpState();
    if (state.kind === 'encrypted') {
      toSend.push(this.encrypt('', [{ type: TLV_TYPE.disconnected, value: new Uint8Array(0) }], DATA_MESSAGE_FLAG.ignoreUnreadable));
      state.secure.keys.wipe();
      events.push({ kind: 'went-insecure', reason: 'we-ended', instanceTag: this.theirInstanceTag });
    }
    this.#messageState = { kind: 'plaintext' };
    // libotr's otrl_context_force_plaintext also abandons any AKE in progress.
    const auth = this.#authState;
    if (auth.kind === 'awaiting-dh-key') wipe(auth.r);
    else if (auth.kind === 'awaiting-signature') wipeAkeKeys(auth.keys);
    this.#authState = AUTH_STATE_NONE;
    return { toSend, events };
  }
}
