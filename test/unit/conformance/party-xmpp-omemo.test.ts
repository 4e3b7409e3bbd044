/** The kit's OMEMO tampering over XMPP (lib/conformance/party-xmpp-omemo.ts): one payload byte flipped, nothing else. */
import { expect } from 'chai';
import { tamperPayload, type KitMessage } from '../../../lib/conformance/party-xmpp-omemo.js';
import { xmlElement } from '../../../omemo/xml-element.js';

function message(payload: readonly number[] | undefined): KitMessage {
  const header = xmlElement('header', { sid: '7' }, [xmlElement('key', { rid: '9', prekey: 'true' }, [], Buffer.from([5, 6, 7]).toString('base64')), xmlElement('iv', {}, [], 'AAAA')]);
  const children = payload === undefined ? [header] : [header, xmlElement('payload', {}, [], Buffer.from(payload).toString('base64'))];
  return { version: '0.3', encrypted: xmlElement('encrypted', { xmlns: 'eu.siacs.conversations.axolotl' }, children), keyExchange: true, peerDevices: [9] };
}

describe('conformance over XMPP: tamperPayload', () => {
  it('flips the low bit of one payload byte and leaves the header and the original untouched', () => {
    const original = message([1, 2, 3]);
    const tampered = tamperPayload(original, 1);
    const payload = (m: KitMessage): number[] => [...Buffer.from(m.encrypted.children.find((c) => c.name === 'payload')?.text ?? '', 'base64')];
    expect(payload(tampered)).to.deep.equal([1, 3, 3]);
    expect(payload(original)).to.deep.equal([1, 2, 3]);
    expect(tampered.encrypted.children[0]).to.deep.equal(original.encrypted.children[0]);
    expect(payload(tamperPayload(original, 99))).to.deep.equal([1, 2, 2]);
  });

  it('refuses a message without a payload (a key-transport message) with a TypeError', () => {
    expect(() => tamperPayload(message(undefined))).to.throw(TypeError, /no <payload>/);
  });
});
