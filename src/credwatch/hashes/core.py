"""Recognise a stored hash and verify one password against it.

A stored value is ``{SCHEME}payload`` (Dovecot, LDAP; the name is case-insensitive and
may carry a ``.HEX``/``.B64`` suffix that says how the payload is encoded) or a bare
payload (crypt(3) strings, bcrypt, Argon2, PBKDF2, raw hex).  Each family of formats is
one module implementing :class:`~credwatch.hashes.interface.HashScheme`; this module
asks them in a fixed order.  Nothing here raises on bad stored values: they come back
as ``UNKNOWN``/``{UNKNOWN:NAME}`` names and :class:`Malformed` results.
"""

from __future__ import annotations

import re
import struct
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

from credwatch.hashes._codec import DecodeError, decode_b64, decode_hex
from credwatch.hashes.argon2_scheme import Argon2Family
from credwatch.hashes.bcrypt_scheme import BcryptFamily
from credwatch.hashes.cram import CramFamily
from credwatch.hashes.digest import DigestFamily
from credwatch.hashes.dovecot import DovecotFamily
from credwatch.hashes.interface import (
    HashScheme,
    Malformed,
    SchemeInfo,
    Unsupported,
    VerifyResult,
)
from credwatch.hashes.pbkdf2 import Pbkdf2Family
from credwatch.hashes.rawhex import RawHexFamily
from credwatch.hashes.unixcrypt import CryptFamily

__all__ = ["DOVECOT_SCHEMES", "census", "encode_password", "identify", "verify"]

DOVECOT_SCHEMES = frozenset(
    "SHA1 SSHA512 SCRAM-SHA-256 BLF-CRYPT PLAIN HMAC-MD5 OTP SHA512 SHA DES-CRYPT CRYPT SSHA "
    "MD5-CRYPT PLAIN-MD4 PLAIN-MD5 SCRAM-SHA-1 SHA512-CRYPT CLEAR CLEARTEXT ARGON2I ARGON2ID "
    "SSHA256 MD5 PBKDF2 SHA256 CRAM-MD5 PLAIN-TRUNC SHA256-CRYPT SMD5 DIGEST-MD5 LDAP-MD5 "
    "NTLM SKEY".split()
)
"""Every scheme ``doveadm pw -l`` lists in Dovecot 2.3 (plus 2.2's NTLM and SKEY): all
verifiable.  2.2's RPA and LANMAN are not (reported as ``{UNKNOWN:RPA}``...)."""

# Schemes whose payload is a binary digest decoded by the scheme itself; for all
# others a .HEX/.B64 suffix wraps the whole textual payload (e.g. {PLAIN.B64}).
_BINARY = frozenset(
    "SHA SHA1 SHA256 SHA512 PLAIN-MD4 PLAIN-MD5 LDAP-MD5 NTLM SSHA SSHA256 SSHA512 SMD5 "
    "CRAM-MD5 HMAC-MD5 DIGEST-MD5".split()
)
_PREFIX = re.compile(r"\{([A-Za-z0-9][A-Za-z0-9._-]{0,39})\}")
_DOLLAR = re.compile(r"\$([A-Za-z0-9._-]{1,20})[$,]")
_SUFFIXES = {"HEX": "hex", "B64": "base64", "BASE64": "base64"}
_FAMILIES: tuple[HashScheme, ...] = (
    DovecotFamily(),
    CramFamily(),
    BcryptFamily(),
    Argon2Family(),
    Pbkdf2Family(),
    CryptFamily(),
    DigestFamily(),
    RawHexFamily(),
)
# Bare crypt ids we know: a string starting with one but of the wrong shape is Malformed.
_KNOWN_IDS = {
    "1": "MD5-CRYPT",
    "5": "SHA256-CRYPT",
    "6": "SHA512-CRYPT",
    "2a": "BLF-CRYPT",
    "2b": "BLF-CRYPT",
    "2x": "BLF-CRYPT",
    "2y": "BLF-CRYPT",
    "y": "CRYPT",
    "gy": "CRYPT",
    "7": "CRYPT",
    "md5": "CRYPT",
    "sha1": "CRYPT",
    "3": "CRYPT",
    "apr1": "APR1-MD5",
    "argon2i": "ARGON2I",
    "argon2d": "ARGON2D",
    "argon2id": "ARGON2ID",
    "pbkdf2": "PBKDF2-SHA1",
    "pbkdf2-sha256": "PBKDF2-SHA256",
    "pbkdf2-sha512": "PBKDF2-SHA512",
}
# Errors a family could still raise on input nobody foresaw; turned into Malformed.
_DEFENSIVE = (ValueError, TypeError, OverflowError, IndexError, KeyError, struct.error)


@dataclass(frozen=True, slots=True)
class _Parsed:
    info: SchemeInfo
    family: HashScheme | None
    payload: str
    problem: str | None = None


def _unknown(scheme: str, reason: str) -> SchemeInfo:
    return SchemeInfo(
        scheme=scheme,
        algorithm="unknown",
        salted=False,
        slow=False,
        weak=False,
        supported=False,
        reason=reason,
    )


