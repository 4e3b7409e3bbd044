/**
 * The push app server as one command (`npm run push-server -- --config FILE`, i.e. tsx
 * examples/push-app-server/main.ts) in its own process, against a throwaway Prosody with
 * mod_cloud_notify and the TLS push-service stand-in: it starts from a config file (secrets in
 * files, custom CA), delivers a Web Push for an offline user, keeps its registrations in the
 * embedded FileStore and nothing of the message there, and exits cleanly on SIGTERM.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createECDH, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import { MemoryStore } from '../../lib/core/store/store.js';
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
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('interop: the push app server command (npm run push-server) with Prosody', function () {
  this.timeout(60000);
  let server: ProsodyServer;
  let standIn: PushServiceStandIn;
  let dir: string;
  let child: ChildProcess | undefined;
  let stderr = '';
  const clients: SecureXmppClient[] = [];

  before(async function () {
    this.timeout(60000);
    requirePeer(this, PROSODY_PEER, probeProsody());
    requirePeer(this, { name: 'mod_cloud_notify', install: 'apt-get install -y prosody-modules (Debian package)' }, existsSync(CLOUD_NOTIFY) ? { available: true } : { available: false, reason: 'not installed' });
    dir = mkdtempSync(join(tmpdir(), 'push-cli-'));
    server = await startProsody({ accounts: ['alice', 'bob'], modules: ['offline', 'cloud_notify'], components: [{ name: 'push.localhost', secret: 'cli-component-secret' }] });
    standIn = await startPushServiceStandIn(server.pki.server);
  });

  after(async function () {
    this.timeout(20000);
    for (const c of clients) await c.stop().catch(() => undefined);
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await standIn?.stop();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
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

  it('starts from a config file, relays a Web Push over TLS, persists only the registration, exits on SIGTERM', async () => {
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const auth = Buffer.alloc(16, 3);
    writeFileSync(join(dir, 'component-secret.txt'), 'cli-component-secret\n');
    writeFileSync(join(dir, 'vapid.txt'), String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }).d));
    writeFileSync(join(dir, 'ca.pem'), server.caPem);
    const config = {
      component: { host: '127.0.0.1', port: server.componentPort, domain: 'push.localhost', secretFile: 'component-secret.txt' },
      store: { path: 'data/registrations.json' },
      tls: { caFile: 'ca.pem', timeoutMs: 2000 },
      relay: { maxAttempts: 2, baseDelayMs: 100 },
      webpush: { vapidPrivateKeyFile: 'vapid.txt', subject: 'mailto:ops@localhost' },
      registrations: [
        {
          node: 'cli-node',
          secret: 'cli-publish-secret',
          service: 'webpush',
          endpoint: `https://127.0.0.1:${standIn.httpsPort}/wp/cli`,
          p256dh: ua.getPublicKey().toString('base64url'),
          auth: auth.toString('base64url'),
        },
      ],
      logLevel: 'info',
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const proc = spawn(process.execPath, ['--import', 'tsx', 'examples/push-app-server/main.ts', '--config', join(dir, 'config.json')], {
      cwd: process.cwd(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    for (let i = 0; i < 400 && !stderr.includes('push app server online'); i++) {
      if (proc.exitCode !== null) throw new Error(`push-server exited: ${stderr}`);
      await sleep(25);
    }
    expect(stderr).to.contain('push app server online as push.localhost (1 configured registration(s))');

    const alice = await login('alice');
    await pushNotifications({ entity: alice, store: new MemoryStore() }).enable({ jid: 'push.localhost', node: 'cli-node', secret: 'cli-publish-secret' });
    await alice.stop();
    const bob = await login('bob');
    await bob.send(xml('message', { to: 'alice@localhost', type: 'chat', id: 'c1' }, xml('body', {}, 'the secret rendezvous is at noon')));
    let hit;
    for (let i = 0; i < 320 && !(hit = standIn.hitsFor('/wp/cli')[0]); i++) await sleep(25);
    if (!hit) throw new Error(`no push arrived; app server said:\n${stderr}`);
    expect(JSON.parse(decryptAes128gcm(hit.body, ua.getPrivateKey(), auth).toString())).to.deep.equal({ node: 'cli-node', important: '1', unread: '1' });

    proc.kill('SIGTERM');
    expect(await exited).to.equal(0);
    const stored = readFileSync(join(dir, 'data/registrations.json'), 'utf8');
    expect(stored).to.contain('cli-node');
    expect(stored).not.to.contain('cli-publish-secret'); // only its SHA-256
    expect(stored).not.to.contain('rendezvous');
    expect(stderr).not.to.contain('rendezvous');
    expect(stderr).not.to.contain('cli-node');
  });
});
