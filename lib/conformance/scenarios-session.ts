/**
 * Conformance scenarios for starting, using and ending an OTR session (OTR v3 spec: "Query
 * Messages", "Tagged plaintext messages", "Fragmentation", "Exchanging data", "Revealing MAC
 * keys", "Extra symmetric key", "Disconnected TLV").
 */
import { bytesToHex, utf8ToBytes } from '../core/bytes.js';
import { akeStartedBy, check, checkDelivered, checkSecure, type Scenario } from './scenario.js';
import { checkRevealedMacKeys, readDataMessage } from './wire-evidence.js';

/** The 16-byte base of the OTR whitespace tag (spec, "Tagged plaintext messages"). */
const WHITESPACE_TAG_BASE = ' \t  \t\t\t\t \t \t \t  ';

const DEFAULT = 'default';
const MANUAL = 'manual';

export const SESSION_SCENARIOS: readonly Scenario[] = [
  {
    id: 'start.query.reference',
    title: 'Query Message from the reference starts a v3 AKE',
    description: 'The reference sends ?OTRv23?; the implementation must answer with a D-H Commit and complete the AKE in version 3 with the same secure session id and each side authenticating the other\'s long-term key.',
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL },
    async run(context) {
      await akeStartedBy(context, context.reference);
    },
  },
  {
    id: 'start.query.iut',
    title: 'Query Message from the implementation starts a v3 AKE',
    description: 'The implementation is asked to start (start_ake); its Query Message must lead to a version 3 AKE with the reference.',
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL },
    async run(context) {
      await akeStartedBy(context, context.iut);
    },
  },
  {
    id: 'start.whitespace.reference',
    title: "The reference's whitespace tag makes the implementation start",
    description: 'With SEND_WHITESPACE_TAG on the reference and WHITESPACE_START_AKE on the implementation, a tagged plaintext must be shown without the tag and start the AKE.',
    setup: { iutPolicy: 'v2,v3,whitespace_start', referencePolicy: 'v2,v3,whitespace' },
    async run(context) {
      const out = await context.reference.send('hello, do you speak OTR?');
      check(out.wire.length === 1 && (out.wire[0] ?? '').includes(WHITESPACE_TAG_BASE), 'the reference did not send a tagged plaintext');
      await context.exchange.pump(context.reference, out.wire);
      check(context.iut.shown[0]?.text === 'hello, do you speak OTR?', `the implementation showed ${JSON.stringify(context.iut.shown[0]?.text)} (tag not stripped?)`);
      await checkSecure(context, 3);
    },
  },
  {
    id: 'start.whitespace.iut',
    title: "The implementation's whitespace tag makes the reference start",
    description: 'With SEND_WHITESPACE_TAG on the implementation, its first plaintext must carry the v3 whitespace tag, so that the reference (WHITESPACE_START_AKE) starts the AKE.',
    setup: { iutPolicy: 'v2,v3,whitespace', referencePolicy: 'v2,v3,whitespace_start' },
    async run(context) {
      const out = await context.iut.send('hi there');
      check(out.wire.some((w) => w.includes(WHITESPACE_TAG_BASE)), 'the implementation sent no whitespace tag');
      await context.exchange.pump(context.iut, out.wire);
      await checkSecure(context, 3);
    },
  },
  {
    id: 'version.v2.reference',
    title: 'A v2-only reference gets a version 2 AKE (reference starts)',
    description: 'When the reference allows only version 2 (?OTRv2?), the implementation must negotiate version 2: no instance tags, v2 messages, and data both ways.',
    setup: { iutPolicy: DEFAULT, referencePolicy: 'v2' },
    async run(context) {
      await akeStartedBy(context, context.reference, 2);
      await checkDelivered(context, context.iut, 'v2 from the implementation');
      await checkDelivered(context, context.reference, 'v2 from the reference');
    },
  },
  {
    id: 'version.v2.iut',
    title: 'A v2-only reference gets a version 2 AKE (implementation starts)',
    description: 'The implementation starts (offering v2 and v3); a v2-only reference answers; the session must be version 2.',
    setup: { iutPolicy: DEFAULT, referencePolicy: 'v2' },
    async run(context) {
      await akeStartedBy(context, context.iut, 2);
      await checkDelivered(context, context.iut, 'v2 again');
    },
  },
  {
    id: 'data.fragmentation',
    title: 'Long messages are fragmented and reassembled, both ways',
    description: 'With a 300-character limit on both sides, a 3000-character message must leave the implementation as v3 fragments (?OTR|) and arrive intact both ways.',
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL, fragmentSize: 300 },
    async run(context) {
      await akeStartedBy(context, context.reference);
      const long = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
      const out = await context.iut.send(long);
      check(out.wire.length > 1 && out.wire.every((w) => w.startsWith('?OTR|') && w.length <= 300), `the implementation sent ${out.wire.length} pieces, not v3 fragments within 300 characters`);
      const before = context.reference.shown.length;
      await context.exchange.pump(context.iut, out.wire);
      check(context.reference.shown.slice(before).some((s) => s.text === long && s.decrypted), 'the reference did not reassemble it');
      await checkDelivered(context, context.reference, long);
    },
  },
  {
    id: 'data.key-rotation',
    title: 'Keys rotate over 100 alternating messages',
    description: "Every change of direction lets the sender advance its key id (spec, \"Exchanging data\"): over 100 alternating messages the implementation's sender key id must advance many times, and every message must arrive.",
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL },
    async run(context) {
      await akeStartedBy(context, context.reference);
      for (let i = 0; i < 50; i++) {
        await checkDelivered(context, context.iut, `ping ${i}`);
        await checkDelivered(context, context.reference, `pong ${i}`);
      }
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
    id: 'data.mac-keys-revealed',
    title: 'Revealed MAC keys authenticate earlier messages',
    description: 'After keys rotate, the implementation must publish the MAC keys it no longer uses (spec, "Revealing MAC keys"), and each must verify the authenticator of a message sent earlier on this wire (at least some of them messages it received): that is what makes the transcript deniable.',
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL },
    async run(context) {
      await akeStartedBy(context, context.reference);
      for (let i = 0; i < 10; i++) {
        await checkDelivered(context, context.iut, `message ${i}`);
        await checkDelivered(context, context.reference, `reply ${i}`);
      }
      const evidence = checkRevealedMacKeys(context.exchange.log, 'iut');
      context.note(
        `${evidence.messages} data messages, ${evidence.revealed} MAC keys revealed by the implementation, ${evidence.verified} verify earlier messages (${evidence.verifiedReceived} of them messages it received)`,
      );
      check(evidence.revealed > 0, 'the implementation revealed no MAC keys in 20 alternating messages');
      check(evidence.verifiedReceived > 0, 'none of the revealed MAC keys is a receiving key (spec: the keys "actually used to verify a message")');
      check(evidence.unverified.length === 0, `revealed MAC keys that authenticate nothing sent earlier: ${evidence.unverified.join(', ')}`);
    },
  },
  {
    id: 'data.extra-symmetric-key',
    title: 'Extra symmetric key (TLV 8) is the same on both sides',
    description: 'The implementation asks to use the extra symmetric key (use 1, some use data); the reference must receive TLV 8 and derive the same 32-byte key (spec, "Extra symmetric key").',
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL },
    async run(context) {
      await akeStartedBy(context, context.reference);
      const usedata = bytesToHex(utf8ToBytes('file-transfer'));
      const asked = await context.iut.extraKey(1, usedata);
      const before = context.reference.events.length;
      await context.exchange.pump(context.iut, asked.wire);
      const received = context.reference.events.slice(before).find((e) => e.type === 'symkey');
      check(received !== undefined && received.type === 'symkey', 'the reference received no extra symmetric key TLV');
      check(received.use === 1 && received.usedata === usedata, `use/usedata differ: ${received.use} ${received.usedata}`);
      check(received.key === asked.key, 'the two sides derived different extra symmetric keys');
      context.note(`key ${asked.key}`);
    },
  },
  {
    id: 'session.disconnect.iut',
    title: "The implementation's Disconnected TLV ends the session",
    description: 'Ending the session must send the Disconnected TLV (type 1), so the reference goes to FINISHED (spec, "Disconnected TLV"), and the implementation itself to PLAINTEXT.',
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL },
    async run(context) {
      await akeStartedBy(context, context.reference);
      await context.exchange.pump(context.iut, (await context.iut.end()).wire);
      const ref = await context.reference.status();
      check(ref.msgstate === 'finished', `the reference is ${ref.msgstate}, expected finished`);
      const iut = await context.iut.status();
      check(iut.msgstate === 'plaintext', `the implementation is ${iut.msgstate} after ending, expected plaintext`);
    },
  },
  {
    id: 'session.disconnect.reference',
    title: "The reference's Disconnected TLV finishes the implementation's session",
    description: 'When the peer sends the Disconnected TLV, the implementation must go to FINISHED and stop encrypting to it.',
    setup: { iutPolicy: DEFAULT, referencePolicy: MANUAL },
    async run(context) {
      await akeStartedBy(context, context.reference);
      await context.exchange.pump(context.reference, (await context.reference.end()).wire);
      const iut = await context.iut.status();
      check(iut.msgstate === 'finished', `the implementation is ${iut.msgstate}, expected finished`);
      const out = await context.iut.send('must not go out in the clear');
      check(!out.wire.some((w) => w.includes('must not go out in the clear')), 'the implementation sent plaintext to a finished session');
    },
  },
];
