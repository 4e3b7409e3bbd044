/**
 * The demo through a real XMPP server: a throwaway Prosody on 127.0.0.1 (the test suite's
 * harness: its own config, data dir and a CA made for this run), two accounts logged in with
 * @xmpp/client over STARTTLS with the certificate checked against that CA, each with the OTR
 * plugin (ephemeral: nothing written to disk). Every message stanza each client writes to its
 * TLS socket is printed exactly as sent, one per line, then the AKE, messages both ways, SMP
 * with a question, and the end of the session. Everything is stopped and removed at the end.
 */
import type { XmppClientElement } from '@xmpp/client';
import { xml } from '@xmpp/client';
import { otrPlugin, secureClient } from '../lib/index.js';
import type { OtrPlugin } from '../lib/xmpp/otr-plugin.js';
import type { OtrPluginEvents } from '../lib/xmpp/otr-events.js';
import type { SecureXmppClient } from '../lib/xmpp/secure-client.js';
import { startProsody, type ProsodyServer } from '../test/interop/prosody/prosody-harness.js';

const WAIT_MS = 20_000;

interface DemoClient {
  readonly name: string;
  readonly jid: string;
  readonly xmpp: SecureXmppClient;
  readonly otr: OtrPlugin;
}

/** Line breaks inside a stanza printed as \n, so each wire message stays on one line. */
function oneLine(text: string): string {
  return text.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** Resolves with the first `event` payload that `accept` takes, or rejects after WAIT_MS. */
function waitFor<K extends keyof OtrPluginEvents>(client: DemoClient, event: K, accept: (payload: OtrPluginEvents[K]) => boolean): Promise<OtrPluginEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${client.name}: no ${String(event)} event within ${WAIT_MS} ms`)), WAIT_MS);
    const listener = (payload: OtrPluginEvents[K]): void => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      resolve(payload);
    };
    client.otr.on(event, listener);
  });
}

async function connect(server: ProsodyServer, name: string, username: string): Promise<DemoClient> {
  const account = server.account(username);
  const xmpp = secureClient({
    service: server.service,
    domain: server.domain,
    username: account.username,
    password: account.password,
    resource: 'demo',
    tls: { ca: server.caPem },
  });
  xmpp.on('error', (error: Error) => console.log(`   [${name}] xmpp error: ${error.message}`));
  xmpp.on('send', (element: XmppClientElement) => {
    if (element.name === 'message') console.log(`${name} -> server: ${oneLine(element.toString())}`);
  });
  const otr = await otrPlugin(xmpp, { account: account.jid, policy: 'manual', ephemeral: true });
  const client: DemoClient = { name, jid: `${account.jid}/demo`, xmpp, otr };
  otr.on('secure', (e) => console.log(`   [${name}] OTR v${e.version} secure with ${e.jid}, their fingerprint ${e.fingerprint}, ssid ${e.ssid}`));
  otr.on('message', (m) => console.log(`   [${name}] ${m.encrypted ? 'decrypted' : 'PLAINTEXT'} from ${m.from}: ${m.text}`));
  otr.on('smp', (e) => {
    if (e.kind === 'question') console.log(`   [${name}] SMP question from ${e.jid}: "${e.question}"`);
    else if (e.kind === 'succeeded') console.log(`   [${name}] SMP succeeded: ${e.jid} knows the secret; fingerprint marked ${e.verified ? 'verified' : 'unchanged'}`);
    else if (e.kind !== 'progress') console.log(`   [${name}] SMP ${e.kind}`);
  });
  otr.on('insecure', (e) => console.log(`   [${name}] OTR ended with ${e.jid} (${e.reason})`));
  await xmpp.start();
  await xmpp.send(xml('presence'));
  const security = xmpp.transportSecurity.security;
  if (security?.kind === 'tls') {
    console.log(`   [${name}] logged in as ${client.jid} over ${security.protocol} (${security.method}), server certificate SHA-256 ${security.certificate.fingerprintSha256}, ${security.validation}`);
  }
  return client;
}

/** Runs the server demo; throws if the server cannot be started or a step does not happen in time. */
export async function runServerDemo(): Promise<void> {
  const server = await startProsody({ accounts: ['alice', 'bob'] });
  const clients: DemoClient[] = [];
  try {
    console.log(`Throwaway Prosody on ${server.host}:${server.c2sPort} (domain ${server.domain}), TLS certificate from a CA made for this run.`);
    console.log('Each "X -> server:" line is a message stanza exactly as written to the TLS socket (line breaks shown as \\n).');
    const alice = await connect(server, 'Alice', 'alice');
    clients.push(alice);
    const bob = await connect(server, 'Bob', 'bob');
    clients.push(bob);
    console.log(`   Alice's fingerprint: ${await alice.otr.ourFingerprint()}`);
    console.log(`   Bob's fingerprint:   ${await bob.otr.ourFingerprint()}`);

    console.log('\n== Alice starts OTR with Bob (Query Message, then the AKE through the server) ==');
    const bothSecure = Promise.all([waitFor(alice, 'secure', () => true), waitFor(bob, 'secure', () => true)]);
    await alice.otr.start(bob.jid);
    await bothSecure;

    console.log('\n== Messages both ways ==');
    let arrived = waitFor(bob, 'message', (m) => m.encrypted);
    await alice.otr.send(bob.jid, 'Hello Bob, this went through the server encrypted.');
    await arrived;
    arrived = waitFor(alice, 'message', (m) => m.encrypted);
    await bob.otr.send(alice.jid, 'Hi Alice! The server only saw ?OTR: data.');
    await arrived;

    console.log('\n== SMP with a question (Alice asks, Bob answers) ==');
    const asked = waitFor(bob, 'smp', (e) => e.kind === 'question');
    const done = Promise.all([waitFor(alice, 'smp', (e) => e.kind === 'succeeded'), waitFor(bob, 'smp', (e) => e.kind === 'succeeded')]);
    await alice.otr.smpAsk(bob.jid, 'in the library', 'Where did we meet?');
    await asked;
    await bob.otr.smpAnswer(alice.jid, 'in the library');
    await done;

    console.log('\n== Alice ends the session ==');
    const ended = waitFor(bob, 'insecure', () => true);
    await alice.otr.stop(bob.jid);
    await ended;
  } finally {
    for (const c of clients) {
      await c.otr.close();
      c.xmpp.reconnect.stop();
      await c.xmpp.stop().catch(() => undefined);
    }
    await server.stop();
  }
}
