/**
 * The OTR scenarios in the "over XMPP" mode (docs/CONFORMANCE.md, "Over XMPP"): the kit's
 * engine talks to the implementation under test through an XMPP server, and all the kit can
 * see of the implementation is what it puts on the wire. What it displayed is read through the
 * echo contract: the implementation answers every message it decrypted with an encrypted
 * message containing the decrypted text (e.g. "echo: <text>"), so an echo that the kit's
 * engine decrypts proves the text was shown, and no echo within the settle time is how "not
 * shown" is observed.
 *
 * Every scenario of the line-protocol matrix (scenarios.ts) has an entry with the same id:
 * either a body adapted to what the echo contract can prove, or the reason it is not
 * applicable over XMPP (it needs the implementation to act on command, or to report state the
 * wire does not carry). SMP runs with the kit as the asker, when the user gives the secret the
 * implementation is configured to answer with (`smpSecret`).
 */
import { randomUUID } from 'node:crypto';
import { bytesToHex } from '../core/bytes.js';
import { MODP_1536_PRIME } from '../core/crypto/modp-group.js';
import { decodeOtrMessage } from '../../otr/encoded-message.js';
import { OTR_MESSAGE_TYPE } from '../../otr/message-types.js';
import type { WireRecord } from './exchange.js';
import type { XmppExchange } from './exchange-xmpp.js';
import type { Party } from './party.js';
import { check } from './scenario.js';
import { forgeDhKey } from './scenarios-hostile.js';
import { checkRevealedMacKeys, readDataMessage, withFlippedMac } from './wire-evidence.js';

/** What the user told the kit about the implementation, and the kit's timing. */
export interface XmppScenarioOptions {
  /** The secret the implementation answers SMP with on its own; without it the SMP scenarios are not applicable. */
  readonly smpSecret?: string;
  /** How long the implementation must stay silent before "it did not answer" is concluded (ms). */
  readonly settleMs: number;
  /** How long to wait for an answer that must come (an echo, the AKE) (ms). */
  readonly answerTimeoutMs: number;
  /** The implementation's OTR fingerprint (40 hex), when known: the AKE must authenticate exactly that key. */
  readonly iutFingerprint?: string;
  /**
   * The OTR version the sessions must reach (default 3). With 2, for implementations that only
   * speak version 2, the kit allows only version 2 and every scenario expects it (fragments are
   * then `?OTR,k,n,piece,` and carry no instance tags).
   */
  readonly version?: 2 | 3;
}

/** The kit engine's policy for a scenario: its set-up's, restricted to version 2 in the version 2 mode. */
export function kitPolicyFor(setup: XmppScenarioSetup, options: Pick<XmppScenarioOptions, 'version'>): string {
  if (options.version !== 2) return setup.kitPolicy;
  return setup.kitPolicy
    .split(',')
    .map((w) => (w === 'manual' || w === 'default' ? 'v2' : w))
    .filter((w) => w !== 'v3')
    .join(',');
}

/** What a scenario's body gets. */
export interface XmppScenarioContext {
  /** The kit's OTR engine (our engine, in-process). */
  readonly kit: Party;
  readonly exchange: XmppExchange;
  readonly options: XmppScenarioOptions;
  /** The kit engine's instance tag. */
  readonly kitInstanceTag: number;
  /** The wire of the run's earlier scenarios (the implementation keeps its state between them). */
  readonly earlierLog: readonly WireRecord[];
  note(text: string): void;
}

/** How the kit's engine is set up for one scenario. */
export interface XmppScenarioSetup {
  /** The kit engine's policy (line-protocol words). */
  readonly kitPolicy: string;
  /** The kit engine's longest wire message; 0 = no fragmentation. */
  readonly fragmentSize?: number;
}

interface XmppScenarioBase {
  /** The id of the line-protocol scenario it corresponds to. */
  readonly id: string;
  readonly title: string;
  /** What it checks over XMPP, and what the echo contract cannot prove. */
  readonly description: string;
}

/** A scenario the kit runs over XMPP. */
export interface XmppRunnableScenario extends XmppScenarioBase {
  readonly kind: 'runs';
  readonly setup: XmppScenarioSetup;
  /** Set when the scenario needs the implementation's SMP secret. */
  readonly needsSmpSecret?: true;
  run(context: XmppScenarioContext): Promise<void>;
}

