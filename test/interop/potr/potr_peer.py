#!/usr/bin/python3
"""
A REAL python-potr peer for interop tests: Debian's python3-potr 1.0.2 (an independent OTR
protocol version 2 implementation in Python), driven over JSON lines on stdin/stdout, in the
conventions of the libotr harness (test/interop/libotr/harness.c).

Run with Debian's interpreter: /usr/bin/python3 potr_peer.py
Needs: apt-get install -y python3-potr python3-pycryptodome  (+ the patches in potr_compat.py,
applied in memory at start-up).

One process = one potr Account, which may talk to any number of peers (by name). Each stdin
line is one JSON object with a "cmd"; each command answers with exactly one JSON line:
  {"ok":true, ...}   or   {"ok":false,"error":"..."}
Every answer of a command that can make potr act also carries
  "wire":   [string]  every message potr wants sent to the peer, in order (Context.inject calls,
                      then the message sendMessage returned)
  "events": [object]  what happened meanwhile, each {"type": ...} (libotr's vocabulary):
      gone_secure | gone_insecure | still_secure | new_fingerprint {"fingerprint"}
      | smp {"event": "ask_for_secret"|"ask_for_answer"|"in_progress"|"success"|"failure"|
               "abort"|"cheated"|"error", "question"?: string}
      | msg {"event": "connection_ended"|"rcvdmsg_not_in_private"|"rcvdmsg_unreadable"|
               "rcvdmsg_malformed"|"rcvdmsg_general_err"|"rcvdmsg_unencrypted",
             "message"?: string, "error"?: string}
      | symkey {"use": n, "usedata": hex, "key": hex}     (TLV 8 received)
  potr has no callbacks for any of these: they are derived from its state around each call
  (Context.setState, and every SMP TLV handled one at a time in processTLVs).

Commands ("peer" is the other side's account name):
  init {account, protocol?="xmpp", policy?="default", keyfile, fragment_size?=0}
       policy: comma-separated tokens: v2 (ALLOW_V2), v1 (ALLOW_V1), require
       (REQUIRE_ENCRYPTION), whitespace (SEND_TAG), or default (= v2) | never.
       potr 1.0.2 consults no other policy key (no WHITESPACE_START_AKE / ERROR_START_AKE).
       keyfile: potr's serialized DSA private key (hex); generated (DSA-1024, ~2 s) if absent.
       fragment_size: potr's maxMessageSize; 0 = never fragment. Larger messages (AKE ones
       too) leave as v2 fragments "?OTR,k,n,piece," with pieces of fragment_size - 19 bytes.
       -> {fingerprint: hex40, fingerprint_human}
  send {peer, text} -> {wire, events}        (sendMessage(FRAGMENT_SEND_ALL, text); in FINISHED
       potr refuses: nothing is sent and msg connection_ended is reported)
  receive {peer, wire} -> {ignore: bool, show: string|null, decrypted: bool,
                           tlvs: [{"type": n, "data": hex}], wire, events}
       show is what a client would display: the decrypted text, or the received text itself
       for a plaintext message; null when potr swallowed it (protocol message, fragment).
  start_ake {peer} -> {wire: [potr's query message "?OTRv2?..."]}
  end {peer} -> {wire, events}                (Context.disconnect: TLV 1 when encrypted)
  status {peer} -> {msgstate: "plaintext"|"encrypted"|"finished", protocol_version: 2|0,
       fingerprint, their_fingerprint: hex40|null, ssid: hex16|null,
       ssid_half: "first"|"second"|"none", smp_in_progress: bool, trust: string|null,
       our_keyid, their_keyid: the current D-H key ids (they grow as keys rotate)}
       (ssid_half is the half to show in bold: potr's sessionIdHalf flag is True, "second", on
       the side that received the Reveal Signature, as in libotr.)
  extra_symkey {peer, use, usedata: hex} -> {key: hex64, wire, events}
  smp_start {peer, secret, question?} / smp_respond {peer, secret} / smp_abort {peer}
       -> {wire, events}   (secrets and questions are UTF-8 text)
  fingerprint {} -> {fingerprint, fingerprint_human}
  quit {} -> {} and exit
"""
import json
import os
import struct
import sys
import traceback

