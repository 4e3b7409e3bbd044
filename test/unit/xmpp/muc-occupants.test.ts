/**
 * The MUC layer for OMEMO group chats (XEP-0045 as XEP-0384 section 6.7 uses it): the stanza
 * readers on real serialized stanzas, and the occupant/member tracker: joins, self-presence,
 * leaves, nick changes, kicks and bans, affiliation announcements and lists, and hostile
 * input (another room's presence, item JIDs on the MUC service, a non-anonymous room that
 * hides a real JID, floods bounded).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  affiliationListQuery, configSubmitQuery, joinPresence, originIdOf, readAffiliationList, readMucPresence, readMucRoomNotice, readRoomFeatures,
  roomStanzaIdOf, setAffiliationQuery, type MucPresence,
} from '../../../lib/xmpp/muc-stanzas.js';
import { MucRoomState } from '../../../lib/xmpp/muc-occupants.js';
import { parseStanza } from './loopback.js';

const ROOM = 'room@conference.example.org';

function presence(nick: string, attrs: { jid?: string; affiliation?: string; role?: string; newNick?: string; type?: string; codes?: number[]; room?: string } = {}): MucPresence {
  const item = [
    attrs.jid === undefined ? '' : ` jid='${attrs.jid}'`,
    ` affiliation='${attrs.affiliation ?? 'member'}'`,
    ` role='${attrs.role ?? (attrs.type === 'unavailable' ? 'none' : 'participant')}'`,
    attrs.newNick === undefined ? '' : ` nick='${attrs.newNick}'`,
  ].join('');
  const codes = (attrs.codes ?? []).map((c) => `<status code='${c}'/>`).join('');
  const type = attrs.type === undefined ? '' : ` type='${attrs.type}'`;
  const stanza = parseStanza(`<presence from='${attrs.room ?? ROOM}/${nick}' to='me@example.org/x'${type}><x xmlns='http://jabber.org/protocol/muc#user'><item${item}/>${codes}</x></presence>`);
  const p = readMucPresence(stanza);
  if (p === undefined) throw new Error('not read');
  return p;
}

function joinedRoom(): MucRoomState {
  const room = new MucRoomState(ROOM, 'me');
  room.applyPresence(presence('bob', { jid: 'bob@example.org/phone' }));
  room.applyPresence(presence('me', { jid: 'me@example.org/x', affiliation: 'owner', role: 'moderator', codes: [100, 110] }));
  return room;
}

describe('xmpp: MUC stanzas (XEP-0045)', () => {
  it('builds the join presence, the affiliation queries and the owner form', () => {
    expect(joinPresence(ROOM, 'me', { maxHistory: 0 }).toString()).to.equal(
      `<presence to="${ROOM}/me"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>`);
    expect(affiliationListQuery('member').toString()).to.equal('<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member"/></query>');
    expect(setAffiliationQuery('Bob@Example.org/phone', 'none').toString()).to.equal('<query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="none" jid="bob@example.org"/></query>');
    const form = configSubmitQuery({}).getChild('x', 'jabber:x:data');
    const fields = Object.fromEntries((form?.getChildren('field') ?? []).map((f) => [f.attrs.var, f.getChildText('value')]));
    expect(fields).to.deep.include({ FORM_TYPE: 'http://jabber.org/protocol/muc#roomconfig', 'muc#roomconfig_membersonly': '1', 'muc#roomconfig_whois': 'anyone' });
  });

  it('reads occupant presences (real JID bared, status codes, nick change) and error presences', () => {
    const p = presence('bob', { jid: 'Bob@Example.org/phone', codes: [110, 100, 99999] });
    expect(p).to.deep.include({ room: ROOM, nick: 'bob', type: 'available' });
    expect(p.item).to.deep.equal({ jid: 'bob@example.org', affiliation: 'member', role: 'participant', nick: undefined });
    expect([...p.statuses].sort()).to.deep.equal([100, 110]);
    expect(presence('bob', { type: 'unavailable', newNick: 'robert', codes: [303] }).item?.nick).to.equal('robert');
    const error = readMucPresence(parseStanza(`<presence from='${ROOM}/me' type='error'><x xmlns='http://jabber.org/protocol/muc'/><error type='auth'><registration-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`));
    expect(error).to.deep.include({ type: 'error', errorCondition: 'registration-required' });
    // Not an occupant presence: no muc#user, bare from, subscription types.
    expect(readMucPresence(parseStanza(`<presence from='${ROOM}/bob'/>`))).to.equal(undefined);
    expect(readMucPresence(parseStanza(`<presence from='${ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'/></presence>`))).to.equal(undefined);
    expect(readMucPresence(parseStanza(`<presence from='${ROOM}/bob' type='subscribe'><x xmlns='http://jabber.org/protocol/muc#user'/></presence>`))).to.equal(undefined);
    // A garbage item JID is dropped, not kept.
    expect(presence('bob', { jid: 'not a jid' }).item?.jid).to.equal(undefined);
  });

  it('reads room notices, features, affiliation lists and ids', () => {
    const notice = readMucRoomNotice(parseStanza(`<message from='${ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' jid='dave@example.org'/><status code='104'/></x></message>`));
    expect(notice?.items.map((i) => [i.jid, i.affiliation])).to.deep.equal([['dave@example.org', 'member']]);
    expect([...(notice?.statuses ?? [])]).to.deep.equal([104]);
    // Invitations are not notices; an occupant's message is not the room's.
    expect(readMucRoomNotice(parseStanza(`<message from='${ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'><invite from='x@y'/></x></message>`))).to.equal(undefined);
    expect(readMucRoomNotice(parseStanza(`<message from='${ROOM}/bob'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' jid='bob@example.org'/></x></message>`))).to.equal(undefined);
    const info = parseStanza(`<query xmlns='http://jabber.org/protocol/disco#info'><feature var='http://jabber.org/protocol/muc'/><feature var='muc_nonanonymous'/><feature var='muc_membersonly'/></query>`);
    expect(readRoomFeatures(info)).to.deep.equal({ isMuc: true, nonAnonymous: true, membersOnly: true, semiAnonymous: false });
    expect(readRoomFeatures(undefined)).to.deep.equal({ isMuc: false, nonAnonymous: false, membersOnly: false, semiAnonymous: false });
    const list = parseStanza(`<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='a@x'/><item affiliation='member'/><item affiliation='bogus' jid='b@x'/></query>`);
    expect(readAffiliationList(list)).to.deep.equal([{ jid: 'a@x', affiliation: 'member' }]);
    const message = parseStanza(`<message id='attr' from='${ROOM}/bob'><origin-id xmlns='urn:xmpp:sid:0' id='origin'/><stanza-id xmlns='urn:xmpp:sid:0' by='evil@example.org' id='forged'/><stanza-id xmlns='urn:xmpp:sid:0' by='${ROOM}' id='room-id'/></message>`);
    expect(originIdOf(message)).to.equal('origin');
    expect(roomStanzaIdOf(message, ROOM)).to.equal('room-id');
    expect(originIdOf(parseStanza('<message id="attr"/>'))).to.equal('attr');
  });
});

describe('xmpp: MUC occupant tracking', () => {
  it('learns occupants before our self-presence (status 110), then reports the join and the non-anonymous status (100)', () => {
    const room = new MucRoomState(ROOM, 'me');
    expect(room.self.status).to.equal('joining');
    expect(room.applyPresence(presence('bob', { jid: 'bob@example.org/phone' }))).to.deep.equal([
      { kind: 'joined', nick: 'bob', jid: 'bob@example.org' }, { kind: 'affiliation', jid: 'bob@example.org', affiliation: 'member' }]);
    const changes = room.applyPresence(presence('me', { jid: 'me@example.org/x', affiliation: 'owner', codes: [100, 110, 201] }));
    expect(changes).to.deep.include({ kind: 'self-joined', nick: 'me', created: true });
    expect(changes).to.deep.include({ kind: 'anonymity', nonAnonymous: true });
    expect(room.self).to.deep.equal({ status: 'joined', nick: 'me' });
    expect(room.recipients({ exclude: 'me@example.org' })).to.deep.equal(['bob@example.org']);
  });

  it('leaves, nick changes, kicks, bans and affiliation changes update occupants and members', () => {
    const room = joinedRoom();
    room.applyPresence(presence('carol', { jid: 'carol@example.org/a' }));
    // Nick change (303): the real JID follows the new nick.
    expect(room.applyPresence(presence('carol', { type: 'unavailable', newNick: 'caz', codes: [303] }))).to.deep.equal([{ kind: 'nick', nick: 'carol', newNick: 'caz', jid: 'carol@example.org' }]);
    room.applyPresence(presence('caz', { jid: 'carol@example.org/a' }));
    expect(room.realJidOf('caz')).to.equal('carol@example.org');
    expect(room.occupants.has('carol')).to.equal(false);
    // A plain leave: still a member (an offline recipient), not an occupant.
    expect(room.applyPresence(presence('caz', { type: 'unavailable' }))).to.deep.equal([{ kind: 'left', nick: 'caz', jid: 'carol@example.org', reason: 'left' }]);
    expect(room.recipients({ exclude: 'me@example.org' })).to.deep.equal(['bob@example.org', 'carol@example.org']);
    expect(room.recipients({ exclude: 'me@example.org', includeOfflineMembers: false })).to.deep.equal(['bob@example.org']);
    // The owner revokes carol's membership while she is away: the room announces it.
    const notice = readMucRoomNotice(parseStanza(`<message from='${ROOM}'><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' jid='carol@example.org'/></x></message>`));
    expect(room.applyNotice(notice ?? { room: '', items: [], statuses: new Set() })).to.deep.equal([{ kind: 'affiliation', jid: 'carol@example.org', affiliation: 'none' }]);
    expect(room.recipients({ exclude: 'me@example.org' })).to.deep.equal(['bob@example.org']);
    // Banned (301): out of the room and of the members.
    room.applyPresence(presence('dave', { jid: 'dave@example.org/z' }));
    const ban = room.applyPresence(presence('dave', { type: 'unavailable', affiliation: 'outcast', codes: [301] }));
    expect(ban).to.deep.include({ kind: 'left', nick: 'dave', jid: 'dave@example.org', reason: 'banned' });
    expect(room.members.has('dave@example.org')).to.equal(false);
    // Kicked (307): out of the room, still a member.
    expect(room.applyPresence(presence('bob', { type: 'unavailable', codes: [307] }))).to.deep.equal([{ kind: 'left', nick: 'bob', jid: 'bob@example.org', reason: 'kicked' }]);
    expect(room.members.get('bob@example.org')).to.equal('member');
    // We are removed when the room becomes members-only (322): our state says so, occupants are gone.
    expect(room.applyPresence(presence('me', { type: 'unavailable', affiliation: 'none', codes: [110, 322] }))).to.deep.include({ kind: 'self-left', reason: 'members-only' });
    expect(room.self).to.deep.equal({ status: 'left', nick: 'me', reason: 'members-only' });
    expect(room.occupants.size).to.equal(0);
  });

  it('member lists replace one affiliation; configuration statuses make the features stale', () => {
    const room = joinedRoom();
    room.setFeatures({ isMuc: true, nonAnonymous: true, membersOnly: true, semiAnonymous: false });
    room.setAffiliationList('member', [{ jid: 'erin@example.org', affiliation: 'member' }, { jid: 'x@example.org', affiliation: 'admin' }]);
    // bob was a member from his presence; the list without him removes him, erin is added, the admin entry is not the member list's.
    expect([...room.members.entries()].sort()).to.deep.equal([['erin@example.org', 'member'], ['me@example.org', 'owner']]);
    expect(room.featuresStale).to.equal(false);
    room.applyNotice({ room: ROOM, items: [], statuses: new Set([173]) });
    expect(room.statusNonAnonymous).to.equal(false);
    expect(room.featuresStale).to.equal(true);
  });

  describe('hostile input', () => {
    it('a presence from another room, or naming a real JID on the MUC service or the room itself, is not taken', () => {
      const room = joinedRoom();
      expect(room.applyPresence(presence('mallory', { jid: 'mallory@example.org', room: 'other@conference.example.org' }))).to.deep.equal([]);
      expect(room.occupants.has('mallory')).to.equal(false);
      // An item JID from a different room (an occupant JID is not a real JID), or the room itself.
      room.applyPresence(presence('eve', { jid: 'other@conference.example.org/bob' }));
      room.applyPresence(presence('eve2', { jid: ROOM }));
      expect(room.realJidOf('eve')).to.equal(undefined);
      expect(room.realJidOf('eve2')).to.equal(undefined);
      expect(room.recipients()).to.not.include('other@conference.example.org');
      expect(room.members.has('other@conference.example.org')).to.equal(false);
      // Notices of another room change nothing.
      expect(room.applyNotice({ room: 'other@conference.example.org', items: [{ jid: 'z@example.org', affiliation: 'owner', role: undefined, nick: undefined }], statuses: new Set() })).to.deep.equal([]);
    });

    it('an occupant without a real JID in a room claimed non-anonymous is flagged (the room is then refused for OMEMO)', () => {
      const room = joinedRoom();
      room.applyPresence(presence('ghost'));
      expect(room.occupantsWithoutJid()).to.deep.equal(['ghost']);
      expect(room.recipients({ exclude: 'me@example.org' })).to.deep.equal(['bob@example.org']);
    });

    it('a later presence cannot swap the real JID behind a nick', () => {
      const room = joinedRoom();
      room.applyPresence(presence('bob', { jid: 'mallory@example.org/x', affiliation: 'owner' }));
      expect(room.realJidOf('bob')).to.equal('bob@example.org');
      expect(room.members.has('mallory@example.org')).to.equal(false);
    });

    it('occupant and member floods stay bounded and mark the room overflowed', () => {
      const room = new MucRoomState(ROOM, 'me', { maxOccupants: 50, maxMembers: 60 });
      for (let i = 0; i < 3000; i++) room.applyPresence(presence(`n${i}`, { jid: `u${i}@example.org` }));
      expect(room.occupants.size).to.equal(50);
      expect(room.members.size).to.be.at.most(60);
      expect(room.overflow).to.equal(true);
      room.applyNotice({ room: ROOM, items: Array.from({ length: 64 }, (_, i) => ({ jid: `m${i}@example.org`, affiliation: 'member' as const, role: undefined, nick: undefined })), statuses: new Set() });
      expect(room.members.size).to.equal(60);
    });

    it('any sequence of presences keeps the bounds and never records a real JID on the MUC service', () => {
      const nick = fc.constantFrom('a', 'b', 'c', 'me', 'd');
      const jid = fc.option(fc.constantFrom('a@x.org', 'b@x.org/r', 'other@conference.example.org/a', ROOM, 'c@x.org'), { nil: undefined });
      const event = fc.record({
        nick, jid, newNick: fc.option(nick, { nil: undefined }),
        type: fc.constantFrom(undefined, 'unavailable'),
        affiliation: fc.constantFrom('owner', 'admin', 'member', 'none', 'outcast'),
        codes: fc.subarray([100, 110, 172, 173, 301, 303, 307, 321, 322]),
        room: fc.constantFrom(ROOM, 'other@conference.example.org'),
      });
      fc.assert(fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const room = new MucRoomState(ROOM, 'me', { maxOccupants: 3, maxMembers: 2 });
        for (const e of events) {
          room.applyPresence(presence(e.nick, {
            ...(e.jid === undefined ? {} : { jid: e.jid }), ...(e.newNick === undefined ? {} : { newNick: e.newNick }), ...(e.type === undefined ? {} : { type: e.type }),
            affiliation: e.affiliation, codes: e.codes, room: e.room,
          }));
        }
        expect(room.occupants.size).to.be.at.most(3);
        expect(room.members.size).to.be.at.most(2);
        for (const j of [...room.recipients(), ...room.members.keys()]) expect(j.endsWith('conference.example.org')).to.equal(false);
      }));
    });
  });
});
