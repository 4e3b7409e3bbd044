/**
 * A throwaway PKI for TLS interop tests, generated per run with the `openssl` command line:
 *
 * - `ca`: the test CA that signs every server certificate below;
 * - `server`: valid, SAN `DNS:localhost, DNS:*.localhost, IP:127.0.0.1` (clients connecting by IP
 *   check the IP SAN, RFC 6125 / RFC 5280 §4.2.1.6);
 * - `expired`: same names, signed by the CA, validity 2020-01-01 .. 2021-01-01;
 * - `wrongHost`: signed by the CA, valid now, but only for `DNS:wrong.example, IP:192.0.2.7`;
 * - `otherCa`: a second, unrelated CA (no certificate it signed is ever served): a client that
 *   trusts only it must refuse every server above.
 *
 * Keys are ECDSA P-256 (fast to generate). Nothing here touches the network.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One certificate (and its key) on disk and in memory. */
export interface TestCertificate {
  /** PEM of the certificate. */
  readonly certPem: string;
  /** Absolute path of the certificate PEM. */
  readonly certPath: string;
  /** Absolute path of the private key PEM (unencrypted). */
  readonly keyPath: string;
  /** SHA-256 of the certificate's DER, uppercase hex with colons (`openssl x509 -fingerprint -sha256`). */
  readonly fingerprintSha256: string;
  /** base64 SHA-256 of the DER SubjectPublicKeyInfo (an RFC 7469 `pin-sha256`), computed by openssl. */
  readonly spkiSha256: string;
}

/** The whole per-run PKI. */
export interface TestPki {
  readonly dir: string;
  readonly ca: TestCertificate;
  readonly otherCa: TestCertificate;
  readonly server: TestCertificate;
  readonly expired: TestCertificate;
  readonly wrongHost: TestCertificate;
}

/** Which server certificate a test server presents. */
export type ServedCertificate = 'server' | 'expired' | 'wrongHost';

function openssl(args: readonly string[], cwd: string, input?: Buffer): Buffer {
  return execFileSync('openssl', args, { cwd, input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Computes the certificate facts with openssl itself (the independent reference for tests). */
function describe(dir: string, name: string): TestCertificate {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const fpLine = openssl(['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'], dir).toString();
  const fingerprintSha256 = fpLine.trim().replace(/^.*=/, '').toUpperCase();
  const pubPem = openssl(['x509', '-in', certPath, '-noout', '-pubkey'], dir);
  const spkiDer = openssl(['pkey', '-pubin', '-outform', 'DER'], dir, pubPem);
  const spkiDigest = openssl(['dgst', '-sha256', '-binary'], dir, spkiDer);
  return {
    certPem: readFileSync(certPath, 'utf8'),
    certPath,
    keyPath,
    fingerprintSha256,
    spkiSha256: spkiDigest.toString('base64'),
  };
}

function makeKey(dir: string, name: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
}

function makeCa(dir: string, name: string, subject: string): void {
  makeKey(dir, name);
  openssl(
    [
      'req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '30', '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-out', `${name}.crt`,
    ],
    dir,
  );
}

/** Signs a leaf with `openssl ca`, which (unlike `openssl x509 -req` in 3.0) takes explicit dates. */
function makeLeaf(
  dir: string,
  name: string,
  san: string,
  dates: { start: string; end: string } | { days: number },
): void {
  makeKey(dir, name);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', '/CN=localhost', '-out', `${name}.csr`], dir);
  writeFileSync(
    join(dir, `${name}.ext`),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${san}`,
      '',
    ].join('\n'),
  );
  const dateArgs = 'days' in dates ? ['-days', String(dates.days)] : ['-startdate', dates.start, '-enddate', dates.end];
  openssl(
    [
      'ca', '-batch', '-config', 'ca.cnf', '-notext', '-in', `${name}.csr`, '-out', `${name}.crt`,
      '-extfile', `${name}.ext`, ...dateArgs,
    ],
    dir,
  );
}

/** Generates a fresh PKI in `dir` (created if needed). Takes ~0.1 s. */
export function generateTestPki(dir: string): TestPki {
  mkdirSync(join(dir, 'issued'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir/issued',
      'certificate = $dir/ca.crt',
      'private_key = $dir/ca.key',
      'rand_serial = yes',
      'default_md = sha256',
      'policy = policy_any',
      'unique_subject = no',
      'copy_extensions = none',
      '[policy_any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  makeCa(dir, 'ca', '/CN=xmpp-otr-omemo test CA');
  makeCa(dir, 'other-ca', '/CN=unrelated test CA');
  const localNames = 'DNS:localhost,DNS:*.localhost,IP:127.0.0.1';
  makeLeaf(dir, 'server', localNames, { days: 30 });
  makeLeaf(dir, 'expired', localNames, { start: '20200101000000Z', end: '20210101000000Z' });
  makeLeaf(dir, 'wrong-host', 'DNS:wrong.example,IP:192.0.2.7', { days: 30 });
  return {
    dir,
    ca: describe(dir, 'ca'),
    otherCa: describe(dir, 'other-ca'),
    server: describe(dir, 'server'),
    expired: describe(dir, 'expired'),
    wrongHost: describe(dir, 'wrong-host'),
  };
}

/** SHA-256 of a PEM certificate's DER via node:crypto, for cross-checking the openssl values. */
export function nodeFingerprint(certPem: string): { fingerprintSha256: string; spkiSha256: string } {
  const cert = new X509Certificate(certPem);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return {
    fingerprintSha256: cert.fingerprint256,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
  };
}