sys.dont_write_bytecode = True  # no __pycache__ for potr_compat in the source tree

import potr
from potr import crypt, proto
from potr.compatcrypto import common as pk_common

import potr_compat

potr_compat.apply()

STATE_NAMES = {
    potr.context.STATE_PLAINTEXT: 'plaintext',
    potr.context.STATE_ENCRYPTED: 'encrypted',
    potr.context.STATE_FINISHED: 'finished',
}

SMP_TYPES = (proto.SMP1TLV, proto.SMP1QTLV, proto.SMP2TLV, proto.SMP3TLV, proto.SMP4TLV)
# the SMP handler state (potr's numbering: 1 idle, 0 awaiting our secret, 2/3/4 expecting
# message 2/3/4) a message of each type is valid in
SMP_EXPECTED_STATE = {proto.SMP1TLV: 1, proto.SMP1QTLV: 1, proto.SMP2TLV: 2,
                      proto.SMP3TLV: 3, proto.SMP4TLV: 4}


def text_of(data):
    if isinstance(data, bytes):
        return data.decode('utf-8', 'replace')
    return str(data)


class PeerContext(potr.context.Context):
    """A potr Context that collects what it injects and what happened, per command."""

    def __init__(self, account, peername):
        self.out = []
        self.events = []
        super().__init__(account, peername)

    def getPolicy(self, key):
        return self.user.policy_flags.get(key, False)

    def inject(self, msg, appdata=None):
        self.out.append(text_of(msg))

    def setState(self, newstate):
        old = getattr(self, 'state', potr.context.STATE_PLAINTEXT)
        super().setState(newstate)
        if newstate == potr.context.STATE_ENCRYPTED:
            self.events.append({'type': 'still_secure' if old == newstate else 'gone_secure'})
            fp = self.crypto.theirPubkey.cfingerprint() if self.crypto.theirPubkey else None
            if fp is not None and self.getTrust(fp) is None:
                self.events.append({'type': 'new_fingerprint', 'fingerprint': fp})
                self.setTrust(fp, '')
        elif old == potr.context.STATE_ENCRYPTED:
            self.events.append({'type': 'gone_insecure'})

    def processTLVs(self, tlvs, appdata=None):
        for tlv in tlvs:
            if isinstance(tlv, proto.SMPTLV):
                self.handle_smp(tlv, appdata)
            elif isinstance(tlv, proto.ExtraKeyTLV):
                use = struct.unpack('!I', tlv.appid)[0] if len(tlv.appid) == 4 else -1
                self.events.append({'type': 'symkey', 'use': use, 'usedata': tlv.appdata.hex(),
                                    'key': (self.crypto.extraKey or b'').hex()})
            else:
                if isinstance(tlv, proto.DisconnectTLV):
                    self.events.append({'type': 'msg', 'event': 'connection_ended'})
                super().processTLVs([tlv], appdata=appdata)

    def handle_smp(self, tlv, appdata):
        before = self.crypto.smp.state if self.crypto.smp is not None else 1
        self.crypto.smpHandle(tlv, appdata=appdata)
        smp = self.crypto.smp
        if isinstance(tlv, proto.SMPABORTTLV):
            self.events.append({'type': 'smp', 'event': 'abort'})
            return
        kind = type(tlv)
        if before != SMP_EXPECTED_STATE[kind]:
            # potr answers an out-of-order SMP message with an abort TLV
            self.events.append({'type': 'smp', 'event': 'error'})
            return
        if smp.prog == crypt.SMPPROG_CHEATED:
            # a check failed: potr sent an abort TLV
            self.events.append({'type': 'smp', 'event': 'cheated'})
            return
        if kind is proto.SMP1QTLV:
            self.events.append({'type': 'smp', 'event': 'ask_for_answer',
                                'question': text_of(tlv.msg)})
        elif kind is proto.SMP1TLV:
            self.events.append({'type': 'smp', 'event': 'ask_for_secret'})
        elif kind is proto.SMP2TLV:
            self.events.append({'type': 'smp', 'event': 'in_progress'})
        elif smp.prog == crypt.SMPPROG_SUCCEEDED:
            self.events.append({'type': 'smp', 'event': 'success'})
        elif smp.prog == crypt.SMPPROG_FAILED:
            self.events.append({'type': 'smp', 'event': 'failure'})

    def take(self, extra=None):
        """The command's wire messages (injected, then `extra`) and events; clears both."""
        wire = self.out
        if extra is not None:
            wire.append(text_of(extra))
        events = self.events
        self.out = []
        self.events = []
        return {'wire': wire, 'events': events}


