/**
 * The conformance line protocol on top of an interop `OtrEndpoint` (otr-endpoint.ts), so the
 * kit can run an in-process implementation such as otr.js. Events the line protocol carries
 * are derived from what the endpoint observed (its `smp` and `receivedSymKeys`). An endpoint
 * cannot report an SMP in progress, so `status` says false.
 */
import type { LineEvent } from '../../../lib/conformance/line-protocol.js';
import type { OtrPolicy } from '../../../otr/policy.js';
import { parseLinePolicy } from '../../../lib/conformance/line-protocol.js';
import type { LineTransport } from '../../../lib/conformance/party.js';
import type { OtrEndpoint } from '../otr-endpoint.js';

type Json = Record<string, unknown>;

/** Makes the endpoint for `account` talking to `peer`, with the init request's policy and fragment size. */
export type EndpointMaker = (
  account: string,
  peer: string,
  options: { versions: 'default' | 'v2'; policy: OtrPolicy; fragmentSize?: number },
) => Promise<OtrEndpoint>;

/** A LineTransport over an endpoint made at `init` (the peer's account is fixed up front). */
export function endpointTransport(make: EndpointMaker, peer: string): LineTransport {
  let endpoint: OtrEndpoint | undefined;
  let seenSymKeys = 0;
  let asked = false;

  // one SMP run at a time: a reported outcome ends the run and clears the observation
  const events = (e: OtrEndpoint): LineEvent[] => {
    const out: LineEvent[] = [];
    if (e.smp.asked && !asked) {
      out.push(e.smp.question === undefined ? { type: 'smp', event: 'ask_for_secret' } : { type: 'smp', event: 'ask_for_answer', question: e.smp.question });
    }
    asked = e.smp.asked;
    if (e.smp.result !== undefined) {
      out.push({ type: 'smp', event: e.smp.result });
      e.resetSmp();
      asked = false;
    }
    for (const k of e.receivedSymKeys.slice(seenSymKeys)) out.push({ type: 'symkey', use: k.use, usedata: k.usedataHex, key: k.keyHex });
    seenSymKeys = e.receivedSymKeys.length;
    return out;
  };
  const act = async (e: OtrEndpoint, wire: Promise<string[]>): Promise<Json> => ({ ok: true, wire: await wire, events: events(e) });

  return {
    async request(r: Json): Promise<Json> {
      try {
        if (r['cmd'] === 'init') {
          const policy = parseLinePolicy(String(r['policy'] ?? 'default'));
          if (policy === undefined) return { ok: false, error: 'bad policy' };
          const fragmentSize = Number(r['fragment_size'] ?? 0);
          endpoint = await make(String(r['account']), peer, {
            versions: policy.allowV3 ? 'default' : 'v2',
            policy,
            ...(fragmentSize > 0 ? { fragmentSize } : {}),
          });
          return { ok: true, fingerprint: endpoint.fingerprint };
        }
        const e = endpoint;
        if (e === undefined) return { ok: false, error: 'not initialized' };
        switch (r['cmd']) {
          case 'send':
            return act(e, e.send(String(r['text'])));
          case 'receive': {
            const before = e.shown.length;
            const answer = await act(e, e.receive(String(r['wire'])));
            const shown = e.shown.slice(before).at(-1);
            return { ...answer, show: shown?.text ?? null, decrypted: shown?.encrypted ?? false };
          }
          case 'start_ake':
            return act(e, e.startAke());
          case 'end':
            return act(e, e.end());
          case 'status':
            return {
              ok: true,
              msgstate: await e.state(),
              protocol_version: await e.protocolVersion(),
              their_fingerprint: (await e.theirFingerprint()) ?? null,
              ssid: (await e.ssid()) ?? null,
              smp_in_progress: false,
            };
          case 'extra_symkey': {
            const { keyHex, toSend } = await e.extraSymKey(Number(r['use']), Buffer.from(String(r['usedata'] ?? ''), 'hex'));
            return { ok: true, key: keyHex, wire: toSend, events: events(e) };
          }
          case 'smp_start':
            return act(e, e.smpStart(String(r['secret']), typeof r['question'] === 'string' ? r['question'] : undefined));
          case 'smp_respond':
            return act(e, e.smpRespond(String(r['secret'])));
          case 'smp_abort':
            return act(e, e.smpAbort());
          default:
            return { ok: false, error: 'unknown cmd' };
        }
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    },
    async close(): Promise<void> {
      await endpoint?.close();
    },
  };
}