def _parse(stored: str | bytes | None) -> _Parsed:
    if isinstance(stored, bytes):  # a binary column: keep every byte, decode what is text
        stored = stored.decode("utf-8", "surrogateescape")
    if stored is None or stored == "":
        return _Parsed(_unknown("EMPTY", "no password hash stored"), None, "")
    match = _PREFIX.match(stored)
    if match is None:
        return _parse_bare(stored)
    full = match.group(1).upper()
    base, dot, suffix = full.partition(".")
    payload = stored[match.end() :]
    forced = _SUFFIXES.get(suffix) if dot else None
    if dot and forced is None:
        return _Parsed(
            _unknown(f"{{UNKNOWN:{full}}}", f"unknown encoding suffix .{suffix}"), None, payload
        )
    problem = None
    if forced is not None and base not in _BINARY:
        try:
            raw = decode_hex(payload) if forced == "hex" else decode_b64(payload)
            payload = raw.decode("utf-8", "surrogateescape")
        except DecodeError as exc:
            problem = f"{full}: {exc}"
    for family in _FAMILIES:
        info = family.identify(base, payload)
        if info is not None:
            if forced is not None:
                info = replace(info, encoding=forced)
            return _Parsed(info, family, payload, problem)
    if base in DOVECOT_SCHEMES:
        info = SchemeInfo(
            scheme=base,
            algorithm="unknown",
            salted=False,
            slow=False,
            weak=False,
            supported=True,
        )
        return _Parsed(info, None, payload, f"not a valid {base} value")
    return _Parsed(_unknown(f"{{UNKNOWN:{full}}}", f"unknown scheme {{{full}}}"), None, payload)


def _parse_bare(stored: str) -> _Parsed:
    for family in _FAMILIES:
        info = family.identify(None, stored)
        if info is not None:
            return _Parsed(info, family, stored)
    if stored[0] in "!*":
        info = _unknown("LOCKED", "locked (! or * before the hash): no password logs in")
        return _Parsed(info, None, stored)
    dollar = _DOLLAR.match(stored)
    if dollar is not None and dollar.group(1) in _KNOWN_IDS:
        scheme = _KNOWN_IDS[dollar.group(1)]
        info = SchemeInfo(
            scheme=scheme,
            algorithm="unknown",
            salted=True,
            slow=False,
            weak=False,
            supported=True,
        )
        return _Parsed(info, None, stored, f"not a valid {scheme} string")
    if dollar is not None:
        name = f"{{UNKNOWN:${dollar.group(1)}$}}"
        return _Parsed(_unknown(name, f"unknown crypt id ${dollar.group(1)}$"), None, stored)
    return _Parsed(_unknown("UNKNOWN", "no recognisable hash format"), None, stored)


def identify(stored: str | bytes | None) -> SchemeInfo:
    """Recognise the scheme of a stored password hash; never raises.

    Args:
        stored: the value from the account store (``{SHA512-CRYPT}$6$...``, ``$2y$...``,
            ``5f4dcc3b...``), or ``None``/``""`` for no hash.

    Returns:
        A :class:`SchemeInfo`; unknown prefixes come back as ``{UNKNOWN:NAME}``, unknown
        crypt ids as ``{UNKNOWN:$id$}``, other unrecognisable text as ``UNKNOWN``.

    Example:
        >>> identify("{SSHA256}ubpbLx1wZzIICZoY3ADvAdGkTaRgkbXJvZxrShyh3GdUg0vN").scheme
        'SSHA256'
        >>> identify("$2y$05$WbgqOz6zrSMf2Ty5BFSE4uoVsVrpWyvWH7hAklctfXLsVLV.XkCsS").scheme
        'BLF-CRYPT'
    """
    return _parse(stored).info


def encode_password(password: str | bytes | None) -> bytes | None:
    """The bytes a client sends for ``password``: UTF-8, with surrogate escapes restored.

    Returns ``None`` for a string that cannot be encoded (a lone surrogate) or no password.
    """
    if isinstance(password, bytes):
        return password
    if password is None:
        return None
    try:
        return password.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None


def verify(
    password: str | bytes | None, stored: str | bytes | None, *, user: str | None = None
) -> VerifyResult:
    """Check a password against a stored hash as the real server would; never raises.

    Args:
        password: the candidate (leaked) password; ``str`` is sent as UTF-8, as mail
            clients do (``bytes`` are used as they are).
        stored: the stored hash, with or without a ``{SCHEME}`` prefix.
        user: the login name, needed by ``DIGEST-MD5`` only.

    Returns:
        :class:`Matched`, :class:`NotMatched`, :class:`Unsupported` (could not check,
        with a reason) or :class:`Malformed` (the stored value is broken).  Reasons never
        contain the password or the hash.

    Example:
        >>> verify("pässwörd", "{PLAIN-MD5}12841e4ba5e37d2fbfc78458c6714ade")
        Matched(scheme='PLAIN-MD5')
        >>> verify("other", "{PLAIN-MD5}12841e4ba5e37d2fbfc78458c6714ade")
        NotMatched(scheme='PLAIN-MD5')
    """
    parsed = _parse(stored)
    info = parsed.info
    if parsed.problem is not None:
        return Malformed(info.scheme, parsed.problem)
    if parsed.family is None or not info.supported:
        return Unsupported(info.scheme, info.reason or "not supported")
    if password is None:
        return Unsupported(info.scheme, "no candidate password")
    raw = encode_password(password)
    if raw is None:
        return Unsupported(info.scheme, "the password cannot be encoded as UTF-8")
    try:
        return parsed.family.verify(info, raw, parsed.payload, user)
    except _DEFENSIVE as exc:
        return Malformed(info.scheme, f"could not be evaluated ({type(exc).__name__})")


def census(hashes: Iterable[str | bytes | None]) -> Counter[str]:
    """Count stored hashes by scheme name (unknown and empty ones included by name).

    Example:
        >>> census(["{PLAIN}x", "{PLAIN}y", "{FOO}z", ""])
        Counter({'PLAIN': 2, '{UNKNOWN:FOO}': 1, 'EMPTY': 1})
    """
    return Counter(identify(h).scheme for h in hashes)
