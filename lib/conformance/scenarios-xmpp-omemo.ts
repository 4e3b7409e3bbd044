/**
 * The OMEMO scenarios over XMPP (`conformance --xmpp --family omemo`), for XEP-0384 0.3.0
 * (`eu.siacs.conversations.axolotl`) and omemo:2 (`urn:xmpp:omemo:2`). The implementation under
 * test is an XMPP client or bot that follows the echo contract: it answers every OMEMO message
 * it decrypted with an OMEMO message of the same version containing the decrypted text (e.g.
 * "echo: <text>"). An echo the kit's plugin decrypts proves the implementation decrypted the
 * text; no echo within the settle time is how "rejected" is seen. Each text carries a random
 * token, so an echo is matched to the message it answers. What the echo contract cannot prove
 * is listed as not applicable, with the reason.
 */
import { randomBytes } from 'node:crypto';
import type { OmemoVersion } from '../../omemo/fingerprint.js';
import type { OmemoMessageEvent } from '../xmpp/omemo-events.js';
import { tamperPayload, type KitMessage, type XmppOmemoWire } from './party-xmpp-omemo.js';
import { ScenarioFailure, check } from './scenario.js';

/** Timings of a run. */
export interface XmppOmemoScenarioOptions {
  /** Silence after which "no echo" counts as "not shown" (ms). */
  readonly settleMs: number;
  /** How long to wait for an echo that must come (ms). */
  readonly answerTimeoutMs: number;
}

/** What a scenario gets. */
export interface XmppOmemoScenarioContext {
  readonly wire: XmppOmemoWire;
  readonly options: XmppOmemoScenarioOptions;
  readonly note: (text: string) => void;
}

interface ScenarioBase {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly version: OmemoVersion;
}

/** A scenario that runs over XMPP. */
export interface XmppOmemoRunnableScenario extends ScenarioBase {
  readonly kind: 'runs';
  run(context: XmppOmemoScenarioContext): Promise<void>;
}

/** A scenario the echo contract cannot decide, with the reason. */
export interface XmppOmemoNotApplicableScenario extends ScenarioBase {
  readonly kind: 'not-applicable';
  readonly reason: string;
}

export type XmppOmemoScenario = XmppOmemoRunnableScenario | XmppOmemoNotApplicableScenario;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function token(label: string): string {
  return `${label} ${randomBytes(6).toString('hex')}`;
}

function echoesOf(wire: XmppOmemoWire, text: string): OmemoMessageEvent[] {
  return wire.echoes.filter((e) => e.text.includes(text));
}

async function waitForEcho(context: XmppOmemoScenarioContext, text: string, version: OmemoVersion, what: string): Promise<OmemoMessageEvent> {
  const deadline = performance.now() + context.options.answerTimeoutMs;
  for (;;) {
    const echo = echoesOf(context.wire, text)[0];
    if (echo !== undefined) {
      check(echo.version === version, `the implementation echoed ${what} in OMEMO ${echo.version}, expected ${version}`);
      return echo;
    }
    if (performance.now() > deadline) {
      const errors = context.wire.errors.length === 0 ? '' : ` (kit errors: ${context.wire.errors.slice(-3).join('; ')})`;
      throw new ScenarioFailure(`no echo of ${what} within ${context.options.answerTimeoutMs} ms (the echo contract: the implementation answers what it decrypted)${errors}`);
    }
    await sleep(25);
  }
}

/** Waits until no stanza has come from the peer for `settleMs`. */
async function settle(context: XmppOmemoScenarioContext): Promise<void> {
  const deadline = performance.now() + 30_000;
  let count = context.wire.log.length;
  let since = performance.now();
  while (performance.now() < deadline) {
    await sleep(50);
    if (context.wire.log.length !== count) {
      count = context.wire.log.length;
      since = performance.now();
    } else if (performance.now() - since >= context.options.settleMs) return;
  }
}

