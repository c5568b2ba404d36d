"""crypt(3) forms: ``$id$`` strings, DES and BSDi crypt, with or without a Dovecot prefix.

The system's crypt(3) is authoritative, because it is what Dovecot (``CRYPT``,
``SHA512-CRYPT``...), PAM and most mail stacks call: libxcrypt on Debian, reached
through Python's ``crypt`` module on 3.11/3.12 and the ``crypt-r`` package from 3.13 on.
It covers yescrypt (``$y$``), gost-yescrypt (``$gy$``), scrypt (``$7$``), SHA-crypt
(``$5$``, ``$6$``), MD5-crypt (``$1$``), SunMD5 (``$md5``), NetBSD sha1crypt
(``$sha1$``), NT (``$3$``), BSDi (``_``) and DES.  Where crypt(3) lacks a method, libpass
is the portable path (everything above except the yescrypt family and ``$7$``), and it
also reads Apache's ``$apr1$``, which crypt(3) never did.

Truncation is the algorithm's own: DES-crypt uses the low 7 bits of the first 8 bytes,
which crypt(3) and libpass both implement.
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Callable
from functools import cache

from passlib import hash as passlib_hash

from credwatch.hashes._codec import equal
from credwatch.hashes.interface import (
    Malformed,
    Matched,
    NotMatched,
    SchemeInfo,
    Unsupported,
    VerifyResult,
)

__all__ = ["CryptFamily", "system_crypt", "system_supports"]

CryptFn = Callable[[str, str], str | None]

# (regex, algorithm, Dovecot name when unprefixed, salted, weak); first match wins.
_FORMS: tuple[tuple[re.Pattern[str], str, str, bool, bool], ...] = (
    (re.compile(r"\$1\$[^$]{0,8}\$[./0-9A-Za-z]{22}"), "md5crypt", "MD5-CRYPT", True, False),
    (
        re.compile(r"\$5\$(rounds=\d+\$)?[^$]{0,16}\$[./0-9A-Za-z]{43}"),
        "sha256crypt",
        "SHA256-CRYPT",
        True,
        False,
    ),
    (
        re.compile(r"\$6\$(rounds=\d+\$)?[^$]{0,16}\$[./0-9A-Za-z]{86}"),
        "sha512crypt",
        "SHA512-CRYPT",
        True,
        False,
    ),
    (
        re.compile(r"\$y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]*\$[./0-9A-Za-z]{43}"),
        "yescrypt",
        "CRYPT",
        True,
        False,
    ),
    (
        re.compile(r"\$gy\$[./0-9A-Za-z]+\$[./0-9A-Za-z]*\$[./0-9A-Za-z]{43}"),
        "gost-yescrypt",
        "CRYPT",
        True,
        False,
    ),
    (re.compile(r"\$7\$[./0-9A-Za-z]{14}[^$]*\$[./0-9A-Za-z]{43}"), "scrypt", "CRYPT", True, False),
    (
        re.compile(r"\$md5(,rounds=\d+)?\$[./0-9A-Za-z]{0,8}\$\$?[./0-9A-Za-z]{22}"),
        "sunmd5",
        "CRYPT",
        True,
        False,
    ),
    (
        re.compile(r"\$sha1\$\d+\$[./0-9A-Za-z]{0,64}\$[./0-9A-Za-z]{28}"),
        "sha1crypt",
        "CRYPT",
        True,
        False,
    ),
    (re.compile(r"\$3\$\$[0-9a-f]{32}"), "nt", "CRYPT", False, True),
    (re.compile(r"\$apr1\$[^$]{0,8}\$[./0-9A-Za-z]{22}"), "apr1", "APR1-MD5", True, False),
    (re.compile(r"_[./0-9A-Za-z]{19}"), "bsdicrypt", "CRYPT", True, True),
    (re.compile(r"[./0-9A-Za-z]{13}"), "descrypt", "DES-CRYPT", True, True),
)

# The libpass handler for each algorithm (the portable path).
_LIBPASS = {
    "md5crypt": "md5_crypt",
    "sha256crypt": "sha256_crypt",
    "sha512crypt": "sha512_crypt",
    "sunmd5": "sun_md5_crypt",
    "sha1crypt": "sha1_crypt",
    "nt": "bsd_nthash",
    "apr1": "apr_md5_crypt",
    "bsdicrypt": "bsdi_crypt",
    "descrypt": "des_crypt",
}

# A valid hash of each algorithm (of the word "probe"), to ask crypt(3) what it supports.
_PROBES = {
    "md5crypt": "$1$probe$",
    "sha256crypt": "$5$probe$",
    "sha512crypt": "$6$probe$",
    "yescrypt": "$y$j9T$U0VGZWdhfcy0QAwnp1DXF/$",
    "gost-yescrypt": "$gy$j9T$hogg6LAKnhMWCs1aqz98V0$",
    "scrypt": "$7$CU..../....NfEhWBrmraloMQd.mKL6D.$",
    "sunmd5": "$md5,rounds=904$w1DE/ih8$",
    "sha1crypt": "$sha1$480000$probe$",
    "nt": "$3$$",
    "bsdicrypt": "_J9..QP8U",
    "descrypt": "y1",
}

_CRYPT_NAMES = frozenset({"CRYPT", "DES-CRYPT", "MD5-CRYPT", "SHA256-CRYPT", "SHA512-CRYPT", "MD5"})
_SLOW = frozenset(
    {
        "md5crypt",
        "sha256crypt",
        "sha512crypt",
        "yescrypt",
        "gost-yescrypt",
        "scrypt",
        "sunmd5",
        "sha1crypt",
        "apr1",
        "bsdicrypt",
    }
)


@cache
def system_crypt() -> CryptFn | None:
    """The system's crypt(3) as a Python function, or ``None`` where there is none."""
    for module in ("crypt_r", "crypt"):
        with warnings.catch_warnings():
            # Python 3.11/3.12 deprecate the crypt module; it is still the way to libxcrypt.
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                mod = importlib.import_module(module)
            except ImportError:
                continue
        fn: CryptFn = mod.crypt
        return fn
    return None