/** A scenario that cannot be run over XMPP, and why. */
export interface XmppNotApplicableScenario extends XmppScenarioBase {
  readonly kind: 'not-applicable';
  readonly reason: string;
}

export type XmppScenario = XmppRunnableScenario | XmppNotApplicableScenario;

/** Why `scenario` cannot run with `options`, or undefined when it can. */
export function notApplicableReason(scenario: XmppScenario, options: Pick<XmppScenarioOptions, 'smpSecret' | 'version'>): string | undefined {
  if (scenario.kind === 'not-applicable') return scenario.reason;
  if (options.version === 2 && scenario.id === 'version.v2.reference') return 'in the version 2 mode every scenario runs in version 2 (start.query.reference is this one)';
  if (scenario.needsSmpSecret === true && options.smpSecret === undefined) {
    return 'needs the secret the implementation answers SMP with on its own (--smp-secret); an implementation whose user must type the answer cannot be driven by the echo contract';
  }
  return undefined;
}

/** `label` with a random token, so that no other message of the run contains the result. */
function unique(label: string): string {
  return `${label} [${randomUUID().slice(0, 13)}]`;
}

/** Waits until the kit's engine is encrypted, then checks the version and the key it authenticated. */
async function waitSecure(context: XmppScenarioContext, version: number): Promise<void> {
  const status = await context.exchange.waitFor(async () => {
    const s = await context.kit.status();
    return s.msgstate === 'encrypted' ? s : undefined;
  }, context.options.answerTimeoutMs);
  check(
    status !== undefined,
    `no OTR session within ${context.options.answerTimeoutMs} ms (the implementation sent ${context.exchange.sentBy('iut').length} messages${context.exchange.errors.length > 0 ? `; ${context.exchange.errors.join('; ')}` : ''})`,
  );
  check(status.protocol_version === version, `the session is version ${status.protocol_version}, expected ${version}`);
  const expected = context.options.iutFingerprint?.toLowerCase();
  if (expected !== undefined) check(status.their_fingerprint === expected, `the implementation authenticated with key ${String(status.their_fingerprint)}, expected ${expected}`);
  context.note(`encrypted, version ${version}, ssid ${String(status.ssid)}, the implementation's fingerprint ${String(status.their_fingerprint)}`);
}

/** The version the sessions of this run must reach. */
function expectedVersion(context: XmppScenarioContext): 2 | 3 {
  return context.options.version ?? 3;
}

/** Whether `text` is an OTR fragment of the run's version (v3 `?OTR|`, v2 `?OTR,`). */
function isFragment(context: XmppScenarioContext, text: string): boolean {
  return text.startsWith(expectedVersion(context) === 3 ? '?OTR|' : '?OTR,');
}

/** The kit sends a Query Message; the AKE must complete in `version`. */
async function startedByKit(context: XmppScenarioContext, version: number = expectedVersion(context)): Promise<void> {
  await context.exchange.transmit((await context.kit.startAke()).wire);
  await waitSecure(context, version);
}

/** Sends `text` (already sent when `sent` is given) and waits for its echo: returns the echoed plaintext. */
async function waitEcho(context: XmppScenarioContext, text: string, since: number, what: string): Promise<string> {
  const shown = await context.exchange.waitFor(() => context.kit.shown.slice(since).find((s) => s.text.includes(text)), context.options.answerTimeoutMs);
  check(shown !== undefined, `no echo of ${what} within ${context.options.answerTimeoutMs} ms (the echo contract: the implementation answers what it decrypted)`);
  check(shown.decrypted, `the implementation echoed ${what} in the clear`);
  return shown.text;
}

/** The kit's engine encrypts `text`, the implementation must echo it encrypted. */
async function roundTrip(context: XmppScenarioContext, label: string): Promise<string> {
  const text = unique(label);
  const since = context.kit.shown.length;
  await context.exchange.transmit((await context.kit.send(text)).wire);
  return waitEcho(context, text, since, JSON.stringify(label));
}

/** After the settle time, nothing shown by the kit since `since` may contain `text`. */
async function checkNoEcho(context: XmppScenarioContext, text: string, since: number, what: string): Promise<void> {
  await context.exchange.settle(context.options.settleMs);
  const echoed = context.kit.shown.slice(since).find((s) => s.text.includes(text));
  check(echoed === undefined, `the implementation echoed ${what}: it showed it`);
}

