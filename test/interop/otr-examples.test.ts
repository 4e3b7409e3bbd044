/**
 * examples/echo-bot end to end: the bot runs as its own process (flags only, the run's CA via
 * --ca), a plugin client talks to it through Prosody over STARTTLS: plaintext is refused with
 * a hint, an OTR session echoes encrypted, "!verify" makes the bot run SMP with its secret and
 * the client's fingerprint store marks the bot verified; the bot's store file is written.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStore } from '../../lib/core/store/store.js';
import { useProsody } from './prosody/prosody-mocha.js';
import { connectOtr, eventsNamed, until, type OtrClient } from './otr-xmpp/otr-clients.js';
import { connectOmemo } from './omemo-xmpp/omemo-clients.js';

const botScript = fileURLToPath(new URL('../../examples/echo-bot/echo-bot.ts', import.meta.url));
const chatScript = fileURLToPath(new URL('../../examples/chat/chat.ts', import.meta.url));

describe('interop: examples/echo-bot through Prosody', function () {
  this.timeout(60_000);
  const prosody = useProsody({ accounts: ['alice', 'bot', 'carol', 'dave'], modules: ['pep', 'carbons'] });
  let bot: ChildProcess | undefined;
  let user: OtrClient | undefined;
  let dir: string;
  const lines: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'otr-echo-bot-'));
    const account = prosody.server.account('bot');
    bot = spawn(process.execPath, ['--import', 'tsx', botScript,
      '--service', prosody.server.service, '--jid', account.jid, '--password', account.password, '--resource', 'bot',
      '--ca', prosody.server.caPath, '--store', join(dir, 'bot.otr.json'), '--smp-secret', 'bot secret', '--policy', 'opportunistic',
    ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: dir } });
    let buffer = '';
    bot.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
    });
    let stderr = '';
    bot.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await until(() => lines.some((l) => l.startsWith('online ')), `the bot online (stderr: ${stderr})`, 30_000);
  });

  after(async () => {
    await user?.stop();
    if (bot !== undefined && bot.exitCode === null) {
      const exited = new Promise((r) => bot?.once('exit', r));
      bot.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses plaintext, echoes encrypted, verifies by SMP', async () => {
    user = await connectOtr(prosody.server, prosody.server.account('alice'), 'desk', { store: new MemoryStore(), policy: 'manual' });
    const botJid = 'bot@localhost/bot';
    await user.otr.send(botJid, 'hello?');
    await until(() => user?.messages.length === 1, 'plaintext hint');
    expect(user.messages[0]).to.include({ encrypted: false, text: 'I only talk OTR. Start an OTR session, please.' });
    await user.otr.start(botJid);
    await until(() => user?.otr.session(botJid).security.kind === 'encrypted', 'AKE with the bot');
    await user.otr.send(botJid, 'ping');
    await until(() => user?.messages.some((m) => m.text === 'echo: ping') === true, 'echo');
    expect(user.messages.find((m) => m.text === 'echo: ping')?.encrypted).to.equal(true);
    user.otr.on('smp', (e) => {
      if (e.kind === 'secret-needed') void user?.otr.smpAnswer(e.jid, 'bot secret');
    });
    await user.otr.send(botJid, '!verify');
    await until(() => eventsNamed(user as OtrClient, 'smp').some((e) => e.kind === 'succeeded'), 'SMP with the bot');
    const botFingerprint = /fingerprint=([0-9a-f]{40})/.exec(lines.find((l) => l.startsWith('online ')) ?? '')?.[1];
    expect(await user.otr.fingerprints('bot@localhost')).to.have.length(1);
    const [known] = await user.otr.fingerprints('bot@localhost');
    expect(known?.trust).to.equal('smp');
    expect(Buffer.from(known?.fingerprint ?? []).toString('hex')).to.equal(botFingerprint);
    await until(() => user?.messages.some((m) => m.text.startsWith('SMP succeeded')) === true, 'bot reports SMP');
    expect(lines.some((l) => l.startsWith('smp ') && l.endsWith(' succeeded'))).to.equal(true);
    expect(existsSync(join(dir, 'bot.otr.json'))).to.equal(true);
    // The bot's log lines carry no message text.
    expect(lines.join('\n')).to.not.include('ping');
  });

  it('answers OMEMO 0.3 and omemo:2 messages with OMEMO echoes (to the sender\'s devices)', async () => {
    const dave = await connectOmemo(prosody.server, prosody.server.account('dave'), 'phone');
    try {
      await until(() => lines.some((l) => l.startsWith('omemo device=')), 'the bot announced its OMEMO device');
      for (const version of ['0.3', '2'] as const) {
        await dave.omemo.send(prosody.server.account('bot').jid, `hello over ${version}`, { version });
        await until(() => dave.messages.some((m) => m.text === `echo: hello over ${version}` && m.version === version), `the ${version} echo`);
      }
      const echoes = dave.messages.filter((m) => m.text.startsWith('echo: '));
      expect(echoes.map((m) => m.from)).to.deep.equal([prosody.server.account('bot').jid, prosody.server.account('bot').jid]);
      expect(lines.filter((l) => l.startsWith('omemo-message dave@localhost'))).to.have.length(2);
      // the OTR plugin behind the OMEMO one never saw these as plaintext
      expect(lines.some((l) => l.startsWith('message dave@localhost'))).to.equal(false);
      // what went over the wire to dave carried no echo text in the clear
      expect(dave.raw.filter((r) => r.includes('echo: hello'))).to.deep.equal([]);
    } finally {
      await dave.stop();
    }
  });

  it('examples/chat talks to the bot: /otr start, security state on every line, /smp, /fingerprint, /trust', async () => {
    const account = prosody.server.account('carol');
    const chat = spawn(process.execPath, ['--import', 'tsx', chatScript,
      '--service', prosody.server.service, '--jid', account.jid, '--password', account.password, '--resource', 'term',
      '--ca', prosody.server.caPath, '--ephemeral', '--policy', 'manual', '--to', 'bot@localhost/bot',
    ], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: dir } });
    const out: string[] = [];
    let buffer = '';
    chat.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      out.push(...parts.map((l) => l.replace(/^(?:> |\r)+/, '')));
    });
    const exited = new Promise((r) => chat.once('exit', r));
    const type = (line: string): void => {
      chat.stdin?.write(`${line}\n`);
    };
    const seen = (what: string): boolean => out.some((l) => l.includes(what));
    try {
      await until(() => seen('* online as carol@localhost/term'), 'chat online', 30_000);
      type('/otr start');
      await until(() => seen('* OTR session with bot@localhost/bot'), 'chat AKE');
      type('hello bot');
      await until(() => seen('bot@localhost/bot: echo: hello bot'), 'echo in chat');
      expect(out.find((l) => l.includes('echo: hello bot'))?.startsWith('[OTR unverified] ')).to.equal(true);
      type('/smp bot secret');
      await until(() => seen('* SMP succeeded: fingerprint verified'), 'chat SMP');
      type('/fingerprint');
      await until(() => seen('* bot@localhost: ') && seen('(smp)'), 'fingerprint listing');
      type('after smp');
      await until(() => seen('bot@localhost/bot: echo: after smp'), 'echo after smp');
      expect(out.find((l) => l.includes('echo: after smp'))?.startsWith('[OTR verified (smp)] ')).to.equal(true);
      type('/untrust');
      await until(() => seen('is now unverified'), 'untrust');
      type('/otr end');
      await until(() => seen('* OTR ended with bot@localhost/bot'), 'end');
      type('/quit');
      await exited;
    } finally {
      if (chat.exitCode === null) chat.kill('SIGTERM');
    }
    // Ephemeral: the chat client wrote no store.
    expect(existsSync(join(dir, 'xmpp-otr-omemo'))).to.equal(false);
  });
});
