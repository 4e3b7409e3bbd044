/**
 * A terminal XMPP client with OTR and OMEMO side by side (readline). Per contact the user
 * picks otr, omemo, auto (OMEMO when the contact publishes OMEMO devices, OTR otherwise) or
 * plain; every message line says which protocol it came with and how far its sender's key
 * or device is trusted. See README.md for the commands.
 *
 *   npx tsx examples/chat/chat.ts --service xmpp://127.0.0.1:5222 --jid alice@localhost \
 *     --password secret --ca ./ca.pem --to bob@localhost [--omemo-store ./alice.omemo.json] \
 *     [--omemo-trust btbv|manual]
 *
 * Parts: app.ts (shared state), protocol.ts (per-contact choice), commands.ts, events.ts
 * (plugin events to lines), labels.ts, omemo-devices.ts (fingerprints, devices, trust),
 * qr-terminal.ts (QR codes in half blocks), terminal.ts (readline output).
 */
import { xml } from '@xmpp/client';
import { omemoPlugin, otrPlugin, secureClient, type OmemoXmppDependencies } from '../../lib/index.js';
import { accountOptions } from '../common/account-options.js';
import { openOmemoStore } from '../common/omemo-store.js';
import { say, type ChatApp } from './app.js';
import { command } from './commands.js';
import { showOmemoEvents, showOtrEvents } from './events.js';
import { otrFingerprintText } from './labels.js';
import { OmemoDevices } from './omemo-devices.js';
import { ProtocolRouter } from './protocol.js';
import { Terminal } from './terminal.js';

const options = accountOptions('usage: chat --service URI --jid JID --password PASS [--ca PEM] [--to JID] [--store PATH] [--omemo-store PATH] [--omemo-trust btbv|manual] [--policy P] [--ephemeral]', {
  to: { type: 'string', env: 'CHAT_TO' },
  'omemo-store': { type: 'string', env: 'OMEMO_STORE' },
  'omemo-trust': { type: 'string', env: 'OMEMO_TRUST' },
});
const omemoTrust = (options.extra['omemo-trust'] as string | undefined) ?? 'btbv';
if (omemoTrust !== 'btbv' && omemoTrust !== 'manual') {
  process.stderr.write('--omemo-trust is btbv (blind trust before verification) or manual\n');
  process.exit(2);
}

const term = new Terminal();
const xmpp = secureClient({ service: options.service, domain: options.domain, username: options.username, password: options.password, resource: options.resource, tls: options.tls });
xmpp.on('error', (error: Error) => term.print(`! connection: ${error.message}`));
xmpp.on('status', (status: string) => {
  if (status === 'disconnect' || status === 'online') term.print(`* ${status}`);
});

// OMEMO first, consuming its messages, so the OTR plugin after it never shows their fallback body as plaintext.
const omemo = await omemoPlugin(xmpp, {
  account: options.jid,
  consume: true,
  store: await openOmemoStore(options, options.extra['omemo-store'] as string | undefined),
  trustPolicy: omemoTrust === 'manual' ? 'manual' : 'blind-trust-before-verification',
});
const otr = await otrPlugin(xmpp, {
  account: options.jid,
  policy: options.policy,
  ephemeral: options.ephemeral,
  ...(options.store === undefined ? {} : { storePath: options.store }),
  ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
});

const app: ChatApp = {
  account: options.jid,
  otr,
  omemo,
  router: new ProtocolRouter({ omemo, otr, writer: xmpp, accountPolicy: options.policy }),
  devices: new OmemoDevices(omemo, (xmpp as unknown as OmemoXmppDependencies).iqCaller),
  term,
  peer: options.extra.to as string | undefined,
  shutdown,
};
showOmemoEvents(app);
showOtrEvents(app);

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  for (const session of otr.sessions()) if (session.security.kind !== 'plaintext') await otr.stop(session.jid).catch(() => undefined);
  await otr.idle();
  await otr.close();
  await omemo.close();
  await term.flushed();
  await xmpp.stop().catch(() => undefined);
  term.rl.close();
  process.exit(0);
}

term.rl.on('line', (line) => {
  if (line.trim().length === 0) return term.rl.prompt();
  command(app, line).catch((error: unknown) => say(app, `! ${(error as Error).message}`));
});
term.rl.on('close', () => void shutdown());

await xmpp.start();
// A server without PEP cannot carry OMEMO: the client then talks OTR only.
await omemo.announced().catch((error: unknown) => term.print(`* OMEMO unavailable: ${(error as Error).message}`));
await omemo.presence().catch(() => xmpp.send(xml('presence')));
say(app, `* online as ${options.jid}/${options.resource}; OTR fingerprint ${otrFingerprintText(await otr.ourFingerprint())}; OMEMO device ${omemo.deviceId}`);
