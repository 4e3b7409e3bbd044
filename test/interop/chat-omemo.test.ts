/**
 * examples/chat with OTR and OMEMO side by side, end to end through Prosody: the client runs
 * as its own process (flags only, piped stdin/stdout) and talks to plugin clients of this
 * test. Checked: `/fp` prints the fingerprints the peers see for it and a QR code that an
 * independent decoder (jsQR) reads back as the printed xmpp: URI; OMEMO messages are shown
 * with their version and the sender device's trust, and `/trust`, `/verify`, `/distrust`
 * change what the next message shows; `auto` picks OMEMO for a contact with devices and OTR
 * for one without; `/proto otr` switches to OTR with a contact that has both; `/proto plain`.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { xml } from '@xmpp/client';
import * as jsqrModule from 'jsqr';
import { MemoryStore } from '../../lib/core/store/store.js';
import { secureClient, type SecureXmppClient } from '../../lib/xmpp/secure-client.js';
import { omemoPlugin, type OmemoPlugin, type OmemoXmppDependencies } from '../../lib/xmpp/omemo-plugin.js';
import { otrPlugin, type OtrPlugin } from '../../lib/xmpp/otr-plugin.js';
import type { OmemoPluginEvents } from '../../lib/xmpp/omemo-events.js';
import type { OtrPluginEvents } from '../../lib/xmpp/otr-events.js';
import { formatFingerprint, parseFingerprintUri } from '../../omemo/fingerprint.js';
import { useProsody } from './prosody/prosody-mocha.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';
import { until } from './omemo-xmpp/omemo-clients.js';

/** jsQR's decoder: its UMD build is seen as `{ default }` or as the function, depending on the loader. */
type QrDecoder = (data: Uint8ClampedArray, width: number, height: number) => { readonly data: string } | null;
const jsqrDefault = (jsqrModule as unknown as { default: unknown }).default;
const jsQR = (typeof jsqrDefault === 'function' ? jsqrDefault : (jsqrDefault as { default: unknown }).default) as QrDecoder;

const chatScript = fileURLToPath(new URL('../../examples/chat/chat.ts', import.meta.url));

/** A contact of the chat client: OTR always, OMEMO when asked (registered first, consuming its messages). */
interface Contact {
  readonly xmpp: SecureXmppClient;
  readonly jid: string;
  readonly bare: string;
  readonly omemo: OmemoPlugin | undefined;
  readonly otr: OtrPlugin;
  readonly omemoMessages: OmemoPluginEvents['message'][];
  readonly otrMessages: OtrPluginEvents['message'][];
  stop(): Promise<void>;
}

async function connectContact(server: ProsodyServer, user: string, withOmemo: boolean): Promise<Contact> {
  const account = server.account(user);
  const xmpp = secureClient({ service: server.service, domain: server.domain, username: account.username, password: account.password, resource: 'main', tls: { ca: server.caPem } });
  xmpp.on('error', () => undefined);
  const omemo = withOmemo ? await omemoPlugin(xmpp as unknown as OmemoXmppDependencies, { account: account.jid, store: new MemoryStore(), preKeyCount: 10, consume: true }) : undefined;
  const otr = await otrPlugin(xmpp, { account: account.jid, store: new MemoryStore(), policy: 'manual' });
  const omemoMessages: Contact['omemoMessages'] = [];
  const otrMessages: Contact['otrMessages'] = [];
  omemo?.on('message', (m) => omemoMessages.push(m));
  otr.on('message', (m) => otrMessages.push(m));
  await xmpp.start();
  await omemo?.announced();
  await (omemo === undefined ? xmpp.send(xml('presence')) : omemo.presence());
  return {
    xmpp, jid: `${account.jid}/main`, bare: account.jid, omemo, otr, omemoMessages, otrMessages,
    async stop() {
      await omemo?.close();
      await otr.close();
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => undefined);
    },
  };
}

/** The chat client as a child process: lines it printed (prompt stripped), typing, waiting. */
interface ChatProcess {
  readonly child: ChildProcess;
  readonly out: string[];
  type(line: string): void;
  /** Waits for a line containing `what` printed at or after line `from`; returns it. */
  line(what: string | RegExp, from?: number, label?: string): Promise<string>;
  stop(): Promise<void>;
}

