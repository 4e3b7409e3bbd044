/**
 * The `tigase:push:encrypt:0` AES-128-GCM payload codec (lib/xmpp/push-encryption.ts): a known
 * answer computed with an independent implementation (PyCryptodome's AES-GCM), tamper and
 * malformed-input refusals as typed errors, and the whole path through the app server: the
 * server's `<encrypted/>` blob is forwarded untouched inside the Web Push message and the device
 * decrypts it.
 */
import { expect } from 'chai';
import { createECDH, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { xml } from '@xmpp/client';
import { decryptPushPayload, encryptPushPayload, generatePushKey } from '../../../lib/xmpp/push-encryption.js';
import { PushError } from '../../../lib/xmpp/push-errors.js';
import { enableElement, parsePushSupport } from '../../../lib/xmpp/push-stanzas.js';
import { client } from '@xmpp/client';
import { MemoryStore } from '../../../lib/core/store/store.js';
import { pushNotifications } from '../../../lib/xmpp/push.js';
import { parsePushPublish } from '../../../lib/push/pubsub-publish.js';
import { buildPushRequest } from '../../../lib/push/push-services.js';
import { loadEs256Key } from '../../../lib/push/jwt-es256.js';
import { decryptAes128gcm } from './web-push-receiver.js';

// Computed with PyCryptodome 3.x: AES.new(bytes(range(16)), AES.MODE_GCM, nonce=cafebabefacedbaddecaf888).
const KAT = {
  key: Uint8Array.from({ length: 16 }, (_, i) => i),
  iv: 'yv66vvrO263eyviI',
  payload:
    '8luy2PeS4GWIKvikf4nFieJuSgZhydrQXYBzDzZEjKHvRfx03HFlHaA/3FmhiOlPtZ5sfUsetwuB1mu3AoTklqKVUhDiOHLM5XbeO2qhGhBuZw9O1fBmO4RuXnOPklr8VPti3/ZQBXhQJWsoTpt6eOVGMA==',
  content: { unread: 1, sender: 'juliet@capulet.example', type: 'chat', message: 'Wherefore art thou, Romeo?' },
};

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(PushError);
    return (error as PushError).code;
  }
  throw new Error('expected a PushError');
}

