/**
 * omemoMuc's refusals and hostile input on the loopback entity (the real @xmpp/middleware
 * chain; the room is played by stanzas injected as a MUC service would send them, its IQ
 * answers scripted): joins refused and timed out, OMEMO refused in unsuitable rooms with
 * nothing on the wire, floods bounded, unknown senders reported. The Prosody interop test
 * covers the real room.
 */
import { expect } from 'chai';
import { xml, type Element } from '@xmpp/xml';
import { MemoryStore } from '../../../lib/core/store/store.js';
import { omemoPlugin, type OmemoPlugin } from '../../../lib/xmpp/omemo-plugin.js';
import { omemoMuc, MucJoinError, MucNotJoinedError, MucNotSuitableError, type OmemoMuc, type OmemoMucOptions } from '../../../lib/xmpp/omemo-muc.js';
import type { OmemoMucEvents } from '../../../lib/xmpp/muc-events.js';
import { LoopbackNetwork, type LoopbackEntity } from './loopback.js';

const ROOM = 'room@conference.example.org';
const ME = 'me@example.org/desk';

interface Fixture {
  readonly entity: LoopbackEntity;
  readonly omemo: OmemoPlugin;
  readonly muc: OmemoMuc;
  readonly errors: OmemoMucEvents['error'][];
  features: string[];
}

async function fixture(options: OmemoMucOptions = {}): Promise<Fixture> {
  const network = new LoopbackNetwork();
  const entity = network.entity(ME);
  const state: { features: string[] } = { features: ['http://jabber.org/protocol/muc', 'muc_nonanonymous', 'muc_membersonly'] };
  const iqCaller = {
    async get(child: Element, to?: string): Promise<Element | undefined> {
      if (to === ROOM && child.attrs.xmlns === 'http://jabber.org/protocol/disco#info') {
        return xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, ...state.features.map((f) => xml('feature', { var: f })));
      }
      if (to === ROOM) return xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' });
      return undefined;
    },
    async set(): Promise<Element | undefined> {
      return undefined;
    },
  };
  const omemo = await omemoPlugin({ entity, middleware: entity.middleware, iqCaller }, { account: 'me@example.org', store: new MemoryStore(), preKeyCount: 3, enableCarbons: false });
  await omemo.announced();
  const muc = omemoMuc({ entity, middleware: entity.middleware, iqCaller }, omemo, { timeoutMs: 500, ...options });
  const errors: Fixture['errors'] = [];
  muc.on('error', (e) => errors.push(e));
  const f: Fixture = {
    entity, omemo, muc, errors,
    get features() { return state.features; },
    set features(v: string[]) { state.features = v; },
  };
  return f;
}

function occupant(nick: string, jid: string | undefined, extra = ''): string {
  return `<presence from='${ROOM}/${nick}' to='${ME}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant'${jid === undefined ? '' : ` jid='${jid}'`}/>${extra}</x></presence>`;
}

async function joined(f: Fixture, others: readonly string[] = []): Promise<void> {
  const join = f.muc.join(ROOM, 'me');
  for (const o of others) f.entity.receiveRaw(occupant(o, `${o}@example.org/x`));
  f.entity.receiveRaw(occupant('me', ME, "<status code='110'/><status code='100'/>"));
  await join;
}

async function refusal(f: Fixture, text: string): Promise<unknown> {
  const before = f.entity.sent.length;
  try {
    await f.muc.send(ROOM, text);
  } catch (error) {
    expect(f.entity.sent.slice(before).some((s) => s.includes('groupchat') || s.includes(text))).to.equal(false);
    return error;
  }
  throw new Error('the send was not refused');
}