/** One Data Message of the kit's engine, not yet sent. */
async function oneDataMessage(kit: Party, text: string): Promise<string> {
  const out = await kit.send(text);
  check(out.wire.length === 1 && (out.wire[0] ?? '').startsWith('?OTR:'), "the kit's engine did not produce one Data Message");
  return out.wire[0] as string;
}

/** The implementation's instance tag, from its first v3 message on the wire. */
function iutInstanceTag(exchange: XmppExchange): number {
  for (const text of exchange.sentBy('iut')) {
    if (!text.startsWith('?OTR:')) continue;
    try {
      const m = decodeOtrMessage(text);
      if (m.version === 3) return m.senderInstanceTag;
    } catch {
      // not one of ours to read
    }
  }
  return 0;
}

/** The last SMP outcome the kit's engine reported since event index `from`, waiting for one. */
async function smpOutcome(context: XmppScenarioContext, from: number): Promise<string | undefined> {
  return context.exchange.waitFor(
    () => context.kit.smpEventsSince(from).filter((e) => e === 'success' || e === 'failure' || e === 'abort' || e === 'cheated' || e === 'error').at(-1),
    context.options.answerTimeoutMs,
  );
}

/** The kit asks SMP with `secret` (and `question`); returns the kit's outcome. */
async function kitAsksSmp(context: XmppScenarioContext, secret: string, question?: string): Promise<string | undefined> {
  const from = context.kit.events.length;
  await context.exchange.transmit((await context.kit.smpStart(secret, question)).wire);
  return smpOutcome(context, from);
}

/** The secret (the runner only runs SMP scenarios when it is set). */
function smpSecret(context: XmppScenarioContext): string {
  const secret = context.options.smpSecret;
  if (secret === undefined) throw new TypeError('an SMP scenario ran without --smp-secret');
  return secret;
}

const DEFAULT = 'default';
const MANUAL = 'manual';

const CANNOT_COMMAND = 'over XMPP the kit cannot make the implementation act: the echo contract only answers messages';

