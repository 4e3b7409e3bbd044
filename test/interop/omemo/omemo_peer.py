#!/usr/bin/python3
"""
Real OMEMO peer for interop tests, built on Debian's python3-omemo 1.0.x (+ oldmemo/twomemo 1.0.x).

Must be run with Debian's interpreter (/usr/bin/python3), since the libs are apt packages.
Needs: apt-get install -y python3-omemo python3-oldmemo python3-twomemo python3-xmlschema
       (pulls python3-xeddsa, python3-x3dh, python3-doubleratchet, python3-protobuf, python3-nacl, ...)

Modes
  /usr/bin/python3 omemo_peer.py selftest
      Two SessionManagers (alice@a.example / bob@b.example) in one process, talking through a fake PEP
      service and a fake message router. EVERYTHING crossing "the wire" (device lists, bundles, messages) is
      serialized to an XML *string* and re-parsed, exactly like a foreign implementation would see it.
      Runs for eu.siacs.conversations.axolotl (oldmemo, OMEMO 0.3) and urn:xmpp:omemo:2 (twomemo).

  /usr/bin/python3 omemo_peer.py serve --jid bob@b.example [--state FILE]
      JSON-lines RPC on stdin/stdout (one request per line, one response per line) so that a TypeScript
      test can drive a real peer. Log output goes to stderr. Ops:
        {"op":"info"}                                   -> own device id, device lists + bundles (XML) per ns
        {"op":"pep_devicelist","ns":NS,"jid":J,"xml":X} -> store a peer's published device list (<list>/<devices>)
        {"op":"pep_bundle","ns":NS,"jid":J,"device_id":D,"xml":X} -> store a peer's published bundle
        {"op":"encrypt","ns":NS,"to":[J...],"plaintext":S}   -> {"xml": "<encrypted .../>"}
             (plaintext is UTF-8 text; for omemo:2 pass the full SCE <envelope> string)
        {"op":"decrypt","from":J,"xml":X}               -> {"plaintext": S|null, "sender_device": D,
                                                            "sender_identity_key_ed25519": B64}
        {"op":"dump_message","xml":X}                   -> python's own view of an <encrypted> element:
             sid, iv/payload (b64), and per key: rid, jid (omemo:2), kex flag, raw bytes (b64) and the
             protobuf fields decoded with oldmemo_pb2/twomemo_pb2 (ints, bytes as b64)
        {"op":"dump_bundle","ns":NS,"xml":X}            -> fields of a <bundle> as python parses them
        {"op":"parse_devicelist","ns":NS,"xml":X}       -> {"devices": {id: label}} via python's etree parser
        {"op":"validate_message","ns":NS,"xml":X}       -> python's XML-schema validation of an <encrypted>
        {"op":"payload_encrypt","ns":NS,"plaintext":B64} -> the backend's own payload encryption:
             {"key_material": key||tag (b64), "iv": b64|null (0.3 only), "payload": b64}
        {"op":"payload_decrypt","ns":NS,"key_material":B64,"iv":B64|null,"payload":B64} -> {"plaintext": b64}
        {"op":"verify_bundle","ns":NS,"xml":X}          -> {"valid": bool}: python-x3dh's signed-prekey
             signature check on the bundle as python parses it
        {"op":"export_private","ns":NS}              -> TEST ONLY: this throwaway peer's private X3DH keys, so
             the TypeScript stack can act as this device: {"identity": {"kind": "seed"|"priv", "key": b64},
             "signed_pre_key": {"id", "priv"}, "old_signed_pre_key": null|{...}, "pre_keys": {id: priv}}
        {"op":"pb_encode","ns":NS,"type":T,"fields":F}  -> python-protobuf SerializeToString (b64) of the
             message type T with fields F (bytes given as b64)
      Every response also carries
        "outbox":    [{"to":J,"ns":NS,"xml":X}]  messages the library sent by itself (key-exchange
                     completion / heartbeat "empty" messages) -- deliver them to the other side
        "published": {"bundle":{ns:xml}, "devicelist":{ns:xml}} whenever our own PEP data changed
      Errors: {"ok":false,"error":"ExceptionName: message"}
"""
import argparse
import asyncio
import base64
import json
import logging
import os
import sys
import xml.etree.ElementTree as ET
from typing import Any, Dict, FrozenSet, List, Optional

