/**
 * A conversation with one peer account (libotr's master context, with one child session per
 * remote instance tag): routes received messages by instance tag (OTR v3 spec, "Instance
 * Tags"), reassembles fragments ("Fragmentation"), answers Query Messages, whitespace tags
 * and Error Messages per the policy ("Policies", "The protocol state machine"), and applies
 * REQUIRE_ENCRYPTION to outgoing messages: they are held (never sent in plaintext, never
 * dropped) until a session is encrypted, then encrypted and sent.
 *
 * No I/O: `receive` and `send` return the wire messages to transmit, the text to show and
 * events. Nothing a peer sends makes `receive` throw: a rejected message becomes an `error`
 * event and leaves every session as it was.
 */
import type { DsaPrivateKey } from '../lib/core/crypto/dsa.js';
import { ModpGroup } from '../lib/core/crypto/modp-group.js';
import { ProtocolError, StateError } from '../lib/core/errors.js';
import { systemRandom, type RandomSource } from '../lib/core/random.js';
import type { AuthState } from './ake.js';
import { classifyIncoming } from './classify.js';
import { DATA_MESSAGE_FLAG } from './data-message.js';
import { hasValidInstanceTags, type DecodedOtrMessage } from './encoded-message.js';
import type { OtrEvent, OtrResult } from './events.js';
import { fragmentDestination, fragmentMessage, FragmentReassembler, type ParsedFragment } from './fragment.js';
import { isValidInstanceTag } from './instance-tag.js';
import { OTR_MESSAGE_TYPE, type OtrVersion } from './message-types.js';
import { policyAllowsVersion, policyEnablesOtr, type OtrPolicy } from './policy.js';
import { buildQueryMessage, selectOtrVersion, type OfferedOtrVersion } from './query.js';
import { OtrSession, type OtrSessionContext, type SessionStep } from './session.js';
import { TLV_TYPE, type Tlv } from './tlv.js';
import { buildWhitespaceTag } from './whitespace-tag.js';
import { isSmpInProgress } from '../smp/index.js';

export type { OtrEvent, OtrResult } from './events.js';

/** Options of a conversation (one per (our account, peer account)). */
export interface OtrSessionOptions {
  /** Our account name (shown in the libotr-style query text and error texts). */
  readonly accountName: string;
  /** The network protocol name (e.g. "xmpp"), as libotr keys its contexts. */
  readonly protocol: string;
  /** The peer's account name. */
  readonly peerName: string;
  /** Our long-term DSA key. */
  readonly privateKey: DsaPrivateKey;
  /** Our instance tag, >= 0x100. */
  readonly instanceTag: number;
  /** The policy for this peer. */
  readonly policy: OtrPolicy;
  /** Longest wire message in characters; 0/undefined = no fragmentation. */
  readonly maxFragmentSize?: number;
  /** Randomness (default: the system CSPRNG). */
  readonly random?: RandomSource;
  /** The MODP group with its modexp engine (default: a new one). */
  readonly group?: ModpGroup;
  /** Clock in milliseconds (default `Date.now`), for heartbeats. */
  readonly now?: () => number;
}

/**
 * Most remote instances (child sessions, fragment reassemblers) kept per peer. Instance tags
 * come from the network, so without a bound a hostile peer could make us allocate a session
 * per forged tag; libotr has no bound.
 */
export const MAX_REMOTE_INSTANCES = 64;

/**
 * Most fragment streams (remote instances sending fragments) buffered at once; each holds
 * at most `FragmentReassembler`'s 1 MiB default, so a hostile peer can pin at most 8 MiB.
 */
export const MAX_FRAGMENT_STREAMS = 8;

/** A message waiting for encryption. */
interface HeldMessage {
  readonly text: string;
  readonly tlvs: readonly Tlv[];
}

class ResultBuilder {
  readonly toSend: string[] = [];
  readonly events: OtrEvent[] = [];
  show: { text: string; encrypted: boolean } | undefined;

  result(): OtrResult {
    return { toSend: this.toSend, show: this.show, events: this.events };
  }
}

/** Copies an AKE state so that two instances answering one D-H Commit do not share (and wipe) r. */
function cloneAuthState(state: AuthState): AuthState {
  if (state.kind === 'awaiting-dh-key') return { ...state, r: state.r.slice(), hashedGx: state.hashedGx.slice() };
  return state;
}

