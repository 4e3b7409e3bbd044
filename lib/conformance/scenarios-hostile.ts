/**
 * Hostile-input scenarios: the kit tampers with what the reference sent, or forges a message,
 * and the implementation must reject it and keep the session usable for the next genuine
 * message (OTR v3 spec: "When you receive a Data Message" — verify the MAC, the counter must
 * increase; "Fragmentation"; "When you receive a D-H Key message" — 2 <= g^y <= p-2).
 */
import { MODP_1536_PRIME } from '../core/crypto/modp-group.js';
import { encodeDhKeyMessage } from '../../otr/ake-messages.js';
import { decodeOtrMessage, encodeOtrMessage } from '../../otr/encoded-message.js';
import { OTR_MESSAGE_TYPE } from '../../otr/message-types.js';
import type { Exchange } from './exchange.js';
import type { Party } from './party.js';
import { akeStartedBy, check, checkDelivered, checkSecure, type Scenario, type ScenarioContext } from './scenario.js';
import { withFlippedMac } from './wire-evidence.js';

const SETUP = { iutPolicy: 'default', referencePolicy: 'manual' } as const;

/** The implementation must still be encrypted and exchange messages both ways. */
async function checkSurvives(context: ScenarioContext, label: string): Promise<void> {
  const status = await context.iut.status();
  check(status.msgstate === 'encrypted', `after ${label} the implementation is ${status.msgstate}`);
  await checkDelivered(context, context.reference, `genuine after ${label}`);
  await checkDelivered(context, context.iut, `reply after ${label}`);
}

/** Delivers `text` from the kit and checks it was not shown as a decrypted message. */
async function checkRejected(exchange: Exchange, iut: Party, text: string, note: string, forbidden: string): Promise<void> {
  const answer = await exchange.inject(iut, text, note);
  check(!(answer.decrypted && answer.show === forbidden), `the implementation accepted ${note}`);
  check(!answer.decrypted, `the implementation showed ${JSON.stringify(answer.show)} from ${note}`);
}

/** One Data Message from the reference, not yet delivered. */
async function oneMessage(context: ScenarioContext, text: string): Promise<string> {
  const out = await context.reference.send(text);
  check(out.wire.length === 1 && (out.wire[0] ?? '').startsWith('?OTR:'), 'the reference did not produce one Data Message');
  return out.wire[0] as string;
}

