/**
 * Renders a self-contained Prosody 0.12 configuration for one throwaway test server: absolute
 * paths into its own temp dir, 127.0.0.1 only, no s2s, accounts created with prosodyctl.
 * Pure function (no I/O) so the config can be unit-checked and read in a failure message.
 */

/** Optional server features; the default server has none of them (a minimal c2s server). */
export type ProsodyFeature =
  | 'carbons' // XEP-0280
  | 'mam' // XEP-0313 (also MUC MAM when 'muc' is on)
  | 'pep' // XEP-0163 (OMEMO device lists and bundles)
  | 'smacks' // XEP-0198 stream management (built into Prosody 0.12)
  | 'offline' // XEP-0160 offline storage
  | 'blocklist' // XEP-0191
  | 'csi' // XEP-0352 client state indication (mod_csi_simple)
  | 'muc' // XEP-0045 at conference.localhost
  | 'http_file_share' // XEP-0363 at upload.localhost, HTTP (and HTTPS with TLS) on 127.0.0.1
  | 'cloud_notify'; // XEP-0357 push (Debian package prosody-modules)

/** Every feature, for `modules: ALL_PROSODY_FEATURES`. */
export const ALL_PROSODY_FEATURES: readonly ProsodyFeature[] = [
  'carbons', 'mam', 'pep', 'smacks', 'offline', 'blocklist', 'csi', 'muc', 'http_file_share', 'cloud_notify',
] as const;

/** Everything the config template needs. */
export interface ProsodyConfigInput {
  readonly dir: string;
  readonly domain: string;
  readonly runAsRoot: boolean;
  readonly c2sPort: number;
  readonly directTlsPort: number;
  readonly componentPort: number | undefined;
  readonly httpPort: number | undefined;
  /** HTTPS port (the TLS certificate below); when set, upload slots are `https://127.0.0.1:<port>/` URLs. */
  readonly httpsPort?: number | undefined;
  /** Certificate and key served on every TLS port, or undefined for a server without TLS. */
  readonly tls: { readonly certPath: string; readonly keyPath: string } | undefined;
  readonly sasl: 'plain' | 'scram';
  readonly features: ReadonlySet<ProsodyFeature>;
  readonly components: readonly { readonly name: string; readonly secret: string }[];
  readonly extraGlobalConfig: string;
}

const lua = (s: string): string => JSON.stringify(s); // a Lua string literal for our inputs