describe('push: encrypted push payloads (tigase:push:encrypt:0, aes-128-gcm)', () => {
  it('decrypts the known answer of an independent AES-GCM implementation', () => {
    expect(decryptPushPayload(KAT.key, { iv: KAT.iv, payload: KAT.payload })).to.deep.equal(KAT.content);
  });

  it('the encoder produces the same bytes for the same key and IV', () => {
    const blob = encryptPushPayload(KAT.key, KAT.content, { iv: Buffer.from(KAT.iv, 'base64') });
    expect(blob).to.deep.equal({ iv: KAT.iv, payload: KAT.payload });
  });

  it('round-trips arbitrary message text under fresh keys', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.nat(1000), (message, unread) => {
        const key = generatePushKey();
        expect(decryptPushPayload(key, encryptPushPayload(key, { message, unread }))).to.deep.equal({ message, unread });
      }),
      { numRuns: 50 },
    );
  });

  it('refuses tampering, a wrong key and malformed input with typed errors', () => {
    const bytes = Buffer.from(KAT.payload, 'base64');
    bytes[3] = (bytes[3] as number) ^ 1;
    expect(code(() => decryptPushPayload(KAT.key, { iv: KAT.iv, payload: bytes.toString('base64') }))).to.equal('push.decrypt-failed');
    expect(code(() => decryptPushPayload(new Uint8Array(16), { iv: KAT.iv, payload: KAT.payload }))).to.equal('push.decrypt-failed');
    expect(code(() => decryptPushPayload(KAT.key, { iv: 'not base64!', payload: KAT.payload }))).to.equal('push.malformed-payload');
    expect(code(() => decryptPushPayload(KAT.key, { iv: KAT.iv, payload: 'AAAA' }))).to.equal('push.malformed-payload');
    expect(code(() => decryptPushPayload(KAT.key, { iv: KAT.iv, payload: 'A'.repeat(9000) }))).to.equal('push.malformed-payload');
    const notObject = encryptPushPayload(KAT.key, [] as unknown as object);
    expect(code(() => decryptPushPayload(KAT.key, notObject))).to.equal('push.malformed-payload');
    expect(() => decryptPushPayload(new Uint8Array(15), { iv: KAT.iv, payload: KAT.payload })).to.throw(RangeError);
  });

  it('offers the key in <enable/> only with the aes-128-gcm feature advertised', () => {
    const q = (vars: string[]) => xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, ...vars.map((v) => xml('feature', { var: v })));
    expect(parsePushSupport(q(['urn:xmpp:push:0']))).to.deep.equal({ push: true, encryption: false });
    expect(parsePushSupport(q(['urn:xmpp:push:0', 'tigase:push:encrypt:0']))).to.deep.equal({ push: true, encryption: false });
    expect(parsePushSupport(q(['urn:xmpp:push:0', 'tigase:push:encrypt:0', 'tigase:push:encrypt:aes-128-gcm']))).to.deep.equal({ push: true, encryption: true });
    const el = enableElement({ jid: 'push.example', node: 'n', secret: 's3cr3t-s3cr3t', encryptionKey: 'AAECAwQFBgcICQoLDA0ODw==' });
    expect(el.toString()).to.equal(
      "<enable xmlns=\"urn:xmpp:push:0\" jid=\"push.example\" node=\"n\"><x xmlns=\"jabber:x:data\" type=\"submit\">" +
        '<field var="FORM_TYPE"><value>http://jabber.org/protocol/pubsub#publish-options</value></field>' +
        '<field var="secret"><value>s3cr3t-s3cr3t</value></field></x>' +
        '<encrypt xmlns="tigase:push:encrypt:0" alg="aes-128-gcm">AAECAwQFBgcICQoLDA0ODw==</encrypt></enable>',
    );
  });

  it('app server side: the <encrypted/> blob travels untouched inside Web Push and the device decrypts it', () => {
    const deviceKey = generatePushKey();
    const blob = encryptPushPayload(deviceKey, KAT.content);
    // What a server with the extension publishes (no summary form).
    const publish = xml(
      'iq',
      { type: 'set', id: 'p1', from: 'example.org', to: 'push.example.org' },
      xml(
        'pubsub',
        { xmlns: 'http://jabber.org/protocol/pubsub' },
        xml('publish', { node: 'node-1' }, xml('item', {}, xml('notification', { xmlns: 'urn:xmpp:push:0' }, xml('encrypted', { xmlns: 'tigase:push:encrypt:0', iv: blob.iv }, blob.payload)))),
        xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
          xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
          xml('field', { var: 'secret' }, xml('value', {}, 'the-secret')))),
      ),
    );
    const parsed = parsePushPublish(publish);
    expect(parsed).to.include({ node: 'node-1', secret: 'the-secret', important: false, unread: undefined });
    expect(parsed.encrypted).to.deep.equal(blob);
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const auth = new Uint8Array(16).fill(9);
    const req = buildPushRequest(
      { service: 'webpush', endpoint: 'https://push.example.net/x', p256dh: new Uint8Array(ua.getPublicKey()), auth },
      { node: 'node-1', unread: parsed.unread, important: parsed.important, encrypted: parsed.encrypted },
      { webpush: { vapidKey: loadEs256Key(generateScalar()), subject: 'mailto:a@example.org' } },
      { now: () => 1_800_000_000 },
    );
    const delivered = JSON.parse(decryptAes128gcm(Buffer.from(req.body), ua.getPrivateKey(), Buffer.from(auth)).toString()) as Record<string, string>;
    expect(delivered['encrypted']).to.equal(blob.payload);
    expect(decryptPushPayload(deviceKey, { iv: delivered['iv'] as string, payload: delivered['encrypted'] as string })).to.deep.equal(KAT.content);
  });
});

/** A VAPID private scalar (JWK `d` is always 32 bytes, RFC 7518 §6.2.2.1). */
describe('push: PushClient.decrypt with a stored registration key', () => {
  it('decrypts with the key stored for the node, and refuses nodes without a key', async () => {
    const entity = client({ service: 'xmpp://127.0.0.1:1', domain: 'example.org', username: 'juliet' }); // never started
    const store = new MemoryStore();
    const key = generatePushKey();
    await store.set(
      'push/juliet@example.org/registrations',
      JSON.stringify({
        version: 1,
        registrations: [
          { jid: 'push.example.org', node: 'enc-node', secret: 's', encryptionKey: Buffer.from(key).toString('base64'), enabledAt: '2026-01-01T00:00:00.000Z' },
          { jid: 'push.example.org', node: 'plain-node', secret: 's', enabledAt: '2026-01-01T00:00:00.000Z' },
        ],
      }),
    );
    const push = pushNotifications({ entity, store, reenableOnline: false });
    expect(await push.decrypt('enc-node', encryptPushPayload(key, KAT.content))).to.deep.equal(KAT.content);
    for (const node of ['plain-node', 'unknown']) {
      try {
        await push.decrypt(node, encryptPushPayload(key, KAT.content));
        throw new Error('expected a refusal');
      } catch (error) {
        expect((error as PushError).code).to.equal('push.decrypt-failed');
      }
    }
    await store.set('push/juliet@example.org/registrations', '{"version":7}');
    try {
      await push.registrations();
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as PushError).code).to.equal('push.store-corrupt');
    }
  });
});

function generateScalar(): string {
  return String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }).d);
}
