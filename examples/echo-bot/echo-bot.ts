/**
 * An OTR- and OMEMO-capable echo bot: answers every encrypted message with "echo: <text>",
 * encrypted the same way (OTR, or OMEMO in the version it came in, to all the sender's
 * devices), tells plaintext senders to start OTR, and verifies OTR users by SMP:
 *
 * - a user who starts SMP is answered with the bot's secret (--smp-secret);
 * - "!verify" in an encrypted message makes the bot ask (with --smp-question if given);
 * - "!whoami" answers with the user's fingerprint and its trust.
 *
 *   npx tsx examples/echo-bot/echo-bot.ts --service xmpp://127.0.0.1:5222 --jid bot@localhost \
 *     --password secret --ca ./ca.pem --smp-secret "shared secret" [--smp-question "Our word?"] \
 *     [--omemo-store ./bot.omemo.json]   (OMEMO keys; in memory when omitted or with --ephemeral)
 *
 * Prints one line per event (no message text, only what happened) to stdout.
 */
import { xml } from '@xmpp/client';
import { FileStore, MemoryStore, omemoPlugin, otrPlugin, secureClient } from '../../lib/index.js';
import { accountOptions } from '../common/account-options.js';

const options = accountOptions('usage: echo-bot --service URI --jid JID --password PASS [--ca PEM] [--smp-secret S] [--smp-question Q] [--store PATH] [--omemo-store PATH]', {
  'smp-secret': { type: 'string', env: 'BOT_SMP_SECRET' },
  'smp-question': { type: 'string', env: 'BOT_SMP_QUESTION' },
  'omemo-store': { type: 'string', env: 'BOT_OMEMO_STORE' },
});
const smpSecret = options.extra['smp-secret'] as string | undefined;
const smpQuestion = options.extra['smp-question'] as string | undefined;

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const xmpp = secureClient({ service: options.service, domain: options.domain, username: options.username, password: options.password, resource: options.resource, tls: options.tls });
xmpp.on('error', (error: Error) => log(`xmpp-error ${error.message}`));

// OMEMO first, consuming its messages, so the OTR plugin after it never shows their fallback
// body as plaintext. Its keys live next to the OTR store (--omemo-store), or in memory with --ephemeral.
const omemoStorePath = options.extra['omemo-store'] as string | undefined;
const omemo = await omemoPlugin(xmpp, {
  account: options.jid,
  consume: true,
  store: options.ephemeral || omemoStorePath === undefined
    ? new MemoryStore()
    : await FileStore.open(omemoStorePath, options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
});
omemo.on('omemo-error', (e) => log(`omemo-error ${e.error.code}`));
omemo.on('message', (m) => {
  if (m.carbon === 'sent') return;
  log(`omemo-message ${m.from} device=${m.senderDeviceId} v${m.version} trust=${m.trust}`);
  omemo.send(m.from, `echo: ${m.text}`, { version: m.version }).catch((error: unknown) => log(`omemo-send-failed ${(error as Error).message}`));
});

const otr = await otrPlugin(xmpp, {
  account: options.jid,
  policy: options.policy,
  ephemeral: options.ephemeral,
  ...(options.store === undefined ? {} : { storePath: options.store }),
  ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
});

otr.on('secure', (e) => log(`secure ${e.jid} fingerprint=${e.fingerprint} trust=${e.trust}`));
otr.on('insecure', (e) => {
  log(`insecure ${e.jid} ${e.reason}`);
  // The user ended OTR: end our side too so nothing lingers.
  if (e.reason === 'peer-ended') void otr.stop(e.jid);
});
otr.on('fingerprint', (e) => log(`fingerprint ${e.jid} ${e.fingerprint} ${e.isNew ? 'new' : 'known'} trust=${e.trust}`));
otr.on('otr-error', (e) => log(`otr-error ${e.jid ?? '-'} ${e.error.code}`));
otr.on('smp', (e) => {
  log(`smp ${e.jid} ${e.kind}`);
  if ((e.kind === 'question' || e.kind === 'secret-needed') && smpSecret !== undefined) void otr.smpAnswer(e.jid, smpSecret);
  if (e.kind === 'question' || e.kind === 'secret-needed') {
    if (smpSecret === undefined) void otr.smpAbort(e.jid);
    return;
  }
  if (e.kind === 'succeeded') void otr.send(e.jid, e.verified ? 'SMP succeeded: you are verified.' : 'SMP succeeded.');
  if (e.kind === 'failed') void otr.send(e.jid, 'SMP failed: the secrets differ.');
});

otr.on('message', (m) => {
  log(`message ${m.from} ${m.encrypted ? 'encrypted' : 'plaintext'}`);
  void (async () => {
    if (!m.encrypted) {
      await otr.send(m.from, 'I only talk OTR. Start an OTR session, please.');
      return;
    }
    const text = m.text.trim();
    if (text === '!verify') {
      if (smpSecret === undefined) await otr.send(m.from, 'No SMP secret is configured.');
      else await otr.smpAsk(m.from, smpSecret, smpQuestion);
      return;
    }
    if (text === '!whoami') {
      const security = m.security;
      await otr.send(m.from, security.kind === 'encrypted' ? `Your fingerprint: ${security.fingerprint} (${security.trust})` : 'not encrypted');
      return;
    }
    await otr.send(m.from, `echo: ${m.text}`);
  })().catch((error: unknown) => log(`send-failed ${(error as Error).message}`));
});

process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
async function shutdown(): Promise<void> {
  for (const session of otr.sessions()) if (session.security.kind !== 'plaintext') await otr.stop(session.jid).catch(() => undefined);
  await otr.idle();
  await otr.close();
  await omemo.close();
  await xmpp.stop().catch(() => undefined);
  process.exit(0);
}

await xmpp.start();
// A server without PEP cannot carry OMEMO: the bot then talks OTR only.
await omemo.announced().then(
  () => log(`omemo device=${omemo.deviceId} fingerprint=${omemo.manager.formatOwnFingerprint('hex')}`),
  (error: unknown) => log(`omemo-unavailable ${(error as Error).message}`),
);
await omemo.presence();
log(`online ${options.jid}/${options.resource} fingerprint=${await otr.ourFingerprint()}`);
