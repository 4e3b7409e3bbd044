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

  // otr.js rotates DH keys in pure-JS BigInt (~60 ms per direction change): long bursts
  defineOtrInteropCases(otrjsFactory, libotrFactory, { messagesPerDirection: 1000, maxBurst: 40 });
});
