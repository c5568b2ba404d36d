"""PBKDF2 strings in libpass (``$pbkdf2-sha256$``), LDAP (``{PBKDF2-SHA256}``) and
Django (``pbkdf2_sha256$``) forms.  Dovecot's own ``{PBKDF2}$1$...`` lives in
:mod:`credwatch.hashes.dovecot`.
"""

from __future__ import annotations

import re
from typing import Any

from passlib import hash as passlib_hash

from credwatch.hashes.interface import (
    Malformed,
    Matched,
    NotMatched,
    SchemeInfo,
    Unsupported,
    VerifyResult,
)

__all__ = ["MAX_ROUNDS", "Pbkdf2Family"]

MAX_ROUNDS = 10_000_000
"""Refuse (Unsupported) iteration counts above this: a corrupt count must not pin a worker."""

# (pattern on the whole stored value, census name, libpass handler, rounds group)
_FORMS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"\$pbkdf2\$(\d+)\$[./A-Za-z0-9]*\$[./A-Za-z0-9]+"), "PBKDF2-SHA1", "pbkdf2_sha1"),
    (
        re.compile(r"\$pbkdf2-sha256\$(\d+)\$[./A-Za-z0-9]*\$[./A-Za-z0-9]+"),
        "PBKDF2-SHA256",
        "pbkdf2_sha256",
    ),
    (
        re.compile(r"\$pbkdf2-sha512\$(\d+)\$[./A-Za-z0-9]*\$[./A-Za-z0-9]+"),
        "PBKDF2-SHA512",
        "pbkdf2_sha512",
    ),
    (
        re.compile(r"\{PBKDF2\}(\d+)\$[./A-Za-z0-9]*\$[./A-Za-z0-9]+", re.I),
        "PBKDF2-SHA1",
        "ldap_pbkdf2_sha1",
    ),
    (
        re.compile(r"\{PBKDF2-SHA256\}(\d+)\$[./A-Za-z0-9]*\$[./A-Za-z0-9]+", re.I),
        "PBKDF2-SHA256",
        "ldap_pbkdf2_sha256",
    ),
    (
        re.compile(r"\{PBKDF2-SHA512\}(\d+)\$[./A-Za-z0-9]*\$[./A-Za-z0-9]+", re.I),
        "PBKDF2-SHA512",
        "ldap_pbkdf2_sha512",
    ),
    (
        re.compile(r"pbkdf2_sha256\$(\d+)\$[^$]*\$[A-Za-z0-9+/=]+"),
        "DJANGO-PBKDF2-SHA256",
        "django_pbkdf2_sha256",
    ),
    (
        re.compile(r"pbkdf2_sha1\$(\d+)\$[^$]*\$[A-Za-z0-9+/=]+"),
        "DJANGO-PBKDF2-SHA1",
        "django_pbkdf2_sha1",
    ),
)
_HANDLERS = {name: handler for _, name, handler in _FORMS}


def _match(stored: str) -> tuple[str, str, int] | None:
    for pattern, name, handler in _FORMS:
        match = pattern.fullmatch(stored)
        if match is not None:
            return name, handler, int(match.group(1))
    return None


class Pbkdf2Family:
    """Non-Dovecot PBKDF2 strings; ``name`` is ``None`` or an LDAP ``PBKDF2-*`` prefix."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own the PBKDF2 forms listed in the module docstring."""
        stored = payload if name is None else f"{{{name}}}{payload}"
        found = _match(stored)
        if found is None:
            return None
        scheme, handler, rounds = found
        supported = 0 < rounds <= MAX_ROUNDS
        return SchemeInfo(
            scheme=scheme,
            algorithm=handler,
            salted=True,
            slow=True,
            weak=False,
            supported=supported,
            reason=None if supported else f"iteration count {rounds} out of range",
        )

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Verify with the libpass handler for the form."""
        name = info.scheme
        if not info.supported:
            return Unsupported(name, info.reason or "unsupported")
        handler: Any = getattr(passlib_hash, info.algorithm)
        stored = payload if not info.algorithm.startswith("ldap_") else _ldap(payload, info)
        try:
            ok = bool(handler.verify(password, stored))
        except (ValueError, TypeError):
            return Malformed(name, "not a valid PBKDF2 string")
        return Matched(name) if ok else NotMatched(name)


def _ldap(payload: str, info: SchemeInfo) -> str:
    prefix = {
        "ldap_pbkdf2_sha1": "{PBKDF2}",
        "ldap_pbkdf2_sha256": "{PBKDF2-SHA256}",
        "ldap_pbkdf2_sha512": "{PBKDF2-SHA512}",
    }[info.algorithm]
    return prefix + payload
