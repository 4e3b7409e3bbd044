/**
 * Child-process script for the harness self-test: two STOCK @xmpp/client 0.14 clients log in
 * over STARTTLS and exchange one message each way. Stock @xmpp/client has no TLS options, so
 * the parent passes the test CA the only way stock Node allows: NODE_EXTRA_CA_CERTS, read at
 * process start (hence a child process).
 *
 * It also reports the server's and account's disco#info features, the server's disco#items and
 * whether XEP-0198 got enabled, so the harness test can check opt-in features for real.
 *
 * argv: SERVICE DOMAIN JID_A PASS_A JID_B PASS_B. Prints one JSON line with the results.
 */
import { client, xml } from '@xmpp/client';
import type { XmppClientElement as Element } from '@xmpp/client';

interface TlsLike {
  getProtocol(): string | null;
  authorized: boolean;
}

const [service, domain, jidA, passA, jidB, passB] = process.argv.slice(2) as [string, string, string, string, string, string];

function login(jid: string, password: string): ReturnType<typeof client> {
  const [username] = jid.split('@') as [string];
  const x = client({ service, domain, username, password, resource: 'chat' });
  x.reconnect.stop();
  x.on('error', () => undefined);
  return x;
}

function nextBody(x: ReturnType<typeof client>): Promise<{ from: string; body: string }> {
  return new Promise((resolve) => {
    const onStanza = (s: Element): void => {
      if (s.is('message') && s.getChildText('body') !== null) {
        x.removeListener('stanza', onStanza);
        resolve({ from: String(s.attrs['from']), body: s.getChildText('body') ?? '' });
      }
    };
    x.on('stanza', onStanza);
  });
}

const a = login(jidA, passA);
const b = login(jidB, passB);
const t0 = performance.now();
await Promise.all([a.start(), b.start()]);
const loginMs = performance.now() - t0;
await a.send(xml('presence'));
await b.send(xml('presence'));
const gotA = nextBody(a);
await b.send(xml('message', { to: `${jidA}/chat`, type: 'chat' }, xml('body', {}, 'hello alice')));
const atA = await gotA;
const gotB = nextBody(b);
await a.send(xml('message', { to: `${jidB}/chat`, type: 'chat' }, xml('body', {}, 'hello bob')));
const atB = await gotB;
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const features = async (to: string): Promise<string[]> =>
  (await a.iqCaller.get(xml('query', { xmlns: DISCO_INFO }), to)).getChildren('feature').map((f) => f.attrs['var'] ?? '');
const serverFeatures = await features(domain);
const accountFeatures = await features(jidA);
const items = (await a.iqCaller.get(xml('query', { xmlns: DISCO_ITEMS }), domain)).getChildren('item').map((i) => i.attrs['jid'] ?? '');
const tlsSocket = (a as unknown as { socket: { socket: TlsLike } }).socket.socket;
const out = {
  loginMs,
  atA,
  atB,
  secure: a.isSecure(),
  authorized: tlsSocket.authorized,
  protocol: tlsSocket.getProtocol(),
  serverFeatures,
  accountFeatures,
  items,
  streamManagement: a.streamManagement.enabled,
};
await Promise.all([a.stop(), b.stop()]);
process.stdout.write(`${JSON.stringify(out)}\n`);
