#!/usr/bin/python3
"""slixmpp + python3-potr (OTR protocol v2 only) echo bot, driven by test/interop/clients/potr-bot.ts.

Logs in with STARTTLS (certificate checked against --ca), answers OTR, and replies
"echo: <text>" to every decrypted message, encrypted. Reports on stdout, one JSON object a
line: online (with its own OTR fingerprint), state (with the peer's fingerprint), decrypted,
plaintext, otr-error. Commands on stdin, one JSON object a line: {"cmd": "query", "to": JID}
sends an OTR v2 Query Message; {"cmd": "quit"} disconnects.
Run with Debian's /usr/bin/python3 (python3-slixmpp, python3-potr, python3-pycryptodome).
"""
import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

import slixmpp
import potr
import potr_compat  # noqa: F401  (patches potr 1.0.2 for pycryptodome 3)

POLICY = {"ALLOW_V1": False, "ALLOW_V2": True, "REQUIRE_ENCRYPTION": False,
          "SEND_TAG": False, "WHITESPACE_START_AKE": True, "ERROR_START_AKE": True}
STATES = ["PLAINTEXT", "ENCRYPTED", "FINISHED"]


def report(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class Ctx(potr.context.Context):
    def getPolicy(self, key):
        return POLICY.get(key, False)

    def inject(self, msg, appdata=None):
        body = msg.decode() if isinstance(msg, bytes) else msg
        self.user.bot.send_message(mto=self.user.bot.full_jid_of(self.peer), mbody=body, mtype="chat")

    def setState(self, newstate):
        super().setState(newstate)
        key = self.getCurrentKey()
        report(event="state", peer=self.peer, state=STATES[newstate],
               peerFingerprint=key.cfingerprint() if key is not None else None)


class Acct(potr.context.Account):
    contextclass = Ctx

    def __init__(self, jid, bot):
        super().__init__(jid, "xmpp", 0)
        self.bot = bot

    def loadPrivkey(self):
        return None  # a fresh DSA key each run

    def savePrivkey(self):
        pass

    def loadTrusts(self):
        pass

    def saveTrusts(self):
        pass


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.otr = Acct(jid, self)
        self.fingerprint = self.otr.getPrivkey().cfingerprint()
        self.last_full = {}
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("disconnected", lambda _e: report(event="disconnected"))

    def full_jid_of(self, bare):
        return self.last_full.get(bare, bare)

    async def start(self, _event):
        self.send_presence()
        await self.get_roster()
        ssl_object = self.transport.get_extra_info("ssl_object")
        report(event="online", jid=str(self.boundjid), fingerprint=self.fingerprint,
               tls=ssl_object.version() if ssl_object else None)
        asyncio.get_event_loop().add_reader(sys.stdin, self.on_command)

    def on_command(self):
        line = sys.stdin.readline()
        if not line:
            self.disconnect()
            return
        cmd = json.loads(line)
        if cmd.get("cmd") == "query":
            self.send_message(mto=cmd["to"], mbody="?OTRv2?", mtype="chat")
        elif cmd.get("cmd") == "quit":
            self.disconnect()

    def on_message(self, msg):
        if msg["type"] not in ("chat", "normal"):
            return
        full = str(msg["from"])
        peer = msg["from"].bare
        self.last_full[peer] = full
        ctx = self.otr.getContext(peer)
        try:
            text, _tlvs = ctx.receiveMessage(msg["body"].encode())
        except potr.context.NotOTRMessage:
            report(event="plaintext", peer=peer, text=msg["body"])
            return
        except potr.context.UnencryptedMessage as e:
            report(event="otr-error", peer=peer, error="unencrypted: %s" % e)
            return
        except potr.context.ErrorReceived as e:
            report(event="otr-error", peer=peer, error="error message: %s" % e)
            return
        except Exception as e:  # report anything potr raises instead of dying silently
            report(event="otr-error", peer=peer, error="%s: %s" % (type(e).__name__, e))
            return
        if text:
            decoded = text.decode()
            report(event="decrypted", peer=peer, text=decoded)
            out = ctx.sendMessage(potr.context.FRAGMENT_SEND_ALL, ("echo: " + decoded).encode())
            if out:
                self.send_message(mto=full, mbody=out.decode(), mtype="chat")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    bot = Bot(args.jid, args.password)
    bot.ca_certs = Path(args.ca)
    bot.connect((args.host, args.port))
    bot.process(forever=False)


if __name__ == "__main__":
    main()
