/**
 * Command-line flags and environment variables shared by the examples:
 *
 *   --service  XMPP_SERVICE   xmpp://host:5222 (STARTTLS) or xmpps://host:5223 (direct TLS)
 *   --domain   XMPP_DOMAIN    default: the JID's domain
 *   --jid      XMPP_JID       user@domain
 *   --password XMPP_PASSWORD
 *   --resource XMPP_RESOURCE
 *   --ca       XMPP_CA        PEM file of the CA to trust (replaces the system roots; e.g. a test server's)
 *   --pin      XMPP_PIN       pin-sha256 of the server's key (RFC 7469 base64), checked as well
 *   --store    OTR_STORE      path of the OTR key store (default: under $XDG_DATA_HOME)
 *   --passphrase OTR_PASSPHRASE  encrypt the store at rest
 *   --policy   OTR_POLICY     manual | opportunistic | require-encryption
 *   --ephemeral               write nothing, ask the server not to store
 *
 * The connection is made by lib/xmpp/secure-client.ts: STARTTLS or direct TLS, certificate
 * validated, plaintext refused; there is no flag to weaken that.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { OtrPolicyName, TlsOptions } from '../../lib/index.js';

/** Parsed account options. */
export interface AccountOptions {
  readonly service: string;
  readonly domain: string;
  readonly username: string;
  readonly jid: string;
  readonly password: string;
  readonly resource: string;
  readonly store: string | undefined;
  readonly passphrase: string | undefined;
  readonly policy: OtrPolicyName;
  readonly ephemeral: boolean;
  /** TLS policy for secureClient. */
  readonly tls: TlsOptions;
  /** Flags the example defines itself. */
  readonly extra: Record<string, string | boolean | undefined>;
}

const POLICIES: readonly OtrPolicyName[] = ['never', 'manual', 'opportunistic', 'require-encryption'];

/** Reads flags (then env); re-executes with NODE_EXTRA_CA_CERTS when `--ca` is given. Exits on bad usage. */
export function accountOptions(usage: string, extra: Record<string, { type: 'string' | 'boolean'; env?: string }> = {}): AccountOptions {
  const { values } = parseArgs({
    options: {
      service: { type: 'string' },
      domain: { type: 'string' },
      jid: { type: 'string' },
      password: { type: 'string' },
      resource: { type: 'string' },
      ca: { type: 'string' },
      pin: { type: 'string' },
      store: { type: 'string' },
      passphrase: { type: 'string' },
      policy: { type: 'string' },
      ephemeral: { type: 'boolean' },
      help: { type: 'boolean' },
      ...Object.fromEntries(Object.entries(extra).map(([name, spec]) => [name, { type: spec.type }])),
    },
    strict: true,
  });
  const get = (name: string, env: string): string | undefined => (values[name as keyof typeof values] as string | undefined) ?? process.env[env];
  const ca = get('ca', 'XMPP_CA');
  const pin = get('pin', 'XMPP_PIN');
  const tls: TlsOptions = {
    ...(ca === undefined ? {} : { ca: readFileSync(ca, 'utf8') }),
    ...(pin === undefined ? {} : { pins: [pin] }),
  };
  const jid = get('jid', 'XMPP_JID');
  const password = get('password', 'XMPP_PASSWORD');
  const service = get('service', 'XMPP_SERVICE');
  if (values.help === true || jid === undefined || password === undefined || service === undefined || !jid.includes('@')) {
    process.stderr.write(`${usage}\n\nrequired: --service, --jid, --password (or XMPP_SERVICE, XMPP_JID, XMPP_PASSWORD)\n`);
    process.exit(values.help === true ? 0 : 2);
  }
  const [username, domainOfJid] = jid.split('@') as [string, string];
  const policy = (get('policy', 'OTR_POLICY') ?? 'opportunistic') as OtrPolicyName;
  if (!POLICIES.includes(policy)) {
    process.stderr.write(`unknown --policy ${policy}; one of ${POLICIES.join(', ')}\n`);
    process.exit(2);
  }
  const extraValues: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(extra)) {
    extraValues[name] = (values[name as keyof typeof values] as string | boolean | undefined) ?? (spec.env === undefined ? undefined : process.env[spec.env]);
  }
  return {
    service,
    domain: get('domain', 'XMPP_DOMAIN') ?? domainOfJid.split('/')[0] ?? domainOfJid,
    username,
    jid: `${username}@${domainOfJid.split('/')[0] ?? domainOfJid}`,
    password,
    resource: get('resource', 'XMPP_RESOURCE') ?? 'otr',
    store: get('store', 'OTR_STORE'),
    passphrase: get('passphrase', 'OTR_PASSPHRASE'),
    policy,
    ephemeral: values.ephemeral === true || process.env.OTR_EPHEMERAL === '1',
    tls,
    extra: extraValues,
  };
}
