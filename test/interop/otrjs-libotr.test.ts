/**
 * otr.js vs libotr: two independent reference implementations against each other. Proves
 * the otr.js adapter (synchronous io, events) before it is trusted as a peer for our engine.
 */
import { LIBOTR_PEER, OTRJS_PEER, probeLibotr, probeOtrjs, requirePeer } from './peer-availability.js';
import { buildHarness, libotrFactory } from './libotr/libotr-peer.js';
import { otrjsFactory } from './otrjs/otrjs-peer.js';
import { defineOtrInteropCases } from './otr-interop-cases.js';

describe('interop: otr.js vs libotr (adapter check)', function () {
  this.timeout(120_000);
  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    requirePeer(this, OTRJS_PEER, probeOtrjs());
    buildHarness();
  });

  // otr.js rotates DH keys in pure-JS BigInt (~60 ms per direction change): long bursts.
  // No v2 case here: otr.js 0.2.16 fails ~4% of v2 AKEs in which libotr (v2-only) sends the
  // D-H Commit ("Hashed g^x does not match.", measured 4/100 and 3/80 here; 0/100 in v3), a
  // defect of the peer pair, not of the adapter. otr.js v2 is covered against our engine in
  // otr-otrjs.test.ts (0 failures in 160 stress runs).
  defineOtrInteropCases(otrjsFactory, libotrFactory, { messagesPerDirection: 1000, maxBurst: 40, v2: false });
});
