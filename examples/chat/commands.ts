/**
 * The chat client's commands (see README.md). Anything that is not a command is sent to the
 * current contact with its protocol (`/proto`).
 */
import { parseFingerprint } from '../../lib/index.js';
import { NoRecipientsError, formatFingerprint, parseFingerprintUri, type TrustState } from '../../omemo/index.js';
import { say, type ChatApp } from './app.js';
import { choiceText, omemoName, otrFingerprintText } from './labels.js';
import { OmemoDevices } from './omemo-devices.js';
import { PREFERENCES, bareOf, type Preference } from './protocol.js';

const HELP = [
  '* /to JID | /proto [JID] otr|omemo|auto|plain | /status',
  '* /fp | /devices [JID] | /trust [JID] DEVICE|FP | /distrust [JID] DEVICE|FP | /verify [JID] DEVICE|FP|xmpp:URI | /untrust [JID] [DEVICE|FP]',
  '* /otr start|end | /smp SECRET [? QUESTION] | /smp answer SECRET | /smp abort | /fingerprint | /quit',
];

function needPeer(app: ChatApp): string {
  if (app.peer === undefined) throw new Error('no contact: /to JID');
  return app.peer;
}

/** `[JID] REST...`: a first word with '@' names the contact, else the current one. */
function contactAndRest(app: ChatApp, words: readonly string[]): { readonly jid: string; readonly rest: string } {
  const [first, ...others] = words;
  if (first !== undefined && first.includes('@') && !first.startsWith('xmpp:')) return { jid: first, rest: others.join(' ') };
  return { jid: needPeer(app), rest: words.join(' ') };
}

/**
 * `/trust`, `/distrust`, `/verify`, `/untrust`: an OTR fingerprint (40 hex) or none goes to
 * the OTR store, a device id or OMEMO fingerprint (64 hex) to the OMEMO device, an xmpp: URI
 * (a scanned QR code) verifies the devices it lists.
 */
async function setTrust(app: ChatApp, words: readonly string[], omemoTrust: TrustState): Promise<void> {
  const { jid, rest } = contactAndRest(app, words);
  if (rest.startsWith('xmpp:')) {
    if (omemoTrust !== 'verified') throw new Error('an xmpp: URI can only be used with /verify');
    const parsed = parseFingerprintUri(rest);
    const verified = await app.omemo.manager.verifyFromUri(bareOf(parsed.jid), parsed.devices);
    say(app, verified.length === 0 ? `* no known device of ${parsed.jid} matches that URI (try /devices ${parsed.jid} first)` : `* ${parsed.jid} device(s) ${verified.join(', ')} now verified`);
    return;
  }
  if (rest === '' || parseFingerprint(rest) !== undefined) {
    const otrTrust = omemoTrust === 'distrusted' || omemoTrust === 'undecided' ? 'unverified' : 'manual';
    await app.otr.trust(jid, otrTrust, rest === '' ? undefined : rest);
    return;
  }
  const bare = bareOf(jid);
  let deviceId = await app.devices.find(bare, rest);
  if (deviceId === undefined) {
    await app.devices.list(bare);
    deviceId = await app.devices.find(bare, rest);
  }
  if (deviceId === undefined) throw new Error(`${bare} has no known OMEMO device ${rest} (see /devices ${bare})`);
  await app.omemo.manager.setTrust(bare, deviceId, omemoTrust);
  const shown = await app.devices.trustOf(bare, deviceId);
  say(app, `* ${bare} device ${deviceId} is now ${shown.trust ?? omemoTrust}`);
}

