/**
 * Push end to end (XEP-0357) with real processes on loopback: a throwaway Prosody with
 * mod_cloud_notify (Debian prosody-modules) + smacks + offline storage, our app server
 * (lib/push) as an XEP-0114 component, and a local TLS stand-in for the push services (test
 * CA). Clients use lib/xmpp/push.ts over lib/xmpp/secure-client.ts.
 *
 * Shown here: an offline user gets a push for a message; a hibernated stream (XEP-0198,
 * connection dropped) gets one within seconds; stored registrations are re-enabled after a
 * reconnect; a disabled registration gets none; a wrong secret is refused (not-authorized) and
 * an unknown node too (item-not-found); a push service answering 500 or hanging is retried and
 * given up while the component keeps serving; a service whose certificate does not validate
 * (wrong CA) or whose pin mismatches is refused; OTR/OMEMO-like messages carrying EME never put
 * their ciphertext or `?OTR:` text into what the server publishes. Web Push bodies are decrypted
 * by the independent receiver of test/unit/push/web-push-receiver.ts.
 */
import { expect } from 'chai';
import { createECDH, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import { MemoryStore } from '../../lib/core/store/store.js';
import { FileStore } from '../../lib/core/store/file-store.js';
import { PushAppServer } from '../../lib/push/app-server.js';
import type { PublishEvent } from '../../lib/push/app-server.js';
import { loadEs256Key } from '../../lib/push/jwt-es256.js';
import type { PushServiceCredentials } from '../../lib/push/push-services.js';
import { PushRelay } from '../../lib/push/relay.js';
import type { RelayOutcome } from '../../lib/push/relay.js';
import { buildPushRequest, resolveCredentials } from '../../lib/push/push-services.js';
import { ServiceAccountTokens, parseServiceAccount } from '../../lib/push/fcm-oauth.js';
import { secureClient } from '../../lib/xmpp/secure-client.js';
import type { SecureXmppClient } from '../../lib/xmpp/secure-client.js';
import { pushNotifications, PushError } from '../../lib/xmpp/push.js';
import type { PushClient, PushRegistration } from '../../lib/xmpp/push.js';
import { disableElement } from '../../lib/xmpp/push-stanzas.js';
import { registerPushDevice, unregisterPushDevice } from '../../lib/xmpp/push-registration.js';
import { requirePeer } from './peer-availability.js';
import { startProsody } from './prosody/prosody-harness.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';
import { PROSODY_PEER, probeProsody } from './prosody/prosody-mocha.js';
import { startPushServiceStandIn } from './push/push-service-stand-in.js';
import type { PushServiceStandIn } from './push/push-service-stand-in.js';
import { decryptAes128gcm } from '../unit/push/web-push-receiver.js';

const CLOUD_NOTIFY = '/usr/lib/prosody/modules/mod_cloud_notify/mod_cloud_notify.lua';
const CLOUD_NOTIFY_PEER = { name: 'mod_cloud_notify (Prosody community module)', install: 'apt-get install -y prosody-modules (Debian package)' };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value, or fails naming `what` after `ms`. */
async function waitFor<T>(fn: () => T | undefined | false, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface Device {
  readonly priv: Buffer;
  readonly p256dh: Uint8Array;
  readonly auth: Uint8Array;
}
function webPushDevice(): Device {
  const e = createECDH('prime256v1');
  e.generateKeys();
  return { priv: e.getPrivateKey(), p256dh: new Uint8Array(e.getPublicKey()), auth: new Uint8Array(16).fill(0x5a) };
}
const vapidScalar = (): string => String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }).d);

