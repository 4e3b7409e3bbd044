import { expect } from 'chai';
import fc from 'fast-check';
import type { DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { ProtocolError } from '../../../lib/core/errors.js';
import { OTR_POLICY_OPPORTUNISTIC } from '../../../otr/policy.js';
import { makeParty, testKeys, twoParty, type Party } from './conversation-helpers.js';

/**
 * Hostile input: mutations of real wire messages (AKE, data, fragments, SMP) never make
 * `receive` throw, never show decrypted text that was not sent, and never break the session.
 */
describe('otr/conversation robustness', function () {
  this.timeout(120_000);
  let keyA: DsaPrivateKey;
  let keyB: DsaPrivateKey;
  before(async () => {
    [keyA, keyB] = (await testKeys()) as [DsaPrivateKey, DsaPrivateKey];
  });

  function recordedPair(): { a: Party; b: Party; samples: string[]; pump: () => void; wire: ReturnType<typeof twoParty>['wire'] } {
    const a = makeParty('a', keyA, 0x777, OTR_POLICY_OPPORTUNISTIC, { maxFragmentSize: 400 });
    const b = makeParty('b', keyB, 0x888, OTR_POLICY_OPPORTUNISTIC, { maxFragmentSize: 400 });
    const { wire, pump } = twoParty(a, b);
    wire.take(a, b, a.conversation.startAke());
    pump();
    wire.take(a, b, a.conversation.send('sample one'));
    wire.take(b, a, b.conversation.send('sample two'));
    wire.take(a, b, a.conversation.startSmp('s'));
    pump();
    wire.take(b, a, b.conversation.respondSmp('s'));
    pump();
    wire.take(a, b, a.conversation.useExtraSymmetricKey(7, new Uint8Array(3)).result);
    pump();
    return { a, b, samples: wire.log.map((m) => m.text), pump, wire };
  }

  function mutate(text: string, kind: number, at: number, value: number): string {
    const body = text.startsWith('?OTR:') ? Buffer.from(text.slice(5, -1), 'base64') : undefined;
    if (body !== undefined && body.length > 0) {
      const i = at % body.length;
      const copy = Buffer.from(body);
      if (kind === 0) copy[i] = (copy[i] as number) ^ (1 << (value % 8));
      else if (kind === 1) return '?OTR:' + copy.subarray(0, i).toString('base64') + '.';
      else if (kind === 2) copy[i] = value & 0xff;
      else return '?OTR:' + Buffer.concat([copy, Buffer.from([value & 0xff])]).toString('base64') + '.';
      return '?OTR:' + copy.toString('base64') + '.';
    }
    const i = at % Math.max(1, text.length);
    if (kind === 0) return text.slice(0, i) + String.fromCharCode(value % 128) + text.slice(i + 1);
    if (kind === 1) return text.slice(0, i);
    return text.slice(0, i) + ',' + text.slice(i);
  }

  it('mutated wire messages: no throw, no forged plaintext, session still works', () => {
    const { a, b, samples, pump, wire } = recordedPair();
    let n = 0;
    fc.assert(
      fc.property(fc.nat(samples.length - 1), fc.nat(3), fc.nat(100_000), fc.nat(255), (index, kind, at, value) => {
        const text = mutate(samples[index] as string, kind, at, value);
        for (const party of [a, b]) {
          const before = party.conversation.messageState;
          const r = party.conversation.receive(text);
          if (r.show?.encrypted === true) expect(['sample one', 'sample two']).to.include(r.show.text);
          for (const e of r.events) if (e.kind === 'error') expect(e.error).to.be.instanceOf(ProtocolError);
          // A mutated message can end a session only by carrying a valid TLV 1 it cannot forge.
          if (before === 'encrypted') expect(party.conversation.messageState).to.equal('encrypted');
        }
        n++;
      }),
      { numRuns: 1500, seed: 20261124 },
    );
    expect(n).to.equal(1500);
    wire.take(a, b, a.conversation.send('after the storm'));
    wire.take(b, a, b.conversation.send('calm'));
    pump();
    expect(b.shown.at(-1)).to.deep.equal({ text: 'after the storm', encrypted: true });
    expect(a.shown.at(-1)).to.deep.equal({ text: 'calm', encrypted: true });
  });

  it('arbitrary strings never make receive throw', () => {
    const a = makeParty('a', keyA, 0x999);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => '?OTR:' + s),
          fc.string().map((s) => '?OTR|' + s),
          fc.string().map((s) => '?OTR,' + s),
          fc.uint8Array({ maxLength: 600 }).map((b) => '?OTR:' + Buffer.from(b).toString('base64') + '.'),
          fc.uint8Array({ maxLength: 300 }).map((b) => '?OTR:' + Buffer.concat([Buffer.from([0, 3, 3, 0, 0, 1, 0, 0, 0, 0x09, 0x99]), Buffer.from(b)]).toString('base64') + '.'),
        ),
        (text) => {
          a.conversation.receive(text);
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
  });
});
