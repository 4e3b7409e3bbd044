import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROSODY_PEER, probeProsody } from './prosody/prosody-mocha.js';
import { requirePeer } from './peer-availability.js';

/** `npm run demo` with Prosody installed: two accounts through a throwaway server over TLS. */
describe('examples/demo (npm run demo) through a throwaway Prosody', function () {
  this.timeout(120_000);
  before(function () {
    requirePeer(this, PROSODY_PEER, probeProsody());
  });

  it('logs in over verified TLS, runs the AKE, messages, SMP and the end; the server only ever sees ?OTR text', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], { cwd: root, encoding: 'utf8' });
    expect(run.status, run.stderr).to.equal(0);
    const out = run.stdout;
    expect(out).to.not.include('running the in-process demo instead');
    expect(out).to.match(/\[Alice\] logged in as alice@localhost\/demo over TLSv1\.[23] \(starttls\), server certificate SHA-256 [0-9A-F:]{95}, verified/);
    const fp = (who: string): string => (new RegExp(`${who}'s fingerprint: +([0-9a-f]{40})`).exec(out)?.[1] ?? 'missing');
    expect(out).to.include(`[Alice] OTR v3 secure with bob@localhost/demo, their fingerprint ${fp('Bob')}`);
    expect(out).to.include(`[Bob] OTR v3 secure with alice@localhost/demo, their fingerprint ${fp('Alice')}`);
    expect(out).to.include('[Bob] decrypted from alice@localhost/demo: Hello Bob, this went through the server encrypted.');
    expect(out).to.include('[Alice] decrypted from bob@localhost/demo: Hi Alice! The server only saw ?OTR: data.');
    expect(out).to.include('[Alice] SMP succeeded: bob@localhost/demo knows the secret; fingerprint marked verified');
    expect(out).to.include('[Bob] OTR ended with alice@localhost/demo (peer-ended)');
    const stanzas = out.split('\n').filter((l) => / -> server: /.test(l));
    expect(stanzas.length).to.be.greaterThan(10);
    for (const line of stanzas) {
      const body = /<body>(.*?)<\/body>/.exec(line)?.[1];
      expect(body, line).to.not.equal(undefined);
      expect(body?.startsWith('?OTR'), `plaintext on the wire: ${line.slice(0, 120)}`).to.equal(true);
      expect(line).to.not.include('Hello Bob');
      expect(line).to.include("<encryption xmlns=\"urn:xmpp:eme:0\" namespace=\"urn:xmpp:otr:0\"");
    }
  });
});
