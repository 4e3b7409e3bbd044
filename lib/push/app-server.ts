/**
 * The push app server (XEP-0357 §3 "App Server"): an XEP-0114 component on the user's XMPP
 * server that accepts the server's pubsub publishes, checks the node's publish-options secret
 * against its registrations, answers at once (iq result, or `item-not-found` / `not-authorized`
 * / `bad-request`), and hands a content-free {@link DevicePayload} to the {@link PushRelay},
 * which delivers it over TLS with retries. Answering before delivery keeps the component
 * responsive whatever the push services do. The component reconnects with backoff when the
 * stream drops. Users of `registrationDomains` may register devices with the XEP-0050
 * `register-push` command (device-commands.ts); devices a push service reports gone are removed.
 *
 * Logging (`log`) never receives message content, device tokens or secrets; nodes appear only
 * at `debug`.
 */
import { EventEmitter } from 'node:events';
import type { XmppClientElement } from '@xmpp/client';
import type { KeyValueStore } from '../core/store/store.js';
import { ComponentConnection } from './component-connection.js';
import type { ComponentOptions } from './component-connection.js';
import { buildPushRequest, resolveCredentials } from './push-services.js';
import type { DevicePayload, PushServiceCredentials, RequestContext } from './push-services.js';
import { NS_DISCO_INFO, discoInfo, iqError, iqResult, isPubsubPublish, parsePushPublish } from './pubsub-publish.js';
import { RegistrationStore } from './registrations.js';
import { commandCompleted, isCommand, parseDeviceCommand } from './device-commands.js';
import type { RandomSource } from '../core/random.js';
import { systemRandom } from '../core/random.js';
import { PushRelay } from './relay.js';
import type { RelayOptions, RelayOutcome } from './relay.js';

/** Log levels; `debug` may carry node ids, nothing else ever carries identifiers. */
export type PushLogLevel = 'debug' | 'info' | 'warn' | 'error';
/** A log sink. */
export type PushLogger = (level: PushLogLevel, message: string) => void;

/** Everything the app server needs. */
export interface PushAppServerOptions {
  readonly component: ComponentOptions;
  /** Where registrations live (the FileStore in the CLI). */
  readonly store: KeyValueStore;
  readonly credentials: PushServiceCredentials;
  readonly relay?: RelayOptions;
  readonly log?: PushLogger;
  /** Seconds since the epoch (default: the system clock). */
  readonly now?: () => number;
  /** Component reconnect backoff (default 1000 .. 30000 ms). */
  readonly reconnect?: { readonly baseDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * Domains whose users may register devices with the `register-push` ad-hoc command
   * (device-commands.ts), usually the XMPP server's own domain. Empty or omitted: the commands
   * are off and registrations come only from the config or the API.
   */
  readonly registrationDomains?: readonly string[];
  /** Randomness for new nodes and secrets (default: the system's). */
  readonly random?: RandomSource;
  /** Test-only: request context overrides (fixed Web Push randomness). */
  readonly requestContext?: Partial<RequestContext>;
}

/** What the server did with one publish. */
export interface PublishEvent {
  readonly node: string | undefined;
  readonly accepted: boolean;
  /** The error condition sent back, when refused. */
  readonly condition: 'item-not-found' | 'not-authorized' | 'bad-request' | undefined;
  /**
   * The publish as received, for observers (tests assert on it). The server itself keeps
   * nothing of it after the event.
   */
  readonly stanza: XmppClientElement;
}

const isGone = (status: number | undefined): boolean => status === 404 || status === 410;

/**
 * See the module comment. Events: `publish` ({@link PublishEvent}), `outcome`
 * ({@link RelayOutcome}), `registration-removed` (node), `online`, `offline` (error).
 */
export class PushAppServer extends EventEmitter {
  readonly registrations: RegistrationStore;
  readonly relay: PushRelay;
  readonly #options: PushAppServerOptions;
  readonly #log: PushLogger;
  #connection: ComponentConnection | undefined;
  #stopped = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reconnectAttempt = 0;
  #inbound: Promise<void> = Promise.resolve();

