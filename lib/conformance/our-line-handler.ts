/**
 * Our OTR engine behind the conformance line protocol (line-protocol.ts): one account, one
 * `OtrConversation` per peer, keys and instance tags kept in libotr's own file formats at
 * the paths `init` names (generated when absent, like the libotr harness does). Used
 * in-process as the kit's reference peer and, through `xmpp-otr-omemo line-peer`, as a
 * program under test.
 *
 * `BrokenBehaviour` makes it deliberately non-conforming, so the kit's own tests can check
 * that a broken peer fails exactly the scenarios that look for that defect.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '../core/bytes.js';
import { generateDsaKey, type DsaPrivateKey } from '../core/crypto/dsa.js';
import { ModpGroup } from '../core/crypto/modp-group.js';
import { systemRandom } from '../core/random.js';
import { OtrConversation } from '../../otr/conversation.js';
import { decodeDataMessage, encodeDataMessageFromAuthenticatedBytes } from '../../otr/data-message.js';
import { decodeOtrMessage, encodeOtrMessage } from '../../otr/encoded-message.js';
import type { OtrEvent, OtrResult } from '../../otr/events.js';
import { generateInstanceTag } from '../../otr/instance-tag.js';
import { findInstanceTag, parseInstanceTagFile, writeInstanceTagFile } from '../../otr/instance-tag-file.js';
import { OTR_MESSAGE_TYPE } from '../../otr/message-types.js';
import type { OtrPolicy } from '../../otr/policy.js';
import { findAccountKey, parsePrivateKeyFile, writePrivateKeyFile } from '../../otr/private-key-file.js';
import { formatFingerprint, otrFingerprint } from '../../otr/public-key.js';
import type { SmpEvent } from '../../smp/index.js';
import { parseLinePolicy, type LineEvent } from './line-protocol.js';
import { CommandError, str, optStr, num, type LineJson } from './line-fields.js';

/** Deliberate defects (for the kit's self-tests only). */
export type BrokenBehaviour =
  /** Never publishes old MAC keys: strips them from every Data Message we send. */
  | 'no-mac-reveal'
  /** Shows a replayed Data Message again instead of rejecting it. */
  | 'accept-replay';

/** The broken behaviours by name (for the CLI). */
export const BROKEN_BEHAVIOURS: readonly BrokenBehaviour[] = ['no-mac-reveal', 'accept-replay'];

type Json = LineJson;

