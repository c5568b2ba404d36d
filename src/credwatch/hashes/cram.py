"""Dovecot's ``CRAM-MD5`` / ``HMAC-MD5``: the two MD5 states of an HMAC-MD5 key.

Dovecot stores, for a password used as HMAC key, the MD5 chaining values after the
outer and the inner padded key block (outer first, each as four little-endian 32-bit
words): 32 bytes, hex-encoded.  hashlib does not expose MD5's internal state, so the
one-block compression function is written out here (RFC 1321, section 3.4).
"""

from __future__ import annotations

import hashlib
import math
import struct

from credwatch.hashes._codec import DecodeError, decode, equal
from credwatch.hashes.interface import Malformed, Matched, NotMatched, SchemeInfo, VerifyResult

__all__ = ["CramFamily", "cram_md5_context"]

_SHIFTS = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_K = [int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]
_IV = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
_MASK = 0xFFFFFFFF
_NAMES = ("CRAM-MD5", "HMAC-MD5")


def _compress(block: bytes) -> bytes:
    """MD5's compression of one 64-byte block from the initial state."""
    m = struct.unpack("<16I", block)
    a, b, c, d = _IV
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | ~d), (7 * i) % 16
        f = (f + a + _K[i] + m[g]) & _MASK
        a, d, c = d, c, b
        b = (b + ((f << _SHIFTS[i]) | (f >> (32 - _SHIFTS[i])))) & _MASK
    return struct.pack("<4I", *((x + y) & _MASK for x, y in zip(_IV, (a, b, c, d), strict=True)))


def cram_md5_context(password: bytes) -> bytes:
    """The 32-byte ``CRAM-MD5`` context Dovecot stores for ``password``."""
    key = hashlib.md5(password).digest() if len(password) > 64 else password  # noqa: S324 - HMAC-MD5 by definition
    key = key.ljust(64, b"\0")
    outer = _compress(bytes(x ^ 0x5C for x in key))
    inner = _compress(bytes(x ^ 0x36 for x in key))
    return outer + inner


class CramFamily:
    """``{CRAM-MD5}`` and ``{HMAC-MD5}`` (the same format): weak, as good as plaintext."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own the two prefixed names."""
        if name not in _NAMES:
            return None
        return SchemeInfo(
            scheme=name,
            algorithm="hmac-md5-context",
            salted=False,
            slow=False,
            weak=True,
            supported=True,
        )

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Recompute the context and compare."""
        try:
            raw = decode(payload, raw_len=32, default="hex", forced=info.encoding)
        except DecodeError as exc:
            return Malformed(info.scheme, str(exc))
        ok = equal(cram_md5_context(password), raw)
        return Matched(info.scheme) if ok else NotMatched(info.scheme)