describe('interop: push over TLS (XEP-0357) with Prosody mod_cloud_notify, our component and a TLS push service', function () {
  this.timeout(60000);

  let server: ProsodyServer;
  let standIn: PushServiceStandIn;
  let app: PushAppServer;
  let strictApp: PushAppServer;
  let dir: string;
  const publishes: { node: string | undefined; accepted: boolean; condition: string | undefined; raw: string }[] = [];
  const outcomes: RelayOutcome[] = [];
  const logs: string[] = [];
  const strictOutcomes: RelayOutcome[] = [];
  const clients = new Set<SecureXmppClient>();
  let bob: SecureXmppClient;
  const devices = { alice: webPushDevice(), gina: webPushDevice(), strict: webPushDevice() };

  const login = async (user: string, resource = 'phone'): Promise<SecureXmppClient> => {
    const a = server.account(user);
    const x = secureClient({ service: server.service, domain: server.domain, username: a.username, password: a.password, resource, tls: { ca: server.caPem } });
    x.on('error', () => undefined);
    x.reconnect.stop();
    clients.add(x);
    await x.start();
    return x;
  };
  const logout = async (x: SecureXmppClient): Promise<void> => {
    clients.delete(x);
    await x.stop().catch(() => undefined);
  };
  let msgId = 0;
  const sendFromBob = (to: string, ...children: ReturnType<typeof xml>[]): Promise<void> =>
    bob.send(xml('message', { to: `${to}@localhost`, type: 'chat', id: `m${++msgId}` }, ...children));

  before(async function () {
    this.timeout(60000);
    requirePeer(this, PROSODY_PEER, probeProsody());
    requirePeer(this, CLOUD_NOTIFY_PEER, existsSync(CLOUD_NOTIFY) ? { available: true } : { available: false, reason: `${CLOUD_NOTIFY} not found` });
    dir = mkdtempSync(join(tmpdir(), 'push-e2e-'));
    server = await startProsody({
      accounts: ['alice', 'bob', 'carol', 'dave', 'frank', 'gina', 'hugo', 'ivan'],
      modules: ['smacks', 'offline', 'cloud_notify'],
      components: [
        { name: 'push.localhost', secret: 'component-secret-1' },
        { name: 'strict.localhost', secret: 'component-secret-2' },
      ],
    });
    standIn = await startPushServiceStandIn(server.pki.server);
    const base = `https://127.0.0.1:${standIn.httpsPort}`;
    const credentials: PushServiceCredentials = {
      webpush: { vapidKey: loadEs256Key(vapidScalar()), subject: 'mailto:ops@localhost' },
      fcm: { projectId: 'test-project', accessToken: 'test-access-token', baseUrl: base },
      apns: { key: loadEs256Key(vapidScalar()), keyId: 'KEYID12345', teamId: 'TEAMID1234', topic: 'org.example.chat', baseUrl: `https://127.0.0.1:${standIn.h2Port}` },
    };
    const componentPort = server.componentPort as number;
    app = await PushAppServer.start({
      component: { port: componentPort, domain: 'push.localhost', secret: 'component-secret-1' },
      store: await FileStore.open(join(dir, 'app-registrations.json')),
      credentials,
      relay: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 400, tls: { ca: [server.caPem], timeoutMs: 1000 } },
      log: (level, message) => logs.push(`${level} ${message}`),
      registrationDomains: ['localhost'],
    });
    app.on('publish', (e: PublishEvent) => publishes.push({ node: e.node, accepted: e.accepted, condition: e.condition, raw: e.stanza.toString() }));
    app.on('outcome', (o: RelayOutcome) => outcomes.push(o));
    // The same push service, but this relay trusts only an unrelated CA.
    strictApp = await PushAppServer.start({
      component: { port: componentPort, domain: 'strict.localhost', secret: 'component-secret-2' },
      store: new MemoryStore(),
      credentials,
      relay: { maxAttempts: 3, baseDelayMs: 100, tls: { ca: [server.pki.otherCa.certPem], timeoutMs: 600 } },
    });
    strictApp.on('outcome', (o: RelayOutcome) => strictOutcomes.push(o));

    const w = (d: Device, path: string) => ({ service: 'webpush' as const, endpoint: `${base}${path}`, p256dh: d.p256dh, auth: d.auth });
    await app.registrations.put({ node: 'node-alice', secret: 'alice-secret-123', target: w(devices.alice, '/wp/alice') });
    await app.registrations.put({ node: 'node-carol', secret: 'carol-secret-123', target: { service: 'fcm', token: 'fcm-token-carol' } });
    await app.registrations.put({ node: 'node-dave', secret: 'dave-secret-1234', target: { service: 'apns', token: 'ab'.repeat(32) } });
    await app.registrations.put({ node: 'node-frank', secret: 'frank-right-secret', target: w(devices.alice, '/wp/frank') });
    await app.registrations.put({ node: 'node-500', secret: 'gina-secret-1234', target: w(devices.gina, '/status/500/gina') });
    await app.registrations.put({ node: 'node-hang', secret: 'gina-secret-1234', target: w(devices.gina, '/hang/gina') });
    await app.registrations.put({ node: 'node-gone', secret: 'hugo-secret-1234', target: w(devices.gina, '/status/410/hugo') });
    await strictApp.registrations.put({ node: 'node-strict', secret: 'ivan-secret-1234', target: w(devices.strict, '/wp/strict') });
    bob = await login('bob', 'desk');
  });

  after(async function () {
    this.timeout(30000);
    for (const x of [...clients]) await logout(x);
    await app?.stop();
    await strictApp?.stop();
    await standIn?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Logs `user` in with our push API on a FileStore at `storePath`, runs `fn`, logs out. */
  async function withPush<T>(user: string, storePath: string, fn: (push: PushClient, x: SecureXmppClient) => Promise<T>): Promise<T> {
    const store = await FileStore.open(storePath);
    const x = secureClient({
      service: server.service,
      domain: server.domain,
      username: user,
      password: server.account(user).password,
      resource: 'phone',
      tls: { ca: server.caPem },
    });
    x.on('error', () => undefined);
    x.reconnect.stop();
    clients.add(x);
    const push = pushNotifications({ entity: x, store });
    try {
      await x.start();
      return await fn(push, x);
    } finally {
      push.stop();
      await logout(x);
      await store.close();
    }
  }

  it('an offline user gets a Web Push for a message; the body decrypts with the independent receiver and carries no content', async () => {
    const storePath = join(dir, 'alice-store.json');
    await withPush('alice', storePath, async (push) => {
      const support = await push.discover();
      expect(support).to.deep.equal({ push: true, encryption: false }); // Prosody has no tigase:push:encrypt:0
      const reg = await push.enable({ jid: 'push.localhost', node: 'node-alice', secret: 'alice-secret-123' });
      expect(reg.encryptionKey).to.equal(undefined);
      expect((await push.registrations()).map((r) => r.node)).to.deep.equal(['node-alice']);
    });
    await sendFromBob('alice', xml('body', {}, 'meet me at the usual place'));
    const hit = await waitFor(() => standIn.hitsFor('/wp/alice')[0], 8000, 'the Web Push request for alice');
    expect(hit.method).to.equal('POST');
    expect(hit.headers['content-encoding']).to.equal('aes128gcm');
    expect(hit.headers['authorization']).to.match(/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]{87}$/);
    const payload = JSON.parse(decryptAes128gcm(hit.body, devices.alice.priv, Buffer.from(devices.alice.auth)).toString()) as Record<string, string>;
    expect(payload).to.deep.equal({ node: 'node-alice', important: '1', unread: '1' });
    const pub = publishes.find((p) => p.node === 'node-alice');
    expect(pub?.accepted).to.equal(true);
    expect(pub?.raw).not.to.contain('usual place'); // push_notification_with_body = false
    const outcome = await waitFor(() => outcomes.find((o) => o.node === 'node-alice'), 5000, "alice's delivery outcome");
    expect(outcome).to.include({ kind: 'delivered', status: 201, attempts: 1 });
  });

  it('stored registrations are re-enabled after a reconnect (online), even when the server forgot them', async () => {
    // Remove the registration behind the plugin's back, with a client that knows nothing of it.
    const raw = await login('alice', 'other');
    await raw.iqCaller.set(disableElement('push.localhost', 'node-alice'));
    await logout(raw);
    const before = standIn.hitsFor('/wp/alice').length;
    const reenabled = await withPush('alice', join(dir, 'alice-store.json'), async (push) => {
      return new Promise<PushRegistration>((resolve, reject) => {
        push.once('reenabled', resolve);
        push.once('reenable-failed', reject);
      });
    });
    expect(reenabled.node).to.equal('node-alice');
    await sendFromBob('alice', xml('body', {}, 'second message'));
    await waitFor(() => standIn.hitsFor('/wp/alice').length > before, 8000, 'a push after re-enable');
  });

  it('a user with a hibernated stream (stream management, connection dropped) gets an FCM push within seconds', async () => {
    const carol = await login('carol');
    await waitFor(() => carol.streamManagement.enabled, 3000, 'stream management');
    await carol.send(xml('presence'));
    const push = pushNotifications({ entity: carol, store: new MemoryStore() });
    await push.enable({ jid: 'push.localhost', node: 'node-carol', secret: 'carol-secret-123' });
    push.stop();
    // Prosody's debug log names each session: find carol's, to follow it into hibernation.
    const ids = [...server.log().matchAll(/(\S+)\s+info\s+Authenticated as carol@localhost/g)].map((m) => m[1] as string);
    const session = ids[ids.length - 1];
    if (!session) throw new Error("carol's session is not in Prosody's log");
    const count = (what: string): number => server.log().split('\n').filter((l) => l.includes(session) && l.includes(what)).length;
    (carol.socket as { destroy(): void }).destroy(); // no </stream>: Prosody hibernates the session
    clients.delete(carol);
    await waitFor(() => count('Session going into hibernation') > 0, 5000, "Prosody's mod_smacks hibernating carol's session");
    const queuedBefore = count('stanza queued');
    await sendFromBob('carol', xml('body', {}, 'are you there?'));
    const hit = await waitFor(() => standIn.hitsFor('/v1/projects/')[0], 5000, 'the FCM request for the hibernated session');
    expect(hit.path).to.equal('/v1/projects/test-project/messages:send');
    expect(hit.headers['authorization']).to.equal('Bearer test-access-token');
    const body = JSON.parse(hit.body.toString()) as { message: { token: string; data: Record<string, string>; android: { priority: string } } };
    expect(body.message.token).to.equal('fcm-token-carol');
    expect(body.message.data).to.deep.include({ node: 'node-carol', important: '1' });
    expect(hit.body.toString()).not.to.contain('are you there');
    // The message went to the hibernated session's queue (not to offline storage).
    await waitFor(() => count('stanza queued') > queuedBefore, 5000, 'the message queued to the hibernated session');
  });

  it('APNs over HTTP/2 with a provider token; OTR/OMEMO messages with EME never put ciphertext or ?OTR: into the publish', async () => {
    await withPush('dave', join(dir, 'dave-store.json'), (push) => push.enable({ jid: 'push.localhost', node: 'node-dave', secret: 'dave-secret-1234' }));
    const otrText = '?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADAVf3Ei72ZgFeKqWvLMnuVPVCwxktsOZ1QdjeLp6jn62mCVtlY9nS6sRkecpjuLYHRxyTdRu2iEVtSsjZqK55ovZ35SfkOPHeFYa9BgBYMAXHtg==.';
    await sendFromBob('dave', xml('body', {}, otrText), xml('encryption', { xmlns: 'urn:xmpp:eme:0', namespace: 'urn:xmpp:otr:0', name: 'OTR' }));
    const omemoPayload = 'BASE64OMEMOCIPHERTEXTqZ3v1Xw0Kk2m7pQ==';
    const omemoKey = 'MwohBQ1KEYMATERIALzz+Yw==';
    await sendFromBob(
      'dave',
      xml('encrypted', { xmlns: 'eu.siacs.conversations.axolotl' },
        xml('header', { sid: '12345' }, xml('key', { rid: '67890' }, omemoKey), xml('iv', {}, 'aXZpdml2aXZpdml2')),
        xml('payload', {}, omemoPayload)),
      xml('encryption', { xmlns: 'urn:xmpp:eme:0', namespace: 'eu.siacs.conversations.axolotl', name: 'OMEMO' }),
      xml('body', {}, 'I sent you an OMEMO encrypted message but your client does not seem to support that.'),
    );
    await waitFor(() => standIn.hitsFor('/3/device/').length >= 2, 8000, 'two APNs requests');
    const seen = publishes.filter((p) => p.node === 'node-dave');
    expect(seen).to.have.length(2);
    for (const p of seen) {
      expect(p.raw).not.to.contain('?OTR');
      expect(p.raw).not.to.contain('AAMDJ');
      expect(p.raw).not.to.contain(omemoPayload);
      expect(p.raw).not.to.contain(omemoKey);
      expect(p.raw).not.to.contain('OMEMO encrypted message');
      expect(p.raw).to.contain('<value>New Message!</value>'); // the server's placeholder, flagged important
    }
    const hit = standIn.hitsFor('/3/device/')[0];
    if (!hit) throw new Error('no APNs hit');
    expect(hit.protocol).to.equal('h2');
    expect(hit.path).to.equal(`/3/device/${'ab'.repeat(32)}`);
    expect(hit.headers).to.include({ 'apns-topic': 'org.example.chat', 'apns-push-type': 'alert', 'apns-priority': '10' });
    const [h, c] = (hit.headers['authorization'] ?? '').replace(/^bearer /, '').split('.') as [string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).to.deep.equal({ kid: 'KEYID12345', alg: 'ES256' });
    expect(JSON.parse(Buffer.from(c, 'base64url').toString())).to.have.property('iss', 'TEAMID1234');
    for (const d of standIn.hitsFor('/3/device/')) {
      expect(d.body.toString()).not.to.contain('OTR');
      expect(d.body.toString()).not.to.contain(omemoPayload);
    }
  });

  it('a disabled registration gets no push', async () => {
    await withPush('alice', join(dir, 'alice-store.json'), async (push) => {
      await push.disable({ jid: 'push.localhost', node: 'node-alice' });
      expect(await push.registrations()).to.deep.equal([]);
    });
    const aliceBefore = standIn.hitsFor('/wp/alice').length;
    const daveBefore = standIn.hitsFor('/3/device/').length;
    await sendFromBob('alice', xml('body', {}, 'nobody should be woken for this'));
    await sendFromBob('dave', xml('body', {}, 'marker after the message to alice'));
    // Prosody handles bob's stanzas in order: once dave's push arrived, alice's would have too.
    await waitFor(() => standIn.hitsFor('/3/device/').length > daveBefore, 8000, "dave's marker push");
    await sleep(200);
    expect(standIn.hitsFor('/wp/alice').length).to.equal(aliceBefore);
  });

  it('a wrong secret is refused with not-authorized, an unknown node with item-not-found; nothing is relayed', async () => {
    await withPush('frank', join(dir, 'frank-store.json'), async (push) => {
      await push.enable({ jid: 'push.localhost', node: 'node-frank', secret: 'frank-WRONG-secret' });
      await push.enable({ jid: 'push.localhost', node: 'node-nobody-registered', secret: 'whatever-secret' });
    });
    await sendFromBob('frank', xml('body', {}, 'hello frank'));
    const refused = await waitFor(() => {
      const r = publishes.filter((p) => p.node === 'node-frank' || p.node === 'node-nobody-registered');
      return r.length >= 2 ? r : undefined;
    }, 8000, "frank's two publishes");
    expect(refused.map((p) => [p.node, p.accepted, p.condition]).sort()).to.deep.equal([
      ['node-frank', false, 'not-authorized'],
      ['node-nobody-registered', false, 'item-not-found'],
    ]);
    await sleep(100);
    expect(standIn.hitsFor('/wp/frank')).to.have.length(0);
  });

  it('disableAll() removes every registration at the app server (no node); none of them is pushed', async () => {
    await withPush('frank', join(dir, 'frank-store.json'), async (push) => {
      expect((await push.registrations()).map((r) => r.node).sort()).to.deep.equal(['node-frank', 'node-nobody-registered']);
      await push.disableAll();
      expect(await push.registrations()).to.deep.equal([]);
    });
    // Flush what the re-enable at login may have triggered (Prosody pushes pending offline
    // messages to a freshly enabled node) before counting.
    const flushBefore = standIn.hitsFor('/3/device/').length;
    await sendFromBob('dave', xml('body', {}, 'flush'));
    await waitFor(() => standIn.hitsFor('/3/device/').length > flushBefore, 8000, "dave's flush push");
    await sleep(200);
    const before = publishes.filter((p) => p.node === 'node-frank' || p.node === 'node-nobody-registered').length;
    const daveBefore = standIn.hitsFor('/3/device/').length;
    await sendFromBob('frank', xml('body', {}, 'no push for this'));
    await sendFromBob('dave', xml('body', {}, 'marker'));
    await waitFor(() => standIn.hitsFor('/3/device/').length > daveBefore, 8000, "dave's marker push");
    await sleep(200);
    expect(publishes.filter((p) => p.node === 'node-frank' || p.node === 'node-nobody-registered')).to.have.length(before);
  });

  it('a push service answering 500 or hanging is retried with backoff, then given up; the component keeps serving', async () => {
    await withPush('gina', join(dir, 'gina-store.json'), async (push) => {
      await push.enable({ jid: 'push.localhost', node: 'node-500', secret: 'gina-secret-1234' });
      await push.enable({ jid: 'push.localhost', node: 'node-hang', secret: 'gina-secret-1234' });
    });
    await sendFromBob('gina', xml('body', {}, 'this push service is broken'));
    const failed500 = await waitFor(() => outcomes.find((o) => o.node === 'node-500'), 10000, 'the 500 outcome');
    const failedHang = await waitFor(() => outcomes.find((o) => o.node === 'node-hang'), 10000, 'the hang outcome');
    expect(failed500).to.include({ kind: 'failed', attempts: 3 });
    expect(failedHang).to.include({ kind: 'failed', attempts: 3 });
    if (failed500.kind !== 'failed' || failedHang.kind !== 'failed') throw new Error('expected failures');
    expect(failed500.error.code).to.equal('push.gave-up');
    expect((failed500.error.cause as { code: string }).code).to.equal('push.http-status');
    expect((failedHang.error.cause as { code: string }).code).to.equal('push.timeout');
    expect(standIn.hitsFor('/status/500/gina')).to.have.length(3);
    expect(standIn.hitsFor('/hang/gina')).to.have.length(3);
    expect(app.online).to.equal(true);
    expect(app.relay.pending).to.equal(0);
    // Still serving: dave gets the next push.
    const daveBefore = standIn.hitsFor('/3/device/').length;
    await sendFromBob('dave', xml('body', {}, 'after the broken service'));
    await waitFor(() => standIn.hitsFor('/3/device/').length > daveBefore, 8000, 'a push after the failures');
  });

  it('the relay refuses a push service whose certificate does not validate (wrong CA), without retrying', async () => {
    await withPush('ivan', join(dir, 'ivan-store.json'), (push) => push.enable({ jid: 'strict.localhost', node: 'node-strict', secret: 'ivan-secret-1234' }));
    await sendFromBob('ivan', xml('body', {}, 'hello ivan'));
    const o = await waitFor(() => strictOutcomes.find((x) => x.node === 'node-strict'), 8000, 'the strict outcome');
    if (o.kind !== 'failed') throw new Error(`expected a refusal, got ${o.kind}`);
    expect(o.error.code).to.equal('push.tls-invalid');
    expect(o.attempts).to.equal(1);
    expect(standIn.hitsFor('/wp/strict')).to.have.length(0); // no request was ever sent
  });

  it('the relay refuses a push service whose SPKI pin mismatches, and accepts the right pin', async () => {
    const device = webPushDevice();
    const credentials: PushServiceCredentials = { webpush: { vapidKey: loadEs256Key(vapidScalar()), subject: 'mailto:ops@localhost' } };
    const run = async (pins: string[]): Promise<RelayOutcome> => {
      const relay = new PushRelay({ maxAttempts: 2, baseDelayMs: 10, tls: { ca: [server.caPem], pins, timeoutMs: 2000 } });
      const outcome = new Promise<RelayOutcome>((resolve) => relay.once('outcome', resolve));
      const target = { service: 'webpush' as const, endpoint: `https://127.0.0.1:${standIn.httpsPort}/wp/pinned`, p256dh: device.p256dh, auth: device.auth };
      relay.enqueue({ node: 'pinned', service: 'webpush', build: () => buildPushRequest(target, { node: 'pinned', unread: 1, important: false, encrypted: undefined }, credentials, { now: () => Date.now() / 1000 }) });
      const o = await outcome;
      relay.stop();
      return o;
    };
    const wrong = await run([server.pki.otherCa.spkiSha256]);
    if (wrong.kind !== 'failed') throw new Error('expected a pin refusal');
    expect(wrong.error.code).to.equal('push.tls-pin-mismatch');
    expect(wrong.attempts).to.equal(1);
    expect(standIn.hitsFor('/wp/pinned')).to.have.length(0);
    const right = await run([`sha256/${server.servedCertificate.spkiSha256}`]);
    expect(right).to.include({ kind: 'delivered', status: 201 });
    expect(standIn.hitsFor('/wp/pinned')).to.have.length(1);
  });

  it('HTTP/2 (APNs) gets the same refusals: wrong CA and pin mismatch', async () => {
    const credentials: PushServiceCredentials = {
      apns: { key: loadEs256Key(vapidScalar()), keyId: 'K', teamId: 'T', topic: 'org.example.chat', baseUrl: `https://127.0.0.1:${standIn.h2Port}` },
    };
    const token = 'cd'.repeat(32);
    const run = async (tls: { ca: string[]; pins?: string[] }): Promise<RelayOutcome> => {
      const relay = new PushRelay({ maxAttempts: 1, tls: { ...tls, timeoutMs: 2000 } });
      const outcome = new Promise<RelayOutcome>((resolve) => relay.once('outcome', resolve));
      relay.enqueue({ node: 'h2', service: 'apns', build: () => buildPushRequest({ service: 'apns', token }, { node: 'h2', unread: 1, important: true, encrypted: undefined }, credentials, { now: () => Date.now() / 1000 }) });
      const o = await outcome;
      relay.stop();
      return o;
    };
    const wrongCa = await run({ ca: [server.pki.otherCa.certPem] });
    expect(wrongCa.kind === 'failed' && wrongCa.error.code).to.equal('push.tls-invalid');
    const wrongPin = await run({ ca: [server.caPem], pins: [server.pki.otherCa.spkiSha256] });
    expect(wrongPin.kind === 'failed' && wrongPin.error.code).to.equal('push.tls-pin-mismatch');
    expect(standIn.hitsFor(`/3/device/${token}`)).to.have.length(0);
    const ok = await run({ ca: [server.caPem], pins: [server.servedCertificate.spkiSha256] });
    expect(ok).to.include({ kind: 'delivered', status: 200 });
    expect(standIn.hitsFor(`/3/device/${token}`)).to.have.length(1);
  });

  it('FCM with a service account: RS256 assertion exchanged over TLS for a cached bearer token', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const account = parseServiceAccount(
      JSON.stringify({ client_email: 'push@test-project.iam.gserviceaccount.com', private_key: privateKey.export({ format: 'pem', type: 'pkcs8' }), token_uri: `https://127.0.0.1:${standIn.httpsPort}/token` }),
    );
    const tls = { ca: [server.caPem], timeoutMs: 2000 };
    const credentials: PushServiceCredentials = {
      fcm: { projectId: 'sa-project', accessToken: new ServiceAccountTokens(account, tls), baseUrl: `https://127.0.0.1:${standIn.httpsPort}` },
    };
    const relay = new PushRelay({ maxAttempts: 1, tls });
    const outcomes2: RelayOutcome[] = [];
    relay.on('outcome', (o: RelayOutcome) => outcomes2.push(o));
    for (const node of ['sa-1', 'sa-2']) {
      relay.enqueue({ node, service: 'fcm', build: async () => buildPushRequest({ service: 'fcm', token: `tok-${node}` }, { node, unread: 1, important: true, encrypted: undefined }, await resolveCredentials(credentials, 'fcm'), { now: () => Date.now() / 1000 }) });
    }
    await waitFor(() => outcomes2.length === 2, 8000, 'two FCM outcomes');
    relay.stop();
    expect(outcomes2.map((o) => o.kind)).to.deep.equal(['delivered', 'delivered']);
    const tokenHits = standIn.hitsFor('/token');
    expect(tokenHits).to.have.length(1); // shared and cached
    const form = new URLSearchParams(tokenHits[0]?.body.toString());
    expect(form.get('grant_type')).to.equal('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const [h, c, sig] = (form.get('assertion') ?? '').split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).to.deep.equal({ alg: 'RS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).to.include({ iss: 'push@test-project.iam.gserviceaccount.com', scope: 'https://www.googleapis.com/auth/firebase.messaging', aud: `https://127.0.0.1:${standIn.httpsPort}/token` });
    expect((claims['exp'] as number) - (claims['iat'] as number)).to.equal(3600);
    expect(verify('sha256', Buffer.from(`${h}.${c}`), publicKey, Buffer.from(sig, 'base64url'))).to.equal(true);
    const sends = standIn.hitsFor('/v1/projects/sa-project/');
    expect(sends.map((x) => x.headers['authorization'])).to.deep.equal(['Bearer minted-token-1', 'Bearer minted-token-1']);
  });

  it('a device the push service reports gone (410) is unregistered; the next publish gets item-not-found', async () => {
    await withPush('hugo', join(dir, 'hugo-store.json'), (push) => push.enable({ jid: 'push.localhost', node: 'node-gone', secret: 'hugo-secret-1234' }));
    const removed = new Promise<string>((resolve) => app.once('registration-removed', resolve));
    await sendFromBob('hugo', xml('body', {}, 'first'));
    expect(await removed).to.equal('node-gone');
    expect(standIn.hitsFor('/status/410/hugo')).to.have.length(1); // 410 is permanent: no retry
    expect(await app.registrations.get('node-gone')).to.equal(undefined);
    await sendFromBob('hugo', xml('body', {}, 'second'));
    await waitFor(() => publishes.find((p) => p.node === 'node-gone' && p.condition === 'item-not-found'), 8000, 'item-not-found for the gone node');
  });

  it('encryption: "require" fails typed on a server without tigase:push:encrypt:0', async () => {
    await withPush('hugo', join(dir, 'hugo-store.json'), async (push) => {
      let caught: unknown;
      try {
        await push.enable({ jid: 'push.localhost', node: 'node-x', encryption: 'require' });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(PushError);
      expect((caught as PushError).code).to.equal('push.encryption-not-supported');
    });
  });

  it('a device registers itself with register-push (XEP-0050), enables with the node and secret it got, and is pushed', async () => {
    const jane = await server.register('jane');
    const device = webPushDevice();
    const x = await login(jane.username);
    const target = { service: 'webpush' as const, endpoint: `https://127.0.0.1:${standIn.httpsPort}/wp/jane`, p256dh: device.p256dh, auth: device.auth };
    const reg = await registerPushDevice(x.iqCaller, 'push.localhost', target);
    expect(reg.node).to.match(/^[\w-]{22}$/);
    expect(reg.secret).to.match(/^[\w-]{32}$/);
    expect((await app.registrations.get(reg.node))?.target).to.deep.include({ service: 'webpush', endpoint: target.endpoint });
    const push = pushNotifications({ entity: x, store: new MemoryStore() });
    await push.enable({ jid: reg.jid, node: reg.node, secret: reg.secret });
    push.stop();
    // Not offered where registrationDomains is empty.
    try {
      await registerPushDevice(x.iqCaller, 'strict.localhost', target);
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).to.be.instanceOf(PushError);
      expect((error as PushError).condition).to.equal('forbidden');
    }
    await logout(x);
    await sendFromBob('jane', xml('body', {}, 'hello jane'));
    const hit = await waitFor(() => standIn.hitsFor('/wp/jane')[0], 8000, "jane's push");
    expect(JSON.parse(decryptAes128gcm(hit.body, device.priv, Buffer.from(device.auth)).toString())).to.deep.equal({ node: reg.node, important: '1', unread: '1' });
    const y = await login(jane.username);
    try {
      await unregisterPushDevice(y.iqCaller, { ...reg, secret: 'not-the-secret' });
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as PushError).code).to.equal('push.registration-refused');
      expect((error as PushError).condition).to.equal('not-authorized');
    }
    await unregisterPushDevice(y.iqCaller, reg);
    expect(await app.registrations.get(reg.node)).to.equal(undefined);
    await logout(y);
  });

  it('reports the server’s answer as a typed PushError with the stanza error condition', async () => {
    await withPush('alice', join(dir, 'alice-store.json'), async (push) => {
      let caught: unknown;
      try {
        // mod_cloud_notify refuses an app server JID equal to our own full JID: bad-request.
        await push.enable({ jid: '', node: 'x' });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(TypeError);
      try {
        await push.enable({ jid: 'alice@localhost/phone', node: 'x', secret: 'abcdefgh' });
        caught = undefined;
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(PushError);
      expect((caught as PushError).code).to.equal('push.enable-refused');
      expect((caught as PushError).condition).to.equal('bad-request');
      expect((caught as PushError).errorType).to.equal('modify');
      expect(await push.registrations()).to.deep.equal([]);
    });
  });

  it('the app server logs no message content, tokens, secrets or nodes outside debug', () => {
    const visible = logs.filter((l) => !l.startsWith('debug '));
    expect(visible.length).to.be.above(5);
    const forbidden = ['usual place', 'are you there', 'OTR', 'hello', 'fcm-token', 'abab', 'secret-', 'node-', 'wp/', '@localhost'];
    for (const line of visible) for (const f of forbidden) expect(line, line).not.to.contain(f);
  });
});