describe('xmpp: OMEMO group chats (omemoMuc) refusals and hostile input', () => {
  it('sends the join presence without history and resolves on our self-presence with the room features', async () => {
    const f = await fixture();
    const join = f.muc.join(ROOM, 'me');
    await new Promise((r) => setImmediate(r));
    expect(f.entity.sent.at(-1)).to.equal(`<presence to="${ROOM}/me"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`);
    f.entity.receiveRaw(occupant('bob', 'bob@example.org/phone'));
    f.entity.receiveRaw(occupant('me', ME, "<status code='110'/><status code='201'/>"));
    const result = await join;
    expect(result).to.deep.include({ room: ROOM, nick: 'me', created: true, memberListRead: true });
    expect(result.features).to.include({ nonAnonymous: true, membersOnly: true });
    expect(f.muc.recipients(ROOM)).to.deep.equal(['bob@example.org']);
  });

  it('a refused join is a typed error (and the room is forgotten); a silent room times out', async () => {
    const f = await fixture();
    const join = f.muc.join(ROOM, 'me');
    f.entity.receiveRaw(`<presence from='${ROOM}/me' to='${ME}' type='error'><x xmlns='http://jabber.org/protocol/muc'/><error type='auth'><registration-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`);
    let error: unknown;
    try {
      await join;
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(MucJoinError);
    expect((error as MucJoinError).code).to.equal('xmpp.omemo.muc-join-registration-required');
    expect(f.muc.room(ROOM)).to.equal(undefined);
    let timeout: unknown;
    try {
      await f.muc.join(ROOM, 'me');
    } catch (e) {
      timeout = e;
    }
    expect((timeout as MucJoinError).code).to.equal('xmpp.omemo.muc-join-remote-server-timeout');
  });

  it('refuses to send before joining, in a semi-anonymous room, in an open room (unless allowed), with a hidden real JID, after a flood', async () => {
    const f = await fixture();
    expect(await refusal(f, 'not joined')).to.be.instanceOf(MucNotJoinedError);
    f.features = ['http://jabber.org/protocol/muc', 'muc_semianonymous', 'muc_membersonly'];
    await joined(f, ['bob']);
    expect(await refusal(f, 'semi')).to.be.instanceOf(MucNotSuitableError);
    expect(((await refusal(f, 'semi')) as MucNotSuitableError).code).to.equal('xmpp.omemo.muc-semi-anonymous');
    // The room announces a configuration change: the features are read again before the next message.
    f.features = ['http://jabber.org/protocol/muc', 'muc_nonanonymous', 'muc_open'];
    f.entity.receiveRaw(`<message from='${ROOM}' to='${ME}' type='groupchat'><x xmlns='http://jabber.org/protocol/muc#user'><status code='172'/></x></message>`);
    await f.muc.idle();
    expect(((await refusal(f, 'open')) as MucNotSuitableError).code).to.equal('xmpp.omemo.muc-not-members-only');
    // A "non-anonymous" room that hides one occupant's real JID.
    f.features = ['http://jabber.org/protocol/muc', 'muc_nonanonymous', 'muc_membersonly'];
    f.entity.receiveRaw(`<message from='${ROOM}' to='${ME}' type='groupchat'><x xmlns='http://jabber.org/protocol/muc#user'><status code='104'/></x></message>`);
    f.entity.receiveRaw(occupant('ghost', undefined));
    await f.muc.idle();
    expect(((await refusal(f, 'ghost')) as MucNotSuitableError).code).to.equal('xmpp.omemo.muc-occupant-without-jid');
  });

  it('an occupant flood is bounded and refuses OMEMO (the recipient set would be incomplete); the waiver for open rooms works', async () => {
    const f = await fixture({ maxOccupants: 20, requireMembersOnly: false });
    f.features = ['http://jabber.org/protocol/muc', 'muc_nonanonymous', 'muc_open'];
    await joined(f);
    // Open room allowed by the option: the send gets past suitability (nobody has devices: no recipients).
    expect(((await refusal(f, 'alone')) as { code: string }).code).to.equal('omemo.no-recipients');
    for (let i = 0; i < 500; i++) f.entity.receiveRaw(occupant(`n${i}`, `u${i}@example.org/r`));
    await new Promise((r) => setTimeout(r, 50));
    await f.muc.idle();
    expect(f.muc.room(ROOM)?.occupants.size).to.equal(20);
    expect(((await refusal(f, 'flood')) as MucNotSuitableError).code).to.equal('xmpp.omemo.muc-overflow');
  });

  it('an encrypted group message from a nick without a known real JID, or from another room, is reported or ignored, never decrypted as someone else', async () => {
    const f = await fixture();
    await joined(f, ['bob']);
    const messages: unknown[] = [];
    f.muc.on('message', (m) => messages.push(m));
    f.entity.receiveRaw(`<message from='${ROOM}/stranger' to='${ME}' type='groupchat' id='1'><encrypted xmlns='urn:xmpp:omemo:2'><header sid='5'/></encrypted></message>`);
    f.entity.receiveRaw(`<message from='other@conference.example.org/bob' to='${ME}' type='groupchat' id='2'><encrypted xmlns='urn:xmpp:omemo:2'><header sid='5'/></encrypted></message>`);
    f.entity.receiveRaw(`<message from='${ROOM}/bob' to='${ME}' type='groupchat' id='3'><encrypted xmlns='urn:xmpp:omemo:2'><header sid='5'><keys jid='me@example.org'><key rid='1'>AAAA</key></keys></header></encrypted></message>`);
    await new Promise((r) => setTimeout(r, 50));
    await f.muc.idle();
    expect(f.errors.map((e) => [e.nick, e.from, e.error.code])).to.deep.equal([
      ['stranger', undefined, 'xmpp.omemo.muc-unknown-sender'],
      ['bob', 'bob@example.org', f.errors[1]?.error.code],
    ]);
    expect(f.errors[1]?.error.code).to.match(/^omemo\./u);
    expect(messages).to.deep.equal([]);
  });
});
