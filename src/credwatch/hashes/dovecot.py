"""Dovecot's own encodings, written on hashlib.

- ``PLAIN``, ``CLEAR``, ``CLEARTEXT``: the password itself (a ``.B64``/``.HEX`` suffix
  is decoded before we get here).
- ``PLAIN-TRUNC``: ``LEN-PASSWORD``; a password at least ``LEN`` bytes long matches when
  its first ``LEN`` bytes do (what Dovecot's ``plain_trunc_verify`` does).
- ``DIGEST-MD5``: hex MD5 of ``user:realm:password``, the login name split at its last
  ``@`` into user and realm; needs the user name.
- ``SCRAM-SHA-1``, ``SCRAM-SHA-256``: ``ITERATIONS,SALT,STOREDKEY,SERVERKEY`` (RFC 5802).
- ``OTP``: ``ALGO SEQ SEED HASH``, the S/KEY state of RFC 2289 (md4, md5, sha1);
  ``SKEY`` (Dovecot 2.2) is the same format with md4.
- ``PBKDF2``: Dovecot's ``$1$SALT$ROUNDS$HEX``, PBKDF2-HMAC-SHA1 with the salt text as
  salt, 20 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct

from passlib.crypto.digest import lookup_hash

from credwatch.hashes._codec import DecodeError, decode, equal
from credwatch.hashes.interface import (
    Malformed,
    Matched,
    NotMatched,
    SchemeInfo,
    Unsupported,
    VerifyResult,
)

__all__ = ["DovecotFamily", "otp_hash"]

_PLAIN = ("PLAIN", "CLEAR", "CLEARTEXT")
_SCRAM = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}
_OTP = re.compile(r"(md4|md5|sha1) (\d{1,5}) ([A-Za-z0-9]{1,16}) ([0-9A-Fa-f]{16})")
_PBKDF2 = re.compile(r"\$1\$([^$]*)\$(\d{1,9})\$([0-9A-Fa-f]+)")
_TRUNC = re.compile(r"(\d{1,9})-", re.ASCII)
_MAX_ITERATIONS = 10_000_000  # a corrupt count must not pin a worker for hours


def _info(name: str, algorithm: str, *, salted: bool, slow: bool, weak: bool) -> SchemeInfo:
    return SchemeInfo(
        scheme=name,
        algorithm=algorithm,
        salted=salted,
        slow=slow,
        weak=weak,
        supported=True,
        needs_user=name == "DIGEST-MD5",
    )


def _fold(algorithm: str, digest: bytes) -> bytes:
    """RFC 2289's folding of a digest to 64 bits (SHA-1's words are read big-endian
    and written little-endian, as the RFC's reference code does)."""
    if algorithm == "sha1":
        w = struct.unpack(">5I", digest)
        return struct.pack("<2I", w[0] ^ w[2] ^ w[4], w[1] ^ w[3])
    return bytes(x ^ y for x, y in zip(digest[:8], digest[8:16], strict=True))


def _otp_digest(algorithm: str, data: bytes) -> bytes:
    if algorithm == "md4":
        return bytes(lookup_hash("md4").const(data).digest())
    return hashlib.new(algorithm, data).digest()


def otp_hash(algorithm: str, seed: str, password: bytes, sequence: int) -> bytes:
    """The RFC 2289 one-time password after ``sequence`` iterations (8 bytes)."""
    value = _fold(algorithm, _otp_digest(algorithm, seed.lower().encode() + password))
    for _ in range(sequence):
        value = _fold(algorithm, _otp_digest(algorithm, value))
    return value


