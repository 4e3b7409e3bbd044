#!/usr/bin/python3
"""
python-omemo 1.0 (Debian: python3-omemo, python3-oldmemo, python3-twomemo over python3-x3dh,
python3-doubleratchet, python3-xeddsa) timing the operations of `npm run bench`'s OMEMO half,
for OMEMO 0.3 (oldmemo) and omemo:2 (twomemo), through the backends' own API: the layer a
python-omemo SessionManager calls per message (X3DH, Double Ratchet, payload crypto, protobuf).

    /usr/bin/python3 bench/omemo_python_bench.py SETUP_RUNS MESSAGES FANOUT_RUNS

Prints one JSON object on stdout: {"python_omemo": version, "v03": {...}, "v2": {...}} with
medians (each operation timed on its own) in milliseconds per operation (x3dh_ms, encrypt100_ms, decrypt100_ms, fanout10_ms,
fanout100_ms). Timing happens inside this process (time.perf_counter around the operations
only): interpreter start-up, imports, key generation and the pipe are not measured.

Operations (the same as bench/omemo-ours-bench.ts):
  x3dh        build_session_active(bundle, key material) + KeyExchange/EncryptedKeyMaterial
              serialization, then parsing them + build_session_passive
  encrypt100  encrypt_plaintext(100 B) + encrypt_key_material, confirmed session, then the
              library's own `<encrypted>` serializer (oldmemo/twomemo.etree.serialize_message)
              and ElementTree to a string
  decrypt100  ElementTree from the string + the library's parse_message (which validates
              against the XEP's XML schema) + decrypt_key_material + decrypt_plaintext
  fanoutN     one encrypt_plaintext + N x encrypt_key_material + one serialized `<encrypted>`
oldmemo's parse_message asks the session manager for the sender's identity key (0.3's wire
format lacks its sign bit); a fixed directory answers that lookup here (a real session manager
answers from storage, which costs more).
"""
import asyncio
import json
import statistics
import sys
import time
from typing import Any, Dict, FrozenSet, List, Tuple

import omemo
from omemo.storage import Just, Maybe, Nothing
from omemo.types import JSONType

import xml.etree.ElementTree as ET

import oldmemo
import oldmemo.etree
import oldmemo.oldmemo as old
import twomemo
import twomemo.etree
import twomemo.twomemo as two
from omemo.types import DeviceInformation

ALICE, BOB = "alice@example.org", "bob@example.org"
SETUP_WARMUP = 3      # as bench/stats.ts: untimed set-ups first
MESSAGE_WARMUP = 100  # as bench/stats.ts: untimed messages first


class MemStorage(omemo.Storage):
    """python-omemo's key/value storage, in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.data: Dict[str, JSONType] = {}

    async def _load(self, key: str) -> Maybe[JSONType]:
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key: str, value: JSONType) -> Any:
        self.data[key] = value

    async def _delete(self, key: str) -> Any:
        self.data.pop(key, None)


class DeviceDirectory:
    """Answers oldmemo.etree.parse_message's one question: the sending device's identity key."""

    def __init__(self) -> None:
        self.devices: Dict[str, List[DeviceInformation]] = {}

    def add(self, namespace: str, jid: str, device_id: int, identity_key: bytes) -> None:
        self.devices.setdefault(jid, []).append(DeviceInformation(
            namespaces=frozenset({namespace}), active=frozenset({(namespace, True)}), bare_jid=jid,
            device_id=device_id, identity_key=identity_key, trust_level_name="trusted", label=None))

    async def get_device_information(self, bare_jid: str) -> FrozenSet[DeviceInformation]:
        return frozenset(self.devices.get(bare_jid, []))


class Version:
    """The per-version classes and wire steps."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.mod = old if name == "v03" else two
        self.etree = oldmemo.etree if name == "v03" else twomemo.etree
        self.namespace = self.mod.NAMESPACE
        self.directory = DeviceDirectory()

    def serialize(self, sender: "Device", content: Any, ekms: List[Any]) -> str:
        message = omemo.Message(self.namespace, sender.jid, sender.device_id, content,
                                frozenset((ekm, None) for ekm in ekms))
        return ET.tostring(self.etree.serialize_message(message), encoding="unicode")

    async def parse(self, xml: str, sender_jid: str, own_jid: str) -> omemo.Message:
        element = ET.fromstring(xml)
        if self.name == "v03":
            return await self.etree.parse_message(element, sender_jid, own_jid, self.directory)
        return self.etree.parse_message(element, sender_jid)

    def backend(self) -> omemo.Backend:
        return self.mod.Oldmemo(MemStorage()) if self.name == "v03" else self.mod.Twomemo(MemStorage())

    def serialize_kex(self, session: Any, ekm: Any) -> bytes:
        if self.name == "v03":
            return session.key_exchange.serialize(ekm.serialize())[0]
        return session.key_exchange.serialize(ekm.serialize())

    def parse_kex(self, wire: bytes, sender: "Device", recipient: "Device") -> Tuple[Any, Any]:
        if self.name == "v03":
            # 0.3's key exchange lacks the Ed25519 sign bit of the sender's identity key
            kex, message = self.mod.KeyExchangeImpl.parse(wire, bool((sender.identity_key[31] >> 7) & 1))
        else:
            kex, message = self.mod.KeyExchangeImpl.parse(wire)
        # like the etree parsers: the key material is addressed to the recipient device
        return kex, self.mod.EncryptedKeyMaterialImpl.parse(message, recipient.jid, recipient.device_id)


