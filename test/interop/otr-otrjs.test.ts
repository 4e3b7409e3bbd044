/**
 * OUR OTR engine vs otr.js 0.2.16 (an independent JavaScript implementation, in-process):
 * the same cases as against libotr, both directions.
 */
import { OTRJS_PEER, probeOtrjs, requirePeer } from './peer-availability.js';
import { otrjsFactory } from './otrjs/otrjs-peer.js';
import { ourFactory } from './ours/our-endpoint.js';
import { defineOtrInteropCases } from './otr-interop-cases.js';

describe('interop: our OTR vs otr.js', function () {
  this.timeout(120_000);
  before(function () {
    requirePeer(this, OTRJS_PEER, probeOtrjs());
  });

  // otr.js rotates DH keys in pure-JS BigInt (~60 ms per direction change): longer bursts
  defineOtrInteropCases(ourFactory, otrjsFactory, { messagesPerDirection: 1000, maxBurst: 30 });
});
