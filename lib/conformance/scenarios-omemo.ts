/**
 * The OMEMO conformance scenarios, each for OMEMO 0.3 (`eu.siacs.conversations.axolotl`,
 * XEP-0384 version 0.3.0) and omemo:2 (`urn:xmpp:omemo:2`, XEP-0384 version 0.8+): first
 * messages with the key exchange in both directions, out-of-order delivery, multi-device
 * fan-out, a bad MAC and a bad payload tag, and a replayed message. docs/CONFORMANCE.md lists them.
 */
import type { LineOmemoVersion } from './line-protocol-omemo.js';
import { check } from './scenario.js';
import {
  checkAutomatic, checkText, establish, flipBit, flipMacBit, single, tamper, wireKeys,
  type OmemoScenario, type OmemoScenarioContext,
} from './scenario-omemo.js';
import type { OmemoParty } from './party-omemo.js';

function tag(version: LineOmemoVersion): string {
  return version === '0.3' ? 'v03' : 'v2';
}

function name(version: LineOmemoVersion): string {
  return version === '0.3' ? 'OMEMO 0.3' : 'omemo:2';
}

function who(context: OmemoScenarioContext, party: OmemoParty): string {
  return party === context.iut ? 'the implementation' : 'the reference';
}

/** The keys of `xml` for `party`'s devices (omemo:2: under its `<keys jid>`). */
function keysFor(xml: string, party: OmemoParty): ReturnType<typeof wireKeys> {
  return wireKeys(xml).filter((k) => party.deviceIds.includes(k.rid) && (k.jid === undefined || k.jid === party.jid));
}

/** First message from `first` (with the key exchange), the automatic answer, a reply, a second message. */
async function keyExchange(context: OmemoScenarioContext, first: OmemoParty): Promise<void> {
  const { exchange } = context;
  const second = exchange.other(first);
  await exchange.introduce();
  const m1 = await exchange.encrypt(first, 'first message, with the key exchange');
  const k1 = keysFor(m1, second);
  check(k1.length === 1, `${who(context, first)}'s first message has ${k1.length} keys for the other side's one device`);
  check(k1[0]?.keyExchange === true, `${who(context, first)}'s first message does not carry the key exchange (prekey/kex attribute)`);
  const auto = exchange.automatic;
  checkText((await exchange.deliver(second, m1)).results, 'first message, with the key exchange', who(context, second));
  context.note(`key exchange from ${who(context, first)} accepted; ${exchange.automatic - auto} empty message(s) sent on its own`);
  const reply = await exchange.encrypt(second, 'the reply');
  check(keysFor(reply, first)[0]?.keyExchange === false, `${who(context, second)} answered with a new key exchange instead of using the session it got`);
  checkText((await exchange.deliver(first, reply)).results, 'the reply', who(context, first));
  const m2 = await exchange.encrypt(first, 'second message');
  check(keysFor(m2, second)[0]?.keyExchange === false, `${who(context, first)} still attaches the key exchange after the session was answered`);
  checkText((await exchange.deliver(second, m2)).results, 'second message', who(context, second));
  checkAutomatic(context);
}

