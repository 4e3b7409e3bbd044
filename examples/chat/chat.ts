/**
 * A terminal OTR chat client (readline). Every line shows the security state of the
 * conversation: [plaintext], [OTR unverified], [OTR verified (smp|manual)] or [finished].
 *
 *   npx tsx examples/chat/chat.ts --service xmpp://127.0.0.1:5222 --jid alice@localhost \
 *     --password secret --ca ./ca.pem --to bob@localhost/phone
 *
 * Commands:
 *   /to JID                      talk to JID (a full JID picks one resource)
 *   /otr start | /otr end        start or end OTR with the current contact
 *   /smp SECRET [? QUESTION]     verify the contact (optionally with a question)
 *   /smp answer SECRET           answer the contact's SMP request
 *   /smp abort
 *   /fingerprint                 ours and the contact's, with trust
 *   /trust [FINGERPRINT]         mark the contact's fingerprint verified after comparing it
 *   /untrust [FINGERPRINT]
 *   /status                      sessions
 *   /quit
 * Anything else is sent to the current contact.
 */
import { createInterface } from 'node:readline';
import { xml } from '@xmpp/client';
import { formatFingerprint, otrPlugin, parseFingerprint, secureClient, type SecurityState } from '../../lib/index.js';
import { accountOptions } from '../common/account-options.js';

const options = accountOptions('usage: chat --service URI --jid JID --password PASS [--ca PEM] [--to JID] [--store PATH] [--policy P] [--ephemeral]', {
  to: { type: 'string', env: 'CHAT_TO' },
});
let peer = options.extra.to as string | undefined;

const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: '> ' });

function label(security: SecurityState): string {
  if (security.kind === 'plaintext') return '[plaintext]';
  if (security.kind === 'finished') return '[finished: /otr end or /otr start]';
  return security.trust === 'unverified' ? '[OTR unverified]' : `[OTR verified (${security.trust})]`;
}

function human(hex: string): string {
  const bytes = parseFingerprint(hex);
  return bytes === undefined ? hex : formatFingerprint(bytes);
}

const xmpp = secureClient({ service: options.service, domain: options.domain, username: options.username, password: options.password, resource: options.resource, tls: options.tls });
xmpp.on('error', (error: Error) => print(undefined, `! connection: ${error.message}`));
xmpp.on('status', (status: string) => {
  if (status === 'disconnect' || status === 'online') print(undefined, `* ${status}`);
});

const otr = await otrPlugin(xmpp, {
  account: options.jid,
  policy: options.policy,
  ephemeral: options.ephemeral,
  ...(options.store === undefined ? {} : { storePath: options.store }),
  ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
});

function print(jid: string | undefined, text: string): void {
  const state = jid === undefined ? (peer === undefined ? '' : label(otr.session(peer).security)) : label(otr.session(jid).security);
  process.stdout.write(`\r${state} ${text}\n`);
  rl.prompt(true);
}