function spawnChat(server: ProsodyServer, user: string, dataHome: string, extra: readonly string[]): ChatProcess {
  const account = server.account(user);
  const child = spawn(process.execPath, ['--import', 'tsx', chatScript,
    '--service', server.service, '--jid', account.jid, '--password', account.password, '--resource', 'term',
    '--ca', server.caPath, ...extra,
  ], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, XDG_DATA_HOME: dataHome } });
  const out: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    out.push(...parts.map((l) => l.replace(/^(?:> |\r)+/, '')));
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise((r) => child.once('exit', r));
  const matches = (l: string, what: string | RegExp): boolean => (typeof what === 'string' ? l.includes(what) : what.test(l));
  return {
    child, out,
    type(line) {
      child.stdin?.write(`${line}\n`);
    },
    async line(what, from = 0, label = String(what)) {
      await until(() => out.slice(from).some((l) => matches(l, what)), `chat: ${label} (stderr: ${stderr.slice(-500)}; last lines: ${out.slice(-5).join(' | ')})`, 30_000);
      return out.slice(from).find((l) => matches(l, what)) as string;
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin?.write('/quit\n');
        const timer = setTimeout(() => child.kill('SIGTERM'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Reads a QR code drawn with half blocks ('█' both halves light, '▀' upper, '▄' lower, ' '
 * none) into pixels and decodes it with jsQR, an implementation independent of the encoder.
 */
function decodeHalfBlockQr(lines: readonly string[]): string | undefined {
  const rows: boolean[][] = [];
  for (const line of lines) {
    const chars = [...line];
    rows.push(chars.map((c) => c === '█' || c === '▀'));
    rows.push(chars.map((c) => c === '█' || c === '▄'));
  }
  const scale = 4;
  const height = rows.length * scale;
  const width = (rows[0]?.length ?? 0) * scale;
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const light = rows[Math.floor(y / scale)]?.[Math.floor(x / scale)] === true;
      const o = (y * width + x) * 4;
      pixels.fill(light ? 255 : 0, o, o + 3);
      pixels[o + 3] = 255;
    }
  }
  return jsQR(pixels, width, height)?.data;
}

const hexOf = (text: string): string => text.replace(/\s+/g, '').toLowerCase();

describe('interop: examples/chat with OTR and OMEMO through Prosody', function () {
  this.timeout(120_000);
  const prosody = useProsody({ accounts: ['carol', 'dave', 'erin'], modules: ['pep', 'carbons'] });
  let dir: string;
  let chat: ChatProcess | undefined;
  const contacts: Contact[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'chat-omemo-'));
  });

  after(async () => {
    await chat?.stop();
    await Promise.all(contacts.splice(0).map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows fingerprints and a QR code, OMEMO with device trust, /trust /verify /distrust, auto, /proto otr and plain', async () => {
    // Devices start undecided (--omemo-trust manual), so trust decisions show.
    chat = spawnChat(prosody.server, 'carol', dir, ['--ephemeral', '--policy', 'manual', '--omemo-trust', 'manual']);
    const c = chat;
    const online = await c.line('* online as carol@localhost/term', 0, 'online');
    const carolDevice = Number(/OMEMO device (\d+)/.exec(online)?.[1]);
    const dave = await connectContact(prosody.server, 'dave', true);
    const erin = await connectContact(prosody.server, 'erin', false);
    contacts.push(dave, erin);
    const daveOmemo = dave.omemo as OmemoPlugin;
    const daveDevice = daveOmemo.deviceId;
    const daveFp = daveOmemo.manager.formatOwnFingerprint('conversations');

    // An OMEMO 0.3 message from an undecided device is shown as such.
    let mark = c.out.length;
    await daveOmemo.send('carol@localhost', 'hello carol', { version: '0.3' });
    const first = await c.line('dave@localhost: hello carol', mark);
    expect(first.startsWith(`[OMEMO 0.3 | device ${daveDevice} UNDECIDED (not trusted)] `)).to.equal(true);
    expect(first).to.include(`! device ${daveDevice} is not trusted`);

    // /fp: our OTR and OMEMO fingerprints as the peers see them, and a QR code of the xmpp: URI.
    mark = c.out.length;
    c.type('/fp');
    const uriLine = await c.line('* scan to verify us: ', mark);
    const fpAt = c.out.indexOf(uriLine);
    const ownLines = c.out.slice(mark, fpAt);
    const seenByDave = (await daveOmemo.manager.devices('carol@localhost')).find((d) => d.deviceId === carolDevice);
    expect(seenByDave, 'dave knows carol\'s device').to.not.equal(undefined);
    const carolFp = formatFingerprint(seenByDave?.fingerprint as Uint8Array, 'conversations');
    expect(ownLines).to.include(`* ours, OMEMO 0.3 device ${carolDevice}: ${carolFp}`);
    expect(ownLines).to.include(`* ours, OMEMO 2 device ${carolDevice}: ${carolFp}`);
    const otrLine = ownLines.find((l) => l.startsWith('* ours, OTR: ')) as string;
    const uri = uriLine.slice(uriLine.indexOf('xmpp:'));
    const parsed = parseFingerprintUri(uri);
    expect(parsed.jid).to.equal('carol@localhost');
    expect(parsed.devices.map((d) => [d.deviceId, formatFingerprint(d.fingerprint, 'conversations')])).to.deep.equal([[carolDevice, carolFp]]);
    await until(() => c.out.length > fpAt + 10, 'the QR lines');
    const qr: string[] = [];
    for (const l of c.out.slice(fpAt + 1)) {
      if (!/^[█▀▄ ]+$/.test(l)) break;
      qr.push(l);
    }
    // Level M, version 6 or 7 (41 or 45 modules) with a 4-module quiet zone, two module rows a line.
    expect(qr.length).to.be.greaterThan(20);
    expect(new Set(qr.map((l) => [...l].length)).size).to.equal(1);
    expect(decodeHalfBlockQr(qr)).to.equal(uri);

    // /devices: dave's device, both versions, its fingerprint, undecided.
    mark = c.out.length;
    c.type('/to dave@localhost');
    expect(await c.line('* talking to dave@localhost: ', mark)).to.include('OMEMO 0.3 (auto: the contact publishes OMEMO devices)');
    c.type('/devices dave@localhost');
    const deviceLine = await c.line(`* dave@localhost device ${daveDevice} `, mark);
    expect(deviceLine).to.equal(`* dave@localhost device ${daveDevice} [OMEMO 0.3 + OMEMO 2] ${daveFp} UNDECIDED (not trusted)`);

    // /trust DEVICE-ID: the next message (omemo:2 this time) shows the device trusted.
    mark = c.out.length;
    c.type(`/trust dave@localhost ${daveDevice}`);
    await c.line(`* dave@localhost device ${daveDevice} is now trusted`, mark);
    await daveOmemo.send('carol@localhost', 'after trust', { version: '2' });
    const second = await c.line('dave@localhost: after trust', mark);
    expect(second).to.equal(`[OMEMO 2 | device ${daveDevice} trusted] dave@localhost: after trust`);

    // auto with a contact that publishes devices: OMEMO; dave gets it decrypted.
    mark = c.out.length;
    c.type('reply over auto');
    const sentLine = await c.line('* sent with OMEMO', mark);
    expect(sentLine).to.include('* sent with OMEMO 0.3 to 1 device(s) — OMEMO 0.3 (auto: the contact publishes OMEMO devices)');
    await until(() => dave.omemoMessages.some((m) => m.text === 'reply over auto'), 'dave gets the OMEMO reply');
    expect(dave.omemoMessages.find((m) => m.text === 'reply over auto')).to.include({ from: 'carol@localhost', version: '0.3', senderDeviceId: carolDevice });

    // /verify FINGERPRINT (compared out of band), then /distrust: the next messages show it / are refused.
    mark = c.out.length;
    c.type(`/verify dave@localhost ${daveFp}`);
    await c.line(`* dave@localhost device ${daveDevice} is now verified`, mark);
    await daveOmemo.send('carol@localhost', 'after verify', { version: '0.3' });
    expect(await c.line('dave@localhost: after verify', mark)).to.equal(`[OMEMO 0.3 | device ${daveDevice} verified] dave@localhost: after verify`);
    mark = c.out.length;
    c.type(`/distrust dave@localhost ${daveDevice}`);
    await c.line(`* dave@localhost device ${daveDevice} is now distrusted`, mark);
    await daveOmemo.send('carol@localhost', 'after distrust', { version: '0.3' }).catch(() => undefined);
    await c.line('* OMEMO 0.3 error from dave@localhost: omemo.untrusted-device (refused: you distrust that device)', mark);
    expect(c.out.some((l) => l.includes('after distrust'))).to.equal(false);
    c.type(`/trust dave@localhost ${daveDevice}`);
    await c.line(`* dave@localhost device ${daveDevice} is now trusted`, mark);

    // /proto otr with a contact that has both: held until the AKE, then OTR; OMEMO unused.
    mark = c.out.length;
    c.type('/proto otr');
    expect(await c.line('* dave@localhost: ', mark)).to.include('* dave@localhost: OTR (/proto otr)');
    c.type('over otr');
    await c.line('* OTR session with dave@localhost', mark);
    await until(() => dave.otrMessages.some((m) => m.text === 'over otr'), 'dave gets the OTR message');
    expect(dave.otrMessages.find((m) => m.text === 'over otr')?.encrypted).to.equal(true);
    expect(dave.omemoMessages.some((m) => m.text === 'over otr')).to.equal(false);
    await dave.otr.send('carol@localhost/term', 'otr back');
    expect(await c.line('dave@localhost/main: otr back', mark)).to.equal('[OTR unverified] dave@localhost/main: otr back');
    // /fp's OTR fingerprint is the one dave's OTR session saw.
    const [carolOtr] = await dave.otr.fingerprints('carol@localhost');
    expect(hexOf(otrLine.slice('* ours, OTR: '.length))).to.equal(Buffer.from(carolOtr?.fingerprint ?? []).toString('hex'));

    // auto with a contact that publishes no OMEMO device: OTR.
    mark = c.out.length;
    c.type('/to erin@localhost/main');
    expect(await c.line('* talking to erin@localhost/main: ', mark)).to.include('OTR (auto: the contact publishes no OMEMO device)');
    c.type('/proto auto');
    expect(await c.line('* erin@localhost: ', mark)).to.include('* erin@localhost: OTR (auto: the contact publishes no OMEMO device)');
    c.type('/otr start');
    await c.line('* OTR session with erin@localhost/main', mark);
    c.type('hello erin');
    expect(await c.line('* sent with OTR', mark)).to.include('OTR (auto: an OTR session is encrypted)');
    await until(() => erin.otrMessages.some((m) => m.text === 'hello erin'), 'erin gets OTR');
    expect(erin.otrMessages.find((m) => m.text === 'hello erin')?.encrypted).to.equal(true);

    // /proto plain: an unencrypted message, on request only, and said so.
    mark = c.out.length;
    c.type('/otr end');
    await c.line('* OTR ended with erin@localhost/main', mark);
    await until(() => erin.otr.session('carol@localhost/term').security.kind === 'finished', 'erin sees the end');
    await erin.otr.stop('carol@localhost/term');
    c.type('/proto plain');
    await c.line('* erin@localhost: plaintext (/proto plain)', mark);
    c.type('in the clear');
    await c.line('* sent in plaintext (/proto plain)', mark);
    await until(() => erin.otrMessages.some((m) => m.text === 'in the clear'), 'erin gets plaintext');
    expect(erin.otrMessages.find((m) => m.text === 'in the clear')?.encrypted).to.equal(false);
    await erin.otr.send('carol@localhost/term', 'plain back');
    expect(await c.line('erin@localhost/main: plain back', mark)).to.equal('[plaintext] erin@localhost/main: plain back');

    await c.stop();
    expect(c.child.exitCode).to.equal(0);
  });
});
