/** The CI-vs-local rule for missing interop peers: fail under CI=true, skip loudly otherwise. */
import { expect } from 'chai';
import { isCi, probeLibotr, probeOtrjs, requirePeer } from './peer-availability.js';

describe('interop: peer availability rule', () => {
  const saved = process.env['CI'];
  afterEach(() => {
    if (saved === undefined) delete process.env['CI'];
    else process.env['CI'] = saved;
  });

  const missing = { available: false as const, reason: 'probe says no' };
  const peer = { name: 'Example peer', install: 'apt-get install -y example-peer' };

  function fakeContext(): { ctx: Mocha.Context; skipped: () => boolean } {
    let skipped = false;
    const ctx = {
      skip: () => {
        skipped = true;
        throw new Error('skipped');
      },
    } as unknown as Mocha.Context;
    return { ctx, skipped: () => skipped };
  }

  it('under CI=true a missing peer throws, naming the package', () => {
    process.env['CI'] = 'true';
    expect(isCi()).to.equal(true);
    const { ctx, skipped } = fakeContext();
    expect(() => requirePeer(ctx, peer, missing)).to.throw(/Example peer.*apt-get install -y example-peer.*CI=true/s);
    expect(skipped()).to.equal(false);
  });

  it('locally a missing peer skips with a loud message naming the package', () => {
    delete process.env['CI'];
    const { ctx, skipped } = fakeContext();
    const warn = console.warn;
    const lines: string[] = [];
    console.warn = (...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    };
    try {
      expect(() => requirePeer(ctx, peer, missing)).to.throw('skipped');
    } finally {
      console.warn = warn;
    }
    expect(skipped()).to.equal(true);
    expect(lines.join('\n')).to.contain('apt-get install -y example-peer').and.contain('SKIPPING');
  });

  it('an available peer neither throws nor skips', () => {
    process.env['CI'] = 'true';
    const { ctx, skipped } = fakeContext();
    requirePeer(ctx, peer, { available: true });
    expect(skipped()).to.equal(false);
  });

  it('probes: otr.js (a devDependency) is found; libotr is found or the reason names its package', () => {
    expect(probeOtrjs()).to.deep.equal({ available: true });
    const libotr = probeLibotr();
    if (!libotr.available) expect(libotr.reason).to.match(/gcc|libgcrypt20-dev|libotr5-dev/);
    else expect(libotr).to.deep.equal({ available: true });
  });
});