export const XMPP_SCENARIOS: readonly XmppScenario[] = [
  {
    kind: 'runs',
    id: 'start.query.reference',
    title: 'Query Message from the kit starts a v3 AKE',
    description:
      "The kit sends ?OTRv23? (?OTRv2? in the version 2 mode); the implementation must complete the AKE in version 3 (or 2) (the kit's engine authenticates its key, and with --iut-fingerprint that it is that key) and then echo an encrypted message encrypted, which shows that it holds the same session keys.",
    setup: { kitPolicy: MANUAL },
    async run(context) {
      await startedByKit(context);
      await roundTrip(context, 'hello over XMPP');
    },
  },
  {
    kind: 'not-applicable',
    id: 'start.query.iut',
    title: 'Query Message from the implementation starts a v3 AKE',
    description: 'The implementation is asked to start the AKE.',
    reason: `${CANNOT_COMMAND}, so it cannot be asked to send a Query Message.`,
  },
  {
    kind: 'runs',
    id: 'start.whitespace.reference',
    title: "The kit's whitespace tag makes the implementation start",
    description:
      'The kit (SEND_WHITESPACE_TAG) sends a tagged plaintext; an implementation with WHITESPACE_START_AKE (libotr\'s default policy) must start the AKE from it, in version 3, and echo encrypted afterwards. Whether it showed the text without the tag is not visible over XMPP.',
    setup: { kitPolicy: 'v2,v3,whitespace' },
    async run(context) {
      const out = await context.kit.send(unique('hello, do you speak OTR?'));
      check(out.wire.length === 1 && (out.wire[0] ?? '').includes(' \t  \t\t\t\t \t \t \t  '), "the kit's engine did not send a tagged plaintext");
      await context.exchange.transmit(out.wire);
      await waitSecure(context, expectedVersion(context));
      await roundTrip(context, 'after the whitespace tag');
    },
  },
  {
    kind: 'not-applicable',
    id: 'start.whitespace.iut',
    title: "The implementation's whitespace tag makes the reference start",
    description: 'The implementation sends a tagged plaintext first.',
    reason: `${CANNOT_COMMAND}, so it cannot be made to send the first plaintext.`,
  },
  {
    kind: 'runs',
    id: 'version.v2.reference',
    title: 'A v2-only kit gets a version 2 AKE',
    description: 'The kit allows only version 2 (?OTRv2?): the implementation must negotiate version 2 (every OTR message it sends is a v2 message, without instance tags) and echo encrypted both ways.',
    setup: { kitPolicy: 'v2' },
    async run(context) {
      await startedByKit(context, 2);
      await roundTrip(context, 'v2 one');
      await roundTrip(context, 'v2 two');
      const versions = context.exchange.sentBy('iut').flatMap((t) => {
        if (!t.startsWith('?OTR:')) return [];
        try {
          return [decodeOtrMessage(t).version];
        } catch {
          return [-1];
        }
      });
      check(versions.length > 0 && versions.every((v) => v === 2), `the implementation sent OTR messages of versions ${[...new Set(versions)].join(', ')}`);
    },
  },
  {
    kind: 'not-applicable',
    id: 'version.v2.iut',
    title: 'A v2-only reference gets a version 2 AKE (implementation starts)',
    description: 'The implementation starts the AKE against a v2-only peer.',
    reason: `${CANNOT_COMMAND}, so it cannot be asked to start.`,
  },
  {
    kind: 'runs',
    id: 'data.fragmentation',
    title: 'A long message in fragments is reassembled, and its echo arrives intact',
    description:
      "The kit sends a 3000-character message as v3 fragments of at most 300 characters (?OTR|); the implementation must reassemble it and echo it, so the kit receives the whole text back (fragmented or not: the implementation's own fragment size is its configuration, not visible to the kit).",
    setup: { kitPolicy: MANUAL, fragmentSize: 300 },
    async run(context) {
      await startedByKit(context);
      const long = `${unique('long')} ${Array.from({ length: 3000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('')}`;
      const out = await context.kit.send(long);
      check(out.wire.length > 1 && out.wire.every((w) => isFragment(context, w) && w.length <= 300), `the kit's engine sent ${out.wire.length} pieces, not fragments`);
      const since = context.kit.shown.length;
      const before = context.exchange.sentBy('iut').length;
      await context.exchange.transmit(out.wire);
      await waitEcho(context, long, since, `a ${long.length}-character message sent in ${out.wire.length} fragments`);
      const pieces = context.exchange.sentBy('iut').slice(before).filter((t) => t.startsWith('?OTR|') || t.startsWith('?OTR,')).length;
      context.note(`sent in ${out.wire.length} fragments; the echo came ${pieces > 0 ? `in ${pieces} fragments` : 'unfragmented'}`);
    },
  },
  {
    kind: 'runs',
    id: 'data.key-rotation',
    title: 'Keys rotate over 100 alternating messages',
    description:
      "50 messages from the kit, each answered by the implementation's echo: every change of direction lets the sender advance its key id (spec, \"Exchanging data\"), so the implementation's sender key id must advance at least 40 times, and every echo must decrypt.",
    setup: { kitPolicy: MANUAL },
    async run(context) {
      await startedByKit(context);
      for (let i = 0; i < 50; i++) await roundTrip(context, `ping ${i}`);
      const ids = context.exchange
        .sentBy('iut')
        .map(readDataMessage)
        .flatMap((m) => (m === undefined ? [] : [m.data.senderKeyId]));
      const advances = ids.filter((id, i) => i > 0 && id > (ids[i - 1] as number)).length;
      context.note(`implementation sender key ids ${ids[0]} .. ${ids.at(-1)}, ${advances} advances`);
      check(advances >= 40, `the implementation's key id advanced only ${advances} times in 100 alternating messages`);
    },
  },
  {
    kind: 'runs',
    id: 'data.mac-keys-revealed',
    title: 'Revealed MAC keys authenticate earlier messages',
    description:
      'Over 10 messages and their echoes, the implementation must publish the MAC keys it no longer uses (spec, "Revealing MAC keys"), and each must verify the authenticator of a message sent earlier on this wire (at least some of them messages it received).',
    setup: { kitPolicy: MANUAL },
    async run(context) {
      await startedByKit(context);
      for (let i = 0; i < 10; i++) await roundTrip(context, `message ${i}`);
      const evidence = checkRevealedMacKeys(context.exchange.log, 'iut');
      context.note(
        `${evidence.messages} data messages, ${evidence.revealed} MAC keys revealed by the implementation, ${evidence.verified} verify earlier messages (${evidence.verifiedReceived} of them messages it received)`,
      );
      check(evidence.revealed > 0, 'the implementation revealed no MAC keys in 20 alternating messages');
      check(evidence.verifiedReceived > 0, 'none of the revealed MAC keys is a receiving key (spec: the keys "actually used to verify a message")');
      let unverified = evidence.unverified;
      if (unverified.length > 0) {
        // The implementation lives on between scenarios: a key may belong to a session of an earlier one.
        const earlier = context.earlierLog.map((r) => ({ from: `earlier ${r.from}`, text: r.text }));
        const overRun = checkRevealedMacKeys<string>([...earlier, ...context.exchange.log], 'iut');
        const late = unverified.filter((k) => !overRun.unverified.includes(k));
        unverified = unverified.filter((k) => overRun.unverified.includes(k));
        if (late.length > 0) context.note(`${late.length} revealed MAC keys authenticate messages of an earlier session of this run (revealed after a new AKE): ${late.join(', ')}`);
      }
      check(unverified.length === 0, `revealed MAC keys that authenticate nothing sent earlier: ${unverified.join(', ')}`);
    },
  },
  {
    kind: 'not-applicable',
    id: 'data.extra-symmetric-key',
    title: 'Extra symmetric key (TLV 8) is the same on both sides',
    description: 'Both sides derive the extra symmetric key.',
    reason: 'the key the implementation derives never goes on the wire, and the echo contract has no way to ask it to use one.',
  },
  {
    kind: 'not-applicable',
    id: 'session.disconnect.iut',
    title: "The implementation's Disconnected TLV ends the session",
    description: 'The implementation ends the session.',
    reason: `${CANNOT_COMMAND}, so it cannot be asked to end the session.`,
  },
  {
    kind: 'not-applicable',
    id: 'session.disconnect.reference',
    title: "The kit's Disconnected TLV finishes the implementation's session",
    description: 'The implementation goes to FINISHED when the peer sends the Disconnected TLV.',
    reason:
      'its message state is not on the wire: a FINISHED implementation and one that ignored the TLV both stay silent to a plaintext, and a Data Message the kit held back from before the TLV is refused by both (its counter is lower).',
  },
  {
    kind: 'runs',
    id: 'smp.same-secret',
    title: 'SMP with the same secret succeeds',
    description:
      "The kit asks SMP with the secret the implementation is configured to answer with (--smp-secret): the kit's engine must report success, which needs the implementation's SMP messages 2 and 4 with valid proofs and the secret combined with both fingerprints and the session id as the spec says. (The roles are swapped from the line-protocol scenario: the implementation cannot be asked to start.) Data still flows.",
    setup: { kitPolicy: MANUAL },
    needsSmpSecret: true,
    async run(context) {
      await startedByKit(context);
      const outcome = await kitAsksSmp(context, smpSecret(context));
      check(outcome === 'success', `the kit reported ${String(outcome)}, expected success`);
      await roundTrip(context, 'after SMP');
    },
  },
  {
    kind: 'runs',
    id: 'smp.different-secret',
    title: 'SMP with a different secret fails',
    description: "The kit asks SMP with a secret other than the implementation's: the kit must report failure (not success, not an abort), from the implementation's valid SMP message 4. Data still flows.",
    setup: { kitPolicy: MANUAL },
    needsSmpSecret: true,
    async run(context) {
      await startedByKit(context);
      const outcome = await kitAsksSmp(context, `${smpSecret(context)} (not it)`);
      check(outcome === 'failure', `the kit reported ${String(outcome)}, expected failure`);
      await roundTrip(context, 'after a failed SMP');
    },
  },
  {
    kind: 'runs',
    id: 'smp.question',
    title: 'SMP with a question (TLV 7)',
    description: "The kit asks SMP with a question (TLV 7) and the implementation's secret: the implementation must accept the question form and answer, and the kit must report success. Whether it showed the question is not visible over XMPP.",
    setup: { kitPolicy: MANUAL },
    needsSmpSecret: true,
    async run(context) {
      await startedByKit(context);
      const outcome = await kitAsksSmp(context, smpSecret(context), 'Where did we meet? (café)');
      check(outcome === 'success', `the kit reported ${String(outcome)}, expected success`);
    },
  },
  {
    kind: 'runs',
    id: 'smp.abort-and-restart',
    title: 'SMP aborted mid-way, then a new run succeeds',
    description:
      "The kit asks SMP, holds back the implementation's SMP message 2 and aborts instead (TLV 6), while the implementation awaits message 3: it must return to its initial SMP state, so that the kit's next SMP request succeeds; data still flows.",
    setup: { kitPolicy: MANUAL },
    needsSmpSecret: true,
    async run(context) {
      await startedByKit(context);
      const exchange = context.exchange;
      exchange.hold();
      const heldBefore = exchange.held.length;
      await exchange.transmit((await context.kit.smpStart(smpSecret(context))).wire);
      const answered = await exchange.waitFor(() => (exchange.held.length > heldBefore ? true : undefined), context.options.answerTimeoutMs);
      check(answered === true, 'the implementation did not answer SMP message 1');
      exchange.release();
      await exchange.transmit((await context.kit.smpAbort()).wire);
      context.note(`held back ${exchange.held.length - heldBefore} message(s) of the implementation (its SMP message 2), then aborted`);
      await exchange.settle(context.options.settleMs);
      const outcome = await kitAsksSmp(context, smpSecret(context));
      check(outcome === 'success', `after the abort the kit reported ${String(outcome)}, expected success`);
      await roundTrip(context, 'after SMP');
    },
  },
  {
    kind: 'runs',
    id: 'hostile.bad-mac',
    title: 'A Data Message with a bad MAC is rejected; the session survives',
    description: 'The kit flips one bit of the authenticator of a genuine Data Message: the implementation must not echo it within the settle time; the untampered message must then be echoed, and the session keep working.',
    setup: { kitPolicy: MANUAL },
    async run(context) {
      await startedByKit(context);
      const text = unique('authentic');
      const genuine = await oneDataMessage(context.kit, text);
      const since = context.kit.shown.length;
      await context.exchange.inject(withFlippedMac(genuine), 'a Data Message with a flipped MAC bit');
      await checkNoEcho(context, text, since, 'a Data Message with a flipped MAC bit');
      await context.exchange.inject(genuine, 'the untampered original');
      await waitEcho(context, text, since, 'the untampered original after the forgery');
      await roundTrip(context, 'after a bad MAC');
    },
  },
  {
    kind: 'runs',
    id: 'hostile.replayed-counter',
    title: 'A replayed Data Message (same counter) is rejected',
    description: 'The kit delivers a genuine Data Message twice: the counter must increase monotonically (spec, "Data Message"), so the second copy must not be echoed; the session keeps working.',
    setup: { kitPolicy: MANUAL },
    async run(context) {
      await startedByKit(context);
      const text = unique('only once');
      const genuine = await oneDataMessage(context.kit, text);
      const since = context.kit.shown.length;
      await context.exchange.inject(genuine, 'the genuine message');
      await waitEcho(context, text, since, 'the genuine message');
      await context.exchange.settle(context.options.settleMs);
      const afterFirst = context.kit.shown.length;
      await context.exchange.inject(genuine, 'the same Data Message replayed');
      await checkNoEcho(context, text, afterFirst, 'the replayed Data Message');
      await roundTrip(context, 'after a replay');
    },
  },
  {
    kind: 'runs',
    id: 'hostile.truncated-fragment',
    title: 'A truncated fragment does not produce a message; the session survives',
    description: 'The kit sends a long message in v3 fragments with the middle piece cut short: nothing may be echoed; the genuine fragments then reassemble and are echoed.',
    setup: { kitPolicy: MANUAL, fragmentSize: 200 },
    async run(context) {
      await startedByKit(context);
      const long = `${unique('fragmented')} ${'fragmented '.repeat(60)}`;
      const pieces = (await context.kit.send(long)).wire;
      check(pieces.length >= 3, `the kit's engine sent ${pieces.length} pieces`);
      const middle = Math.floor(pieces.length / 2);
      const since = context.kit.shown.length;
      for (const [i, piece] of pieces.entries()) {
        await context.exchange.inject(i === middle ? `${piece.slice(0, piece.length - 21)},` : piece, i === middle ? 'a fragment cut short' : 'fragment');
      }
      await checkNoEcho(context, long, since, 'a message reassembled from a truncated fragment');
      for (const piece of pieces) await context.exchange.inject(piece, 'genuine fragment');
      await waitEcho(context, long, since, 'the genuine fragments after the truncated stream');
      await roundTrip(context, 'after a truncated fragment');
    },
  },
  {
    kind: 'runs',
    id: 'hostile.oversized-fragment',
    title: 'Oversized and inconsistent fragments are dropped; the session survives',
    description:
      "The kit sends fragments addressed to the implementation that claim 65535 pieces with a 64 KiB piece (four times; XMPP servers limit stanzas, Prosody to 256 KiB), one with k > n and one with k = n = 0: nothing may be echoed, and the implementation must still echo the next genuine message.",
    setup: { kitPolicy: MANUAL },
    async run(context) {
      await startedByKit(context);
      const tag = (n: number): string => n.toString(16).padStart(8, '0');
      const v3 = expectedVersion(context) === 3;
      const route = v3 ? `?OTR|${tag(context.kitInstanceTag)}|${tag(iutInstanceTag(context.exchange))},` : '?OTR,';
      const kn = (k: number, n: number): string => (v3 ? `${String(k).padStart(5, '0')},${String(n).padStart(5, '0')}` : `${k},${n}`);
      const since = context.kit.shown.length;
      const filler = `F${bytesToHex(new TextEncoder().encode(unique('x').slice(-8)))}`;
      for (let i = 0; i < 4; i++) await context.exchange.inject(`${route}${kn(1, 65535)},${filler}${'A'.repeat(64 * 1024)},`, 'a 64 KiB fragment claiming 65535 pieces');
      await context.exchange.inject(`${route}${kn(9, 2)},${filler}AAAA,`, 'a fragment with k > n');
      await context.exchange.inject(`${route}${kn(0, 0)},${filler}AAAA,`, 'a fragment with k = n = 0');
      await checkNoEcho(context, filler, since, 'a piece of a hostile fragment');
      await roundTrip(context, 'after oversized fragments');
    },
  },
  {
    kind: 'runs',
    id: 'hostile.dh-key-out-of-range',
    title: 'A D-H Key with g^y outside [2, p-2] is refused',
    description:
      'The kit sends a Query Message and holds back the D-H Commit that answers it. It sends D-H Keys with g^y = 1, p-1 and p: the implementation must answer none of them with a Reveal Signature (spec, "Authenticated Key Exchange": verify that 2 <= g^y <= p-2). The kit then delivers the Commit to its engine, whose genuine D-H Key must complete the AKE.',
    setup: { kitPolicy: MANUAL },
    async run(context) {
      const exchange = context.exchange;
      exchange.hold();
      await exchange.transmit((await context.kit.startAke()).wire);
      const commit = await exchange.waitFor(() => {
        for (const text of exchange.held) {
          try {
            const m = decodeOtrMessage(text);
            if (m.type === OTR_MESSAGE_TYPE.dhCommit) return { text, header: m };
          } catch {
            // not an OTR message
          }
        }
        return undefined;
      }, context.options.answerTimeoutMs);
      check(commit !== undefined, 'the implementation did not answer the Query Message with a D-H Commit');
      const version = expectedVersion(context);
      check(commit.header.version === version, `the implementation sent a version ${commit.header.version} D-H Commit, expected ${version}`);
      for (const [name, gy] of [
        ['1', 1n],
        ['p-1', MODP_1536_PRIME - 1n],
        ['p', MODP_1536_PRIME],
      ] as const) {
        const before = exchange.held.length;
        const forged = version === 3 ? forgeDhKey(3, context.kitInstanceTag, commit.header.senderInstanceTag, gy) : forgeDhKey(2, 0, 0, gy);
        await exchange.inject(forged, `a D-H Key with g^y = ${name}`);
        await exchange.settle(context.options.settleMs);
        const revealed = exchange.held.slice(before).some((w) => {
          try {
            return decodeOtrMessage(w).type === OTR_MESSAGE_TYPE.revealSignature;
          } catch {
            return false;
          }
        });
        check(!revealed, `the implementation answered a D-H Key with g^y = ${name} with a Reveal Signature`);
      }
      exchange.release();
      await exchange.deliver(commit.text, "the implementation's D-H Commit, held back until now");
      await waitSecure(context, version);
      await roundTrip(context, 'after the forged D-H Keys');
    },
  },
];
