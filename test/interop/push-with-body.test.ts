/**
 * A server configured to leak: Prosody with `push_notification_with_body = true` puts the
 * message body into the publish even for messages with EME (mod_cloud_notify copies the body
 * before looking at encryption), so `?OTR:` text reaches the app server. Our app server must
 * still forward nothing of it: the push service (and the device's push provider) receive only
 * counts. This is why the default of the harness, and the recommendation, is `false`.
 */
import { expect } from 'chai';
import { createECDH, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { xml } from '@xmpp/client';
import { MemoryStore } from '../../lib/core/store/store.js';
import { PushAppServer } from '../../lib/push/app-server.js';
import type { PublishEvent } from '../../lib/push/app-server.js';
import { loadEs256Key } from '../../lib/push/jwt-es256.js';
import { secureClient } from '../../lib/xmpp/secure-client.js';
import type { SecureXmppClient } from '../../lib/xmpp/secure-client.js';
import { pushNotifications } from '../../lib/xmpp/push.js';
import { requirePeer } from './peer-availability.js';
import { startProsody } from './prosody/prosody-harness.js';
import type { ProsodyServer } from './prosody/prosody-harness.js';
import { PROSODY_PEER, probeProsody } from './prosody/prosody-mocha.js';
import { startPushServiceStandIn } from './push/push-service-stand-in.js';
import type { PushServiceStandIn } from './push/push-service-stand-in.js';
import { decryptAes128gcm } from '../unit/push/web-push-receiver.js';

const CLOUD_NOTIFY = '/usr/lib/prosody/modules/mod_cloud_notify/mod_cloud_notify.lua';

describe('interop: push with a server that includes message bodies (push_notification_with_body = true)', function () {
  this.timeout(60000);
  let server: ProsodyServer;
  let standIn: PushServiceStandIn;
  let app: PushAppServer;
  const clients: SecureXmppClient[] = [];

  before(async function () {
    this.timeout(60000);
    requirePeer(this, PROSODY_PEER, probeProsody());
    requirePeer(this, { name: 'mod_cloud_notify', install: 'apt-get install -y prosody-modules (Debian package)' }, existsSync(CLOUD_NOTIFY) ? { available: true } : { available: false, reason: 'not installed' });
    server = await startProsody({
      accounts: ['alice', 'bob'],
      modules: ['offline', 'cloud_notify'],
      components: [{ name: 'push.localhost', secret: 'body-component-secret' }],
      extraConfig: 'push_notification_with_body = true',
    });
    standIn = await startPushServiceStandIn(server.pki.server);
  });

  after(async function () {
    this.timeout(20000);
    for (const c of clients) await c.stop().catch(() => undefined);
    await app?.stop();
    await standIn?.stop();
    await server?.stop();
  });

  const login = async (user: string): Promise<SecureXmppClient> => {
    const a = server.account(user);
    const x = secureClient({ service: server.service, domain: server.domain, username: a.username, password: a.password, resource: 'r', tls: { ca: server.caPem } });
    x.on('error', () => undefined);
    x.reconnect.stop();
    clients.push(x);
    await x.start();
    return x;
  };

  it('the publish carries the ?OTR: body, the push service gets only counts', async () => {
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const auth = Buffer.alloc(16, 4);
    app = await PushAppServer.start({
      component: { port: server.componentPort as number, domain: 'push.localhost', secret: 'body-component-secret' },
      store: new MemoryStore(),
      credentials: { webpush: { vapidKey: loadEs256Key(String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }).d)), subject: 'mailto:ops@localhost' } },
      relay: { tls: { ca: [server.caPem] } },
    });
    const publishes: string[] = [];
    app.on('publish', (e: PublishEvent) => publishes.push(e.stanza.toString()));
    await app.registrations.put({ node: 'leaky', secret: 'leaky-secret-1', target: { service: 'webpush', endpoint: `https://127.0.0.1:${standIn.httpsPort}/wp/leaky`, p256dh: new Uint8Array(ua.getPublicKey()), auth } });
    const alice = await login('alice');
    await pushNotifications({ entity: alice, store: new MemoryStore() }).enable({ jid: 'push.localhost', node: 'leaky', secret: 'leaky-secret-1' });
    await alice.stop();
    const bob = await login('bob');
    const otr = '?OTR:AAMDleakyciphertextleakyciphertext.';
    await bob.send(xml('message', { to: 'alice@localhost', type: 'chat', id: 'o1' }, xml('body', {}, otr), xml('encryption', { xmlns: 'urn:xmpp:eme:0', namespace: 'urn:xmpp:otr:0', name: 'OTR' })));
    let hit;
    for (let i = 0; i < 320 && !(hit = standIn.hitsFor('/wp/leaky')[0]); i++) await new Promise((r) => setTimeout(r, 25));
    if (!hit) throw new Error('no push arrived');
    expect(publishes.join('')).to.contain(otr); // the server's configuration leaks it to the app server...
    const delivered = decryptAes128gcm(hit.body, ua.getPrivateKey(), auth).toString();
    expect(JSON.parse(delivered)).to.deep.equal({ node: 'leaky', important: '1', unread: '1' }); // ...which forwards none of it
    expect(hit.body.includes(Buffer.from('OTR'))).to.equal(false);
  });
});