/** Maps our SMP events onto libotr's OTRL_SMPEVENT_* names. */
function smpLineEvent(event: SmpEvent): LineEvent {
  switch (event.kind) {
    case 'question':
      return { type: 'smp', event: 'ask_for_answer', question: event.question };
    case 'secret-needed':
      return { type: 'smp', event: 'ask_for_secret' };
    case 'progress':
      return { type: 'smp', event: 'in_progress', progress: event.percent };
    case 'succeeded':
      return { type: 'smp', event: 'success', progress: 100 };
    case 'failed':
      return { type: 'smp', event: 'failure', progress: 100 };
    case 'aborted':
      return { type: 'smp', event: 'abort' };
    case 'cheated':
      return { type: 'smp', event: 'cheated' };
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** Handles line-protocol requests for one account of our engine. */
export class OurLineHandler {
  readonly #broken: ReadonlySet<BrokenBehaviour>;
  readonly #group = new ModpGroup();
  readonly #conversations = new Map<string, OtrConversation>();
  /** accept-replay: plaintexts of the Data Messages received, by wire text. */
  readonly #received = new Map<string, string>();
  readonly #seenFingerprints = new Set<string>();
  #account: { name: string; protocol: string; key: DsaPrivateKey; tag: number; policy: OtrPolicy; fragmentSize: number } | undefined;
  /** Set once `quit` was handled. */
  quit = false;

  constructor(broken: Iterable<BrokenBehaviour> = []) {
    this.#broken = new Set(broken);
  }

  /** Answers one request line (never throws: errors become `{"ok":false}`). */
  handleLine(line: string): string {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return JSON.stringify({ ok: false, error: 'bad json' });
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return JSON.stringify({ ok: false, error: 'not an object' });
    try {
      return JSON.stringify({ ok: true, ...this.handle(request as Json) });
    } catch (error) {
      return JSON.stringify({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Handles one parsed request; throws on a bad request. */
  handle(o: Json): Json {
    const cmd = str(o, 'cmd');
    if (cmd === 'quit') {
      this.quit = true;
      return {};
    }
    if (cmd === 'init') return this.#init(o);
    const account = this.#account;
    if (account === undefined) throw new CommandError('not initialized');
    if (cmd === 'fingerprint') return this.#fingerprintFields(account.key);
    const peer = str(o, 'peer');
    const conversation = this.#conversation(peer);
    switch (cmd) {
      case 'send':
        return this.#action(conversation.send(str(o, 'text')));
      case 'receive':
        return this.#receive(conversation, str(o, 'wire'));
      case 'start_ake':
        return this.#action(conversation.startAke());
      case 'end':
        return this.#action(conversation.end());
      case 'status': {
        const theirs = conversation.theirFingerprint;
        const ssid = conversation.ssid;
        return {
          msgstate: conversation.messageState,
          protocol_version: conversation.version ?? 0,
          our_instance: account.tag,
          their_fingerprint: theirs === undefined ? null : bytesToHex(theirs),
          ssid: ssid === undefined ? null : bytesToHex(ssid),
          smp_in_progress: conversation.smpInProgress,
          ...this.#fingerprintFields(account.key),
        };
      }
      case 'extra_symkey': {
        const usedata = optStr(o, 'usedata') ?? '';
        const { key, result } = conversation.useExtraSymmetricKey(num(o, 'use', 0), hexToBytes(usedata));
        return { key: bytesToHex(key), ...this.#action(result) };
      }
      case 'smp_start': {
        const question = optStr(o, 'question');
        return this.#action(conversation.startSmp(str(o, 'secret'), question));
      }
      case 'smp_respond':
        return this.#action(conversation.respondSmp(str(o, 'secret')));
      case 'smp_abort':
        return this.#action(conversation.abortSmp());
      default:
        throw new CommandError('unknown cmd');
    }
  }

  #fingerprintFields(key: DsaPrivateKey): Json {
    const fp = otrFingerprint(key);
    return { fingerprint: bytesToHex(fp), fingerprint_human: formatFingerprint(fp) };
  }

  #init(o: Json): Json {
    if (this.#account !== undefined) throw new CommandError('already initialized');
    const name = str(o, 'account');
    const protocol = optStr(o, 'protocol') ?? 'xmpp';
    const policy = parseLinePolicy(optStr(o, 'policy') ?? 'default');
    if (policy === undefined) throw new CommandError('bad policy');
    const keyfile = str(o, 'keyfile');
    const instagfile = str(o, 'instagfile');
    let key: DsaPrivateKey;
    const keys = existsSync(keyfile) ? parsePrivateKeyFile(readFileSync(keyfile)) : [];
    const found = findAccountKey(keys, name, protocol);
    if (found !== undefined) key = found.privateKey;
    else {
      key = generateDsaKey();
      writeFileSync(keyfile, writePrivateKeyFile([...keys, { accountName: name, protocol, privateKey: key }]), { mode: 0o600 });
    }
    const tags = existsSync(instagfile) ? parseInstanceTagFile(readFileSync(instagfile)) : [];
    let tag = findInstanceTag(tags, name, protocol);
    if (tag === undefined) {
      tag = generateInstanceTag(systemRandom);
      writeFileSync(instagfile, writeInstanceTagFile([...tags, { accountName: name, protocol, instanceTag: tag }]), { mode: 0o600 });
    }
    this.#account = { name, protocol, key, tag, policy, fragmentSize: num(o, 'fragment_size', 0) };
    return { ...this.#fingerprintFields(key), instance_tag: tag };
  }

  #conversation(peer: string): OtrConversation {
    const account = this.#account;
    if (account === undefined) throw new CommandError('not initialized');
    let conversation = this.#conversations.get(peer);
    if (conversation === undefined) {
      conversation = new OtrConversation({
        accountName: account.name,
        protocol: account.protocol,
        peerName: peer,
        privateKey: account.key,
        instanceTag: account.tag,
        policy: account.policy,
        maxFragmentSize: account.fragmentSize,
        group: this.#group,
      });
      this.#conversations.set(peer, conversation);
    }
    return conversation;
  }

  #receive(conversation: OtrConversation, wire: string): Json {
    const result = conversation.receive(wire);
    let show = result.show;
    if (this.#broken.has('accept-replay')) {
      const earlier = this.#received.get(wire);
      if (show?.encrypted === true) this.#received.set(wire, show.text);
      else if (earlier !== undefined) show = { text: earlier, encrypted: true };
    }
    return { show: show?.text ?? null, decrypted: show?.encrypted ?? false, ...this.#action(result) };
  }

  #action(result: OtrResult): { wire: string[]; events: LineEvent[] } {
    const events: LineEvent[] = [];
    for (const event of result.events) {
      const line = this.#lineEvent(event);
      if (line !== undefined) events.push(line);
    }
    const wire = this.#broken.has('no-mac-reveal') ? result.toSend.map(stripRevealedMacKeys) : [...result.toSend];
    return { wire, events };
  }

  #lineEvent(event: OtrEvent): LineEvent | undefined {
    switch (event.kind) {
      case 'went-secure':
        return event.refreshed ? { type: 'still_secure' } : { type: 'gone_secure' };
      case 'went-insecure':
        return { type: 'gone_insecure' };
      case 'fingerprint-seen': {
        const hex = bytesToHex(event.fingerprint);
        if (this.#seenFingerprints.has(hex)) return undefined;
        this.#seenFingerprints.add(hex);
        return { type: 'new_fingerprint', fingerprint: hex };
      }
      case 'smp':
        return smpLineEvent(event.event);
      case 'extra-symmetric-key':
        return event.fromPeer ? { type: 'symkey', use: event.use, usedata: bytesToHex(event.useData), key: bytesToHex(event.key) } : undefined;
      case 'error':
        return { type: 'msg', event: 'rcvdmsg_unreadable', error: event.error.code };
      case 'unencrypted-received':
        return { type: 'msg', event: 'rcvdmsg_unencrypted' };
      case 'peer-error-message':
        return { type: 'msg', event: 'rcvdmsg_general_err', message: event.text };
      default:
        return undefined;
    }
  }
}

/**
 * no-mac-reveal: the same Data Message with an empty "old MAC keys" field. The field is
 * outside the MAC (OTR v3 spec, "Data Message"), so the message stays valid.
 */
function stripRevealedMacKeys(text: string): string {
  if (!text.startsWith('?OTR:')) return text;
  try {
    const message = decodeOtrMessage(text);
    if (message.type !== OTR_MESSAGE_TYPE.data) return text;
    const data = decodeDataMessage(message.body);
    if (data.oldMacKeys.length === 0) return text;
    const { body: _body, ...header } = message;
    return encodeOtrMessage(header, encodeDataMessageFromAuthenticatedBytes(data.authenticatedBody, data.mac, new Uint8Array(0)));
  } catch {
    return text;
  }
}