import omemo
from omemo.storage import Just, Maybe, Nothing
from omemo.types import DeviceInformation, JSONType, TrustLevel

import oldmemo
import oldmemo.etree
import twomemo
import twomemo.etree

NS_OLD = oldmemo.oldmemo.NAMESPACE   # "eu.siacs.conversations.axolotl"
NS_TWO = twomemo.twomemo.NAMESPACE   # "urn:xmpp:omemo:2"
ETREE = {NS_OLD: oldmemo.etree, NS_TWO: twomemo.etree}


def xml_str(elt: ET.Element, ns: str) -> str:
    """Serialize as <encrypted xmlns="ns">... (ElementTree would otherwise emit ns0: prefixes, and its
    default_namespace option refuses un-namespaced attributes)."""
    import copy
    elt = copy.deepcopy(elt)
    for e in elt.iter():
        if e.tag.startswith("{"):
            e.tag = e.tag.split("}", 1)[1]
    elt.set("xmlns", ns)
    return ET.tostring(elt, encoding="unicode")


# ---------------------------------------------------------------- storage
class MemStorage(omemo.Storage):
    """In-memory key/value storage; optionally mirrored to a JSON file for persistence across runs."""

    def __init__(self, path: Optional[str] = None) -> None:
        super().__init__()
        self.path = path
        self.data: Dict[str, JSONType] = {}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.data = json.load(f)

    def _flush(self) -> None:
        if self.path:
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.data, f)
            os.replace(tmp, self.path)

    async def _load(self, key: str) -> Maybe[JSONType]:
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key: str, value: JSONType) -> Any:
        self.data[key] = value
        self._flush()

    async def _delete(self, key: str) -> Any:
        self.data.pop(key, None)
        self._flush()


# ---------------------------------------------------------------- fake XMPP (PEP + message routing)
class FakeNet:
    """
    Stands in for the server. PEP items are kept as XML strings (what a pubsub item payload would be).
    Node names as on a real server:
      oldmemo: eu.siacs.conversations.axolotl.devicelist, eu.siacs.conversations.axolotl.bundles:<device_id>
      twomemo: urn:xmpp:omemo:2:devices (item id "current"), urn:xmpp:omemo:2:bundles (item id = device id)
    """

    def __init__(self) -> None:
        self.devicelists: Dict[tuple, str] = {}   # (ns, jid) -> xml
        self.bundles: Dict[tuple, str] = {}       # (ns, jid, device_id) -> xml
        self.outbox: List[Dict[str, Any]] = []    # messages sent by the library on its own
        self.published: Dict[str, Dict[str, str]] = {}

    @staticmethod
    def node_names(ns: str, device_id: int) -> str:
        if ns == NS_OLD:
            return f"{ns}.devicelist / {ns}.bundles:{device_id}"
        return f"{ns}:devices (item 'current') / {ns}:bundles (item '{device_id}')"


