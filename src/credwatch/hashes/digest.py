"""Single-pass digests, salted or not: the ``{SHA}``/``{SSHA}`` family of LDAP and Dovecot.

Unsalted: ``SHA``/``SHA1``, ``SHA256``, ``SHA512``, ``PLAIN-MD4``, ``PLAIN-MD5``,
``LDAP-MD5`` and ``MD5`` when it is not an MD5-crypt string.  Salted (digest of
password then salt, followed by the salt): ``SSHA``, ``SSHA256``, ``SSHA512``, ``SMD5``.
Encodings follow Dovecot's ``password_decode`` (see :func:`credwatch.hashes._codec.decode`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from passlib.crypto.digest import lookup_hash

from credwatch.hashes._codec import DecodeError, decode, equal
from credwatch.hashes.interface import (
    Malformed,
    Matched,
    NotMatched,
    SchemeInfo,
    VerifyResult,
)

__all__ = ["UNSALTED", "DigestFamily", "Unsalted", "verify_unsalted"]

Digest = Callable[[bytes], bytes]


def _md4(data: bytes) -> bytes:
    # OpenSSL 3 hides MD4 in its legacy provider; libpass ships a fallback.
    return bytes(lookup_hash("md4").const(data).digest())


def _ntlm(data: bytes) -> bytes:
    # The NT hash is MD4 over UTF-16LE; the client's UTF-8 bytes are decoded first.
    text = data.decode("utf-8", "surrogateescape")
    return _md4(text.encode("utf-16-le", "surrogatepass"))


def _hashlib(name: str) -> Digest:
    ctor = getattr(hashlib, name)  # the direct constructor is faster than hashlib.new

    def digest(data: bytes) -> bytes:
        return bytes(ctor(data).digest())

    return digest


@dataclass(frozen=True, slots=True)
class Unsalted:
    """An unsalted digest scheme: what the vectorised path needs to know."""

    algorithm: str
    digest: Digest
    raw_len: int
    default_encoding: str


UNSALTED: dict[str, Unsalted] = {
    "SHA": Unsalted("sha1", _hashlib("sha1"), 20, "base64"),
    "SHA1": Unsalted("sha1", _hashlib("sha1"), 20, "base64"),
    "SHA256": Unsalted("sha256", _hashlib("sha256"), 32, "base64"),
    "SHA512": Unsalted("sha512", _hashlib("sha512"), 64, "base64"),
    "PLAIN-MD4": Unsalted("md4", _md4, 16, "hex"),
    "PLAIN-MD5": Unsalted("md5", _hashlib("md5"), 16, "hex"),
    "LDAP-MD5": Unsalted("md5", _hashlib("md5"), 16, "base64"),
    "MD5": Unsalted("md5", _hashlib("md5"), 16, "base64"),
    "NTLM": Unsalted("nt", _ntlm, 16, "hex"),
}
"""Unsalted digest schemes by Dovecot name."""

_SALTED: dict[str, tuple[str, int]] = {
    "SSHA": ("sha1", 20),
    "SSHA256": ("sha256", 32),
    "SSHA512": ("sha512", 64),
    "SMD5": ("md5", 16),
}


class DigestFamily:
    """Recognises and verifies the ``{SHA}``/``{SSHA}`` family (needs a prefix)."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own the prefixed digest names; ``{MD5}$1$...`` is left to MD5-crypt."""
        if name is None:
            return None
        base = name
        if base == "MD5" and payload.startswith("$1$"):
            return None
        if base in UNSALTED:
            spec = UNSALTED[base]
            return SchemeInfo(
                scheme=base,
                algorithm=spec.algorithm,
                salted=False,
                slow=False,
                weak=True,
                supported=True,
            )
        if base in _SALTED:
            return SchemeInfo(
                scheme=base,
                algorithm=f"salted-{_SALTED[base][0]}",
                salted=True,
                slow=False,
                weak=False,
                supported=True,
            )
        return None

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Recompute the digest (with the stored salt) and compare in constant time."""
        if info.scheme in UNSALTED:
            return verify_unsalted(info.scheme, info.scheme, password, payload, info.encoding)
        algorithm, size = _SALTED[info.scheme]
        try:
            raw = decode(payload, raw_len=0, default="base64", forced=info.encoding)
        except DecodeError as exc:
            return Malformed(info.scheme, str(exc))
        if len(raw) <= size:
            return Malformed(info.scheme, f"{len(raw)} bytes, too short for a salted digest")
        salt = raw[size:]
        ok = equal(hashlib.new(algorithm, password + salt).digest(), raw[:size])
        return Matched(info.scheme) if ok else NotMatched(info.scheme)


def verify_unsalted(
    label: str, base: str, password: bytes, payload: str, forced: str | None
) -> VerifyResult:
    """Verify one unsalted digest of scheme ``base``, reporting it as ``label``."""
    spec = UNSALTED[base]
    try:
        raw = decode(payload, raw_len=spec.raw_len, default=spec.default_encoding, forced=forced)
    except DecodeError as exc:
        return Malformed(label, str(exc))
    return Matched(label) if equal(spec.digest(password), raw) else NotMatched(label)