class DovecotFamily:
    """PLAIN forms, PLAIN-TRUNC, DIGEST-MD5, SCRAM-SHA-*, OTP and Dovecot's PBKDF2."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own the Dovecot-only names listed in the module docstring."""
        if name in _PLAIN:
            return _info(name, "plain", salted=False, slow=False, weak=True)
        if name == "PLAIN-TRUNC":
            return _info(name, "plain", salted=False, slow=False, weak=True)
        if name == "DIGEST-MD5":
            return _info(name, "digest-md5", salted=False, slow=False, weak=True)
        if name in _SCRAM:
            return _info(name, f"scram-{_SCRAM[name]}", salted=True, slow=True, weak=False)
        if name in {"OTP", "SKEY"}:  # SKEY: Dovecot 2.2's name for the MD4 OTP state
            return _info(name, "otp", salted=True, slow=True, weak=False)
        if name == "PBKDF2":
            return _info(name, "pbkdf2-sha1", salted=True, slow=True, weak=False)
        return None

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Verify as Dovecot's password-scheme.c does for these names."""
        name = info.scheme
        if name in _PLAIN:
            ok = equal(password, payload.encode("utf-8", "surrogateescape"))
        elif name == "PLAIN-TRUNC":
            return _plain_trunc(name, password, payload)
        elif name == "DIGEST-MD5":
            return _digest_md5(info, password, payload, user)
        elif name in _SCRAM:
            return _scram(name, _SCRAM[name], password, payload)
        elif name in {"OTP", "SKEY"}:
            match = _OTP.fullmatch(payload.strip())
            if match is None:
                return Malformed(name, "not 'ALGO SEQ SEED HASH'")
            algorithm, seq, seed, stored = match.groups()
            ok = equal(otp_hash(algorithm, seed, password, int(seq)), bytes.fromhex(stored))
        else:
            match = _PBKDF2.fullmatch(payload)
            if match is None or len(match.group(3)) != 40:
                return Malformed(name, "not '$1$SALT$ROUNDS$HEX' with a 20-byte key")
            salt, rounds, stored = match.group(1), int(match.group(2)), match.group(3)
            if not 0 < rounds <= _MAX_ITERATIONS:
                return Malformed(name, f"round count {rounds} out of range")
            key = hashlib.pbkdf2_hmac(
                "sha1", password, salt.encode("utf-8", "surrogateescape"), rounds, 20
            )
            ok = equal(key, bytes.fromhex(stored))
        return Matched(name) if ok else NotMatched(name)


def _plain_trunc(name: str, password: bytes, payload: str) -> VerifyResult:
    match = _TRUNC.match(payload)
    if match is None:
        return Malformed(name, "missing the 'LENGTH-' prefix")
    length = int(match.group(1))
    stored = payload[match.end() :].encode("utf-8", "surrogateescape")
    if len(stored) == length and len(password) >= length:
        ok = equal(password[:length], stored)
    else:
        ok = equal(password, stored)
    return Matched(name) if ok else NotMatched(name)


def _digest_md5(info: SchemeInfo, password: bytes, payload: str, user: str | None) -> VerifyResult:
    name = info.scheme
    try:
        stored = decode(payload, raw_len=16, default="hex", forced=info.encoding)
    except DecodeError as exc:
        return Malformed(name, str(exc))
    if user is None:
        return Unsupported(name, "DIGEST-MD5 needs the user name (the login, user@realm)")
    login, at, realm = user.rpartition("@")
    if not at:
        login, realm = user, ""
    data = f"{login}:{realm}:".encode("utf-8", "surrogateescape") + password
    ok = equal(hashlib.md5(data).digest(), stored)  # noqa: S324 - the scheme is MD5
    return Matched(name) if ok else NotMatched(name)


def _scram(name: str, algorithm: str, password: bytes, payload: str) -> VerifyResult:
    parts = payload.split(",")
    if len(parts) != 4 or not parts[0].isdigit():
        return Malformed(name, "not 'ITERATIONS,SALT,STOREDKEY,SERVERKEY'")
    iterations = int(parts[0])
    if not 0 < iterations <= _MAX_ITERATIONS:
        return Malformed(name, f"iteration count {iterations} out of range")
    try:
        salt = base64.b64decode(parts[1], validate=True)
        stored_key = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        return Malformed(name, "salt or stored key is not valid base64")
    salted = hashlib.pbkdf2_hmac(algorithm, password, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", algorithm).digest()
    ok = equal(hashlib.new(algorithm, client_key).digest(), stored_key)
    return Matched(name) if ok else NotMatched(name)