def make_session_manager_class(net: FakeNet, own_jid: str):
    """python-omemo calls cls() with no args inside create(), so per-account data goes on a subclass."""

    class SM(omemo.SessionManager):
        @staticmethod
        async def _upload_bundle(bundle: omemo.Bundle) -> Any:
            ns = bundle.namespace
            xml = xml_str(ETREE[ns].serialize_bundle(bundle), ns)
            net.bundles[(ns, bundle.bare_jid, bundle.device_id)] = xml
            net.published.setdefault("bundle", {})[ns] = xml

        @staticmethod
        async def _download_bundle(namespace: str, bare_jid: str, device_id: int) -> omemo.Bundle:
            xml = net.bundles.get((namespace, bare_jid, device_id))
            if xml is None:
                raise omemo.BundleNotFound(f"no bundle {namespace} {bare_jid} {device_id}")
            return ETREE[namespace].parse_bundle(ET.fromstring(xml), bare_jid, device_id)

        @staticmethod
        async def _delete_bundle(namespace: str, device_id: int) -> Any:
            net.bundles.pop((namespace, own_jid, device_id), None)

        @staticmethod
        async def _upload_device_list(namespace: str, device_list: Dict[int, Optional[str]]) -> Any:
            xml = xml_str(ETREE[namespace].serialize_device_list(device_list), namespace)
            net.devicelists[(namespace, own_jid)] = xml
            net.published.setdefault("devicelist", {})[namespace] = xml

        @staticmethod
        async def _download_device_list(namespace: str, bare_jid: str) -> Dict[int, Optional[str]]:
            xml = net.devicelists.get((namespace, bare_jid))
            if xml is None:
                return {}
            return ETREE[namespace].parse_device_list(ET.fromstring(xml))

        async def _evaluate_custom_trust_level(self, device: DeviceInformation) -> TrustLevel:
            # "Blind trust before verification"-ish: everything not explicitly distrusted is trusted.
            return {
                "trusted": TrustLevel.TRUSTED, "blind": TrustLevel.TRUSTED,
                "distrusted": TrustLevel.DISTRUSTED, "undecided": TrustLevel.UNDECIDED,
            }[device.trust_level_name]

        async def _make_trust_decision(self, undecided: FrozenSet[DeviceInformation], identifier: Optional[str]) -> Any:
            for d in undecided:
                await self.set_trust(d.bare_jid, d.identity_key, "trusted")

        @staticmethod
        async def _send_message(message: omemo.Message, bare_jid: str) -> Any:
            ns = message.namespace
            net.outbox.append({
                "to": bare_jid, "from": own_jid, "ns": ns,
                "xml": xml_str(ETREE[ns].serialize_message(message), ns),
            })

    SM.__name__ = f"SM<{own_jid}>"
    return SM


async def create_peer(net: FakeNet, jid: str, state: Optional[str] = None) -> omemo.SessionManager:
    storage = MemStorage(state)
    cls = make_session_manager_class(net, jid)
    backends = [oldmemo.Oldmemo(storage), twomemo.Twomemo(storage)]  # both share one identity key
    sm = await cls.create(
        backends,
        storage,
        jid,
        initial_own_label="peer.py",
        undecided_trust_level_name="blind",
    )
    await sm.after_history_sync()   # create() leaves the manager in history-sync mode
    sm.peer_backends = {b.namespace: b for b in backends}  # for the payload ops
    # create() only publishes on first run; with a fresh FakeNet (e.g. --state reload) publish again.
    device_id = (await sm.get_own_device_information())[0].device_id
    for backend in backends:
        if (backend.namespace, jid, device_id) not in net.bundles:
            await cls._upload_bundle(await backend.get_bundle(jid, device_id))
        if (backend.namespace, jid) not in net.devicelists:
            await sm.refresh_device_list(backend.namespace, jid)  # re-adds own device -> _upload_device_list
    return sm


async def encrypt_to_xml(sm: omemo.SessionManager, ns: str, to: List[str], plaintext: bytes) -> str:
    messages, errors = await sm.encrypt(frozenset(to), {NS_OLD: plaintext, NS_TWO: plaintext},
                                        backend_priority_order=[ns])
    if errors:
        logging.warning("non-critical encryption errors: %s", errors)
    (msg,) = [m for m in messages if m.namespace == ns]
    return xml_str(ETREE[ns].serialize_message(msg), ns)


