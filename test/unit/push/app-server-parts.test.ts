/**
 * The app server's parts without an XMPP server: registrations persisted in the FileStore
 * (secret kept only as a hash, checked in constant time, versioned documents), the publish
 * parser on Prosody's shape and on hostile input, the config file, the relay's bounds, and the
 * XEP-0114 handshake and input limits against a minimal loopback listener.
 */
import { expect } from 'chai';
import { createHash, createECDH, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { xml } from '@xmpp/client';
import type { XmppClientElement } from '@xmpp/client';
import { FileStore } from '../../../lib/core/store/file-store.js';
import { MemoryStore } from '../../../lib/core/store/store.js';
import { StorageError } from '../../../lib/core/errors.js';
import { RegistrationStore } from '../../../lib/push/registrations.js';
import { parsePushPublish, iqError } from '../../../lib/push/pubsub-publish.js';
import { parsePushConfig } from '../../../lib/push/config.js';
import { PushConfigError } from '../../../lib/push/errors.js';
import { PushRelay } from '../../../lib/push/relay.js';
import type { RelayOutcome } from '../../../lib/push/relay.js';
import { ComponentConnection, ComponentError } from '../../../lib/push/component-connection.js';
import { PushAppServer } from '../../../lib/push/app-server.js';
import { parseDeviceCommand } from '../../../lib/push/device-commands.js';
import { ServiceAccountTokens } from '../../../lib/push/fcm-oauth.js';

function prosodyPublish(node: string, secret: string | undefined, body: string | undefined): XmppClientElement {
  const summary = [
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'urn:xmpp:push:summary')),
    xml('field', { var: 'message-count' }, xml('value', {}, '1')),
    ...(body !== undefined ? [xml('field', { var: 'last-message-body' }, xml('value', {}, body))] : []),
  ];
  return xml(
    'iq',
    { type: 'set', id: 'abc', from: 'localhost', to: 'push.localhost' },
    xml(
      'pubsub',
      { xmlns: 'http://jabber.org/protocol/pubsub' },
      xml('publish', { node }, xml('item', {}, xml('notification', { xmlns: 'urn:xmpp:push:0' }, xml('x', { xmlns: 'jabber:x:data', type: 'form' }, ...summary)))),
      ...(secret !== undefined
        ? [xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
            xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
            xml('field', { var: 'secret' }, xml('value', {}, secret))))]
        : []),
    ),
  );
}

const p256dh = (): Uint8Array => {
  const e = createECDH('prime256v1');
  e.generateKeys();
  return new Uint8Array(e.getPublicKey());
};

describe('push app server: registrations in the embedded store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'push-reg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('persist across reopen, keep only the secret hash, and check node and secret', async () => {
    const path = join(dir, 'r.json');
    const store = await FileStore.open(path);
    const regs = new RegistrationStore(store);
    const key = p256dh();
    await regs.put({ node: 'n-1', secret: 'correct horse battery', target: { service: 'webpush', endpoint: 'https://push.example/x', p256dh: key, auth: new Uint8Array(16) } });
    await regs.put({ node: 'n-2', secret: 'another secret', target: { service: 'apns', token: 'ab'.repeat(32) } });
    await store.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.to.contain('correct horse battery');
    expect(text).to.contain(createHash('sha256').update('correct horse battery').digest('base64'));

    const reopened = new RegistrationStore(await FileStore.open(path));
    expect((await reopened.list()).map((r) => r.node)).to.deep.equal(['n-1', 'n-2']);
    const ok = await reopened.check('n-1', 'correct horse battery');
    if (!ok.ok) throw new Error('expected ok');
    expect(ok.registration.target).to.deep.include({ service: 'webpush', endpoint: 'https://push.example/x' });
    expect(Buffer.from((ok.registration.target as { p256dh: Uint8Array }).p256dh).equals(Buffer.from(key))).to.equal(true);
    expect(await reopened.check('n-1', 'correct horse batterY')).to.deep.equal({ ok: false, reason: 'not-authorized' });
    expect(await reopened.check('n-1', undefined)).to.deep.equal({ ok: false, reason: 'not-authorized' });
    expect(await reopened.check('n-3', 'correct horse battery')).to.deep.equal({ ok: false, reason: 'item-not-found' });
    expect(await reopened.check(undefined, 'x')).to.deep.equal({ ok: false, reason: 'item-not-found' });
    await reopened.delete('n-1');
    expect(await reopened.get('n-1')).to.equal(undefined);
  });

  it('refuses bad registrations (RangeError) and unknown document versions (StorageError)', async () => {
    const store = new MemoryStore();
    const regs = new RegistrationStore(store);
    const target = { service: 'fcm' as const, token: 't' };
    await expectReject(regs.put({ node: '', secret: 'long enough', target }), RangeError);
    await expectReject(regs.put({ node: 'has space', secret: 'long enough', target }), RangeError);
    await expectReject(regs.put({ node: 'n', secret: 'short', target }), RangeError);
    await expectReject(regs.put({ node: 'n', secret: 'long enough', target: { service: 'webpush', endpoint: 'http://insecure/x', p256dh: p256dh(), auth: new Uint8Array(16) } }), RangeError);
    await store.set('push-app-server/registrations/n', JSON.stringify({ version: 99 }));
    await expectReject(regs.get('n'), StorageError);
  });
});