export const HOSTILE_SCENARIOS: readonly Scenario[] = [
  {
    id: 'hostile.bad-mac',
    title: 'A Data Message with a bad MAC is rejected; the session survives',
    description: 'The kit flips one bit of the authenticator of a genuine Data Message. The implementation must not show it; the untampered message must then still decrypt, and the session keep working.',
    setup: SETUP,
    async run(context) {
      await akeStartedBy(context, context.reference);
      const genuine = await oneMessage(context, 'authentic');
      await checkRejected(context.exchange, context.iut, withFlippedMac(genuine), 'a Data Message with a flipped MAC bit', 'authentic');
      const answer = await context.exchange.inject(context.iut, genuine, 'the untampered original');
      check(answer.decrypted && answer.show === 'authentic', 'the untampered original did not decrypt after the forgery');
      await checkSurvives(context, 'a bad MAC');
    },
  },
  {
    id: 'hostile.replayed-counter',
    title: 'A replayed Data Message (same counter) is rejected',
    description: 'The kit delivers a genuine Data Message twice. The counter must increase monotonically (spec, "Data Message": "you must verify that this counter is larger than any previous one"), so the second copy must not be shown.',
    setup: SETUP,
    async run(context) {
      await akeStartedBy(context, context.reference);
      const genuine = await oneMessage(context, 'only once');
      const first = await context.exchange.inject(context.iut, genuine, 'the genuine message');
      check(first.decrypted && first.show === 'only once', 'the genuine message did not decrypt');
      await checkRejected(context.exchange, context.iut, genuine, 'the same Data Message replayed', 'only once');
      await checkSurvives(context, 'a replay');
    },
  },
  {
    id: 'hostile.truncated-fragment',
    title: 'A truncated fragment does not produce a message; the session survives',
    description: 'The reference sends a long message in v3 fragments; the kit cuts the middle piece short. The reassembled text is not a valid message and must not be shown; the genuine fragments then reassemble.',
    setup: { ...SETUP, fragmentSize: 200 },
    async run(context) {
      await akeStartedBy(context, context.reference);
      const long = 'fragmented '.repeat(60);
      const pieces = (await context.reference.send(long)).wire;
      check(pieces.length >= 3, `the reference sent ${pieces.length} pieces`);
      const middle = Math.floor(pieces.length / 2);
      for (const [i, piece] of pieces.entries()) {
        const text = i === middle ? `${piece.slice(0, piece.length - 21)},` : piece;
        const answer = await context.exchange.inject(context.iut, text, i === middle ? 'a fragment cut short' : 'fragment');
        check(!answer.decrypted, 'a message reassembled from a truncated fragment was shown');
      }
      let shown: string | null = null;
      for (const piece of pieces) shown = (await context.exchange.inject(context.iut, piece, 'genuine fragment')).show ?? shown;
      check(shown === long, 'the genuine fragments did not reassemble after the truncated stream');
      await checkSurvives(context, 'a truncated fragment');
    },
  },
  {
    id: 'hostile.oversized-fragment',
    title: 'Oversized and inconsistent fragments are dropped; the session survives',
    description: 'The kit sends fragments addressed to the implementation that claim 65535 pieces with a 256 KiB piece, and one with k > n. The implementation must drop them (bounded memory) and answer the next genuine message.',
    setup: SETUP,
    async run(context) {
      await akeStartedBy(context, context.reference);
      const tag = (n: number): string => n.toString(16).padStart(8, '0');
      const route = `?OTR|${tag(context.referenceInstanceTag)}|${tag(context.iutInstanceTag)}`;
      const huge = `${route},00001,65535,${'A'.repeat(256 * 1024)},`;
      for (let i = 0; i < 4; i++) await checkRejected(context.exchange, context.iut, huge, 'a 256 KiB fragment claiming 65535 pieces', '');
      await checkRejected(context.exchange, context.iut, `${route},00009,00002,AAAA,`, 'a fragment with k > n', '');
      await checkRejected(context.exchange, context.iut, `${route},00000,00000,AAAA,`, 'a fragment with k = n = 0', '');
      await checkSurvives(context, 'oversized fragments');
    },
  },
  {
    id: 'hostile.dh-key-out-of-range',
    title: 'A D-H Key with g^y outside [2, p-2] is refused',
    description: 'The reference queries; the implementation answers with a D-H Commit and awaits a D-H Key. The kit sends D-H Keys with g^y = 1, p-1 and p first: the implementation must answer none of them with a Reveal Signature (spec, "Authenticated Key Exchange": verify that 2 <= g^y <= p-2). The genuine D-H Key then completes the AKE.',
    setup: SETUP,
    async run(context) {
      const query = (await context.reference.startAke()).wire;
      check(query.length === 1, 'the reference sent no Query Message');
      const commit = await context.exchange.inject(context.iut, query[0] as string, 'the reference\'s Query Message');
      const commitText = commit.wire.find((w) => w.startsWith('?OTR:'));
      check(commitText !== undefined, 'the implementation did not answer the Query Message');
      const header = decodeOtrMessage(commitText);
      check(header.type === OTR_MESSAGE_TYPE.dhCommit && header.version === 3, 'the implementation did not send a v3 D-H Commit');
      for (const [name, gy] of [
        ['1', 1n],
        ['p-1', MODP_1536_PRIME - 1n],
        ['p', MODP_1536_PRIME],
      ] as const) {
        const forged = forgeDhKey(3, context.referenceInstanceTag, header.senderInstanceTag, gy);
        const answer = await context.exchange.inject(context.iut, forged, `a D-H Key with g^y = ${name}`);
        const revealed = answer.wire.some((w) => {
          try {
            return decodeOtrMessage(w).type === OTR_MESSAGE_TYPE.revealSignature;
          } catch {
            return false;
          }
        });
        check(!revealed, `the implementation answered a D-H Key with g^y = ${name} with a Reveal Signature`);
      }
      await context.exchange.pump(context.iut, [commitText]);
      await checkSecure(context, 3);
      await checkDelivered(context, context.iut, 'after the forged D-H Keys');
    },
  },
];

/** A D-H Key message with the given g^y and instance tags (a forgery when g^y is out of range). */
export function forgeDhKey(version: 2 | 3, senderInstanceTag: number, receiverInstanceTag: number, gy: bigint): string {
  return encodeOtrMessage({ version, type: OTR_MESSAGE_TYPE.dhKey, senderInstanceTag, receiverInstanceTag }, encodeDhKeyMessage({ gy }));
}