otr.on('message', (m) => {
  peer ??= m.from;
  print(m.from, `${m.from}: ${m.text}${m.unencryptedWarning ? '   (! this message was NOT encrypted)' : ''}`);
});
otr.on('secure', (e) => print(e.jid, `* OTR session with ${e.jid}; fingerprint ${human(e.fingerprint)} (${e.trust}); ssid ${e.ssid}`));
otr.on('insecure', (e) => print(e.jid, e.reason === 'peer-ended' ? `* ${e.jid} ended OTR; your messages are not sent until /otr end or /otr start` : `* OTR ended with ${e.jid}`));
otr.on('fingerprint', (e) => {
  if (e.isNew) print(e.jid, `* new fingerprint for ${e.jid}: ${human(e.fingerprint)} — verify it with /smp or compare and /trust`);
});
otr.on('trust', (e) => print(undefined, `* ${e.peer} ${human(e.fingerprint)} is now ${e.trust}`));
otr.on('smp', (e) => {
  if (e.kind === 'question') print(e.jid, `* ${e.jid} asks: "${e.question}" — /smp answer SECRET`);
  else if (e.kind === 'secret-needed') print(e.jid, `* ${e.jid} wants to verify you — /smp answer SECRET`);
  else if (e.kind === 'progress') print(e.jid, `* SMP ${e.percent}%`);
  else if (e.kind === 'succeeded') print(e.jid, `* SMP succeeded${e.verified ? ': fingerprint verified' : ''}`);
  else if (e.kind === 'failed') print(e.jid, '* SMP failed: the secrets differ');
  else if (e.kind === 'aborted') print(e.jid, `* SMP aborted by ${e.by === 'us' ? 'us' : 'the contact'}`);
  else print(e.jid, `* SMP: the contact's messages failed the checks (${e.reason})`);
});
otr.on('held', (e) => print(e.jid, `* ${e.count} message(s) held until the session is encrypted`));
otr.on('held-sent', (e) => print(e.jid, `* ${e.count} held message(s) sent encrypted`));
otr.on('not-sent', (e) => print(e.jid, `* not sent (${e.reason})`));
otr.on('peer-error', (e) => print(e.jid, `* OTR error from ${e.jid}: ${e.text}`));
otr.on('delivery-error', (e) => print(e.jid, `* the server could not deliver to ${e.jid} (${e.condition ?? 'error'})`));
otr.on('otr-error', (e) => print(e.jid, `* rejected input${e.jid === undefined ? '' : ` from ${e.jid}`}: ${e.error.code}`));

async function command(line: string): Promise<void> {
  const [cmd = '', ...rest] = line.trim().split(/\s+/);
  const arg = rest.join(' ');
  const needPeer = (): string => {
    if (peer === undefined) throw new Error('no contact: /to JID');
    return peer;
  };
  switch (cmd) {
    case '/to':
      peer = arg;
      print(undefined, `* talking to ${peer}`);
      return;
    case '/otr':
      if (rest[0] === 'start') await otr.start(needPeer());
      else if (rest[0] === 'end') await otr.stop(needPeer());
      else print(undefined, '* /otr start | /otr end');
      return;
    case '/smp': {
      const who = needPeer();
      if (rest[0] === 'abort') await otr.smpAbort(who);
      else if (rest[0] === 'answer') await otr.smpAnswer(who, rest.slice(1).join(' '));
      else {
        const [secret = '', question] = arg.split(/\s+\?\s+/);
        await otr.smpAsk(who, secret, question);
      }
      return;
    }
    case '/fingerprint': {
      print(undefined, `* ours: ${human(await otr.ourFingerprint())}`);
      if (peer !== undefined) {
        for (const f of await otr.fingerprints(peer)) print(undefined, `* ${f.peer}: ${human(Buffer.from(f.fingerprint).toString('hex'))} (${f.trust})`);
      }
      return;
    }
    case '/trust':
      await otr.trust(needPeer(), 'manual', arg.length > 0 ? arg : undefined);
      return;
    case '/untrust':
      await otr.trust(needPeer(), 'unverified', arg.length > 0 ? arg : undefined);
      return;
    case '/status':
      for (const s of otr.sessions()) print(s.jid, `* ${s.jid} instance tags ${s.instanceTags.join(',') || '-'} held ${s.held}`);
      return;
    case '/quit':
      await shutdown();
      return;
    default: {
      const outcome = await otr.send(needPeer(), line);
      if (outcome.kind === 'plaintext') print(outcome.to, '* sent in plaintext');
    }
  }
}

async function shutdown(): Promise<void> {
  for (const session of otr.sessions()) if (session.security.kind !== 'plaintext') await otr.stop(session.jid).catch(() => undefined);
  await otr.idle();
  await otr.close();
  await xmpp.stop().catch(() => undefined);
  rl.close();
  process.exit(0);
}

rl.on('line', (line) => {
  if (line.trim().length === 0) return rl.prompt();
  command(line).catch((error: unknown) => print(undefined, `! ${(error as Error).message}`));
});
rl.on('close', () => void shutdown());

await xmpp.start();
await xmpp.send(xml('presence'));
print(undefined, `* online as ${options.jid}/${options.resource}; our fingerprint ${human(await otr.ourFingerprint())}`);
