import { expect } from 'chai';
import { formatHtmlReport, escapeHtml } from '../../../lib/conformance/report-html.js';
import { formatTextReport } from '../../../lib/conformance/report-text.js';
import { parseLinePolicy } from '../../../lib/conformance/line-protocol.js';
import type { ConformanceReport } from '../../../lib/conformance/runner.js';
import { selectScenarios, OTR_SCENARIOS } from '../../../lib/conformance/scenarios.js';
import { checkRevealedMacKeys, readDataMessage } from '../../../lib/conformance/wire-evidence.js';
import { OTR_POLICY_ALWAYS, OTR_POLICY_MANUAL, OTR_POLICY_NEVER, OTR_POLICY_OPPORTUNISTIC } from '../../../otr/policy.js';
import { decodeDataMessage, encodeDataMessageFromAuthenticatedBytes } from '../../../otr/data-message.js';
import { decodeOtrMessage, encodeOtrMessage } from '../../../otr/encoded-message.js';
import type { DsaPrivateKey } from '../../../lib/core/crypto/dsa.js';
import { makeParty, testKeys, twoParty } from '../otr/conversation-helpers.js';

describe('conformance kit units', () => {
  it('reads libotr policy words as the harness does', () => {
    expect(parseLinePolicy('default')).to.deep.equal(OTR_POLICY_OPPORTUNISTIC);
    expect(parseLinePolicy('manual')).to.deep.equal(OTR_POLICY_MANUAL);
    expect(parseLinePolicy('always')).to.deep.equal(OTR_POLICY_ALWAYS);
    expect(parseLinePolicy('never')).to.deep.equal(OTR_POLICY_NEVER);
    expect(parseLinePolicy('v2,whitespace|whitespace_start')).to.deep.equal({ ...OTR_POLICY_NEVER, allowV2: true, sendWhitespaceTag: true, whitespaceStartAke: true });
    expect(parseLinePolicy('v3 require')).to.deep.equal({ ...OTR_POLICY_NEVER, allowV3: true, requireEncryption: true });
    expect(parseLinePolicy('v4')).to.equal(undefined);
  });

  it('selects scenarios by id or dotted prefix only', () => {
    expect(selectScenarios(['smp']).map((s) => s.id)).to.deep.equal(['smp.same-secret', 'smp.different-secret', 'smp.question', 'smp.abort-and-restart']);
    expect(selectScenarios(['hostile.bad-mac']).map((s) => s.id)).to.deep.equal(['hostile.bad-mac']);
    expect(selectScenarios(['hostile.bad'])).to.deep.equal([]);
    expect(selectScenarios(undefined)).to.have.length(OTR_SCENARIOS.length);
    expect(new Set(OTR_SCENARIOS.map((s) => s.id)).size).to.equal(OTR_SCENARIOS.length);
  });

  it('HTML report escapes everything that came off the wire and loads nothing', () => {
    const hostile = '<script>alert(1)</script>"\'&';
    const report: ConformanceReport = {
      tool: 't',
      startedAt: '2026-12-01T00:00:00.000Z',
      durationMs: 1,
      implementation: hostile,
      reference: 'ours',
      summary: { passed: 0, failed: 1, errors: 0 },
      results: [
        {
          id: 'x.y',
          title: hostile,
          description: hostile,
          status: 'fail',
          durationMs: 1,
          message: hostile,
          notes: [hostile],
          wireCount: 1,
          evidence: [{ from: 'kit', to: 'iut', text: hostile, note: hostile, omitted: 3 }],
        },
      ],
    };
    const page = formatHtmlReport(report);
    expect(page).to.not.include('<script');
    expect(page).to.include(escapeHtml(hostile));
    expect(escapeHtml(hostile)).to.equal('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    expect(formatTextReport(report)).to.include('conformance: 0 passed, 1 failed, 0 errors');
  });

  describe('revealed MAC keys against earlier authenticators', () => {
    let keys: DsaPrivateKey[];
    before(async () => {
      keys = await testKeys();
    });

    function transcript(): { from: 'a' | 'b'; text: string }[] {
      const a = makeParty('a', keys[0] as DsaPrivateKey, 0x1111);
      const b = makeParty('b', keys[1] as DsaPrivateKey, 0x2222);
      const { wire, pump } = twoParty(a, b);
      wire.take(a, b, a.conversation.startAke());
      pump();
      for (let i = 0; i < 6; i++) {
        wire.take(a, b, a.conversation.send(`a${i}`));
        pump();
        wire.take(b, a, b.conversation.send(`b${i}`));
        pump();
      }
      return wire.log.map((r) => ({ from: r.from as 'a' | 'b', text: r.text }));
    }

    it('every key our engine reveals verifies an earlier message, some of them received ones', () => {
      const log = transcript();
      const evidence = checkRevealedMacKeys(log, 'a');
      expect(evidence.revealed).to.be.greaterThan(0);
      expect(evidence.unverified).to.deep.equal([]);
      expect(evidence.verified).to.equal(evidence.revealed);
      expect(evidence.verifiedReceived).to.be.greaterThan(0);
    });

    it('a key that authenticates nothing is reported', () => {
      const log = transcript();
      const last = log.map((r, i) => [r, i] as const).filter(([r]) => r.from === 'a' && readDataMessage(r.text) !== undefined).at(-1);
      expect(last).to.not.equal(undefined);
      const [record, index] = last as NonNullable<typeof last>;
      const message = decodeOtrMessage(record.text);
      const data = decodeDataMessage(message.body);
      const bogus = new Uint8Array(20).fill(0x42);
      const { body: _b, ...header } = message;
      const forged = encodeOtrMessage(header, encodeDataMessageFromAuthenticatedBytes(data.authenticatedBody, data.mac, bogus));
      const evidence = checkRevealedMacKeys([...log.slice(0, index), { from: 'a', text: forged }], 'a');
      expect(evidence.unverified).to.deep.equal(['42'.repeat(20)]);
    });
  });
});