async function encrypt(context: XmppOmemoScenarioContext, version: OmemoVersion, text: string): Promise<KitMessage> {
  try {
    return await context.wire.encrypt(version, text);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ScenarioFailure(`the kit cannot encrypt to the implementation in OMEMO ${version}: ${error instanceof Error ? error.message : String(error)}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

/** Encrypts, sends and waits for the echo. */
async function roundTrip(context: XmppOmemoScenarioContext, version: OmemoVersion, label: string): Promise<{ sent: KitMessage; echo: OmemoMessageEvent }> {
  const text = token(label);
  const sent = await encrypt(context, version, text);
  await context.wire.send(context.wire.stanza(sent));
  const echo = await waitForEcho(context, text, version, `"${text}"`);
  return { sent, echo };
}

function describeEcho(echo: OmemoMessageEvent): string {
  return `echo decrypted by the kit from device ${echo.senderDeviceId} (${echo.keyExchange ? 'with' : 'without'} a key exchange): ${JSON.stringify(echo.text)}`;
}

function scenariosFor(version: OmemoVersion): XmppOmemoScenario[] {
  const v = version === '0.3' ? 'v03' : 'v2';
  const name = version === '0.3' ? 'OMEMO 0.3' : 'omemo:2';
  const kexWord = version === '0.3' ? 'a PreKeySignalMessage (prekey="true")' : 'an OMEMOKeyExchange (kex="true")';
  return [
    {
      kind: 'runs',
      version,
      id: `omemo.${v}.key-exchange`,
      title: `${name}: the kit starts a session; the implementation decrypts the key exchange and echoes`,
      description: `The kit (a fresh device) fetches the implementation's ${name} device list and bundle and sends its first message as ${kexWord}; the implementation must build the session from it, decrypt the text and echo it; the kit decrypts the echo and checks the text.`,
      async run(context) {
        const { sent, echo } = await roundTrip(context, version, 'key exchange');
        check(sent.keyExchange, `the kit already had a ${name} session with the implementation: its message carried no key exchange (run the scenario first, with a fresh kit device)`);
        context.note(`encrypted to the implementation's device(s) ${sent.peerDevices.join(', ')} with ${kexWord}`);
        context.note(describeEcho(echo));
      },
    },
    {
      kind: 'runs',
      version,
      id: `omemo.${v}.in-order`,
      title: `${name}: several messages in order are all echoed`,
      description: 'The kit sends three messages one after the other, each after the echo of the previous one; each must be echoed with its text.',
      async run(context) {
        for (let i = 1; i <= 3; i++) {
          const { echo } = await roundTrip(context, version, `in order ${i}/3`);
          context.note(describeEcho(echo));
        }
      },
    },
    {
      kind: 'runs',
      version,
      id: `omemo.${v}.out-of-order`,
      title: `${name}: three messages delivered in reverse order are all echoed (skipped message keys)`,
      description: 'The kit encrypts three messages on its sending chain and sends them last first; the implementation must keep the skipped message keys and decrypt (and echo) all three.',
      async run(context) {
        const texts = [1, 2, 3].map((i) => token(`out of order ${i}/3`));
        const messages: KitMessage[] = [];
        for (const text of texts) messages.push(await encrypt(context, version, text));
        for (const m of [...messages].reverse()) await context.wire.send(context.wire.stanza(m), 'sent in reverse order');
        for (const [i, text] of texts.entries()) {
          const echo = await waitForEcho(context, text, version, `message ${i + 1} of 3 (sent in reverse order)`);
          context.note(describeEcho(echo));
        }
      },
    },
    {
      kind: 'runs',
      version,
      id: `omemo.${v}.bad-mac`,
      title: `${name}: a tampered payload is rejected, and the session survives`,
      description: `The kit flips one byte of the <payload> of an otherwise genuine message (its ${version === '0.3' ? 'AES-GCM tag' : 'HMAC'} no longer matches); the implementation must not echo it; a genuine message sent next must be echoed.`,
      async run(context) {
        const bad = token('tampered');
        const tampered = tamperPayload(await encrypt(context, version, bad));
        await context.wire.send(context.wire.stanza(tampered), 'one byte of <payload> flipped');
        await settle(context);
        check(echoesOf(context.wire, bad).length === 0, 'the implementation echoed the tampered message: it showed a payload that does not authenticate');
        const { echo } = await roundTrip(context, version, 'after tampered');
        context.note('the tampered message was not echoed');
        context.note(describeEcho(echo));
      },
    },
    {
      kind: 'runs',
      version,
      id: `omemo.${v}.replay`,
      title: `${name}: the same stanza sent twice is echoed once`,
      description: 'The kit sends a genuine message and then the identical stanza again (same message id); the implementation must echo it once only.',
      async run(context) {
        const text = token('replayed');
        const m = await encrypt(context, version, text);
        const stanza = context.wire.stanza(m);
        await context.wire.send(stanza);
        await waitForEcho(context, text, version, 'the original message');
        await context.wire.send(stanza, 'the same stanza again');
        await settle(context);
        const count = echoesOf(context.wire, text).length;
        check(count === 1, `the implementation echoed the replayed stanza: ${count} echoes`);
        context.note('one echo for two identical stanzas');
      },
    },
    {
      kind: 'runs',
      version,
      id: `omemo.${v}.replay-new-id`,
      title: `${name}: the same <encrypted> under a new message id is echoed once (the message key is used up)`,
      description: 'As the replay scenario, but the repeated message has a new message id and origin-id, so only the ratchet (the message key already used) can recognise it; it must not be echoed a second time.',
      async run(context) {
        const text = token('replayed, new id');
        const m = await encrypt(context, version, text);
        await context.wire.send(context.wire.stanza(m));
        await waitForEcho(context, text, version, 'the original message');
        await context.wire.send(context.wire.stanza(m), 'the same <encrypted> under a new message id');
        await settle(context);
        const count = echoesOf(context.wire, text).length;
        check(count === 1, `the implementation echoed the replayed message under a new id: ${count} echoes`);
        context.note('one echo for the message and its replay under a new id');
      },
    },
    {
      kind: 'not-applicable',
      version,
      id: `omemo.${v}.iut-starts`,
      title: `${name}: the implementation starts the session`,
      description: 'The implementation fetches the kit\'s bundle and sends the first message.',
      reason: 'over XMPP the kit cannot make the implementation act: the echo contract only answers messages',
    },
    {
      kind: 'not-applicable',
      version,
      id: `omemo.${v}.fan-out`,
      title: `${name}: the implementation encrypts to every device of the kit's account`,
      description: 'Multi-device fan-out: the echo must carry a key for each of the kit\'s devices.',
      reason: 'the kit logs in as one device; whether the implementation encrypts to its user\'s other devices is not visible through one echo',
    },
  ];
}

/** Every OMEMO scenario over XMPP, 0.3 first. */
export const XMPP_OMEMO_SCENARIOS: readonly XmppOmemoScenario[] = [...scenariosFor('0.3'), ...scenariosFor('2')];