async function expectReject(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<Error> {
  try {
    await p;
  } catch (error) {
    expect(error).to.be.instanceOf(type);
    return error as Error;
  }
  throw new Error(`expected a ${type.name}`);
}

describe('push app server: the publish parser', () => {
  it("reads Prosody's publish: node, secret, count, importance; the body value is not kept", () => {
    const p = parsePushPublish(prosodyPublish('node-1', 's3cret', 'New Message!'));
    expect(p).to.deep.equal({ id: 'abc', from: 'localhost', to: 'push.localhost', node: 'node-1', secret: 's3cret', unread: 1, important: true, encrypted: undefined });
    expect(JSON.stringify(p)).not.to.contain('New Message');
    expect(parsePushPublish(prosodyPublish('node-1', undefined, undefined))).to.include({ secret: undefined, important: false });
  });

  it('never throws on arbitrary element trees (hostile input)', () => {
    const leaf = fc.record({ name: fc.constantFrom('iq', 'pubsub', 'publish', 'item', 'notification', 'x', 'field', 'value', 'encrypted', 'publish-options'), attrs: fc.dictionary(fc.constantFrom('node', 'var', 'xmlns', 'iv', 'type'), fc.string({ maxLength: 20 })), text: fc.string({ maxLength: 20 }) });
    const level = (depth: number): fc.Arbitrary<XmppClientElement> =>
      depth === 0
        ? leaf.map((l) => xml(l.name, l.attrs, l.text))
        : fc.tuple(leaf, fc.array(level(depth - 1), { maxLength: 3 })).map(([l, kids]) => xml(l.name, l.attrs, l.text, ...kids));
    const tree = level(5);
    fc.assert(fc.property(tree, (el) => {
      const p = parsePushPublish(el);
      expect(p.unread === undefined || Number.isInteger(p.unread)).to.equal(true);
    }), { numRuns: 300 });
  });

  it('builds RFC 6120 errors', () => {
    expect(iqError(prosodyPublish('n', 's', undefined), 'auth', 'not-authorized').toString()).to.equal(
      '<iq type="error" id="abc" to="localhost" from="push.localhost"><error type="auth"><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>',
    );
  });
});

describe('push app server: config file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'push-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses the example config with its secret files', async () => {
    const example = JSON.parse(readFileSync('examples/push-app-server/config.example.json', 'utf8')) as Record<string, unknown>;
    const d = (): string => String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }).d);
    writeFileSync(join(dir, 'component-secret.txt'), 'sekrit\n');
    writeFileSync(join(dir, 'store-passphrase.txt'), 'pass phrase');
    writeFileSync(join(dir, 'vapid-private.txt'), d());
    writeFileSync(
      join(dir, 'fcm-service-account.json'),
      JSON.stringify({
        type: 'service_account',
        client_email: 'push@my-project.iam.gserviceaccount.com',
        private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        token_uri: 'https://oauth2.googleapis.com/token',
      }),
    );
    writeFileSync(join(dir, 'AuthKey_ABC123DEFG.p8'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const c = await parsePushConfig(example, dir);
    expect(c.component).to.deep.equal({ host: '127.0.0.1', port: 5347, domain: 'push.example.org', secret: 'sekrit' });
    expect(c.storePath).to.equal(join(dir, 'data/push-registrations.json'));
    expect(c.storePassphrase).to.equal('pass phrase');
    expect(c.credentials.fcm?.accessToken).to.be.instanceOf(ServiceAccountTokens);
    expect(c.credentials.apns?.key.publicKey).to.have.length(65);
    expect(c.registrations).to.have.length(1);
    expect(c.relay).to.deep.include({ maxAttempts: 5, concurrency: 8 });
  });

  it('refuses invalid configs with PushConfigError', async () => {
    await expectReject(parsePushConfig({}, dir), PushConfigError);
    await expectReject(parsePushConfig({ component: { port: 1, domain: 'x', secret: 's', secretFile: 'f' }, store: { path: 'p' } }, dir), PushConfigError);
    await expectReject(parsePushConfig({ component: { port: 1, domain: 'x', secret: 's' }, store: { path: 'p' }, registrations: [{ node: 'n', secret: 's', service: 'carrier-pigeon' }] }, dir), PushConfigError);
    await expectReject(parsePushConfig({ component: { port: 1, domain: 'x', secret: 's' }, store: { path: 'p' }, fcm: { projectId: 'p', accessToken: 't', baseUrl: 'http://127.0.0.1:1' } }, dir), PushConfigError);
  });
});