function forVersion(version: LineOmemoVersion): OmemoScenario[] {
  const v = tag(version);
  const n = name(version);
  return [
    {
      family: 'omemo',
      id: `omemo.${v}.key-exchange.iut-first`,
      title: `${n}: the implementation starts (key exchange), reply, second message`,
      description:
        'The implementation fetches the reference\'s bundle and encrypts a first message: it must carry the key exchange (XEP-0384 4.4, X3DH with a one-time prekey) and decrypt at the reference; ' +
        'the reference\'s reply and the implementation\'s second message must use the session without a new key exchange.',
      setup: { version },
      run: (context) => keyExchange(context, context.iut),
    },
    {
      family: 'omemo',
      id: `omemo.${v}.key-exchange.reference-first`,
      title: `${n}: the reference starts (key exchange), the implementation replies`,
      description:
        'The reference builds the session from the implementation\'s published bundle: the implementation must accept the key exchange (its own signed prekey and one-time prekey), ' +
        'answer on that session without a key exchange of its own, and decrypt the reference\'s next message.',
      setup: { version },
      run: (context) => keyExchange(context, context.reference),
    },
    {
      family: 'omemo',
      id: `omemo.${v}.out-of-order`,
      title: `${n}: a batch of messages delivered out of order`,
      description:
        'With sessions both ways, the reference sends six messages and the kit delivers them in the order 4, 1, 6, 2, 5, 3: ' +
        'the implementation must decrypt every one with its skipped message keys (Double Ratchet section 3.5), then still answer.',
      setup: { version },
      async run(context) {
        const { exchange, iut, reference } = context;
        await establish(context);
        const texts = [1, 2, 3, 4, 5, 6].map((i) => `batch message ${i}`);
        const sent: string[] = [];
        for (const t of texts) sent.push(await exchange.encrypt(reference, t));
        const order = [3, 0, 5, 1, 4, 2];
        for (const i of order) checkText((await exchange.deliver(iut, sent[i] as string)).results, texts[i] as string, 'the implementation');
        context.note(`delivered in the order ${order.map((i) => i + 1).join(', ')}: all decrypted`);
        checkText(await exchange.transmit(iut, 'after the batch'), 'after the batch', 'the reference');
        checkAutomatic(context);
      },
    },
    {
      family: 'omemo',
      id: `omemo.${v}.fan-out`,
      title: `${n}: one message to a contact with three devices`,
      description:
        'The reference JID has three devices in its device list (XEP-0384 4.2): the implementation\'s one message must carry a key (with the key exchange) for each of them, ' +
        'every one of them decrypts it, and each device\'s reply decrypts at the implementation.',
      setup: { version, referenceDevices: 3 },
      async run(context) {
        const { exchange, iut, reference } = context;
        await exchange.introduce();
        const text = 'one message for every device';
        const xml = await exchange.encrypt(iut, text);
        const keys = keysFor(xml, reference);
        const missing = reference.deviceIds.filter((id) => !keys.some((k) => k.rid === id));
        check(missing.length === 0, `the message has no key for device(s) ${missing.join(', ')} of the reference`);
        check(keys.every((k) => k.keyExchange), 'a first message to a device lacks the key exchange');
        const results = (await exchange.deliver(reference, xml)).results;
        check(results.length === 3, `${results.length} of the reference's 3 devices found a key for them`);
        for (const r of results) {
          check(r.error === null, `reference device ${r.device_id} rejected it: ${String(r.error)}`);
          check(r.plaintext === text, `reference device ${r.device_id} decrypted ${JSON.stringify(r.plaintext)}`);
        }
        context.note(`keys for devices ${keys.map((k) => k.rid).join(', ')}: all three decrypted`);
        for (const id of reference.deviceIds) {
          checkText(await exchange.transmit(reference, `reply from device ${id}`, id), `reply from device ${id}`, 'the implementation');
        }
        checkAutomatic(context);
      },
    },
    {
      family: 'omemo',
      id: `omemo.${v}.bad-mac`,
      title: `${n}: a flipped MAC bit and a flipped payload bit are rejected, the session survives`,
      description:
        'With sessions both ways, the kit flips one bit of the ratchet message\'s MAC in the implementation\'s <key> (0.3: the truncated HMAC; omemo:2: the OMEMOAuthenticatedMessage mac) ' +
        'and, separately, one bit of the <payload> (0.3: the AES-GCM tag check; omemo:2: the payload HMAC): both must be rejected, and the genuine message must then decrypt.',
      setup: { version },
      async run(context) {
        const { exchange, iut, reference } = context;
        await establish(context);
        const text = 'the genuine message';
        const xml = await exchange.encrypt(reference, text);
        const [target] = iut.deviceIds;
        check(target !== undefined, 'the implementation has no device');
        check(keysFor(xml, iut)[0]?.keyExchange === false, 'the reference still sent a key exchange (precondition)');
        const badMac = tamper(xml, target, (b) => flipMacBit(version, b));
        const r1 = single((await exchange.deliver(iut, badMac, 'one bit of the MAC flipped')).results, 'the implementation');
        check(r1.error !== null && r1.plaintext === null, `the implementation accepted a message with a bad MAC (showed ${JSON.stringify(r1.plaintext)})`);
        context.note(`bad MAC rejected: ${r1.error}`);
        const badPayload = tamper(xml, 'payload', (b) => flipBit(b, -1));
        const r2 = single((await exchange.deliver(iut, badPayload, 'one bit of the payload flipped')).results, 'the implementation');
        check(r2.error !== null && r2.plaintext === null, `the implementation accepted a payload that fails authentication (showed ${JSON.stringify(r2.plaintext)})`);
        context.note(`bad payload rejected: ${r2.error}`);
        checkText((await exchange.deliver(iut, xml)).results, text, 'the implementation (the genuine message after the tampered ones)');
        checkText(await exchange.transmit(iut, 'still talking'), 'still talking', 'the reference');
        checkAutomatic(context);
      },
    },
    {
      family: 'omemo',
      id: `omemo.${v}.replay`,
      title: `${n}: a replayed message is rejected, the session survives`,
      description:
        'With sessions both ways, the kit delivers a message the implementation already decrypted (no key exchange in it) a second time: ' +
        'its message key is used up (Double Ratchet section 3.5: skipped keys are deleted once used), so it must not be shown again; the next genuine message must decrypt.',
      setup: { version },
      async run(context) {
        const { exchange, iut, reference } = context;
        await establish(context);
        const xml = await exchange.encrypt(reference, 'said once');
        check(keysFor(xml, iut)[0]?.keyExchange === false, 'the reference still sent a key exchange (precondition)');
        checkText((await exchange.deliver(iut, xml)).results, 'said once', 'the implementation');
        const again = single((await exchange.deliver(iut, xml, 'the same message again')).results, 'the implementation');
        check(again.plaintext === null, 'the implementation decrypted a replayed message again');
        context.note(`replay rejected: ${String(again.error)}`);
        checkText(await exchange.transmit(reference, 'said after the replay'), 'said after the replay', 'the implementation');
        checkText(await exchange.transmit(iut, 'answer after the replay'), 'answer after the replay', 'the reference');
        checkAutomatic(context);
      },
    },
  ];
}

/** Every OMEMO conformance scenario, 0.3 first. */
export const OMEMO_SCENARIOS: readonly OmemoScenario[] = [...forVersion('0.3'), ...forVersion('2')];
