/**
 * The in-process demo (`npm run demo -- --in-process`, and the fallback when no XMPP server
 * can be started): two OTR v3 parties in one process, wired back to back. Every wire message
 * is printed exactly as it would be sent (one per line, prefixed by its direction), with the
 * fingerprints, the AKE, messages both ways (one long enough to be fragmented), the
 * Socialist Millionaire Protocol with a question, the extra symmetric key and the end of the
 * session. Nothing here touches the network.
 */
import { generateDsaKey, type DsaPrivateKey } from '../lib/core/crypto/dsa.js';
import { ModpGroup } from '../lib/core/crypto/modp-group.js';
import { bytesToHex as toHex, utf8ToBytes } from '../lib/core/bytes.js';
import { OtrConversation } from '../otr/conversation.js';
import type { OtrEvent, OtrResult } from '../otr/events.js';
import { OTR_POLICY_DEFAULT } from '../otr/policy.js';
import { formatFingerprint, otrFingerprint } from '../otr/public-key.js';
import { generateInstanceTag } from '../otr/instance-tag.js';
import { systemRandom } from '../lib/core/random.js';

interface Party {
  readonly name: string;
  readonly conversation: OtrConversation;
  peer?: Party;
  readonly answers: Map<string, string>;
}

/** Messages in flight, delivered in order: a synchronous "network". */
const wire: [from: Party, text: string][] = [];

function describe(event: OtrEvent): string | undefined {
  switch (event.kind) {
    case 'went-secure':
      return `went secure (OTR v${event.version}), peer fingerprint ${formatFingerprint(event.fingerprint)}, ssid ${toHex(event.ssid)}`;
    case 'went-insecure':
      return `went insecure (${event.reason})`;
    case 'smp':
      switch (event.event.kind) {
        case 'question':
          return `SMP question: "${event.event.question}"`;
        case 'progress':
          return `SMP progress ${event.event.percent}%`;
        case 'succeeded':
          return 'SMP succeeded: the peer knows the same secret';
        default:
          return `SMP ${event.event.kind}`;
      }
    case 'extra-symmetric-key':
      return `extra symmetric key (use ${event.use}, ${event.fromPeer ? 'from peer' : 'ours'}): ${toHex(event.key)}`;
    case 'error':
      return `error ${event.error.code}: ${event.error.message}`;
    case 'fingerprint-seen':
    case 'heartbeat-sent':
    case 'heartbeat-received':
      return undefined;
    default:
      return event.kind;
  }
}

function handle(party: Party, result: OtrResult): void {
  let question: string | undefined;
  for (const event of result.events) {
    const line = describe(event);
    if (line !== undefined) console.log(`   [${party.name}] ${line}`);
    if (event.kind === 'smp' && event.event.kind === 'question') question = event.event.question;
  }
  if (result.show !== undefined) {
    console.log(`   [${party.name}] shows${result.show.encrypted ? ' (encrypted)' : ' (NOT encrypted)'}: ${result.show.text}`);
  }
  for (const text of result.toSend) wire.push([party, text]);
  // the user answers after reading the question (the secret is typed, not derived)
  if (question !== undefined) handle(party, party.conversation.respondSmp(party.answers.get(question) ?? ''));
}

/** A wire message on one line: the only characters escaped are line breaks (as \\n, \\r). */
function oneLine(text: string): string {
  return text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

function deliver(): void {
  for (let next = wire.shift(); next !== undefined; next = wire.shift()) {
    const [from, text] = next;
    const to = from.peer;
    if (to === undefined) throw new Error('demo: party without peer');
    console.log(`${from.name} -> ${to.name}: ${oneLine(text)}`);
    handle(to, to.conversation.receive(text));
  }
}

function party(name: string, peerName: string, key: DsaPrivateKey, group: ModpGroup): Party {
  return {
    name,
    answers: new Map(),
    conversation: new OtrConversation({
      accountName: `${name.toLowerCase()}@example.org`,
      protocol: 'xmpp',
      peerName: `${peerName.toLowerCase()}@example.org`,
      privateKey: key,
      instanceTag: generateInstanceTag(systemRandom),
      policy: OTR_POLICY_DEFAULT,
      maxFragmentSize: 400,
      group,
    }),
  };
}

/** Runs the in-process demo, printing to stdout. */
export function runInProcessDemo(): void {
  console.log('Two OTR v3 parties in one process. Each "X -> Y:" line is a wire message exactly as sent');
  console.log('(line breaks inside a message printed as \\n).');
  console.log('Generating two 1024-bit DSA keys...');
  const group = new ModpGroup();
  const aliceKey = generateDsaKey();
  const bobKey = generateDsaKey();
  const alice = party('Alice', 'Bob', aliceKey, group);
  const bob = party('Bob', 'Alice', bobKey, group);
  alice.peer = bob;
  bob.peer = alice;
  bob.answers.set('Where did we meet?', 'in the library');
  console.log(`Alice's fingerprint: ${formatFingerprint(otrFingerprint(aliceKey))}`);
  console.log(`Bob's fingerprint:   ${formatFingerprint(otrFingerprint(bobKey))}`);

  console.log('\n== Alice asks for OTR (Query Message); the AKE runs ==');
  handle(alice, alice.conversation.startAke());
  deliver();

  console.log('\n== Messages both ways ==');
  handle(alice, alice.conversation.send('Hello Bob, this is encrypted.'));
  deliver();
  handle(bob, bob.conversation.send('Hi Alice! Keys rotate as we talk.'));
  deliver();
  handle(alice, alice.conversation.send(`A long message is fragmented on the wire: ${'lorem ipsum '.repeat(30)}`));
  deliver();

  console.log('\n== SMP with a question (Alice asks, Bob answers) ==');
  handle(alice, alice.conversation.startSmp('in the library', 'Where did we meet?'));
  deliver();

  console.log('\n== Extra symmetric key (TLV 8) ==');
  const { result } = alice.conversation.useExtraSymmetricKey(1, utf8ToBytes('file-transfer'));
  handle(alice, result);
  deliver();

  console.log('\n== Alice ends the session (Disconnected TLV) ==');
  handle(alice, alice.conversation.end());
  deliver();
  console.log(`\nAlice: ${alice.conversation.messageState}, Bob: ${bob.conversation.messageState}`);
}

