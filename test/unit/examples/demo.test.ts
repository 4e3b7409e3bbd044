import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { classifyIncoming } from '../../../otr/classify.js';

/** `npm run demo` (examples/demo.ts) must do what the README says: the real protocol, every wire message printed. */
describe('examples/demo (npm run demo)', function () {
  this.timeout(120_000);

  it('in process: runs the AKE, messages, SMP, extra key and end; every printed wire message is a real OTR message', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo.ts', '--in-process'], { cwd: root, encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.split('\n');
    const fingerprint = (who: string): string => {
      const line = lines.find((l) => l.startsWith(`${who}'s fingerprint:`));
      expect(line, `${who}'s fingerprint line`).to.not.equal(undefined);
      return (line as string).split(':')[1]?.trim() as string;
    };
    expect(fingerprint('Alice')).to.match(/^([0-9A-F]{8} ){4}[0-9A-F]{8}$/);
    // each side reports the OTHER side's fingerprint when it goes secure
    expect(run.stdout).to.include(`[Alice] went secure (OTR v3), peer fingerprint ${fingerprint('Bob')}`);
    expect(run.stdout).to.include(`[Bob] went secure (OTR v3), peer fingerprint ${fingerprint('Alice')}`);
    const wire = lines.filter((l) => /^(Alice -> Bob|Bob -> Alice): /.test(l)).map((l) => l.slice(l.indexOf(': ') + 2).replace(/\\n/g, '\n'));
    expect(wire.length).to.be.greaterThan(20);
    const kinds = new Set(wire.map((text) => classifyIncoming(text).kind));
    expect([...kinds].sort()).to.deep.equal(['encoded', 'fragment', 'query'].sort());
    expect(run.stdout).to.include('[Bob] shows (encrypted): Hello Bob, this is encrypted.');
    expect(run.stdout).to.include('[Alice] shows (encrypted): Hi Alice! Keys rotate as we talk.');
    expect(run.stdout).to.include('[Bob] SMP question: "Where did we meet?"');
    expect(run.stdout).to.include('[Alice] SMP succeeded');
    expect(run.stdout).to.include('[Bob] SMP succeeded');
    const keys = lines.filter((l) => l.includes('extra symmetric key')).map((l) => l.split(': ').at(-1));
    expect(keys).to.have.length(2);
    expect(keys[0]).to.match(/^[0-9a-f]{64}$/).and.equal(keys[1]);
    expect(run.stdout).to.include('Alice: plaintext, Bob: finished');
  });
});
