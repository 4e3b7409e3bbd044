/**
 * A throwaway PKI for TLS interop tests, generated per run with the `openssl` command line:
 *
 * - `ca`: the test CA that signs every server certificate below;
 * - `server`: valid, SAN `DNS:localhost, DNS:*.localhost, IP:127.0.0.1` (clients connecting by IP
 *   check the IP SAN, RFC 6125 / RFC 5280 §4.2.1.6);
 * - `expired`: same names, signed by the CA, validity 2020-01-01 .. 2021-01-01;
 * - `wrongHost`: signed by the CA, valid now, but only for `DNS:wrong.example, IP:192.0.2.7`;
 * - `selfSigned`: a self-signed server certificate (SAN as `server`, no CA behind it);
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
  readonly selfSigned: TestCertificate;
}

/** Which server certificate a test server presents. */
export type ServedCertificate = 'server' | 'expired' | 'wrongHost' | 'selfSigned';

function openssl(args: readonly string[], cwd: string): Buffer {
  return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Computes the certificate facts with openssl itself (the independent reference for tests):
 * one `openssl x509` call prints the SHA-256 fingerprint and the public key, whose PEM body is
 * the DER SubjectPublicKeyInfo that the pin hashes.
 */
function describe(dir: string, name: string): TestCertificate {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const out = openssl(['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256', '-pubkey'], dir).toString();
  const fp = /sha256 Fingerprint=([0-9A-Fa-f:]+)/i.exec(out)?.[1];
  const pub = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(out)?.[1];
  if (!fp || !pub) throw new Error(`openssl x509 output not understood: ${out}`);
  return {
    certPem: readFileSync(certPath, 'utf8'),
    certPath,
    keyPath,
    fingerprintSha256: fp.toUpperCase(),
    spkiSha256: createHash('sha256').update(Buffer.from(pub.replace(/\s+/g, ''), 'base64')).digest('base64'),
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
  makeKey(dir, 'self-signed');
  openssl(
    [
      'req', '-x509', '-new', '-key', 'self-signed.key', '-sha256', '-days', '30', '-subj', '/CN=localhost',
      '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
      '-addext', 'extendedKeyUsage=serverAuth',
      '-addext', `subjectAltName=${localNames}`,
      '-out', 'self-signed.crt',
    ],
    dir,
  );
  return {
    dir,
    ca: describe(dir, 'ca'),
    otherCa: describe(dir, 'other-ca'),
    server: describe(dir, 'server'),
    expired: describe(dir, 'expired'),
    wrongHost: describe(dir, 'wrong-host'),
    selfSigned: describe(dir, 'self-signed'),
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