  private constructor(options: PushAppServerOptions) {
    super();
    this.#options = options;
    this.#log = options.log ?? (() => undefined);
    this.registrations = new RegistrationStore(options.store);
    this.relay = new PushRelay(options.relay);
    this.relay.on('outcome', (o: RelayOutcome) => {
      if (o.kind === 'delivered') this.#log('info', `push delivered via ${o.service} (status ${o.status}, ${o.attempts} attempt(s))`);
      else this.#log('warn', `push via ${o.service} failed: ${o.error.code}${o.error.status ? ` ${o.error.status}` : ''} after ${o.attempts} attempt(s)`);
      if (o.kind === 'failed' && isGone(o.error.status)) {
        // RFC 8030 §7.3 (404/410: the subscription expired), FCM 404 UNREGISTERED, APNs 410:
        // the device is gone; forget it so the user's server gets item-not-found from now on.
        this.#inbound = this.#inbound
          .then(() => this.registrations.delete(o.node))
          .then(() => {
            this.#log('info', `registration removed: the ${o.service} device is gone`);
            this.emit('registration-removed', o.node);
          })
          .catch(() => this.#log('error', 'could not remove a gone registration'));
      }
      this.emit('outcome', o);
    });
  }

  /** Starts the component; resolves once the first handshake succeeded. */
  static async start(options: PushAppServerOptions): Promise<PushAppServer> {
    const server = new PushAppServer(options);
    await server.#connect();
    return server;
  }

  /** Whether the component stream is up. */
  get online(): boolean {
    return this.#connection?.online === true;
  }

  /** Stops the component and the relay (jobs not in flight are dropped). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    this.relay.stop();
    await this.#connection?.close();
    await this.#inbound;
  }

  async #connect(): Promise<void> {
    const conn = await ComponentConnection.connect(this.#options.component);
    this.#connection = conn;
    this.#reconnectAttempt = 0;
    this.#log('info', 'component online');
    conn.on('stanza', (el: XmppClientElement) => {
      // Serialize handling (store reads) so replies keep their order; errors never escape.
      this.#inbound = this.#inbound.then(() => this.#handle(conn, el)).catch((error: unknown) => {
        this.#log('error', `publish handling failed (${(error as { code?: string }).code ?? 'error'})`);
      });
    });
    conn.on('close', (error: unknown) => {
      this.emit('offline', error);
      if (this.#stopped) return;
      this.#log('warn', 'component stream lost; reconnecting');
      this.#scheduleReconnect();
    });
    this.emit('online');
  }

  #scheduleReconnect(): void {
    const base = this.#options.reconnect?.baseDelayMs ?? 1000;
    const max = this.#options.reconnect?.maxDelayMs ?? 30000;
    const delay = Math.min(max, base * 2 ** this.#reconnectAttempt++);
    this.#reconnectTimer = setTimeout(() => {
      if (this.#stopped) return;
      this.#connect().catch(() => this.#scheduleReconnect());
    }, delay);
    this.#reconnectTimer.unref();
  }

  #commandsEnabled(): boolean {
    return (this.#options.registrationDomains ?? []).length > 0;
  }

  /** XEP-0050 device registration (see device-commands.ts); only for users of the allowed domains. */
  async #command(conn: ComponentConnection, el: XmppClientElement): Promise<void> {
    const from = el.attrs['from'] ?? '';
    const domain = from.replace(/\/.*$/, '').replace(/^.*@/, '');
    const allowed = this.#options.registrationDomains ?? [];
    if (!from.includes('@') || !allowed.includes(domain)) {
      conn.send(iqError(el, 'auth', 'forbidden'));
      return;
    }
    const command = parseDeviceCommand(el);
    const random = this.#options.random ?? systemRandom;
    const sessionid = Buffer.from(random(8)).toString('hex');
    switch (command.kind) {
      case 'invalid':
        conn.send(iqError(el, command.condition === 'bad-request' ? 'modify' : 'cancel', command.condition));
        return;
      case 'register': {
        const node = Buffer.from(random(16)).toString('base64url');
        const secret = Buffer.from(random(24)).toString('base64url');
        await this.registrations.put({ node, secret, target: command.target });
        this.#log('info', `device registered for ${command.target.service}`);
        conn.send(commandCompleted(el, sessionid, { node, secret }));
        return;
      }
      case 'unregister': {
        const check = await this.registrations.check(command.node, command.secret);
        if (!check.ok) {
          conn.send(iqError(el, check.reason === 'not-authorized' ? 'auth' : 'cancel', check.reason));
          return;
        }
        await this.registrations.delete(command.node);
        this.#log('info', 'device unregistered');
        conn.send(commandCompleted(el, sessionid, {}));
        return;
      }
    }
  }

  async #handle(conn: ComponentConnection, el: XmppClientElement): Promise<void> {
    if (!el.is('iq')) return; // messages and presences are not for an app server
    const type = el.attrs['type'];
    if (type === 'result' || type === 'error') return;
    if (type === 'get' && el.getChild('query', NS_DISCO_INFO)) {
      conn.send(iqResult(el, discoInfo(this.#commandsEnabled())));
      return;
    }
    if (isCommand(el)) {
      await this.#command(conn, el);
      return;
    }
    if (!isPubsubPublish(el)) {
      conn.send(iqError(el, 'cancel', type === 'get' || type === 'set' ? 'feature-not-implemented' : 'bad-request'));
      return;
    }
    const publish = parsePushPublish(el);
    let check: Awaited<ReturnType<RegistrationStore['check']>>;
    try {
      check = await this.registrations.check(publish.node, publish.secret);
    } catch (error) {
      // A corrupt stored registration: answer (type wait does not count towards the server's
      // error limit) rather than leave the server waiting.
      conn.send(iqError(el, 'wait', 'internal-server-error'));
      throw error;
    }
    if (!check.ok) {
      // RFC 6120 §8.3.3: not-authorized is type auth, item-not-found type cancel.
      conn.send(iqError(el, check.reason === 'not-authorized' ? 'auth' : 'cancel', check.reason));
      this.#log('info', `publish refused: ${check.reason}`);
      this.#log('debug', `publish refused for node ${String(publish.node)}`);
      this.emit('publish', { node: publish.node, accepted: false, condition: check.reason, stanza: el } satisfies PublishEvent);
      return;
    }
    conn.send(iqResult(el));
    const target = check.registration.target;
    const payload: DevicePayload = {
      node: check.registration.node,
      unread: publish.unread,
      important: publish.important,
      encrypted: publish.encrypted,
    };
    const context: RequestContext = {
      now: this.#options.now ?? (() => Date.now() / 1000),
      ...this.#options.requestContext,
    };
    const credentials = this.#options.credentials;
    this.relay.enqueue({
      node: payload.node,
      service: target.service,
      build: async () => buildPushRequest(target, payload, await resolveCredentials(credentials, target.service), context),
    });
    this.emit('publish', { node: publish.node, accepted: true, condition: undefined, stanza: el } satisfies PublishEvent);
  }
}