/** Returns the text of `prosody.cfg.lua`. */
export function renderProsodyConfig(c: ProsodyConfigInput): string {
  const modules = ['roster', 'saslauth', 'disco', 'ping'];
  if (c.tls) modules.push('tls');
  const featureModules: Record<ProsodyFeature, readonly string[]> = {
    carbons: ['carbons'],
    mam: ['mam'],
    pep: ['pep'],
    smacks: ['smacks'],
    offline: ['offline'],
    blocklist: ['blocklist'],
    csi: ['csi_simple'],
    muc: [],
    http_file_share: [],
    cloud_notify: ['cloud_notify'],
  };
  for (const f of c.features) modules.push(...featureModules[f]);
  const lines: string[] = [
    '-- throwaway test server written by test/interop/prosody; not the system service',
    `run_as_root = ${c.runAsRoot ? 'true' : 'false'}`,
    `pidfile = ${lua(`${c.dir}/prosody.pid`)}`,
    `data_path = ${lua(`${c.dir}/data`)}`,
    `certificates = ${lua(`${c.dir}/certs`)}`, // empty: the `ssl` options below are what is served
    'log = {',
    `  { levels = { min = "debug" }, to = "file", filename = ${lua(`${c.dir}/prosody.log`)} };`,
    '}',
    'interfaces = { "127.0.0.1" }',
    'local_interfaces = { "127.0.0.1" }',
    `c2s_ports = { ${c.c2sPort} }`,
    c.tls ? `c2s_direct_tls_ports = { ${c.directTlsPort} }` : 'c2s_direct_tls_ports = { }',
    c.componentPort !== undefined ? `component_ports = { ${c.componentPort} }` : 'component_ports = { }',
    'component_interfaces = { "127.0.0.1" }',
    c.httpPort !== undefined ? `http_ports = { ${c.httpPort} }` : 'http_ports = { }',
    'http_interfaces = { "127.0.0.1" }',
    c.httpsPort !== undefined && c.tls ? `https_ports = { ${c.httpsPort} }` : 'https_ports = { }',
    'https_interfaces = { "127.0.0.1" }',
    `c2s_require_encryption = ${c.tls ? 'true' : 'false'}`,
    // Only a server without TLS (negative tests) lets PLAIN run in the clear.
    `allow_unencrypted_plain_auth = ${c.tls ? 'false' : 'true'}`,
    // @xmpp/client prefers SCRAM-SHA-1, which costs ~2 s per login; PLAIN over TLS ~70 ms.
    c.sasl === 'plain'
      ? 'disable_sasl_mechanisms = { "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS" }'
      : 'disable_sasl_mechanisms = { "DIGEST-MD5" }',
    'authentication = "internal_hashed"',
    'storage = "internal"',
    'allow_registration = false',
    'limits = { c2s = { rate = "10mb/s" } }',
  ];
  if (c.tls) {
    lines.push(`ssl = { certificate = ${lua(c.tls.certPath)}; key = ${lua(c.tls.keyPath)}; }`);
    lines.push(`c2s_direct_tls_ssl = { certificate = ${lua(c.tls.certPath)}; key = ${lua(c.tls.keyPath)}; }`);
    if (c.httpsPort !== undefined) lines.push(`https_ssl = { certificate = ${lua(c.tls.certPath)}; key = ${lua(c.tls.keyPath)}; }`);
  }
  if (c.features.has('mam')) {
    lines.push('archive_expires_after = "1d"', 'default_archive_policy = true');
  }
  if (c.features.has('smacks')) lines.push('smacks_hibernation_time = 60');
  if (c.features.has('cloud_notify')) {
    lines.push('push_notification_with_body = false', 'push_notification_with_sender = false');
  }
  if (c.features.has('http_file_share')) {
    lines.push(
      // XEP-0363 section 10: clients should upload and download over HTTPS only.
      c.httpsPort !== undefined && c.tls
        ? `http_external_url = ${lua(`https://127.0.0.1:${c.httpsPort}/`)}`
        : `http_external_url = ${lua(`http://127.0.0.1:${c.httpPort ?? 0}/`)}`,
      'http_file_share_size_limit = 10485760',
      // Slot URLs name 127.0.0.1 (no Host a VirtualHost matches): route them to the upload component.
      `http_default_host = ${lua(`upload.${c.domain}`)}`,
    );
  }
  lines.push(`modules_enabled = { ${modules.map((m) => lua(m)).join('; ')} }`);
  // offline is autoloaded by Prosody: off unless asked for.
  lines.push(`modules_disabled = { "s2s"${c.features.has('offline') ? '' : '; "offline"'} }`);
  if (c.extraGlobalConfig) lines.push(c.extraGlobalConfig);
  lines.push('', `VirtualHost ${lua(c.domain)}`);
  if (c.features.has('muc')) {
    lines.push('', `Component ${lua(`conference.${c.domain}`)} "muc"`);
    if (c.features.has('mam')) lines.push('  modules_enabled = { "muc_mam" }');
  }
  if (c.features.has('http_file_share')) {
    lines.push('', `Component ${lua(`upload.${c.domain}`)} "http_file_share"`);
  }
  for (const comp of c.components) {
    lines.push('', `Component ${lua(comp.name)}`, `  component_secret = ${lua(comp.secret)}`);
  }
  return `${lines.join('\n')}\n`;
}