async def decrypt_from_xml(sm: omemo.SessionManager, own_jid: str, sender: str, xml: str):
    elt = ET.fromstring(xml)
    ns = elt.tag[1:].split("}")[0]
    if ns == NS_OLD:
        # oldmemo needs the session manager: the 0.3 wire format lacks the Ed25519 sign bit of the sender IK
        msg = await oldmemo.etree.parse_message(elt, sender, own_jid, sm)
    else:
        msg = twomemo.etree.parse_message(elt, sender)
    plaintext, device, _key_material = await sm.decrypt(msg)
    return plaintext, device


# ---------------------------------------------------------------- selftest
async def selftest() -> int:
    net = FakeNet()
    A, B = "alice@a.example", "bob@b.example"
    alice = await create_peer(net, A)
    bob = await create_peer(net, B)
    a_dev = (await alice.get_own_device_information())[0]
    b_dev = (await bob.get_own_device_information())[0]
    print(f"alice device {a_dev.device_id}, bob device {b_dev.device_id}, "
          f"alice IK (Ed25519) {a_dev.identity_key.hex()}")
    for ns in (NS_OLD, NS_TWO):
        print(f"  PEP {ns}: devicelist = {net.devicelists[(ns, A)]}")
        print(f"  PEP {ns}: bundle len = {len(net.bundles[(ns, A, a_dev.device_id)])} chars; "
              f"nodes: {FakeNet.node_names(ns, a_dev.device_id)}")

    # In real XMPP the device lists arrive as PEP +notify events; here we "fetch" them explicitly.
    for ns in (NS_OLD, NS_TWO):
        await alice.refresh_device_list(ns, B)
        await bob.refresh_device_list(ns, A)

    ok = True

    async def deliver_outbox() -> None:
        # deliver library-generated messages (empty key-exchange completion / heartbeat messages)
        while net.outbox:
            m = net.outbox.pop(0)
            rcpt = alice if m["to"] == A else bob
            pt, dev = await decrypt_from_xml(rcpt, m["to"], m["from"], m["xml"])
            print(f"    [auto] {m['from']} -> {m['to']} ({m['ns']}) empty msg, plaintext={pt!r}")

    for ns in (NS_OLD, NS_TWO):
        print(f"== {ns}")
        # 1st message: carries key exchange (prekey="true" / kex="true")
        body = b"hello bob, this is alice" if ns == NS_OLD else (
            b"<envelope xmlns='urn:xmpp:sce:1'><content><body xmlns='jabber:client'>hello bob</body>"
            b"</content><rpad>abc</rpad><from jid='alice@a.example'/></envelope>")
        x1 = await encrypt_to_xml(alice, ns, [B], body)
        print("  A->B #1:", x1[:300] + ("..." if len(x1) > 300 else ""))
        pt, dev = await decrypt_from_xml(bob, B, A, x1)
        print(f"  B decrypted #1: {pt!r} from device {dev.device_id}")
        ok &= pt == body
        await deliver_outbox()   # bob auto-sends an empty message to complete the handshake
        # 2nd message: session confirmed -> no key exchange any more
        x2 = await encrypt_to_xml(alice, ns, [B], b"second")
        kex_attr = "prekey=" if ns == NS_OLD else "kex="
        print(f"  A->B #2 has key exchange: {kex_attr in x2}")
        pt, _ = await decrypt_from_xml(bob, B, A, x2)
        ok &= pt == b"second"
        # reply B->A
        x3 = await encrypt_to_xml(bob, ns, [A], b"hi alice")
        pt, _ = await decrypt_from_xml(alice, A, B, x3)
        print(f"  A decrypted reply: {pt!r}")
        ok &= pt == b"hi alice"
        await deliver_outbox()
        # out-of-order delivery (skipped message keys)
        xs = [await encrypt_to_xml(alice, ns, [B], f"ooo{i}".encode()) for i in range(3)]
        got = [(await decrypt_from_xml(bob, B, A, xs[i]))[0] for i in (2, 0, 1)]
        print(f"  out-of-order: {got}")
        ok &= got == [b"ooo2", b"ooo0", b"ooo1"]
        await deliver_outbox()

    print("SELFTEST", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


# ---------------------------------------------------------------- wire dumps (byte-level comparison ops)
import oldmemo.oldmemo_pb2 as OLD_PB
import twomemo.twomemo_pb2 as TWO_PB


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pb_fields(msg: Any) -> Dict[str, Any]:
    """The fields that are SET in a protobuf message, bytes as base64."""
    return {f.name: (b64(v) if isinstance(v, bytes) else v) for f, v in msg.ListFields()}


def dump_key_old(data: bytes, prekey: bool) -> Dict[str, Any]:
    res: Dict[str, Any] = {}
    signal_message = data
    if prekey:
        if data[:1] != b"\x33":
            raise ValueError("prekey message without version byte")
        kex = OLD_PB.OMEMOKeyExchange.FromString(data[1:])
        res["key_exchange"] = pb_fields(kex)
        signal_message = kex.message
    if signal_message[:1] != b"\x33":
        raise ValueError("signal message without version byte")
    res["signal_message"] = pb_fields(OLD_PB.OMEMOMessage.FromString(signal_message[1:-8]))
    res["mac"] = b64(signal_message[-8:])
    return res


def dump_key_two(data: bytes, kex: bool) -> Dict[str, Any]:
    res: Dict[str, Any] = {}
    authenticated = data
    if kex:
        ke = TWO_PB.OMEMOKeyExchange.FromString(data)
        res["key_exchange"] = pb_fields(ke)
        res["key_exchange"]["message"] = b64(ke.message.SerializeToString())
        authenticated = ke.message.SerializeToString()
    am = TWO_PB.OMEMOAuthenticatedMessage.FromString(authenticated)
    res["authenticated_message"] = pb_fields(am)
    res["omemo_message"] = pb_fields(TWO_PB.OMEMOMessage.FromString(am.message))
    return res


def dump_message(xml: str) -> Dict[str, Any]:
    elt = ET.fromstring(xml)
    ns = elt.tag[1:].split("}")[0]
    N = f"{{{ns}}}"
    if ns == NS_OLD:
        oldmemo.etree.MESSAGE_SCHEMA.validate(elt)
    else:
        twomemo.etree.MESSAGE_SCHEMA.validate(elt)
    header = elt.find(f"{N}header")
    payload = elt.find(f"{N}payload")
    iv = header.find(f"{N}iv")
    keys = []
    groups = [(None, header)] if ns == NS_OLD else [(k.get("jid"), k) for k in header.iter(f"{N}keys")]
    for jid, parent in groups:
        for key in parent.iter(f"{N}key"):
            data = base64.b64decode(key.text)
            flag_attr = "prekey" if ns == NS_OLD else "kex"
            flag = key.get(flag_attr) in ("true", "1")
            entry: Dict[str, Any] = {"rid": int(key.get("rid")), "kex": flag, "data": b64(data)}
            if jid is not None:
                entry["jid"] = jid
            entry.update(dump_key_old(data, flag) if ns == NS_OLD else dump_key_two(data, flag))
            keys.append(entry)
    return {
        "ns": ns, "sid": int(header.get("sid")), "keys": keys,
        "iv": None if iv is None else b64(base64.b64decode(iv.text)),
        "payload": None if payload is None else b64(base64.b64decode(payload.text)),
    }


def dump_bundle(ns: str, xml: str) -> Dict[str, Any]:
    bundle = ETREE[ns].parse_bundle(ET.fromstring(xml), "x@example", 1)
    b = bundle.bundle
    res = {
        "identity_key_ed25519": b64(b.identity_key),
        "signed_pre_key": b64(b.signed_pre_key),
        "signed_pre_key_sig": b64(b.signed_pre_key_sig),
        "signed_pre_key_id": bundle.signed_pre_key_id,
        "pre_keys": {str(bundle.pre_key_ids[k]): b64(k) for k in b.pre_keys},
    }
    return res


def verify_bundle(ns: str, xml: str) -> bool:
    """The signed-prekey signature check python-x3dh runs before an active key agreement
    (BaseState.get_shared_secret_active), on a bundle as the backend's etree parser reads it."""
    import x3dh
    import xeddsa
    b = ETREE[ns].parse_bundle(ET.fromstring(xml), "x@example", 1).bundle
    mod = oldmemo.oldmemo if ns == NS_OLD else twomemo.twomemo
    encoded = mod.StateImpl._encode_public_key(x3dh.IdentityKeyFormat.CURVE_25519, b.signed_pre_key)  # pylint: disable=protected-access
    return bool(xeddsa.ed25519_verify(b.signed_pre_key_sig, b.identity_key, encoded))


def export_private(sm: omemo.SessionManager, ns: str) -> Dict[str, Any]:
    """The peer's private X3DH material from its storage (python-x3dh's JSON: bytes as latin-1 strings)."""
    import xeddsa
    data = sm._SessionManager__storage.data  # pylint: disable=protected-access
    state = data[f"/{ns}/x3dh"]
    raw = lambda s: s.encode("latin-1")  # noqa: E731
    spk_ids = data[f"/{ns}/signed_pre_key_ids"]
    pk_ids = data[f"/{ns}/pre_key_ids"]

    def spk(entry: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        if entry is None:
            return None
        priv = raw(entry["priv"])
        return {"id": spk_ids[b64(xeddsa.priv_to_curve25519_pub(priv))], "priv": b64(priv)}

    identity = state["identity_key"]
    return {
        "identity": {"kind": "seed" if identity["secret_type"] == "SEED" else "priv", "key": b64(raw(identity["secret"]))},
        "signed_pre_key": spk(state["signed_pre_key"]),
        "old_signed_pre_key": spk(state["old_signed_pre_key"]),
        "pre_keys": {str(pk_ids[b64(xeddsa.priv_to_curve25519_pub(raw(p)))]): b64(raw(p)) for p in state["pre_keys"]},
    }


PB_TYPES = {
    (NS_OLD, "OMEMOMessage"): OLD_PB.OMEMOMessage,
    (NS_OLD, "OMEMOKeyExchange"): OLD_PB.OMEMOKeyExchange,
    (NS_TWO, "OMEMOMessage"): TWO_PB.OMEMOMessage,
    (NS_TWO, "OMEMOAuthenticatedMessage"): TWO_PB.OMEMOAuthenticatedMessage,
    (NS_TWO, "OMEMOKeyExchange"): TWO_PB.OMEMOKeyExchange,
}


def pb_encode(ns: str, type_name: str, fields: Dict[str, Any]) -> str:
    cls = PB_TYPES[(ns, type_name)]
    msg = cls()
    for name, value in fields.items():
        fd = cls.DESCRIPTOR.fields_by_name[name]
        if fd.type == fd.TYPE_BYTES:
            setattr(msg, name, base64.b64decode(value))
        elif fd.type == fd.TYPE_MESSAGE:
            getattr(msg, name).ParseFromString(base64.b64decode(value))
        else:
            setattr(msg, name, int(value))
    return b64(msg.SerializeToString())


# ---------------------------------------------------------------- JSON-lines server
async def serve(jid: str, state: Optional[str]) -> int:
    net = FakeNet()
    sm = await create_peer(net, jid, state)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def out(obj: Dict[str, Any]) -> None:
        obj["outbox"], net.outbox = net.outbox, []
        if net.published:
            obj["published"], net.published = net.published, {}
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    async def info() -> Dict[str, Any]:
        dev = (await sm.get_own_device_information())[0]
        return {
            "ok": True, "jid": jid, "device_id": dev.device_id,
            "identity_key_ed25519_b64": base64.b64encode(dev.identity_key).decode(),
            "devicelist": {ns: net.devicelists.get((ns, jid)) for ns in (NS_OLD, NS_TWO)},
            "bundle": {ns: net.bundles.get((ns, jid, dev.device_id)) for ns in (NS_OLD, NS_TWO)},
        }

    net.published = {}
    out(await info())   # greeting line
    while True:
        line = await reader.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req["op"]
            if op == "info":
                res = await info()
            elif op == "pep_devicelist":
                net.devicelists[(req["ns"], req["jid"])] = req["xml"]
                await sm.update_device_list(req["ns"], req["jid"],
                                            ETREE[req["ns"]].parse_device_list(ET.fromstring(req["xml"])))
                res = {"ok": True}
            elif op == "pep_bundle":
                net.bundles[(req["ns"], req["jid"], int(req["device_id"]))] = req["xml"]
                res = {"ok": True}
            elif op == "encrypt":
                xml = await encrypt_to_xml(sm, req["ns"], req["to"], req["plaintext"].encode())
                res = {"ok": True, "xml": xml}
            elif op == "decrypt":
                pt, dev = await decrypt_from_xml(sm, jid, req["from"], req["xml"])
                res = {"ok": True, "plaintext": None if pt is None else pt.decode("utf-8", "replace"),
                       "sender_device": dev.device_id,
                       "sender_identity_key_ed25519": base64.b64encode(dev.identity_key).decode()}
            elif op == "dump_message":
                res = {"ok": True, **dump_message(req["xml"])}
            elif op == "dump_bundle":
                res = {"ok": True, **dump_bundle(req["ns"], req["xml"])}
            elif op == "parse_devicelist":
                parsed = ETREE[req["ns"]].parse_device_list(ET.fromstring(req["xml"]))
                res = {"ok": True, "devices": {str(k): v for k, v in parsed.items()}}
            elif op == "validate_message":
                elt = ET.fromstring(req["xml"])
                (oldmemo.etree if req["ns"] == NS_OLD else twomemo.etree).MESSAGE_SCHEMA.validate(elt)
                res = {"ok": True}
            elif op == "payload_encrypt":
                content, pkm = await sm.peer_backends[req["ns"]].encrypt_plaintext(base64.b64decode(req["plaintext"]))
                res = {"ok": True, "key_material": b64(pkm.key + pkm.auth_tag), "payload": b64(content.ciphertext),
                       "iv": b64(content.initialization_vector) if req["ns"] == NS_OLD else None}
            elif op == "payload_decrypt":
                km = base64.b64decode(req["key_material"])
                mod = oldmemo.oldmemo if req["ns"] == NS_OLD else twomemo.twomemo
                klen = mod.PlainKeyMaterialImpl.KEY_LENGTH
                pkm = mod.PlainKeyMaterialImpl(km[:klen], km[klen:])
                content = (mod.ContentImpl(base64.b64decode(req["payload"]), base64.b64decode(req["iv"]))
                           if req["ns"] == NS_OLD else mod.ContentImpl(base64.b64decode(req["payload"])))
                pt = await sm.peer_backends[req["ns"]].decrypt_plaintext(content, pkm)
                res = {"ok": True, "plaintext": b64(pt)}
            elif op == "verify_bundle":
                res = {"ok": True, "valid": verify_bundle(req["ns"], req["xml"])}
            elif op == "export_private":
                res = {"ok": True, **export_private(sm, req["ns"])}
            elif op == "pb_encode":
                res = {"ok": True, "b64": pb_encode(req["ns"], req["type"], req["fields"])}
            elif op == "quit":
                out({"ok": True})
                return 0
            else:
                res = {"ok": False, "error": f"unknown op {op}"}
        except Exception as e:  # pylint: disable=broad-except
            logging.exception("request failed")
            res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        out(res)


def main() -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("selftest")
    s = sub.add_parser("serve")
    s.add_argument("--jid", required=True)
    s.add_argument("--state")
    p.add_argument("-v", action="store_true")
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if a.v else logging.WARNING)
    if a.mode == "selftest":
        return asyncio.run(selftest())
    return asyncio.run(serve(a.jid, a.state))


if __name__ == "__main__":
    sys.exit(main())
