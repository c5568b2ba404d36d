"""Argon2 (``$argon2i$``, ``$argon2d$``, ``$argon2id$``), bare or under ``{ARGON2I(D)}``.

Dovecot generates these through libsodium; argon2-cffi (the reference implementation)
verifies the same PHC strings.  The password bytes are used whole (no truncation).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from credwatch.hashes.interface import (
    Malformed,
    Matched,
    NotMatched,
    SchemeInfo,
    Unsupported,
    VerifyResult,
)

__all__ = ["MAX_MEMORY_KIB", "Argon2Family"]

MAX_MEMORY_KIB = 1 << 20
"""Refuse (Unsupported) hashes asking for more than 1 GiB: a corrupt or hostile store
must not exhaust a worker's memory."""

_FORM = re.compile(
    r"\$argon2(id|i|d)\$(?:v=(\d+)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"
)
# Not under {CRYPT}: Dovecot would hand that to crypt(3), which has no Argon2.
_NAMES = {"ARGON2I": "i", "ARGON2ID": "id"}
_HASHER = PasswordHasher()


class Argon2Family:
    """PHC-format Argon2 strings."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own ``$argon2..$`` strings, bare or under an ARGON2 prefix."""
        if name is not None and name not in _NAMES:
            return None
        match = _FORM.fullmatch(payload)
        if match is None:
            return None
        variant = match.group(1)
        memory = int(match.group(3))
        supported = memory <= MAX_MEMORY_KIB
        return SchemeInfo(
            scheme=name or f"ARGON2{variant.upper()}",
            algorithm=f"argon2{variant}",
            salted=True,
            slow=True,
            weak=False,
            supported=supported,
            reason=None if supported else f"memory cost {memory} KiB exceeds {MAX_MEMORY_KIB}",
        )

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Verify with argon2-cffi."""
        name = info.scheme
        if not info.supported:
            return Unsupported(name, info.reason or "unsupported")
        ok: bool
        try:
            ok = _HASHER.verify(payload, password)
        except VerifyMismatchError:
            ok = False
        except (InvalidHashError, VerificationError, ValueError):
            return Malformed(name, "not a valid Argon2 string")
        return Matched(name) if ok else NotMatched(name)
