/**
 * OUR OTR engine vs libotr 4.1.1: policies and instance tags, asserted on what libotr does.
 * Whitespace-tag-started AKEs (both ways), REQUIRE_ENCRYPTION never leaking a held message
 * (both ways), plaintext received while encrypted, and one account logged in twice (two
 * libotr instances) talking to us at once.
 */
import { expect } from 'chai';
import { OTR_POLICY_ALWAYS, OTR_POLICY_MANUAL, OTR_POLICY_OPPORTUNISTIC } from '../../otr/policy.js';
import type { OtrPolicy } from '../../otr/policy.js';
import { LIBOTR_PEER, probeLibotr, requirePeer } from './peer-availability.js';
import { LibotrEndpoint, buildHarness, libotrKeyDir } from './libotr/libotr-peer.js';
import { OurEndpoint } from './ours/our-endpoint.js';
import { pump } from './otr-endpoint.js';
import type { OtrEndpoint } from './otr-endpoint.js';
import { join } from 'node:path';

const US = 'alice@example.org';
const THEM = 'bob@example.org';
/** The OTR v3 whitespace tag base (16 bytes) as libotr and we append it to plaintext. */
const WHITESPACE_BASE = ' \t  \t\t\t\t \t \t \t  ';

describe('interop: our OTR vs libotr, policies and instance tags', function () {
  this.timeout(60_000);
  before(function () {
    requirePeer(this, LIBOTR_PEER, probeLibotr());
    buildHarness();
  });

  const live: OtrEndpoint[] = [];
  afterEach(async () => {
    for (const e of live.splice(0)) await e.close();
  });

  async function ours(policy: OtrPolicy): Promise<OurEndpoint> {
    const e = await OurEndpoint.create(US, THEM, { versions: 'default', policy });
    live.push(e);
    return e;
  }
  async function libotr(policy: string, instagFile?: string): Promise<LibotrEndpoint> {
    const e = await LibotrEndpoint.create(
      { account: THEM, policy, ...(instagFile === undefined ? {} : { instagFile }) },
      US,
    );
    live.push(e);
    return e;
  }
  /** Wraps `receive` of both sides to log every wire message. */
  function tap(...endpoints: OtrEndpoint[]): string[] {
    const log: string[] = [];
    for (const e of endpoints) {
      const inner = e.receive.bind(e);
      e.receive = async (wire: string) => {
        log.push(wire);
        return inner(wire);
      };
    }
    return log;
  }

  it('our whitespace-tagged plaintext makes libotr (opportunistic) start the AKE', async () => {
    const us = await ours(OTR_POLICY_OPPORTUNISTIC);
    const them = await libotr('opportunistic');
    const out = await us.send('hello, do you speak OTR?');
    expect(out).to.have.length(1);
    expect(out[0]).to.contain(`hello, do you speak OTR?${WHITESPACE_BASE}`);
    await pump(us, them, out);
    expect(them.shown[0]).to.deep.equal({ text: 'hello, do you speak OTR?', encrypted: false });
    expect(await them.state()).to.equal('encrypted');
    expect(await us.state()).to.equal('encrypted');
    expect(await them.ssid()).to.equal(await us.ssid());
  });

  it("libotr's whitespace-tagged plaintext makes us (opportunistic) start the AKE", async () => {
    const us = await ours(OTR_POLICY_OPPORTUNISTIC);
    const them = await libotr('opportunistic');
    const out = await them.send('hi there');
    expect(out[0]).to.contain(`hi there${WHITESPACE_BASE}`);
    await pump(them, us, out);
    expect(us.shown[0]).to.deep.equal({ text: 'hi there', encrypted: false });
    expect(await us.state()).to.equal('encrypted');
    expect(await them.state()).to.equal('encrypted');
  });

  it('REQUIRE_ENCRYPTION on our side: the message is held, never sent in clear, and libotr decrypts it after the AKE', async () => {
    const us = await ours(OTR_POLICY_ALWAYS);
    const them = await libotr('manual');
    const wire = tap(us, them);
    const out = await us.send('the launch code is 0000');
    expect(us.events.some((e) => e.kind === 'held-until-encrypted')).to.equal(true);
    for (const m of out) expect(m).to.not.contain('launch code');
    await pump(us, them, out);
    expect(await them.state()).to.equal('encrypted');
    expect(them.shown).to.deep.equal([{ text: 'the launch code is 0000', encrypted: true }]);
    for (const m of [...out, ...wire]) expect(m).to.not.contain('launch code');
  });

  it('REQUIRE_ENCRYPTION on libotr\'s side: libotr holds it (encryption_required), queries, and we receive it encrypted after the AKE', async () => {
    const us = await ours(OTR_POLICY_MANUAL);
    const them = await libotr('always');
    const wire = tap(us, them);
    const out = await them.send('the launch code is 0000');
    for (const m of out) expect(m).to.not.contain('launch code');
    await pump(them, us, out);
    expect(await us.state()).to.equal('encrypted');
    expect(us.shown.filter((s) => s.text === 'the launch code is 0000')).to.deep.equal([
      { text: 'the launch code is 0000', encrypted: true },
    ]);
    expect(them.events.some((e) => e.type === 'msg' && e.event === 'encryption_required')).to.equal(true);
    for (const m of wire) expect(m).to.not.contain('launch code');
  });

  it('plaintext received while encrypted is flagged on both sides', async () => {
    const us = await ours(OTR_POLICY_MANUAL);
    const them = await libotr('manual');
    await pump(us, them, await us.startAke());
    expect(await us.state()).to.equal('encrypted');
    await them.receive('not encrypted, sorry');
    expect(them.events.some((e) => e.type === 'msg' && e.event === 'rcvdmsg_unencrypted')).to.equal(true);
    await us.receive('me neither');
    expect(us.events.some((e) => e.kind === 'unencrypted-received')).to.equal(true);
    expect(us.shown.at(-1)).to.deep.equal({ text: 'me neither', encrypted: false });
  });

  it('one account logged in twice: two libotr instances each get their own session with us', async () => {
    const us = await ours(OTR_POLICY_MANUAL);
    const dir = libotrKeyDir();
    const first = await libotr('manual', join(dir, 'bob-instance-1.instag'));
    const second = await libotr('manual', join(dir, 'bob-instance-2.instag'));
    expect(first.peer.instanceTag).to.not.equal(second.peer.instanceTag);
    expect(first.fingerprint).to.equal(second.fingerprint); // same account, same key file

    // like an XMPP server, deliver everything we send to both resources
    const fanOut = async (messages: string[]): Promise<void> => {
      const queue: [OtrEndpoint, string][] = messages.flatMap((m): [OtrEndpoint, string][] => [
        [first, m],
        [second, m],
      ]);
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const [to, m] = next;
        if (to === us) {
          for (const r of await us.receive(m)) queue.push([first, r], [second, r]);
        } else {
          for (const r of await to.receive(m)) queue.push([us, r]);
        }
      }
    };
    await fanOut(await us.startAke());
    expect(await first.state()).to.equal('encrypted');
    expect(await second.state()).to.equal('encrypted');
    expect(us.conversation.instances.sort()).to.deep.equal([first.peer.instanceTag, second.peer.instanceTag].sort());
    const ssid1 = await first.ssid();
    const ssid2 = await second.ssid();
    expect(ssid1).to.not.equal(ssid2);

    // each instance's message decrypts on our side, in its own session
    await pump(first, us, await first.send('from instance 1'));
    await pump(second, us, await second.send('from instance 2'));
    expect(us.shown.filter((s) => s.encrypted).map((s) => s.text)).to.deep.equal(['from instance 1', 'from instance 2']);

    // our reply goes to one instance; the other one reports it is for another instance
    await fanOut(await us.send('reply'));
    const got = [first, second].filter((e) => e.shown.some((s) => s.text === 'reply' && s.encrypted));
    expect(got).to.have.length(1);
    const other = got[0] === first ? second : first;
    expect(other.events.some((e) => e.type === 'msg' && e.event === 'rcvdmsg_for_other_instance')).to.equal(true);
  });
});
