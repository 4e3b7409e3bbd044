/**
 * SMP edge cases against libotr 4.1.1: simultaneous starts, and a zero-knowledge proof that is wrong (OTR v3 spec, "The Socialist
 * Millionaires' Protocol"): libotr produces a genuine SMP message 1 with its own
 * otrl_sm_step1, the harness flips one byte of a proof value (c2, D2, c3 or D3) before
 * encrypting it, and we must report "cheated", send the abort TLV, and leave the session
 * usable: libotr sees the abort, and a genuine SMP run and data messages work afterwards.
 */
import { expect } from 'chai';
import { LIBOTR_PEER, probeLibotr, requirePeer } from './peer-availability.js';
import { LibotrEndpoint, buildHarness } from './libotr/libotr-peer.js';
import { OurEndpoint } from './ours/our-endpoint.js';
import { pump } from './otr-endpoint.js';

const US = 'alice@example.org';
const THEM = 'bob@example.org';
/** Index of each proof value in SMP message 1: g2a, c2, D2, g3a, c3, D3. */
const PROOF_VALUES = [
  { name: 'c2', mpi: 1 },
  { name: 'D2', mpi: 2 },
  { name: 'c3', mpi: 4 },
  { name: 'D3', mpi: 5 },
] as const;

describe('interop: SMP edge cases with libotr (simultaneous starts, tampered proofs)', function () {
  this.timeout(60_000);
  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    buildHarness();
  });

  const live: (OurEndpoint | LibotrEndpoint)[] = [];
  afterEach(async () => {
    for (const e of live.splice(0)) await e.close();
  });

  it('both sides start SMP at once: neither succeeds, both are idle again, and a restart succeeds', async () => {
    const us = await OurEndpoint.create(US, THEM, { versions: 'default' });
    const them = await LibotrEndpoint.create({ account: THEM, policy: 'default' }, US);
    live.push(us, them);
    await pump(us, them, await us.startAke());
    const ours = await us.smpStart('same secret');
    const theirs = await them.smpStart('same secret');
    await pump(us, them, ours, theirs);
    expect(us.smp.result, 'our outcome').to.not.equal('success');
    expect(them.smp.result, "libotr's outcome").to.not.equal('success');
    const ourEvents = us.events.flatMap((e) => (e.kind === 'smp' ? [e.event.kind] : []));
    expect(ourEvents).to.include('aborted');
    expect(ourEvents).to.not.include('cheated');
    expect((await them.peer.status(US)).smp_in_progress, 'libotr idle').to.equal(false);
    us.resetSmp();
    them.resetSmp();
    await pump(us, them, await us.smpStart('same secret'));
    expect(them.smp.asked).to.equal(true);
    await pump(them, us, await them.smpRespond('same secret'));
    expect(us.smp.result).to.equal('success');
    expect(them.smp.result).to.equal('success');
  });

  it('control: the same message untampered is accepted (secret asked; the run completes as a failure)', async () => {
    const us = await OurEndpoint.create(US, THEM, { versions: 'default' });
    const them = await LibotrEndpoint.create({ account: THEM, policy: 'default' }, US);
    live.push(us, them);
    await pump(us, them, await us.startAke());
    await pump(them, us, (await them.peer.smpStartTampered(US, 'a secret', -1)).wire);
    expect(us.smp.asked).to.equal(true);
    // libotr's state holds the raw text as its secret, not the combined one: secrets differ
    await pump(us, them, await us.smpRespond('a secret'));
    expect(us.smp.result).to.equal('failure');
    expect(us.events.some((e) => e.kind === 'smp' && e.event.kind === 'cheated')).to.equal(false);
  });

  for (const { name, mpi } of PROOF_VALUES) {
    it(`a flipped byte in ${name}: we report cheated and abort, libotr sees the abort, the session survives`, async () => {
      const us = await OurEndpoint.create(US, THEM, { versions: 'default' });
      const them = await LibotrEndpoint.create({ account: THEM, policy: 'default' }, US);
      live.push(us, them);
      await pump(us, them, await us.startAke());
      expect(await us.state()).to.equal('encrypted');

      const tampered = await them.peer.smpStartTampered(US, 'a secret', mpi);
      expect(tampered.wire).to.have.length(1);
      const eventsBefore = them.events.length;
      await pump(them, us, tampered.wire);

      const ourSmp = us.events.flatMap((e) => (e.kind === 'smp' ? [e.event] : []));
      const cheated = ourSmp.filter((e) => e.kind === 'cheated');
      expect(cheated, 'our SMP events').to.have.length(1);
      expect(ourSmp.some((e) => e.kind === 'question' || e.kind === 'secret-needed' || e.kind === 'succeeded')).to.equal(false);
      const theirs = them.events.slice(eventsBefore).flatMap((e) => (e.type === 'smp' ? [e.event] : []));
      expect(theirs, "libotr's SMP events after our answer").to.deep.equal(['abort']);
      expect(await us.state()).to.equal('encrypted');
      expect(await them.state()).to.equal('encrypted');
      expect((await them.peer.status(US)).smp_in_progress).to.equal(false);

      // a genuine run now succeeds, and data still flows both ways
      us.resetSmp();
      them.resetSmp();
      await pump(them, us, await them.smpStart('the real secret'));
      expect(us.smp.asked).to.equal(true);
      await pump(us, them, await us.smpRespond('the real secret'));
      expect(us.smp.result).to.equal('success');
      expect(them.smp.result).to.equal('success');
      await pump(us, them, await us.send('still private'));
      await pump(them, us, await them.send('indeed'));
      expect(them.shown.at(-1)).to.deep.equal({ text: 'still private', encrypted: true });
      expect(us.shown.at(-1)).to.deep.equal({ text: 'indeed', encrypted: true });
    });
  }
});
