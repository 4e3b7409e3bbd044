/**
 * The OMEMO plugin against a REAL desktop client: profanity 0.13.1 (OMEMO 0.3 through
 * libsignal-protocol-c 2.3.3) in tmux, both logged in to a throwaway Prosody (pep, carbons)
 * over TLS, contacts subscribed to each other's presence (profanity's bundle is readable by
 * presence subscribers only).
 *
 * - our plugin client -> profanity: profanity shows the plaintext marked as OMEMO (`~`), what
 *   our client wrote and what profanity received are axolotl `<encrypted>` with only the
 *   fallback body; the fingerprint profanity lists for us is ours.
 * - profanity -> our plugin: decrypted as OMEMO 0.3 from profanity's device id, with the
 *   fingerprint profanity prints for itself.
 * - examples/echo-bot (its own process) answers profanity's OMEMO message; profanity shows
 *   the echo.
 * - OTR v2 (profanity's libotr policy offers v1/v2, not v3) with the OTR plugin: profanity
 *   starts, one encrypted message each way, each side's fingerprint as the other reports it.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bytesToHex } from '../../lib/core/bytes.js';
import { OMEMO_FALLBACK_BODY } from '../../lib/xmpp/omemo-stanzas.js';
import { requirePeer } from './peer-availability.js';
import { Profanity, PROFANITY_PEER, probeProfanity } from './clients/profanity.js';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOmemo, until, type OmemoClient } from './omemo-xmpp/omemo-clients.js';
import { MemoryStore } from '../../lib/core/store/store.js';
import { parseStanza } from '../unit/xmpp/loopback.js';
import { connectOtr, eventsNamed, rawBodies, type OtrClient } from './otr-xmpp/otr-clients.js';

const NS_AXOLOTL = 'eu.siacs.conversations.axolotl';
const botScript = fileURLToPath(new URL('../../examples/echo-bot/echo-bot.ts', import.meta.url));

/** The stanza lines of profanity's debug log going `direction`, for message `id`. */
function loggedMessage(p: Profanity, direction: 'SENT' | 'RECV', id: string): string | undefined {
  return p.log().split('\n').find((l) => l.includes(`${direction}: <message`) && l.includes(`id="${id}"`));
}

