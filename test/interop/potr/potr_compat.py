"""In-memory fixes that let Debian bookworm's python3-potr 1.0.2 run on python3-pycryptodome 3.11.

potr 1.0.2 was written against PyCrypto, whose APIs pycryptodome removed. Without these patches
(checked on Debian 12: python3-potr 1.0.2-5, python3-pycryptodome 3.11.0+dfsg1-4):
  1. AES-CTR: potr hands AES.new a callable counter object -> TypeError "'Counter' object is
     not iterable".  Fix: MODE_CTR with the 8-byte counter prefix as nonce and the low 8 bytes
     starting at the counter's value (OTR's "top half = ctr, bottom half = 0").
  2. DSA key generation reads privkey.key.y -> AttributeError "key".  Fix: build the key from
     DSA.generate(1024)'s y, g, p, q, x.
  3. DsaKey.sign / verify raise NotImplementedError ("Use module Cryptodome.Signature.DSS").
     Fix: pycryptodome's raw _sign(m, k) / _verify(m, (r, s)) on the integer of the 32-byte
     MAC (reduced mod q inside, the OTR rule), with a fresh random k in [2, q).
The OTR maths is unchanged: potr computes every protocol value itself; only these three
primitives are re-plumbed.  `apply()` is idempotent; `check()` runs each primitive once.
"""
from Cryptodome.Cipher import AES
from Cryptodome.PublicKey import DSA
import Cryptodome.Random.random as _random

import potr.crypt
from potr.compatcrypto import pycrypto as _pc
from potr.utils import bytes_to_long, long_to_bytes

_APPLIED = False


def _aes_ctr(key, counter=0):
    """AES-128-CTR with a 64-bit big-endian prefix (nonce) and a 64-bit block counter."""
    if not isinstance(counter, _pc.Counter):
        counter = _pc.Counter(counter)
    return AES.new(key, AES.MODE_CTR, nonce=long_to_bytes(counter.prefix, 8),
                   initial_value=counter.val)


def _generate(cls):
    key = DSA.generate(1024)
    return cls((int(key.y), int(key.g), int(key.p), int(key.q), int(key.x)), private=True)


def _sign(self, data):
    q = int(self.priv.q)
    k = _random.randrange(2, q)
    r, s = self.priv._sign(bytes_to_long(data), k)
    return long_to_bytes(r, 20) + long_to_bytes(s, 20)


def _verify(self, data, sig):
    if len(sig) != 40:
        return False
    r, s = bytes_to_long(sig[:20]), bytes_to_long(sig[20:])
    return bool(self.pub._verify(bytes_to_long(data), (r, s)))


def apply():
    """Installs the three fixes (once)."""
    global _APPLIED
    if _APPLIED:
        return
    _pc.AESCTR = _aes_ctr
    potr.crypt.AESCTR = _aes_ctr  # crypt.py imported the name itself
    _pc.DSAKey.generate = classmethod(_generate)
    _pc.DSAKey.sign = _sign
    _pc.DSAKey.verify = _verify
    _APPLIED = True


def check():
    """Round-trips each patched primitive once; raises AssertionError when one is wrong."""
    apply()
    ctr = _pc.Counter(5)
    ct = _aes_ctr(b'k' * 16, ctr).encrypt(b'x' * 40)
    assert _aes_ctr(b'k' * 16, _pc.Counter(5)).decrypt(ct) == b'x' * 40
    # block 0 of CTR is AES_k(prefix || 0): compare with ECB
    first = AES.new(b'k' * 16, AES.MODE_ECB).encrypt(long_to_bytes(5, 8) + b'\0' * 8)
    assert bytes(a ^ b for a, b in zip(ct[:16], first)) == b'x' * 16