/** The OTR conversation with one peer. */
export class OtrConversation {
  readonly #options: OtrSessionOptions;
  readonly #context: OtrSessionContext;
  /** Child sessions by the peer's instance tag; a v2 peer (no tags) is under 0. */
  readonly #sessions = new Map<number, OtrSession>();
  /** Holds a v3 AKE we started toward "any instance" (receiver tag 0), like libotr's master context. */
  readonly #master: OtrSession;
  /** Fragment reassemblers by sender instance tag (0 for v2). */
  readonly #reassemblers = new Map<number, FragmentReassembler>();
  #held: HeldMessage[] = [];
  /** A Query Message went out for the held messages since the last change of message state. */
  #heldQuerySent = false;
  /** "you have not received a plaintext message from this correspondent since last entering MSGSTATE_PLAINTEXT". */
  #receivedPlaintext = false;
  /** libotr sends the whitespace tag once (OFFER_SENT). */
  #whitespaceOffered = false;
  #securedCounter = 0;

  constructor(options: OtrSessionOptions) {
    if (!isValidInstanceTag(options.instanceTag)) throw new RangeError('OtrSessionOptions.instanceTag must be >= 0x100');
    if (options.maxFragmentSize !== undefined && (!Number.isInteger(options.maxFragmentSize) || options.maxFragmentSize < 0)) {
      throw new RangeError('OtrSessionOptions.maxFragmentSize must be a non-negative integer');
    }
    this.#options = options;
    this.#context = {
      accountName: options.accountName,
      ourPrivateKey: options.privateKey,
      ourInstanceTag: options.instanceTag,
      random: options.random ?? systemRandom,
      group: options.group ?? new ModpGroup(),
      now: options.now ?? Date.now,
    };
    this.#master = new OtrSession(this.#context, 0);
  }

  /** The policy in force. */
  get policy(): OtrPolicy {
    return this.#options.policy;
  }

  /** Our instance tag. */
  get instanceTag(): number {
    return this.#options.instanceTag;
  }

  /** Number of messages held until the session is encrypted. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** The session used for sending (libotr OTRL_INSTAG_BEST): the most recently secured encrypted one, else the most recently finished one. */
  #best(): OtrSession | undefined {
    let best: OtrSession | undefined;
    const rank = (s: OtrSession): number => (s.messageState.kind === 'encrypted' ? 2 : s.messageState.kind === 'finished' ? 1 : 0);
    for (const session of this.#sessions.values()) {
      if (rank(session) === 0) continue;
      if (best === undefined || rank(session) > rank(best) || (rank(session) === rank(best) && session.securedSequence > best.securedSequence)) {
        best = session;
      }
    }
    return best;
  }

  /** Message state of the session used for sending. */
  get messageState(): 'plaintext' | 'encrypted' | 'finished' {
    return this.#best()?.messageState.kind ?? 'plaintext';
  }

  /** The protocol version of the session used for sending, if not plaintext. */
  get version(): OtrVersion | undefined {
    const state = this.#best()?.messageState;
    if (state === undefined || state.kind === 'plaintext') return undefined;
    return state.kind === 'encrypted' ? state.secure.version : state.version;
  }

  /** The peer's fingerprint in the session used for sending (a copy). */
  get theirFingerprint(): Uint8Array | undefined {
    const state = this.#best()?.messageState;
    if (state === undefined || state.kind === 'plaintext') return undefined;
    return (state.kind === 'encrypted' ? state.secure.theirFingerprint : state.theirFingerprint).slice();
  }

  /** The secure session id of the session used for sending (a copy). */
  get ssid(): Uint8Array | undefined {
    const state = this.#best()?.messageState;
    if (state === undefined || state.kind === 'plaintext') return undefined;
    return (state.kind === 'encrypted' ? state.secure.ssid : state.ssid).slice();
  }

  /** Which half of the ssid to show in bold (spec, "Computing AES keys, MAC keys, and the secure session id"). */
  get ssidBoldHalf(): 'first' | 'second' | undefined {
    const state = this.#best()?.messageState;
    return state?.kind === 'encrypted' ? state.secure.ssidBoldHalf : undefined;
  }

  /** Whether an SMP run is underway in any session (any SMP state but idle EXPECT1). */
  get smpInProgress(): boolean {
    for (const session of this.#sessions.values()) if (isSmpInProgress(session.smpState)) return true;
    return false;
  }

  /** Instance tags of the peer's instances we have sessions with. */
  get instances(): number[] {
    return [...this.#sessions.keys()];
  }

  /** Message state per remote instance tag. */
  instanceState(theirInstanceTag: number): 'plaintext' | 'encrypted' | 'finished' | undefined {
    return this.#sessions.get(theirInstanceTag)?.messageState.kind;
  }

  #allowedVersions(): OtrVersion[] {
    const out: OtrVersion[] = [];
    if (this.#options.policy.allowV2) out.push(2);
    if (this.#options.policy.allowV3) out.push(3);
    return out;
  }

  #session(theirInstanceTag: number): OtrSession {
    let session = this.#sessions.get(theirInstanceTag);
    if (session === undefined) {
      session = new OtrSession(this.#context, theirInstanceTag);
      this.#sessions.set(theirInstanceTag, session);
    }
    return session;
  }

  /** Fragments an encoded message for the network if it is too long. */
  #fragment(text: string, version: OtrVersion, receiverInstanceTag: number): string[] {
    const max = this.#options.maxFragmentSize ?? 0;
    if (max === 0 || !text.startsWith('?OTR:')) return [text];
    return fragmentMessage(text, {
      version,
      maxFragmentLength: max,
      senderInstanceTag: this.#options.instanceTag,
      receiverInstanceTag,
    });
  }

  #emit(out: ResultBuilder, step: SessionStep, version: OtrVersion, session: OtrSession): void {
    for (const text of step.toSend) out.toSend.push(...this.#fragment(text, version, session.theirInstanceTag));
    out.events.push(...step.events);
  }

  /**
   * Handles one incoming wire message: what to show, what to send back and events. Never
   * throws for anything the peer sends.
   */
  receive(text: string): OtrResult {
    if (typeof text !== 'string') throw new TypeError('OtrConversation.receive: text must be a string');
    const out = new ResultBuilder();
    if (!policyEnablesOtr(this.#options.policy)) {
      out.show = { text, encrypted: false };
      return out.result();
    }
    try {
      this.#receive(text, false, out);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      out.events.push({ kind: 'error', error });
    }
    return out.result();
  }

  #receive(text: string, reassembled: boolean, out: ResultBuilder): void {
    const incoming = classifyIncoming(text, { reassembled });
    switch (incoming.kind) {
      case 'fragment':
        this.#receiveFragment(incoming, out);
        return;
      case 'encoded':
        this.#receiveEncoded(incoming.message, out);
        return;
      case 'query': {
        const version = selectOtrVersion(incoming.versions, new Set(this.#allowedVersions()));
        if (version === undefined) out.events.push({ kind: 'ignored', reason: 'no-common-version' });
        else this.#startAke(version, out);
        return;
      }
      case 'error':
        out.events.push({ kind: 'peer-error-message', text: incoming.errorText });
        if (this.#options.policy.errorStartAke) this.#sendQuery(out);
        return;
      case 'plaintext':
        this.#receivePlaintext(incoming.strippedText, incoming.whitespaceVersions, out);
        return;
      case 'malformed':
        out.events.push({ kind: 'error', error: incoming.error });
        return;
      default: {
        const unknown: never = incoming;
        throw new TypeError(`unexpected classification ${JSON.stringify(unknown)}`);
      }
    }
  }

  #receivePlaintext(text: string, whitespaceVersions: ReadonlySet<OfferedOtrVersion> | undefined, out: ResultBuilder): void {
    // Spec: stored fragments are forgotten when an unfragmented message arrives.
    for (const reassembler of this.#reassemblers.values()) reassembler.reset();
    out.show = { text, encrypted: false };
    this.#receivedPlaintext = true;
    const anySecure = [...this.#sessions.values()].some((s) => s.messageState.kind !== 'plaintext');
    if (anySecure || this.#options.policy.requireEncryption) out.events.push({ kind: 'unencrypted-received' });
    // Spec, "Receiving plaintext with the whitespace tag": start the AKE when the policy says so.
    // Not while a session is ENCRYPTED (a forged tag must not make us rekey), but from FINISHED
    // yes, as libotr does: the peer ended and now offers OTR again.
    const anyEncrypted = [...this.#sessions.values()].some((s) => s.messageState.kind === 'encrypted');
    if (whitespaceVersions !== undefined && this.#options.policy.whitespaceStartAke && !anyEncrypted) {
      const version = selectOtrVersion(whitespaceVersions, new Set(this.#allowedVersions()));
      if (version !== undefined) this.#startAke(version, out);
    }
  }

  #receiveFragment(fragment: ParsedFragment, out: ResultBuilder): void {
    if (!policyAllowsVersion(this.#options.policy, fragment.version)) {
      out.events.push({ kind: 'ignored', reason: 'version-not-allowed' });
      return;
    }
    const destination = fragmentDestination(fragment, this.#options.instanceTag);
    if (destination !== 'ours') {
      out.events.push({ kind: 'ignored', reason: destination === 'other-instance' ? 'other-instance' : 'bad-instance-tag' });
      return;
    }
    const key = fragment.version === 3 ? fragment.senderInstanceTag : 0;
    let reassembler = this.#reassemblers.get(key);
    if (reassembler === undefined) {
      if (this.#reassemblers.size >= MAX_FRAGMENT_STREAMS) {
        const oldest = this.#reassemblers.keys().next().value;
        if (oldest !== undefined) this.#reassemblers.delete(oldest);
      }
      reassembler = new FragmentReassembler();
      this.#reassemblers.set(key, reassembler);
    }
    const result = reassembler.accept(fragment);
    if (result.kind === 'complete') this.#receive(result.message, true, out);
  }

  #receiveEncoded(message: DecodedOtrMessage, out: ResultBuilder): void {
    if (!hasValidInstanceTags(message)) {
      out.events.push({ kind: 'ignored', reason: 'bad-instance-tag' });
      return;
    }
    if (!policyAllowsVersion(this.#options.policy, message.version)) {
      out.events.push({ kind: 'ignored', reason: 'version-not-allowed' });
      return;
    }
    if (message.version === 3) {
      // Spec, "Instance Tags": discard a message for another instance; receiver 0 only on a D-H Commit.
      const receiver = message.receiverInstanceTag;
      if (receiver !== this.#options.instanceTag && !(receiver === 0 && message.type === OTR_MESSAGE_TYPE.dhCommit)) {
        out.events.push({ kind: 'ignored', reason: 'other-instance' });
        return;
      }
    }
    const key = message.version === 3 ? message.senderInstanceTag : 0;
    if (message.type === OTR_MESSAGE_TYPE.data) {
      // An instance we have no session with cannot be encrypted: a throw-away session
      // answers it (error reply) without keeping state for a tag the peer may have forged.
      const session = this.#sessions.get(key) ?? new OtrSession(this.#context, key);
      const step = session.receiveData(message);
      this.#emit(out, step, message.version, session);
      if (step.show !== undefined) out.show = { text: step.show, encrypted: true };
      return;
    }
    if (!this.#sessions.has(key) && this.#sessions.size >= MAX_REMOTE_INSTANCES && !this.#evictIdleSession()) {
      out.events.push({ kind: 'ignored', reason: 'too-many-instances' });
      return;
    }
    const session = this.#session(key);
    // libotr (otrl_auth_copy_on_key): a D-H Key from an instance new to us answers the
    // D-H Commit we sent to receiver tag 0, so that instance's session takes over that AKE.
    // We do the same for a D-H Commit, so that two AKEs started at once (both sides sent a
    // commit to "any instance") meet in one state and the spec's hash comparison decides.
    const answersOurCommit = message.type === OTR_MESSAGE_TYPE.dhKey || message.type === OTR_MESSAGE_TYPE.dhCommit;
    if (answersOurCommit && session.authState.kind === 'none' && this.#master.authState.kind === 'awaiting-dh-key') {
      if (this.#master.authState.version === message.version) session.adoptAuthState(cloneAuthState(this.#master.authState));
    }
    const step = session.receiveAke(message);
    this.#emit(out, step, message.version, session);
    if (step.secured === true) {
      this.#heldQuerySent = false;
      session.securedSequence = ++this.#securedCounter;
      this.#flushHeld(session, message.version, out);
    }
  }

  /** Forgets the oldest session that is plaintext with no AKE in progress; false if none. */
  #evictIdleSession(): boolean {
    for (const [tag, session] of this.#sessions) {
      if (session.messageState.kind === 'plaintext' && session.authState.kind === 'none') {
        this.#sessions.delete(tag);
        return true;
      }
    }
    return false;
  }

  /** Encrypts and sends what REQUIRE_ENCRYPTION held, in order, once `session` is encrypted. */
  #flushHeld(session: OtrSession, version: OtrVersion, out: ResultBuilder): void {
    if (this.#held.length === 0 || session.messageState.kind !== 'encrypted') return;
    const held = this.#held;
    this.#held = [];
    for (const message of held) out.toSend.push(...this.#fragment(session.encrypt(message.text, message.tlvs), version, session.theirInstanceTag));
    out.events.push({ kind: 'held-messages-sent', count: held.length });
  }

  /** Starts an AKE: v3 toward any instance (receiver tag 0, kept like libotr's master), v2 in the untagged session. */
  #startAke(version: OtrVersion, out: ResultBuilder): void {
    const session = version === 3 ? this.#master : this.#session(0);
    const step = session.startAke(version);
    this.#emit(out, step, version, session);
  }

  #sendQuery(out: ResultBuilder): void {
    const versions = this.#allowedVersions();
    if (versions.length === 0) return;
    out.toSend.push(buildQueryMessage(versions, { accountName: this.#options.accountName }));
  }

  /**
   * Sends user text (spec, "User types a message to be sent"): encrypted in the best
   * session; in MSGSTATE_PLAINTEXT sent as is (with the whitespace tag per policy), or held
   * with a Query Message under REQUIRE_ENCRYPTION; in MSGSTATE_FINISHED refused (and held
   * under REQUIRE_ENCRYPTION). Never sends under REQUIRE_ENCRYPTION in plaintext. TLVs need
   * an encrypted session (held with the text otherwise).
   */
  send(text: string, options: { tlvs?: readonly Tlv[] } = {}): OtrResult {
    if (typeof text !== 'string') throw new TypeError('OtrConversation.send: text must be a string');
    if (text.includes('\0')) throw new TypeError('OtrConversation.send: text must not contain NUL');
    const tlvs = options.tlvs ?? [];
    const out = new ResultBuilder();
    const policy = this.#options.policy;
    if (!policyEnablesOtr(policy)) {
      if (tlvs.length > 0) throw new TypeError('OtrConversation.send: TLVs need OTR');
      out.toSend.push(text);
      return out.result();
    }
    const best = this.#best();
    const state = best?.messageState;
    if (best !== undefined && state?.kind === 'encrypted') {
      out.toSend.push(...this.#fragment(best.encrypt(text, tlvs), state.secure.version, best.theirInstanceTag));
      return out.result();
    }
    if (state?.kind === 'finished') {
      if (policy.requireEncryption) this.#hold(text, tlvs, out, false);
      else out.events.push({ kind: 'send-refused', reason: 'finished' });
      return out.result();
    }
    if (policy.requireEncryption || tlvs.length > 0) {
      this.#hold(text, tlvs, out, true);
      return out.result();
    }
    let wire = text;
    if (policy.sendWhitespaceTag && !this.#receivedPlaintext && !this.#whitespaceOffered) {
      wire = text + buildWhitespaceTag(this.#allowedVersions());
      this.#whitespaceOffered = true;
    }
    out.toSend.push(wire);
    return out.result();
  }

  #hold(text: string, tlvs: readonly Tlv[], out: ResultBuilder, query: boolean): void {
    this.#held.push({ text, tlvs: tlvs.map((t) => ({ type: t.type, value: t.value.slice() })) });
    out.events.push({ kind: 'held-until-encrypted', count: this.#held.length });
    // One query per plaintext period is enough; a new one after end() or a finished session.
    if (query && !this.#heldQuerySent) {
      this.#sendQuery(out);
      this.#heldQuerySent = true;
    }
  }

  /** Asks the peer to start OTR: a Query Message offering the allowed versions (libotr-style text). */
  startAke(): OtrResult {
    const out = new ResultBuilder();
    this.#sendQuery(out);
    return out.result();
  }

  /**
   * Ends every session with the peer (spec, "User requests to end an OTR conversation"):
   * encrypted sessions send a Disconnected TLV; all go back to MSGSTATE_PLAINTEXT and their
   * keys are wiped. Held messages stay held (they are never sent in plaintext).
   */
  end(): OtrResult {
    const out = new ResultBuilder();
    for (const session of this.#sessions.values()) {
      const state = session.messageState;
      const version = state.kind === 'encrypted' ? state.secure.version : 3;
      this.#emit(out, session.end(), version, session);
    }
    this.#master.end();
    this.#heldQuerySent = false;
    this.#receivedPlaintext = false;
    this.#whitespaceOffered = false;
    return out.result();
  }

  /** The encrypted session to run SMP in: the best one (OTRL_INSTAG_BEST). */
  #smpSession(preferAwaitingSecret: boolean): OtrSession {
    if (preferAwaitingSecret) {
      for (const session of this.#sessions.values()) {
        if (session.messageState.kind === 'encrypted' && session.smpState.kind === 'awaiting-secret') return session;
      }
    }
    const best = this.#best();
    if (best === undefined || best.messageState.kind !== 'encrypted') throw new StateError('otr.not-encrypted', 'no encrypted session');
    return best;
  }

  #smpResult(session: OtrSession, step: SessionStep): OtrResult {
    const out = new ResultBuilder();
    const state = session.messageState;
    this.#emit(out, step, state.kind === 'encrypted' ? state.secure.version : 3, session);
    return out.result();
  }

  /**
   * Starts the Socialist Millionaires' Protocol in the best encrypted session with `secret`
   * (and a question, TLV 7). Throws StateError `otr.not-encrypted` when nothing is encrypted.
   */
  startSmp(secret: string, question?: string): OtrResult {
    const session = this.#smpSession(false);
    return this.#smpResult(session, session.startSmp(secret, question));
  }

  /**
   * Answers the peer's SMP request (after an `smp` event `question` or `secret-needed`).
   * Throws StateError `otr.not-encrypted` or `smp.not-awaiting-secret`.
   */
  respondSmp(secret: string): OtrResult {
    const session = this.#smpSession(true);
    return this.#smpResult(session, session.respondSmp(secret));
  }

  /** Aborts the SMP run (TLV 6). Throws StateError `otr.not-encrypted` when nothing is encrypted. */
  abortSmp(): OtrResult {
    const session = this.#smpSession(false);
    return this.#smpResult(session, session.abortSmp());
  }

  /**
   * Tells the peer we use the extra symmetric key (spec, "Extra symmetric key"): a Data
   * Message with an empty text and TLV 8 = use (INT) || useData, sent IGNORE_UNREADABLE as
   * libotr's otrl_message_symkey does. Returns the 32-byte key of the pairing that protects
   * that message, which the peer derives on receipt. Throws StateError `otr.not-encrypted`
   * when no session is encrypted.
   */
  useExtraSymmetricKey(use: number, useData: Uint8Array): { key: Uint8Array; result: OtrResult } {
    if (!Number.isInteger(use) || use < 0 || use > 0xffffffff) throw new RangeError('useExtraSymmetricKey: use must be an INT');
    const best = this.#best();
    const state = best?.messageState;
    if (best === undefined || state?.kind !== 'encrypted') throw new StateError('otr.not-encrypted', 'no encrypted session');
    const value = new Uint8Array(4 + useData.length);
    new DataView(value.buffer).setUint32(0, use);
    value.set(useData, 4);
    const sent = best.encryptWithKey('', [{ type: TLV_TYPE.extraSymmetricKey, value }], DATA_MESSAGE_FLAG.ignoreUnreadable);
    const out = new ResultBuilder();
    out.toSend.push(...this.#fragment(sent.text, state.secure.version, best.theirInstanceTag));
    out.events.push({ kind: 'extra-symmetric-key', key: sent.extraSymmetricKey.slice(), use, useData: useData.slice(), fromPeer: false });
    return { key: sent.extraSymmetricKey, result: out.result() };
  }
}
