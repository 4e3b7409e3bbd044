/**
 * Where an example keeps its OMEMO keys: in memory with --ephemeral, else the file given
 * (--omemo-store) or $XDG_DATA_HOME/xmpp-otr-omemo/<account>.omemo.json, encrypted at rest
 * with --passphrase. The OMEMO store holds identity and session secrets, like the OTR one.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore, type KeyValueStore } from '../../lib/index.js';
import type { AccountOptions } from './account-options.js';

/** The default OMEMO store path of an account. */
export function defaultOmemoStorePath(account: string): string {
  const base = process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share');
  return join(base, 'xmpp-otr-omemo', `${account}.omemo.json`);
}

/** Opens the OMEMO store the options ask for. */
export async function openOmemoStore(options: AccountOptions, path: string | undefined): Promise<KeyValueStore> {
  if (options.ephemeral) return new MemoryStore();
  return FileStore.open(path ?? defaultOmemoStorePath(options.jid), options.passphrase === undefined ? {} : { passphrase: options.passphrase });
}