/** Runs one input line. */
export async function command(app: ChatApp, line: string): Promise<void> {
  const [cmd = '', ...words] = line.trim().split(/\s+/);
  const arg = words.join(' ');
  switch (cmd) {
    case '/help':
      app.term.print(...HELP);
      return;
    case '/to':
      if (arg === '') throw new Error('/to JID');
      app.peer = arg;
      say(app, `* talking to ${arg}: ${choiceText(app.router.preference(arg), await app.router.decide(arg))}`);
      return;
    case '/proto': {
      const last = words[words.length - 1] as Preference | undefined;
      if (last === undefined || !PREFERENCES.includes(last)) throw new Error(`/proto [JID] ${PREFERENCES.join('|')}`);
      const jid = words.length > 1 ? (words[0] as string) : needPeer(app);
      app.router.set(jid, last);
      const choice = await app.router.decide(jid);
      say(app, `* ${bareOf(jid)}: ${choiceText(last, choice)}`, jid);
      return;
    }
    case '/fp': {
      const lines = [`* ours, OTR: ${otrFingerprintText(await app.otr.ourFingerprint())}`, ...app.devices.ownLines()];
      app.term.print(...lines);
      return;
    }
    case '/devices': {
      const jid = bareOf(words[0] ?? needPeer(app));
      const list = await app.devices.list(jid);
      if (list.length === 0) app.term.print(`* ${jid} publishes no OMEMO device`);
      else app.term.print(...list.map((d) => OmemoDevices.line(jid, d)));
      return;
    }
    case '/trust':
      await setTrust(app, words, 'trusted');
      return;
    case '/distrust':
      await setTrust(app, words, 'distrusted');
      return;
    case '/verify':
      await setTrust(app, words, 'verified');
      return;
    case '/untrust':
      await setTrust(app, words, 'undecided');
      return;
    case '/otr':
      if (words[0] === 'start') await app.otr.start(needPeer(app));
      else if (words[0] === 'end') await app.otr.stop(needPeer(app));
      else say(app, '* /otr start | /otr end');
      return;
    case '/smp': {
      const who = needPeer(app);
      if (words[0] === 'abort') await app.otr.smpAbort(who);
      else if (words[0] === 'answer') await app.otr.smpAnswer(who, words.slice(1).join(' '));
      else {
        const [secret = '', question] = arg.split(/\s+\?\s+/);
        await app.otr.smpAsk(who, secret, question);
      }
      return;
    }
    case '/fingerprint': {
      say(app, `* ours: ${otrFingerprintText(await app.otr.ourFingerprint())}`);
      if (app.peer !== undefined) {
        for (const f of await app.otr.fingerprints(app.peer)) say(app, `* ${f.peer}: ${otrFingerprintText(Buffer.from(f.fingerprint).toString('hex'))} (${f.trust})`);
      }
      return;
    }
    case '/status': {
      for (const s of app.otr.sessions()) say(app, `* ${s.jid} OTR instance tags ${s.instanceTags.join(',') || '-'} held ${s.held}`, s.jid);
      if (app.peer !== undefined) say(app, `* ${app.peer}: ${choiceText(app.router.preference(app.peer), app.router.choice(app.peer))}`);
      say(app, `* our OMEMO device ${app.omemo.deviceId}: ${formatFingerprint(app.omemo.manager.ownFingerprint)}`);
      return;
    }
    case '/quit':
      await app.shutdown();
      return;
    default:
      if (cmd.startsWith('/')) throw new Error(`unknown command ${cmd} (/help)`);
      await sendText(app, line);
  }
}

async function sendText(app: ChatApp, text: string): Promise<void> {
  const to = needPeer(app);
  let sent;
  try {
    sent = await app.router.send(to, text);
  } catch (error) {
    if (error instanceof NoRecipientsError) {
      const why = error.skipped.map((s) => `device ${s.deviceId} ${s.reason}`).join(', ');
      throw new Error(`not sent: no OMEMO device of ${bareOf(to)} can be encrypted to (${why}); see /devices ${bareOf(to)}, then /trust or /verify`);
    }
    throw error;
  }
  if (sent.protocol === 'plain') {
    say(app, `* sent in plaintext (/proto plain)`, to);
    return;
  }
  const why = choiceText(sent.choice.preference, sent.choice);
  if (sent.protocol === 'omemo') {
    const { result } = sent;
    const skipped = result.skipped.map((s) => `${s.jid} device ${s.deviceId}: ${s.reason}`);
    say(app, `* sent with ${omemoName(result.version)} to ${result.recipients.length} device(s) — ${why}${skipped.length === 0 ? '' : `; skipped ${skipped.join(', ')}`}`, to);
    return;
  }
  const outcome = sent.result;
  if (outcome.kind === 'encrypted') say(app, `* sent with OTR — ${why}`, to);
  else if (outcome.kind === 'plaintext') say(app, `* sent in plaintext: no OTR session yet (/otr start) — ${why}`, to);
  else if (outcome.kind === 'held') say(app, `* OTR is starting; the message goes out once the session is encrypted — ${why}`, to);
  else say(app, '* not sent: the contact ended OTR (/otr end or /otr start)', to);
}