describe('interop: the OMEMO and OTR plugins vs profanity (libsignal-protocol-c, libotr) over Prosody', function () {
  this.timeout(180_000);
  const fixture = useProsody({ accounts: ['alice', 'bob', 'carol', 'dave'], modules: ['pep', 'carbons'] });
  let prof: Profanity | undefined;
  let alice: OmemoClient | undefined;
  let bot: ChildProcess | undefined;
  let dave: OtrClient | undefined;

  before(async function () {
    this.timeout(180_000);
    requirePeer(this, PROFANITY_PEER, probeProfanity());
    const { server } = fixture;
    prof = await Profanity.start({ server, account: server.account('bob'), contacts: [server.account('alice'), server.account('carol'), server.account('dave')] });
    await prof.omemoGenerate();
    alice = await connectOmemo(server, server.account('alice'), 'bot');
  });

  after(async function () {
    this.timeout(30_000);
    if (bot !== undefined && bot.exitCode === null) {
      const exited = new Promise((r) => bot?.once('exit', r));
      bot.kill('SIGTERM');
      await exited;
    }
    await prof?.stop();
    await alice?.stop();
    await dave?.stop();
  });

  function peers(): { p: Profanity; a: OmemoClient } {
    if (prof === undefined || alice === undefined) throw new Error('suite set-up failed');
    return { p: prof, a: alice };
  }

  it('our plugin -> profanity: profanity shows the plaintext; on the wire only axolotl <encrypted> and the fallback body', async () => {
    const { p, a } = peers();
    await p.omemoStart('alice@localhost');
    const ours = bytesToHex(a.omemo.manager.ownFingerprint);
    const listed = await p.peerFingerprints('alice@localhost');
    // profanity fetched our device list and bundle: the fingerprint it shows is ours.
    expect(listed).to.deep.equal([{ fingerprint: ours, trusted: false }]);
    await p.omemoTrust('alice@localhost', ours);
    expect(await p.peerFingerprints('alice@localhost')).to.deep.equal([{ fingerprint: ours, trusted: true }]);

    const text = 'hello profanity, from the plugin';
    const result = await a.omemo.send('bob@localhost', text, { version: '0.3' });
    expect(result.version).to.equal('0.3');
    expect(result.recipients.map((r) => r.deviceId)).to.deep.equal([p.deviceId]);

    await p.focus('alice@localhost');
    // `~` is profanity's mark for a message libsignal decrypted (OMEMO char).
    await p.waitForScreen(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ~ alice@localhost/bot: ${text}\\s*$`, 'm'));
    await p.waitForChatLog('alice@localhost', new RegExp(`- alice@localhost: ${text}$`, 'm'));

    // What our client wrote: axolotl <encrypted> with a key for profanity's device, the fallback body only.
    const wrote = a.sent.find((s) => s.includes(`id="${result.id}"`));
    expect(wrote, 'our stanza').to.be.a('string');
    const stanza = parseStanza(wrote ?? '');
    const encrypted = stanza.getChild('encrypted', NS_AXOLOTL);
    expect(encrypted?.getChild('header')?.getChildren('key').map((k) => Number(k.attrs.rid))).to.deep.equal([p.deviceId]);
    expect(stanza.getChildText('body')).to.equal(OMEMO_FALLBACK_BODY);
    expect(wrote).to.not.include(text);
    // What profanity received, from its own log: the same ciphertext, no plaintext.
    const received = await until(() => loggedMessage(p, 'RECV', result.id) !== undefined, 'profanity logged the stanza').then(() => loggedMessage(p, 'RECV', result.id) ?? '');
    expect(received).to.include(`<encrypted xmlns="${NS_AXOLOTL}">`);
    expect(received).to.include(encrypted?.getChildText('payload') ?? 'no payload');
    expect(received).to.not.include(text);
    expect(a.errors).to.deep.equal([]);
  });

  it('profanity -> our plugin: decrypted as OMEMO 0.3 from profanity\'s device, with the fingerprint profanity prints', async () => {
    const { p, a } = peers();
    const text = 'hi plugin, profanity here';
    await p.msg('alice@localhost', text);
    await until(() => a.messages.some((m) => m.text === text), 'profanity -> plugin', 30_000);
    const message = a.messages.find((m) => m.text === text);
    expect(message).to.include({ from: 'bob@localhost', fromFull: p.fullJid, version: '0.3', senderDeviceId: p.deviceId });
    await p.waitForScreen(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ~ me: ${text}\\s*$`, 'm'));
    const device = (await a.omemo.manager.devices('bob@localhost')).find((d) => d.deviceId === p.deviceId);
    expect(bytesToHex(device?.fingerprint ?? new Uint8Array())).to.equal(await p.ownFingerprint());

    // On the wire (what the server delivered to us, and what profanity logged as sent): encrypted only.
    const raw = a.raw.find((r) => r.includes(`id="${message?.id ?? ''}"`)) ?? '';
    const stanza = parseStanza(raw);
    expect(stanza.getChild('encrypted', NS_AXOLOTL)?.getChild('header')?.attrs.sid).to.equal(String(p.deviceId));
    expect(raw).to.not.include(text);
    const sent = loggedMessage(p, 'SENT', message?.id ?? '') ?? '';
    expect(sent).to.include(`<encrypted xmlns="${NS_AXOLOTL}">`);
    expect(sent).to.not.include(text);
    expect(a.errors).to.deep.equal([]);
  });

  it('examples/echo-bot answers profanity\'s OMEMO message; profanity shows the echo', async () => {
    const { p } = peers();
    const { server } = fixture;
    const account = server.account('carol');
    const lines: string[] = [];
    let stderr = '';
    const child = spawn(process.execPath, ['--import', 'tsx', botScript,
      '--service', server.service, '--jid', account.jid, '--password', account.password, '--resource', 'bot',
      '--ca', server.caPath, '--ephemeral', '--smp-secret', 'unused',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    bot = child;
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await until(() => lines.some((l) => l.startsWith('omemo device=')), `the bot's OMEMO device (stderr: ${stderr})`, 60_000);
    const announced = /^omemo device=(\d+) fingerprint=([0-9a-f]{64})$/.exec(lines.find((l) => l.startsWith('omemo device=')) ?? '');
    const botFingerprint = announced?.[2] ?? '';

    await p.omemoStart('carol@localhost');
    expect(await p.peerFingerprints('carol@localhost')).to.deep.equal([{ fingerprint: botFingerprint, trusted: false }]);
    await p.omemoTrust('carol@localhost', botFingerprint);
    await p.msg('carol@localhost', 'ping the bot');
    await p.waitForScreen(/^\d\d:\d\d:\d\d ~ carol@localhost\/bot: echo: ping the bot\s*$/m, 30_000);
    expect(lines).to.include(`omemo-message bob@localhost device=${p.deviceId} v0.3 trust=trusted`);
    expect(lines.join('\n')).to.not.include('ping the bot');
  });

  it('OTR v2 (profanity\'s libotr offers v1/v2 only): profanity starts, one encrypted message each way, fingerprints agree', async () => {
    const { p } = peers();
    const { server } = fixture;
    const d = await connectOtr(server, server.account('dave'), 'desk', { store: new MemoryStore(), policy: 'manual' });
    dave = d;
    await p.otrGenerate();
    expect(await p.otrStart('dave@localhost')).to.deep.equal({ trusted: false });
    await until(() => eventsNamed(d, 'secure').length === 1, 'AKE with profanity', 30_000);
    const secure = eventsNamed(d, 'secure')[0];
    expect(secure).to.include({ jid: p.fullJid, version: 2, instanceTag: 0 });
    expect(secure?.fingerprint).to.equal(await p.otrOwnFingerprint());
    expect(await p.otrPeerFingerprint('dave@localhost')).to.equal(await d.otr.ourFingerprint());

    await p.msg('dave@localhost', 'otr from profanity');
    await until(() => d.messages.some((m) => m.text === 'otr from profanity'), 'profanity -> plugin over OTR', 30_000);
    expect(d.messages.find((m) => m.text === 'otr from profanity')).to.include({ from: p.fullJid, encrypted: true });
    expect((await d.otr.send('bob@localhost', 'otr from the plugin')).kind).to.equal('encrypted');
    // `~` marks a message libotr decrypted.
    await p.waitForScreen(/^\d\d:\d\d:\d\d ~ dave@localhost\/desk: otr from the plugin\s*$/m, 30_000);

    // Both directions were OTR data messages on the wire, never the text.
    const bodies = rawBodies(d);
    expect(bodies.some((b) => b.startsWith('?OTR:'))).to.equal(true);
    for (const b of bodies) expect(b).to.not.include('otr from profanity');
    for (const s of d.sent) expect(s).to.not.include('otr from the plugin');
    expect(p.log()).to.not.match(/SENT: <message[^\n]*otr from profanity/);
    expect(eventsNamed(d, 'otr-error')).to.deep.equal([]);
  });
});