describe('push app server: relay bounds', () => {
  it('drops the oldest waiting job when the queue is full, and gives up on unreachable services', async () => {
    const relay = new PushRelay({ maxQueue: 2, concurrency: 1, maxAttempts: 2, baseDelayMs: 10, tls: { timeoutMs: 2000 } });
    const outcomes: RelayOutcome[] = [];
    relay.on('outcome', (o: RelayOutcome) => outcomes.push(o));
    const build = () => ({ url: new URL('https://127.0.0.1:1/x'), http2: false, method: 'POST' as const, headers: {}, body: new Uint8Array(4) });
    for (const node of ['a', 'b', 'c']) relay.enqueue({ node, service: 'fcm', build });
    expect(outcomes.map((o) => [o.node, o.kind === 'failed' ? o.error.code : o.kind])).to.deep.equal([['b', 'push.queue-full']]);
    for (let i = 0; i < 200 && outcomes.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(outcomes.map((o) => [o.node, o.kind === 'failed' ? o.error.code : o.kind])).to.deep.equal([
      ['b', 'push.queue-full'],
      ['a', 'push.gave-up'],
      ['c', 'push.gave-up'],
    ]);
    expect(relay.pending).to.equal(0);
    relay.stop();
  });

  it('drops a new job when every slot is in flight', () => {
    const relay = new PushRelay({ maxQueue: 1, concurrency: 1, maxAttempts: 1, tls: { timeoutMs: 2000 } });
    const outcomes: RelayOutcome[] = [];
    relay.on('outcome', (o: RelayOutcome) => outcomes.push(o));
    const build = () => ({ url: new URL('https://127.0.0.1:1/x'), http2: false, method: 'POST' as const, headers: {}, body: new Uint8Array(4) });
    relay.enqueue({ node: 'first', service: 'fcm', build });
    relay.enqueue({ node: 'second', service: 'fcm', build });
    expect(outcomes.map((o) => [o.node, o.kind === 'failed' ? o.error.code : o.kind])).to.deep.equal([['second', 'push.queue-full']]);
    relay.stop();
  });
});

/** A minimal XEP-0114 listener: answers the header with an id, then runs `script`. */
async function listener(script: (socket: Socket, handshake: string) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      if (buf.includes('<stream:stream') && !buf.includes('<handshake>')) {
        socket.write("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' id='stream-id-42' from='push.localhost'>");
      }
      const m = /<handshake>([0-9a-f]+)<\/handshake>/.exec(buf);
      if (m) {
        buf = '';
        script(socket, m[1] as string);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

describe('push app server: XEP-0114 component connection', () => {
  it('sends SHA-1(stream id || secret) in hex, and closes on an oversized element', async () => {
    let digest = '';
    const { server, port } = await listener((socket, handshake) => {
      digest = handshake;
      socket.write('<handshake/>');
      setTimeout(() => socket.write(`<message><body>${'x'.repeat(5000)}</body></message>`), 20);
    });
    try {
      const conn = await ComponentConnection.connect({ port, domain: 'push.localhost', secret: 'shh', maxStanzaBytes: 2048 });
      expect(digest).to.equal(createHash('sha1').update('stream-id-42shh').digest('hex'));
      const closed = await new Promise<unknown>((resolve) => conn.once('close', resolve));
      expect(closed).to.be.instanceOf(ComponentError);
      expect((closed as ComponentError).code).to.equal('component.stanza-too-large');
      expect(conn.online).to.equal(false);
    } finally {
      server.close();
    }
  });

  it('reports a refused handshake as a typed error, and refuses non-loopback hosts', async () => {
    const { server, port } = await listener((socket) => {
      socket.end("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
    });
    try {
      const e = await expectReject(ComponentConnection.connect({ port, domain: 'push.localhost', secret: 'wrong' }), ComponentError);
      expect((e as ComponentError).code).to.equal('component.handshake-refused');
      expect(e.message).to.contain('not-authorized');
    } finally {
      server.close();
    }
    await expectReject(ComponentConnection.connect({ host: '192.0.2.1', port, domain: 'push.localhost', secret: 's' }), RangeError);
  });
});

describe('push app server: component stream lost', () => {
  it('reconnects with backoff and serves on the new stream (disco#info answered)', async () => {
    let connections = 0;
    const answers: string[] = [];
    const { server, port } = await listener((socket) => {
      connections++;
      socket.write('<handshake/>');
      if (connections === 1) {
        setTimeout(() => socket.destroy(), 20); // the server drops the first stream
        return;
      }
      socket.on('data', (d: string) => answers.push(d));
      socket.write("<iq type='get' id='d1' from='localhost' to='push.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    });
    const app = await PushAppServer.start({
      component: { port, domain: 'push.localhost', secret: 's' },
      store: new MemoryStore(),
      credentials: {},
      reconnect: { baseDelayMs: 20, maxDelayMs: 100 },
    });
    try {
      for (let i = 0; i < 200 && !answers.join('').includes('</iq>'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(connections).to.equal(2);
      expect(app.online).to.equal(true);
      const reply = answers.join('');
      expect(reply).to.contain('type="result"');
      expect(reply).to.contain('<identity category="pubsub" type="push"');
    } finally {
      await app.stop();
      server.close();
    }
  });
});

describe('push app server: answers every publish', () => {
  it('not-authorized, item-not-found, and internal-server-error (type wait) for a corrupt stored registration', async () => {
    const store = new MemoryStore();
    const replies: string[] = [];
    const { server, port } = await listener((socket) => {
      socket.write('<handshake/>');
      socket.on('data', (d: string) => replies.push(d));
      for (const [id, node, secret] of [['p1', 'good', 'wrong-secret'], ['p2', 'absent', 'x'], ['p3', 'corrupt', 'x']] as const) {
        socket.write(prosodyPublish(node, secret, 'New Message!').toString().replace('id="abc"', `id="${id}"`));
      }
    });
    await store.set('push-app-server/registrations/corrupt', '{not json');
    await new RegistrationStore(store).put({ node: 'good', secret: 'right-secret', target: { service: 'fcm', token: 't' } });
    const app = await PushAppServer.start({ component: { port, domain: 'push.localhost', secret: 's' }, store, credentials: {} });
    try {
      for (let i = 0; i < 200 && (replies.join('').match(/<\/iq>/g) ?? []).length < 3; i++) await new Promise((r) => setTimeout(r, 10));
      const all = replies.join('');
      expect(all).to.match(/id="p1"[^>]*><error type="auth"><not-authorized/);
      expect(all).to.match(/id="p2"[^>]*><error type="cancel"><item-not-found/);
      expect(all).to.match(/id="p3"[^>]*><error type="wait"><internal-server-error/);
      expect(app.online).to.equal(true);
    } finally {
      await app.stop();
      server.close();
    }
  });
});

describe('push app server: register-push / unregister-push commands', () => {
  const cmd = (node: string, fields: Record<string, string>, type = 'submit') =>
    xml('iq', { type: 'set', id: 'c', from: 'u@localhost/r', to: 'push.localhost' },
      xml('command', { xmlns: 'http://jabber.org/protocol/commands', node, action: 'execute' },
        xml('x', { xmlns: 'jabber:x:data', type }, ...Object.entries(fields).map(([k, v]) => xml('field', { var: k }, xml('value', {}, v))))));
  const key = Buffer.from(p256dh()).toString('base64url');
  const auth = Buffer.alloc(16, 1).toString('base64url');

  it('accepts well-formed registrations', () => {
    const r = parseDeviceCommand(cmd('register-push', { service: 'webpush', endpoint: 'https://push.example/x', p256dh: key, auth }));
    expect(r.kind).to.equal('register');
    expect(parseDeviceCommand(cmd('register-push', { service: 'apns', token: 'ab'.repeat(32) }))).to.deep.equal({ kind: 'register', target: { service: 'apns', token: 'ab'.repeat(32) } });
    expect(parseDeviceCommand(cmd('unregister-push', { node: 'n', secret: 's' }))).to.deep.equal({ kind: 'unregister', node: 'n', secret: 's' });
  });

  it('refuses malformed ones with bad-request, unknown commands with item-not-found', () => {
    const bad = [
      cmd('register-push', { service: 'webpush', endpoint: 'http://push.example/x', p256dh: key, auth }),
      cmd('register-push', { service: 'webpush', endpoint: 'https://push.example/x', p256dh: key.slice(2), auth }),
      cmd('register-push', { service: 'webpush', endpoint: 'https://push.example/x', p256dh: key, auth: 'x' }),
      cmd('register-push', { service: 'webpush', endpoint: 'not a url', p256dh: key, auth }),
      cmd('register-push', { service: 'apns', token: 'not hex' }),
      cmd('register-push', { service: 'pigeon', token: 't' }),
      cmd('register-push', { service: 'fcm', token: 't' }, 'form'),
      cmd('unregister-push', { node: 'n' }),
    ];
    for (const b of bad) expect(parseDeviceCommand(b), b.toString()).to.deep.equal({ kind: 'invalid', condition: 'bad-request' });
    expect(parseDeviceCommand(cmd('delete-everything', {}))).to.deep.equal({ kind: 'invalid', condition: 'item-not-found' });
  });
});