@cache
def system_supports(algorithm: str) -> bool:
    """True when this system's crypt(3) implements ``algorithm``."""
    fn = system_crypt()
    probe = _PROBES.get(algorithm)
    if fn is None or probe is None:
        return False
    try:
        out = fn("probe", probe)
    except (OSError, ValueError):
        return False
    return out is not None and out != "" and not out.startswith("*")


def _classify(payload: str) -> tuple[str, str, bool, bool] | None:
    for pattern, algorithm, name, salted, weak in _FORMS:
        if pattern.fullmatch(payload):
            return algorithm, name, salted, weak
    return None


class CryptFamily:
    """crypt(3) strings under ``{CRYPT}``, ``{SHA512-CRYPT}``... or without a prefix."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own crypt-shaped payloads without a prefix or under a crypt prefix."""
        if name is not None and name not in _CRYPT_NAMES:
            return None
        found = _classify(payload)
        if found is not None and found[0] == "apr1" and name is not None:
            found = None  # Dovecot would pass {CRYPT}$apr1$ to crypt(3), which lacks it
        if found is None:
            if name is None or name == "MD5":
                return None
            return SchemeInfo(
                scheme=name,
                algorithm="unknown-crypt",
                salted=True,
                slow=True,
                weak=False,
                supported=system_crypt() is not None,
                reason=None if system_crypt() else "no crypt(3) on this system",
            )
        algorithm, default_name, salted, weak = found
        if name == "MD5" and algorithm != "md5crypt":
            return None
        supported = system_supports(algorithm) or algorithm in _LIBPASS
        return SchemeInfo(
            scheme=name or default_name,
            algorithm=algorithm,
            salted=salted,
            slow=algorithm in _SLOW,
            weak=weak,
            supported=supported,
            reason=None if supported else f"{algorithm} needs libxcrypt's crypt(3)",
        )

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Run crypt(3) with the stored string as setting; libpass where crypt(3) cannot."""
        name, algorithm = info.scheme, info.algorithm
        if b"\0" in password:
            # crypt(3) reads C strings, and IMAP/SASL cannot carry a NUL either.
            return Unsupported(name, "a password with a NUL byte cannot reach crypt(3)")
        if algorithm == "unknown-crypt" or system_supports(algorithm):
            result = _system_verify(name, password, payload)
            if isinstance(result, NotMatched) and algorithm == "unknown-crypt":
                # crypt(3) read the text as some other setting (e.g. a DES salt): no
                # password can produce it, the stored value is broken.
                return Malformed(name, "not a crypt(3) string this system understands")
            if result is not None:
                return result
        handler_name = _LIBPASS.get(algorithm)
        if handler_name is None:
            if algorithm == "unknown-crypt":
                return Malformed(name, "not a crypt(3) string this system understands")
            if system_supports(algorithm):
                return Unsupported(name, "crypt(3) cannot take a password that is not UTF-8")
            return Unsupported(name, f"{algorithm} needs libxcrypt's crypt(3)")
        handler = getattr(passlib_hash, handler_name)
        try:
            # libxcrypt's $3$ widens each *byte* to UTF-16 (Latin-1), unlike Windows NTLM;
            # libpass widens characters, so hand it the bytes as Latin-1 characters.
            secret = password.decode("latin-1") if algorithm == "nt" else password
            ok = bool(handler.verify(secret, payload))
        except (ValueError, TypeError):
            return Malformed(name, f"not a valid {algorithm} string")
        return Matched(name) if ok else NotMatched(name)


def _system_verify(name: str, password: bytes, payload: str) -> VerifyResult | None:
    """crypt(3)'s verdict, or ``None`` when it cannot take this password (libpass may)."""
    fn = system_crypt()
    if fn is None:
        return None
    try:
        text = password.decode("utf-8")
        out = fn(text, payload)
    except (UnicodeDecodeError, ValueError, OSError):
        return None
    if not out or out.startswith("*"):
        return Malformed(name, "crypt(3) rejected the stored setting")
    return Matched(name) if equal(out.encode(), payload.encode()) else NotMatched(name)
