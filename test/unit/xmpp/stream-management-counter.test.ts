/**
 * XEP-0198's inbound counter of a secure client against a scripted server on 127.0.0.1 that
 * puts `<enabled/>`, a message and `<r/>` into ONE write, as Prosody does under load. The
 * uncorrected @xmpp/stream-management 0.14.0 answers with every stanza since the stream began
 * (h='3' here), which Prosody refuses by closing the stream.
 */
import { expect } from 'chai';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { client as plainClient } from '@xmpp/client';
import type { XmppClient } from '@xmpp/client';
import { secureClient } from '../../../lib/xmpp/secure-client.js';

const STREAM_HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='localhost' version='1.0'>";
const SM = 'urn:xmpp:sm:3';
const MESSAGE = "<message from='bob@localhost/x' to='alice@localhost/r' type='chat'><body>hi</body></message>";

/** Runs the scripted log-in and returns the first <a/> the client sends, and what it received. */
function scriptedServer(onAck: (h: string, socket: Socket) => void): Server {
  return createServer((socket) => {
    socket.on('error', () => undefined);
    let received = '';
    let streams = 0;
    let stage = 'auth';
    socket.on('data', (d: Buffer) => {
      received += d.toString('utf8');
      const opened = (received.match(/<stream:stream[^>]*>/g) ?? []).length;
      if (opened > streams) {
        streams = opened;
        socket.write(streams === 1
          ? `${STREAM_HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`
          : `${STREAM_HEADER}<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='${SM}'/></stream:features>`);
      }
      if (stage === 'auth' && received.includes('</auth>')) {
        stage = 'bind';
        socket.write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
      }
      const bind = /<iq [^>]*id="([^"]+)"[^>]*><bind /.exec(received);
      if (stage === 'bind' && bind) {
        stage = 'enable';
        // The bind result and one message before <enabled/>: neither is counted by the server.
        socket.write(`<iq type='result' id='${bind[1]}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>alice@localhost/r</jid></bind></iq>${MESSAGE}`);
      }
      if (stage === 'enable' && received.includes('<enable ')) {
        stage = 'ack';
        socket.write(`<enabled xmlns='${SM}' id='sm1' resume='true'/>${MESSAGE}<r xmlns='${SM}'/>`);
      }
      const ack = /<a xmlns="urn:xmpp:sm:3" h="(\d+)"\/>/.exec(received);
      if (stage === 'ack' && ack?.[1] !== undefined) {
        stage = 'done';
        onAck(ack[1], socket);
      }
      if (received.endsWith('</stream:stream>')) socket.end('</stream:stream>'); // the client's stop()
    });
  });
}

describe('xmpp/stream-management-counter: XEP-0198 h starts at <enabled/>', function () {
  this.timeout(10000);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  // PLAIN in the clear on loopback (the script has no TLS): @xmpp/client only offers PLAIN on a
  // secure stream unless the credentials callback picks the mechanism itself.
  const plainInTheClear = async (authenticate: (c: { username: string; password: string }, mechanism: string) => Promise<void>): Promise<void> =>
    authenticate({ username: 'alice', password: 'p' }, 'PLAIN');

  async function firstAck(make: (service: string) => XmppClient): Promise<string> {
    let resolveAck: (h: string) => void = () => undefined;
    const acked = new Promise<string>((r) => (resolveAck = r));
    const server = scriptedServer((h) => resolveAck(h));
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const xmpp = make(`xmpp://127.0.0.1:${(server.address() as AddressInfo).port}`);
    xmpp.on('error', () => undefined);
    xmpp.reconnect.stop();
    cleanups.push(async () => {
      await xmpp.stop().catch(() => undefined);
    });
    await xmpp.start();
    return acked;
  }

  it('answers an <r/> that shares a read with <enabled/> with h=1 (the one message after <enabled/>)', async () => {
    const h = await firstAck((service) =>
      secureClient({ service, domain: 'localhost', credentials: plainInTheClear, resource: 'r', tls: { insecure: { allowPlaintext: true } } }));
    expect(h).to.equal('1');
  });

  it('the stock client (uncorrected) over-acknowledges the same script, which is the defect corrected', async () => {
    const h = await firstAck((service) => plainClient({ service, domain: 'localhost', credentials: plainInTheClear, resource: 'r' }));
    expect(Number(h)).to.be.greaterThan(1);
  });
});
