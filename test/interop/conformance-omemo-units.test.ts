/**
 * The OMEMO conformance kit's own pieces without a foreign peer: its view of `<encrypted>`
 * elements (keys, key-exchange flags, the exact bit it flips), and our handler under hostile
 * line input (fast-check): every request gets one answer line, a rejected message is a result
 * with an error, and the session still works afterwards.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { base64ToBytes } from '../../lib/core/bytes.js';
import { OurOmemoLineHandler } from '../../lib/conformance/our-omemo-line-handler.js';
import { flipMacBit, tamper, wireKeys } from '../../lib/conformance/scenario-omemo.js';
import type { OmemoLineDecrypted, OmemoLineEncrypted, OmemoLineInfo } from '../../lib/conformance/line-protocol-omemo.js';

type Answer = Record<string, unknown>;

async function call(h: OurOmemoLineHandler, request: Record<string, unknown>): Promise<Answer> {
  return JSON.parse(await h.handleLine(JSON.stringify(request))) as Answer;
}

/** Two handlers (A, B) of `version` that know each other, and A's first message to B. */
async function pair(version: '0.3' | '2'): Promise<{ a: OurOmemoLineHandler; b: OurOmemoLineHandler; aInfo: OmemoLineInfo; bInfo: OmemoLineInfo; first: string }> {
  const a = new OurOmemoLineHandler();
  const b = new OurOmemoLineHandler();
  const aInfo = (await call(a, { cmd: 'init', jid: 'a@example.org', version })) as unknown as OmemoLineInfo;
  const bInfo = (await call(b, { cmd: 'init', jid: 'b@example.org', version })) as unknown as OmemoLineInfo;
  await call(a, { cmd: 'peer_devices', jid: 'b@example.org', device_list: bInfo.device_list, bundles: bInfo.bundles });
  await call(b, { cmd: 'peer_devices', jid: 'a@example.org', device_list: aInfo.device_list, bundles: aInfo.bundles });
  const first = (await call(a, { cmd: 'encrypt', to_jid: 'b@example.org', plaintext: 'first' })) as unknown as OmemoLineEncrypted;
  return { a, b, aInfo, bInfo, first: first.xml };
}

for (const version of ['0.3', '2'] as const) {
  describe(`conformance kit OMEMO pieces (${version})`, function () {
    this.timeout(60_000);

    it('wireKeys sees the key for each device and its key-exchange flag; tamper flips exactly one MAC bit', async () => {
      const { a, b, bInfo, first } = await pair(version);
      const [key] = wireKeys(first);
      expect(key?.rid).to.equal(bInfo.devices[0]?.device_id);
      expect(key?.keyExchange).to.equal(true);
      if (version === '2') expect(key?.jid).to.equal('b@example.org');
      const opened = (await call(b, { cmd: 'decrypt', from_jid: 'a@example.org', xml: first })) as unknown as OmemoLineDecrypted;
      expect(opened.results).to.deep.equal([{ device_id: bInfo.devices[0]?.device_id, plaintext: 'first', error: null }]);
      for (const m of opened.outbox) await call(a, { cmd: 'decrypt', from_jid: 'b@example.org', xml: m.xml });
      const second = ((await call(a, { cmd: 'encrypt', to_jid: 'b@example.org', plaintext: 'second' })) as unknown as OmemoLineEncrypted).xml;
      const [plain] = wireKeys(second);
      expect(plain?.keyExchange).to.equal(false);
      const rid = plain?.rid as number;
      const tampered = wireKeys(tamper(second, rid, (d) => flipMacBit(version, d)))[0]?.data as Uint8Array;
      const diff = [...tampered].map((x, i) => x ^ (plain?.data[i] as number)).map((x, i) => [i, x]).filter(([, x]) => x !== 0);
      // one bit, inside the MAC: 0.3's last byte, omemo:2's first MAC byte (after the 0x0a 0x10 header)
      expect(diff).to.deep.equal([[version === '0.3' ? tampered.length - 1 : 2, 1]]);
      const rejected = (await call(b, { cmd: 'decrypt', from_jid: 'a@example.org', xml: tamper(second, rid, (d) => flipMacBit(version, d)) })) as unknown as OmemoLineDecrypted;
      expect(rejected.results[0]?.error).to.match(/bad-mac/);
      const payload = base64ToBytes(/<payload>([^<]+)<\/payload>/.exec(tamper(second, 'payload', (d) => d))?.[1] ?? '');
      expect(payload?.length).to.be.greaterThan(0);
      const genuine = (await call(b, { cmd: 'decrypt', from_jid: 'a@example.org', xml: second })) as unknown as OmemoLineDecrypted;
      expect(genuine.results[0]?.plaintext).to.equal('second');
    });

    it('hostile line input: one answer per request, rejections as results, the session survives', async () => {
      const { a, b, first } = await pair(version);
      await call(b, { cmd: 'decrypt', from_jid: 'a@example.org', xml: first });
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 200 }),
            fc.string({ maxLength: 200 }).map((s) => JSON.stringify({ cmd: 'decrypt', from_jid: 'a@example.org', xml: s })),
            fc.uint8Array({ minLength: 1, maxLength: 120 }).map((bytes) => JSON.stringify({ cmd: 'decrypt', from_jid: 'a@example.org', xml: tamper(first, wireKeys(first)[0]?.rid as number, () => bytes) })),
            fc.constantFrom('{"cmd":"encrypt"}', '{"cmd":"peer_devices","jid":"x@y","device_list":"<list/>","bundles":{}}', '[]', 'null', '{"cmd":"init","jid":"z@y","version":"2"}'),
          ),
          async (line) => {
            const answer = JSON.parse(await b.handleLine(line)) as Answer;
            expect(typeof answer['ok']).to.equal('boolean');
            if (answer['ok'] === true && Array.isArray(answer['results'])) {
              for (const r of answer['results'] as { plaintext: unknown; error: unknown }[]) if (r.error !== null) expect(r.plaintext).to.equal(null);
            }
            n++;
          },
        ),
        { numRuns: 150 },
      );
      expect(n).to.equal(150);
      const next = ((await call(a, { cmd: 'encrypt', to_jid: 'b@example.org', plaintext: 'after the noise' })) as unknown as OmemoLineEncrypted).xml;
      const opened = (await call(b, { cmd: 'decrypt', from_jid: 'a@example.org', xml: next })) as unknown as OmemoLineDecrypted;
      expect(opened.results[0]).to.include({ plaintext: 'after the noise', error: null });
    });
  });
}
