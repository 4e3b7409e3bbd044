/**
 * An in-process "server" for unit tests of the OTR plugin: entities that relay serialized
 * stanzas to each other (stamping `from` as a server does) and run the REAL @xmpp/middleware
 * chain on what they receive. The peers are our own plugin on both sides; only the network
 * and the XMPP server are replaced, so tests can also inject raw, hostile stanzas.
 */
import { EventEmitter } from 'node:events';
import middlewareFactory, { type Middleware } from '@xmpp/middleware';
import { Parser, type Element } from '@xmpp/xml';
import { MemoryStore } from '../../../lib/core/store/store.js';
import { otrPlugin, type OtrPlugin, type OtrPluginOptions } from '../../../lib/xmpp/otr-plugin.js';
import type { OtrPluginEvents } from '../../../lib/xmpp/otr-events.js';

/** Parses one serialized stanza with @xmpp/xml's parser (as the connection would). */
export function parseStanza(text: string): Element {
  const parser = new Parser();
  let out: Element | undefined;
  parser.on('element', (element) => {
    out = element;
  });
  parser.write('<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">');
  parser.write(text);
  if (out === undefined) throw new Error('parseStanza: no element');
  return out;
}

/** A fake connection on the loopback network. */
export class LoopbackEntity extends EventEmitter {
  status = 'online';
  readonly jid: { toString(): string };
  readonly middleware: Middleware;
  readonly sent: string[] = [];
  readonly options = { domain: 'example.org' };

  constructor(
    readonly network: LoopbackNetwork,
    public fullJid: string,
  ) {
    super();
    this.jid = { toString: () => this.fullJid };
    this.middleware = middlewareFactory({ entity: this });
  }

  async send(element: Element): Promise<void> {
    if (this.status !== 'online') throw new Error('socket closed');
    const text = element.toString();
    this.sent.push(text);
    this.emit('send', element);
    this.network.route(this.fullJid, text);
  }

  /** Delivers a raw serialized stanza as if the server sent it. */
  receiveRaw(text: string): void {
    this.emit('element', parseStanza(text));
  }
}

/** Routes by full JID (a bare JID goes to every entity of that account, like equal-priority delivery). */
export class LoopbackNetwork {
  readonly entities = new Map<string, LoopbackEntity>();
  /** Every stanza relayed, after `from` stamping. */
  readonly log: string[] = [];

  entity(fullJid: string): LoopbackEntity {
    const e = new LoopbackEntity(this, fullJid);
    this.entities.set(fullJid, e);
    return e;
  }

  /** The entity logs in again under another resource (a fresh session after a lost one). */
  rename(oldJid: string, newJid: string): void {
    const e = this.entities.get(oldJid);
    if (e === undefined) throw new Error('no such entity');
    this.entities.delete(oldJid);
    e.fullJid = newJid;
    this.entities.set(newJid, e);
  }

  route(from: string, text: string): void {
    const stanza = parseStanza(text);
    stanza.attrs.from = from;
    const to = stanza.attrs.to ?? '';
    const stamped = stanza.toString();
    this.log.push(stamped);
    const targets = to.includes('/') ? [this.entities.get(to)] : [...this.entities.values()].filter((e) => e.fullJid.startsWith(`${to}/`));
    // Asynchronous, in order, as a socket would deliver.
    for (const target of targets) if (target !== undefined) setImmediate(() => target.receiveRaw(stamped));
    const sender = this.entities.get(from);
    if (targets.every((t) => t === undefined) && sender !== undefined && stanza.name === 'message' && stanza.attrs.type !== 'error') {
      // Nobody there: the server bounces it (RFC 6120 §8.3, service-unavailable).
      const id = stanza.attrs.id ?? '';
      const bounce = `<message xmlns='jabber:client' from='${to}' to='${from}' type='error' id='${id}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`;
      setImmediate(() => sender.receiveRaw(bounce));
    }
  }
}

/** A plugin on a loopback entity. */
export interface LoopbackParty {
  readonly entity: LoopbackEntity;
  readonly otr: OtrPlugin;
  readonly jid: string;
  readonly events: { name: keyof OtrPluginEvents; payload: unknown }[];
  readonly messages: OtrPluginEvents['message'][];
}

export async function loopbackParty(network: LoopbackNetwork, fullJid: string, options: OtrPluginOptions = {}): Promise<LoopbackParty> {
  const entity = network.entity(fullJid);
  const otr = await otrPlugin({ entity, middleware: entity.middleware }, { account: fullJid.split('/')[0], store: new MemoryStore(), ...options });
  const events: LoopbackParty['events'] = [];
  const messages: LoopbackParty['messages'] = [];
  for (const name of ['message', 'secure', 'insecure', 'fingerprint', 'trust', 'smp', 'held', 'held-sent', 'not-sent', 'peer-error', 'delivery-error', 'otr-error', 'moved', 'held-blocked'] as const) {
    otr.on(name, (payload) => events.push({ name, payload }));
  }
  otr.on('message', (m) => messages.push(m));
  return { entity, otr, jid: fullJid, events, messages };
}

/** Waits until the condition holds (event-driven, bounded). */
export async function settle(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function named<K extends keyof OtrPluginEvents>(p: LoopbackParty, name: K): OtrPluginEvents[K][] {
  return p.events.filter((e) => e.name === name).map((e) => e.payload as OtrPluginEvents[K]);
}
