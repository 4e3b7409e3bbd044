/**
 * The plugin on hostile input from the server: garbage bodies and stanzas, malformed OTR
 * messages, oversized bodies, replays, bounces, random `?OTR` strings. Each becomes a typed
 * `otr-error` event (or is ignored), nothing throws out of the middleware, and the encrypted
 * session keeps working afterwards. Runs the real @xmpp/middleware chain on a loopback network.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { ProtocolError } from '../../../lib/core/errors.js';
import { MAX_CONVERSATIONS } from '../../../lib/xmpp/otr-plugin.js';
import { LoopbackNetwork, loopbackParty, named, settle, type LoopbackParty } from './loopback.js';

const ALICE = 'alice@example.org/desk';
const BOB = 'bob@example.org/phone';

function inject(to: LoopbackParty, from: string, inner: string, attrs = "type='chat'"): void {
  to.entity.receiveRaw(`<message from='${from}' to='${to.jid}' ${attrs} xmlns='jabber:client'>${inner}</message>`);
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

describe('xmpp/otr-plugin: hostile input', function () {
  this.timeout(30_000);
  let network: LoopbackNetwork;
  let alice: LoopbackParty;
  let bob: LoopbackParty;
  let crashes: unknown[];
  const onCrash = (error: unknown): void => {
    crashes.push(error);
  };

  beforeEach(async () => {
    crashes = [];
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    network = new LoopbackNetwork();
    alice = await loopbackParty(network, ALICE, { policy: 'manual' });
    bob = await loopbackParty(network, BOB, { policy: 'manual' });
    for (const p of [alice, bob]) p.entity.on('error', onCrash);
    await alice.otr.start(BOB);
    await settle(() => alice.otr.session(BOB).security.kind === 'encrypted' && bob.otr.session(ALICE).security.kind === 'encrypted', 'AKE');
  });

  afterEach(async () => {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    await alice.otr.close();
    await bob.otr.close();
  });

  async function stillWorks(text: string): Promise<void> {
    await alice.otr.send(BOB, text);
    await bob.otr.send(ALICE, `${text} back`);
    await settle(() => bob.messages.some((m) => m.text === text) && alice.messages.some((m) => m.text === `${text} back`), 'messages after garbage');
    expect(bob.messages.find((m) => m.text === text)?.encrypted).to.equal(true);
    expect(crashes).to.deep.equal([]);
  }

  it('malformed OTR messages from the peer: typed errors, session intact', async () => {
    const garbage = [
      '?OTR:AAMD', // truncated
      '?OTR:!!!!notbase64.',
      '?OTR:AAMDAAABAAAAAQ==.', // wrong instance tags / type
      `?OTR:${Buffer.alloc(300, 7).toString('base64')}.`,
      '?OTR|zzzz|yyyy,00001,00002,abc,', // fragment with bad tags
      '?OTR|00000100|00000200,99999,00001,x,',
      '?OTR,1,0,,',
      '?OTR Error: something odd',
      '?OTRv9999?',
      '?OTR',
    ];
    for (const text of garbage) inject(bob, ALICE, `<body>${escapeXml(text)}</body>`);
    await bob.otr.idle();
    await settle(() => named(bob, 'otr-error').length > 0, 'errors');
    for (const e of named(bob, 'otr-error')) {
      expect(e.error).to.be.instanceOf(ProtocolError);
      expect(e.error.code).to.be.a('string').and.not.equal('xmpp.otr.internal');
    }
    expect(bob.otr.session(ALICE).security.kind).to.equal('encrypted');
    await stillWorks('after malformed');
  });

  it('a replayed Data Message: a repeated stanza id is dropped silently; a new id is a typed error', async () => {
    await alice.otr.send(BOB, 'original');
    await settle(() => bob.messages.length === 1, 'original');
    const stanza = network.log.filter((s) => s.includes('?OTR:') && s.includes(`from="${ALICE}"`)).at(-1) as string;
    bob.entity.receiveRaw(stanza); // same id: the stream-management double
    await bob.otr.idle();
    expect(bob.messages).to.have.length(1);
    expect(named(bob, 'otr-error')).to.deep.equal([]);
    bob.entity.receiveRaw(stanza.replace(/ id="[^"]+"/, ' id="replayed-with-new-id"'));
    await settle(() => named(bob, 'otr-error').length === 1, 'replay error');
    expect(named(bob, 'otr-error')[0]?.error.code).to.match(/^otr\./);
    expect(bob.messages).to.have.length(1);
    await stillWorks('after replay');
  });

  it('stanzas the plugin must leave alone, oversized bodies and bounces', async () => {
    let downstream = 0;
    bob.entity.middleware.use((ctx, next) => {
      if (ctx.name === 'message') downstream++;
      return next();
    });
    inject(bob, ALICE, '<body>?OTR:AAMD</body>', "type='groupchat'"); // not ours: passes through
    inject(bob, ALICE, '<subject>no body</subject>');
    inject(bob, 'example.org', '<body>server notice</body>', "type='headline'");
    inject(bob, ALICE, `<body>${'?OTR:' + 'A'.repeat((1 << 20) + 10)}.</body>`);
    inject(bob, ALICE, "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>", "type='error' id='otr-x'");
    inject(bob, ALICE, '<body>one</body><body>two</body>');
    await bob.otr.idle();
    await settle(() => named(bob, 'delivery-error').length === 1, 'bounce');
    expect(named(bob, 'delivery-error')[0]).to.deep.equal({ jid: ALICE, id: 'otr-x', condition: 'service-unavailable' });
    expect(named(bob, 'otr-error').map((e) => e.error.code)).to.include('xmpp.otr.body-too-large');
    // groupchat, subject-only, headline, the bounce and the plaintext two-body message go on; the oversized one does not.
    await settle(() => downstream === 5, 'downstream');
    expect(bob.messages.map((m) => [m.text, m.encrypted, m.unencryptedWarning])).to.deep.equal([['one', false, true]]);
    await stillWorks('after odd stanzas');
  });

  it('random ?OTR strings (property): never a crash, only typed events, session intact', async () => {
    const prefixes = ['?OTR:', '?OTR|', '?OTR,', '?OTR', '?OTRv', '?OTR Error:'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...prefixes), fc.string({ maxLength: 200 }), fc.base64String({ maxLength: 400 }), async (prefix, junk, b64) => {
        const text = prefix + (prefix === '?OTR:' ? `${b64}.` : junk);
        inject(bob, ALICE, `<body>${escapeXml(text.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]/gu, ''))}</body>`);
        await bob.otr.idle();
      }),
      { numRuns: 150 },
    );
    for (const e of named(bob, 'otr-error')) expect(e.error).to.be.instanceOf(ProtocolError);
    expect(bob.otr.session(ALICE).security.kind).to.equal('encrypted');
    await stillWorks('after fuzz');
  });

  it('a flood of senders keeps memory bounded and the encrypted session', async () => {
    for (let i = 0; i < MAX_CONVERSATIONS + 200; i++) inject(bob, `alice@example.org/forged-${i}`, `<body>hi ${i}</body>`, `type='chat' id='f${i}'`);
    await settle(() => bob.messages.length >= MAX_CONVERSATIONS + 200, 'flood processed');
    expect(bob.otr.sessions().length).to.be.at.most(MAX_CONVERSATIONS);
    expect(bob.otr.session(ALICE).security.kind).to.equal('encrypted');
    await stillWorks('after flood');
  });

  it('one peer\'s messages reach the application in arrival order', async () => {
    const texts = Array.from({ length: 40 }, (_, i) => `n${i}`);
    await Promise.all(texts.map((t) => alice.otr.send(BOB, t)));
    await settle(() => bob.messages.length === texts.length, 'all');
    expect(bob.messages.map((m) => m.text)).to.deep.equal(texts);
  });
});