class Device:
    def __init__(self, v: Version, jid: str, device_id: int) -> None:
        self.v, self.jid, self.device_id = v, jid, device_id
        self.backend = v.backend()

    async def init(self, pre_keys: int = 100) -> "Device":
        # python-omemo's SessionManager keeps 100 one-time prekeys published (a fresh backend has
        # none); the fan-out recipients need only one each (a prekey count does not enter the
        # timed encryption) and are quicker to make with fewer
        await self.backend.generate_pre_keys(pre_keys)
        self.bundle = await self.backend.get_bundle(self.jid, self.device_id)
        self.identity_key = self.bundle.identity_key
        self.v.directory.add(self.v.namespace, self.jid, self.device_id, self.identity_key)
        return self


async def set_up(v: Version, alice: Device, bob: Device, pkm: Any) -> Tuple[Any, Any, Any]:
    """Timed: active side builds and sends, passive side parses and builds."""
    session_a, ekm = await alice.backend.build_session_active(bob.jid, bob.device_id, bob.bundle, pkm)
    wire = v.serialize_kex(session_a, ekm)
    kex, ekm_in = v.parse_kex(wire, alice, bob)
    session_b, opened = await bob.backend.build_session_passive(alice.jid, alice.device_id, kex, ekm_in)
    return session_a, session_b, opened


async def encrypt(v: Version, sender: Device, sessions: List[Any], plaintext: bytes) -> str:
    """payload + one ratchet message per session + the serialized `<encrypted>`."""
    content, pkm = await sender.backend.encrypt_plaintext(plaintext)
    ekms = [await sender.backend.encrypt_key_material(s, pkm) for s in sessions]
    return v.serialize(sender, content, ekms)


async def decrypt(v: Version, recipient: Device, session: Any, xml: str, sender: Device) -> bytes:
    """parse (schema-validated) + our key + ratchet + payload."""
    message = await v.parse(xml, sender.jid, recipient.jid)
    ekm = next(k for k, _kex in message.keys if k.device_id == recipient.device_id)
    pkm = await recipient.backend.decrypt_key_material(session, ekm)
    return await recipient.backend.decrypt_plaintext(message.content, pkm)


async def establish(v: Version, alice: Device, bob: Device) -> Tuple[Any, Any]:
    """Set up + one reply from bob (alice's sending chain then follows a DH ratchet step)."""
    _c, pkm = await alice.backend.encrypt_plaintext(b"x" * 100)
    session_a, session_b, _ = await set_up(v, alice, bob, pkm)
    xml = await encrypt(v, bob, [session_b], b"ack")
    if await decrypt(v, alice, session_a, xml, bob) != b"ack":
        raise RuntimeError("python-omemo: reply did not decrypt")
    return session_a, session_b


async def bench_version(name: str, setup_runs: int, messages: int, fanout_runs: int) -> Dict[str, float]:
    v = Version(name)
    alice = await Device(v, ALICE, 1001).init()
    bob = await Device(v, BOB, 2001).init()

    setup: List[float] = []
    for i in range(SETUP_WARMUP + setup_runs):
        _c, pkm = await alice.backend.encrypt_plaintext(b"x" * 100)
        t0 = time.perf_counter()
        _a, _b, opened = await set_up(v, alice, bob, pkm)
        dt = time.perf_counter() - t0
        if opened.key != pkm.key:
            raise RuntimeError("python-omemo: first message did not open")
        if i >= SETUP_WARMUP:
            setup.append(dt * 1000)

    session_a, session_b = await establish(v, alice, bob)
    message = b"a" * 100
    # each message timed on its own: the median is robust to preemption and GC pauses
    enc: List[float] = []
    wires: List[str] = []
    for i in range(MESSAGE_WARMUP + messages):
        t0 = time.perf_counter()
        xml = await encrypt(v, alice, [session_a], message)
        if i >= MESSAGE_WARMUP:
            enc.append((time.perf_counter() - t0) * 1000)
        wires.append(xml)
    dec: List[float] = []
    for i, xml in enumerate(wires):
        t0 = time.perf_counter()
        plaintext = await decrypt(v, bob, session_b, xml, alice)
        if i >= MESSAGE_WARMUP:
            dec.append((time.perf_counter() - t0) * 1000)
        if plaintext != message:
            raise RuntimeError("python-omemo: decrypt mismatch")

    # 100 confirmed sessions; fan-out to 10 uses the first 10
    everyone = []
    for i in range(100):
        device = await Device(v, BOB, 3001 + i).init(pre_keys=5)
        everyone.append((await establish(v, alice, device))[0])

    async def fanout(n: int) -> float:
        sessions = everyone[:n]
        times: List[float] = []
        for r in range(fanout_runs + 1):
            t0 = time.perf_counter()
            xml = await encrypt(v, alice, sessions, message)
            dt = time.perf_counter() - t0
            if xml.count("rid=") != n:
                raise RuntimeError("python-omemo: fan-out incomplete")
            if r > 0:
                times.append(dt * 1000)
        return statistics.median(times)

    return {
        "x3dh_ms": statistics.median(setup),
        "encrypt100_ms": statistics.median(enc),
        "decrypt100_ms": statistics.median(dec),
        "fanout10_ms": await fanout(10),
        "fanout100_ms": await fanout(100),
    }


async def main() -> None:
    setup_runs, messages, fanout_runs = (int(a) for a in sys.argv[1:4])
    from importlib.metadata import version
    out: Dict[str, Any] = {"python_omemo": version("OMEMO")}
    for name in ("v03", "v2"):
        out[name] = await bench_version(name, setup_runs, messages, fanout_runs)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
