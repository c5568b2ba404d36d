"""bcrypt: ``$2a$``, ``$2b$``, ``$2y$`` (pyca ``bcrypt``) and ``$2x$`` (crypt(3) only).

Dovecot's ``BLF-CRYPT`` and libxcrypt both run Solar Designer's crypt_blowfish, so that
is the behaviour to match:

- only the first 72 bytes of the password count (checked with ``doveadm pw -t``); pyca
  ``bcrypt`` 5 refuses longer input instead, so we truncate before calling it;
- ``$2a$`` carries crypt_blowfish's countermeasure against the old sign-extension bug:
  for a few passwords containing byte 0xFF (never valid UTF-8) its result differs from
  ``$2b$``.  We detect exactly those and hand them to crypt(3), or report Unsupported;
- ``$2x$`` is the buggy pre-2011 algorithm that only crypt(3) implements.
"""

from __future__ import annotations

import re

import bcrypt

from credwatch.hashes.interface import (
    Malformed,
    Matched,
    NotMatched,
    SchemeInfo,
    Unsupported,
    VerifyResult,
)
from credwatch.hashes.unixcrypt import system_crypt

__all__ = ["MAX_BYTES", "BcryptFamily", "countermeasure_applies"]

MAX_BYTES = 72
_FORM = re.compile(r"\$2([abxy])\$(\d\d)\$[./A-Za-z0-9]{53}")
_NAMES = frozenset({"BLF-CRYPT", "CRYPT"})


def countermeasure_applies(key: bytes) -> bool:
    """True when crypt_blowfish's ``$2a$`` safety tweak changes the result for ``key``.

    A port of the sign/diff bookkeeping in crypt_blowfish's ``BF_set_key``: the tweak
    fires when a byte with the high bit set sits after the first byte of a key word and
    the buggy and correct key expansions are nevertheless identical.
    """
    data = key.split(b"\0", 1)[0] + b"\0"
    pos = sign = diff = 0
    for _ in range(18):
        correct = buggy = 0
        for j in range(4):
            byte = data[pos]
            correct = ((correct << 8) | byte) & 0xFFFFFFFF
            signed = byte - 256 if byte & 0x80 else byte
            buggy = ((buggy << 8) | (signed & 0xFFFFFFFF)) & 0xFFFFFFFF
            if j:
                sign |= buggy & 0x80
            pos = 0 if byte == 0 else pos + 1
        diff |= correct ^ buggy
    return bool(sign) and diff == 0


class BcryptFamily:
    """bcrypt strings, bare or under ``{BLF-CRYPT}`` / ``{CRYPT}``."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own ``$2?$NN$`` strings of the right length."""
        if name is not None and name not in _NAMES:
            return None
        match = _FORM.fullmatch(payload)
        if match is None:
            return None
        variant = match.group(1)
        supported = variant != "x" or system_crypt() is not None
        return SchemeInfo(
            scheme=name or "BLF-CRYPT",
            algorithm="bcrypt" if variant != "x" else "bcrypt-2x",
            salted=True,
            slow=True,
            weak=variant == "x",
            supported=supported,
            reason=None if supported else "$2x$ needs crypt(3)",
        )

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Verify with crypt_blowfish's semantics (72-byte truncation, $2a$/$2x$ rules)."""
        name = info.scheme
        cost = int(payload[4:6])
        if not 4 <= cost <= 31:
            return Malformed(name, f"bcrypt cost {cost} out of range 4..31")
        if b"\0" in password:
            return Unsupported(name, "a password with a NUL byte cannot reach crypt_blowfish")
        key = password[:MAX_BYTES]
        variant = payload[2]
        if variant == "x" or (variant == "a" and countermeasure_applies(key)):
            return _via_crypt(name, key, payload)
        try:
            ok = bcrypt.checkpw(key, payload.encode("ascii"))
        except ValueError:
            return Malformed(name, "not a valid bcrypt string")
        return Matched(name) if ok else NotMatched(name)


def _via_crypt(name: str, key: bytes, payload: str) -> VerifyResult:
    fn = system_crypt()
    if fn is None:
        return Unsupported(name, "this bcrypt variant needs crypt(3)")
    try:
        out = fn(key.decode("utf-8"), payload)
    except (UnicodeDecodeError, ValueError, OSError):
        return Unsupported(name, "crypt(3) cannot take this password (not UTF-8)")
    if not out or out.startswith("*"):
        return Unsupported(name, "this system's crypt(3) has no $2x$")
    return Matched(name) if out == payload else NotMatched(name)