class PeerAccount(potr.context.Account):
    contextclass = PeerContext

    def __init__(self, name, protocol, max_message_size, policy_flags, keyfile):
        super().__init__(name, protocol, max_message_size)
        self.policy_flags = policy_flags
        self.keyfile = keyfile

    def loadPrivkey(self):
        if self.keyfile and os.path.exists(self.keyfile):
            with open(self.keyfile, 'r', encoding='ascii') as f:
                return pk_common.PK.parsePrivateKey(bytes.fromhex(f.read().strip()))[0]
        return None

    def savePrivkey(self):
        if not self.keyfile:
            return
        tmp = '%s.%d.tmp' % (self.keyfile, os.getpid())
        with open(tmp, 'w', encoding='ascii') as f:
            f.write(self.privkey.serializePrivateKey().hex())
        os.replace(tmp, self.keyfile)  # atomic: concurrent peers never read half a key

    def saveTrusts(self):
        pass  # trust lives in memory for the life of the process


def parse_policy(spec):
    flags = {}
    for token in [t.strip() for t in spec.split(',') if t.strip()]:
        if token in ('default', 'v2'):
            flags['ALLOW_V2'] = True
        elif token == 'v1':
            flags['ALLOW_V1'] = True
        elif token == 'require':
            flags['REQUIRE_ENCRYPTION'] = True
        elif token == 'whitespace':
            flags['SEND_TAG'] = True
        elif token == 'never':
            flags = {}
        else:
            raise ValueError('unknown policy token %r' % token)
    return flags


