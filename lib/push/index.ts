/**
 * The push app server (XEP-0357) as a library: {@link runPushAppServer} starts it from a
 * config file; the parts are exported for embedding.
 */
import { FileStore } from '../core/store/file-store.js';
import { PushAppServer } from './app-server.js';
import type { PushLogLevel, PushLogger } from './app-server.js';
import { loadPushConfig } from './config.js';
import { RegistrationStore } from './registrations.js';

export { PushAppServer } from './app-server.js';
export type { PublishEvent, PushAppServerOptions, PushLogLevel, PushLogger } from './app-server.js';
export { loadPushConfig, parsePushConfig } from './config.js';
export type { PushAppServerConfig } from './config.js';
export { ComponentConnection, ComponentError } from './component-connection.js';
export { PushConfigError, PushRelayError } from './errors.js';
export { loadEs256Key, signEs256Jwt } from './jwt-es256.js';
export { buildPushRequest } from './push-services.js';
export type { DevicePayload, DeviceTarget, PushRequest, PushServiceCredentials } from './push-services.js';
export { RegistrationStore } from './registrations.js';
export { COMMAND_REGISTER, COMMAND_UNREGISTER, parseDeviceCommand } from './device-commands.js';
export { ServiceAccountTokens, parseServiceAccount } from './fcm-oauth.js';
export { PushRelay } from './relay.js';
export type { RelayOptions, RelayOutcome } from './relay.js';
export { encryptWebPush } from './web-push-encryption.js';

const ORDER: readonly PushLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** A logger writing `level message` lines to stderr at or above `min`. */
export function stderrLogger(min: PushLogLevel): PushLogger {
  const floor = ORDER.indexOf(min);
  return (level, message) => {
    if (ORDER.indexOf(level) >= floor) process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
  };
}

/** A running app server started from a config file. */
export interface RunningPushAppServer {
  readonly server: PushAppServer;
  /** Stops the component and relay, then closes the store. */
  close(): Promise<void>;
}

/** Loads the config, opens the store, imports the configured registrations, starts the component. */
export async function runPushAppServer(configPath: string, log?: PushLogger): Promise<RunningPushAppServer> {
  const config = await loadPushConfig(configPath);
  const logger = log ?? stderrLogger(config.logLevel);
  const store = await FileStore.open(config.storePath, config.storePassphrase ? { passphrase: config.storePassphrase } : {});
  const registrations = new RegistrationStore(store);
  for (const reg of config.registrations) await registrations.put(reg); // before the first publish can arrive
  const server = await PushAppServer.start({
    component: config.component,
    store,
    credentials: config.credentials,
    relay: config.relay,
    log: logger,
    registrationDomains: config.registrationDomains,
  });
  logger('info', `push app server online as ${config.component.domain} (${config.registrations.length} configured registration(s))`);
  return {
    server,
    async close(): Promise<void> {
      await server.stop();
      await store.close();
    },
  };
}
