/**
 * Plugin events to terminal lines. Every message line starts with the protocol it came with
 * and the trust of the sender's key: `[OTR unverified]`, `[OTR verified (smp)]`,
 * `[OMEMO 0.3 | device 123 trusted (blind)]`, `[OMEMO 2 | device 9 UNDECIDED (not trusted)]`
 * or `[plaintext]`.
 */
import { say, type ChatApp } from './app.js';
import { omemoLabel, omemoName, otrFingerprintText, otrLabel } from './labels.js';

/** Prints what the OMEMO plugin reports. */
export function showOmemoEvents(app: ChatApp): void {
  const { omemo, term } = app;
  omemo.on('message', (m) => {
    if (m.carbon !== 'sent') app.peer ??= m.from;
    term.later(async () => {
      const shown = await app.devices.trustOf(m.from, m.senderDeviceId);
      const label = omemoLabel(m.version, m.senderDeviceId, shown.trust ?? m.trust, shown.blind);
      const who = m.carbon === 'sent' ? `(our other device, to ${m.to})` : `${m.from}:`;
      const warning = m.trust === 'undecided' ? `   (! device ${m.senderDeviceId} is not trusted: compare /devices ${m.from}, then /trust or /verify)` : '';
      return [`${label} ${who} ${m.text}${warning}`];
    });
  });
  omemo.on('manager', (e) => {
    if (e.kind === 'identity-changed') say(app, `* ! OMEMO: ${e.jid} device ${e.deviceId} has a NEW identity key: compare /devices ${e.jid}`);
    else if (e.kind === 'device-added') say(app, `* OMEMO: ${e.jid} has a new device ${e.deviceId}`);
  });
  omemo.on('omemo-error', (e) => {
    if (e.error.code === 'xmpp.omemo.carbons-unavailable') return;
    const refused = e.error.code === 'omemo.untrusted-device' ? ' (refused: you distrust that device)' : '';
    say(app, `* ${e.version === undefined ? 'OMEMO' : omemoName(e.version)} error${e.from === undefined ? '' : ` from ${e.from}`}: ${e.error.code}${refused}`);
  });
}

/** Prints what the OTR plugin reports. */
export function showOtrEvents(app: ChatApp): void {
  const { otr } = app;
  otr.on('message', (m) => {
    app.peer ??= m.from;
    const label = m.encrypted ? otrLabel(m.security) : '[plaintext]';
    app.term.print(`${label} ${m.from}: ${m.text}${m.unencryptedWarning ? '   (! this message was NOT encrypted)' : ''}`);
  });
  otr.on('secure', (e) => say(app, `* OTR session with ${e.jid}; fingerprint ${otrFingerprintText(e.fingerprint)} (${e.trust}); ssid ${e.ssid}`, e.jid));
  otr.on('insecure', (e) => say(app, e.reason === 'peer-ended' ? `* ${e.jid} ended OTR; your messages are not sent until /otr end or /otr start` : `* OTR ended with ${e.jid}`, e.jid));
  otr.on('fingerprint', (e) => {
    if (e.isNew) say(app, `* new OTR fingerprint for ${e.jid}: ${otrFingerprintText(e.fingerprint)} — verify it with /smp or compare and /trust`, e.jid);
  });
  otr.on('trust', (e) => say(app, `* ${e.peer} ${otrFingerprintText(e.fingerprint)} is now ${e.trust}`));
  otr.on('smp', (e) => {
    if (e.kind === 'question') say(app, `* ${e.jid} asks: "${e.question}" — /smp answer SECRET`, e.jid);
    else if (e.kind === 'secret-needed') say(app, `* ${e.jid} wants to verify you — /smp answer SECRET`, e.jid);
    else if (e.kind === 'progress') say(app, `* SMP ${e.percent}%`, e.jid);
    else if (e.kind === 'succeeded') say(app, `* SMP succeeded${e.verified ? ': fingerprint verified' : ''}`, e.jid);
    else if (e.kind === 'failed') say(app, '* SMP failed: the secrets differ', e.jid);
    else if (e.kind === 'aborted') say(app, `* SMP aborted by ${e.by === 'us' ? 'us' : 'the contact'}`, e.jid);
    else say(app, `* SMP: the contact's messages failed the checks (${e.reason})`, e.jid);
  });
  otr.on('held', (e) => say(app, `* ${e.count} message(s) held until the session is encrypted`, e.jid));
  otr.on('held-sent', (e) => say(app, `* ${e.count} held message(s) sent encrypted`, e.jid));
  otr.on('not-sent', (e) => say(app, `* not sent (${e.reason})`, e.jid));
  otr.on('peer-error', (e) => say(app, `* OTR error from ${e.jid}: ${e.text}`, e.jid));
  otr.on('delivery-error', (e) => say(app, `* the server could not deliver to ${e.jid} (${e.condition ?? 'error'})`, e.jid));
  otr.on('otr-error', (e) => say(app, `* rejected input${e.jid === undefined ? '' : ` from ${e.jid}`}: ${e.error.code}`, e.jid));
}