class Peer:
    def __init__(self):
        self.account = None

    def ctx(self, cmd):
        return self.account.getContext(cmd['peer'])

    def fingerprint(self):
        key = self.account.getPrivkey()
        return {'fingerprint': key.cfingerprint(), 'fingerprint_human': str(key)}

    def do_init(self, cmd):
        self.account = PeerAccount(cmd['account'], cmd.get('protocol', 'xmpp'),
                                   int(cmd.get('fragment_size', 0)),
                                   parse_policy(cmd.get('policy', 'default')), cmd.get('keyfile'))
        return self.fingerprint()

    def do_fingerprint(self, cmd):
        return self.fingerprint()

    def do_send(self, cmd):
        ctx = self.ctx(cmd)
        try:
            returned = ctx.sendMessage(potr.context.FRAGMENT_SEND_ALL, cmd['text'].encode('utf-8'))
        except potr.context.NotEncryptedError:
            ctx.events.append({'type': 'msg', 'event': 'connection_ended'})
            returned = None
        return ctx.take(returned)

    def do_receive(self, cmd):
        ctx = self.ctx(cmd)
        wire = cmd['wire']
        show, decrypted, tlvs = None, False, []
        try:
            text, tlvs = ctx.receiveMessage(wire.encode('utf-8'))
            if text is not None:
                show, decrypted = text_of(text), True
        except potr.context.NotOTRMessage as e:
            show = text_of(e.args[0]) if e.args else wire
        except potr.context.UnencryptedMessage as e:
            show = text_of(e.args[0]) if e.args else wire
            ctx.events.append({'type': 'msg', 'event': 'rcvdmsg_unencrypted', 'message': show})
        except potr.context.ErrorReceived as e:
            err = e.args[0].error if e.args and isinstance(e.args[0], proto.Error) else b''
            ctx.events.append({'type': 'msg', 'event': 'rcvdmsg_general_err',
                               'message': text_of(err)})
        except potr.context.NotEncryptedError:
            ctx.events.append({'type': 'msg', 'event': 'rcvdmsg_not_in_private'})
        except crypt.InvalidParameterError:
            ctx.events.append({'type': 'msg', 'event': 'rcvdmsg_unreadable'})
        except Exception as e:  # potr's parsers raise whatever struct/base64 raise
            ctx.events.append({'type': 'msg', 'event': 'rcvdmsg_malformed',
                               'error': '%s: %s' % (type(e).__name__, e)})
        out = ctx.take()
        out.update({
            'ignore': show is None,
            'show': show,
            'decrypted': decrypted,
            'tlvs': [{'type': t.typ, 'data': bytes(t)[4:].hex()} for t in tlvs],
        })
        return out

    def do_start_ake(self, cmd):
        ctx = self.ctx(cmd)
        return ctx.take(self.account.getDefaultQueryMessage(ctx.getPolicy))

    def do_end(self, cmd):
        ctx = self.ctx(cmd)
        ctx.disconnect()
        return ctx.take()

    def do_status(self, cmd):
        ctx = self.ctx(cmd)
        crypto = ctx.crypto
        their = crypto.theirPubkey.cfingerprint() if crypto.theirPubkey is not None else None
        smp = crypto.smp
        return {
            'msgstate': STATE_NAMES[ctx.state],
            'protocol_version': 2 if ctx.state != potr.context.STATE_PLAINTEXT else 0,
            'fingerprint': self.account.getPrivkey().cfingerprint(),
            'their_fingerprint': their,
            'ssid': crypto.sessionId.hex() if crypto.sessionId is not None else None,
            'ssid_half': 'none' if crypto.sessionId is None
                         else ('second' if crypto.sessionIdHalf else 'first'),
            'smp_in_progress': smp is not None and smp.state != 1,
            'our_keyid': crypto.ourKeyid,
            'their_keyid': crypto.theirKeyid,
            'trust': ctx.getTrust(their) if their is not None else None,
        }

    def do_extra_symkey(self, cmd):
        ctx = self.ctx(cmd)
        key = ctx.getExtraKey(extraKeyAppId=struct.pack('!I', int(cmd['use'])),
                              extraKeyAppData=bytes.fromhex(cmd.get('usedata', '')))
        out = ctx.take()
        out['key'] = key.hex()
        return out

    def do_smp_start(self, cmd):
        ctx = self.ctx(cmd)
        q = cmd.get('question')
        ctx.smpInit(cmd['secret'].encode('utf-8'),
                    question=None if q is None else q.encode('utf-8'))
        return ctx.take()

    def do_smp_respond(self, cmd):
        ctx = self.ctx(cmd)
        ctx.smpGotSecret(cmd['secret'].encode('utf-8'))
        return ctx.take()

    def do_smp_abort(self, cmd):
        ctx = self.ctx(cmd)
        ctx.smpAbort()
        return ctx.take()


def main():
    potr_compat.check()
    sys.stdin.reconfigure(encoding='utf-8')
    peer = Peer()
    out = sys.stdout
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = None
        try:
            cmd = json.loads(line)
            name = cmd.get('cmd')
            if name == 'quit':
                out.write(json.dumps({'ok': True}) + '\n')
                out.flush()
                return
            handler = getattr(peer, 'do_' + str(name), None)
            if handler is None:
                raise ValueError('unknown command %r' % name)
            if name != 'init' and peer.account is None:
                raise ValueError('init first')
            answer = handler(cmd)
            answer['ok'] = True
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            if peer.account is not None and isinstance(cmd, dict) and 'peer' in cmd:
                peer.account.getContext(cmd['peer']).take()  # drop partial output
            answer = {'ok': False, 'error': '%s: %s' % (type(e).__name__, e)}
        out.write(json.dumps(answer) + '\n')
        out.flush()


if __name__ == '__main__':
    main()
