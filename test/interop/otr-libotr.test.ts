/**
 * OUR OTR engine vs libotr 4.1.1 (the reference implementation, through the C harness):
 * AKE, 1000+ interleaved data messages, fragmentation, extra symmetric key, disconnect,
 * v2 negotiation and SMP, each with us starting and with libotr starting.
 */
import { LIBOTR_PEER, probeLibotr, requirePeer } from './peer-availability.js';
import { buildHarness, libotrFactory } from './libotr/libotr-peer.js';
import { ourFactory } from './ours/our-endpoint.js';
import { defineOtrInteropCases } from './otr-interop-cases.js';

describe('interop: our OTR vs libotr', function () {
  this.timeout(120_000);
  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    buildHarness();
  });

  defineOtrInteropCases(ourFactory, libotrFactory, { messagesPerDirection: 1200, maxBurst: 4 });
});
