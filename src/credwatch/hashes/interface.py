"""What a password-hash scheme is, and what verifying one can answer.

A stored hash is recognised into a :class:`SchemeInfo` (its name as Dovecot spells
it, plus flags the audit and the census use).  Verifying a password against it gives
one of four explicit results, so that "could not check" never looks like "no match":

- :class:`Matched`: the password is the one behind the hash;
- :class:`NotMatched`: it is not (this was really checked);
- :class:`Unsupported`: the scheme is known but cannot be checked here (reason says why);
- :class:`Malformed`: the stored value is broken for its scheme (reason says how).

Reasons never contain the password or the stored hash, only scheme names and facts
such as lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "OUTCOMES",
    "HashScheme",
    "Malformed",
    "Matched",
    "NotMatched",
    "SchemeInfo",
    "Unsupported",
    "VerifyResult",
]


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    """What :func:`credwatch.hashes.identify` recognised in a stored hash.

    Attributes:
        scheme: the census name, as Dovecot spells it (``SHA512-CRYPT``, ``BLF-CRYPT``,
            ``PLAIN-MD5``, ``SSHA256``, ``ARGON2ID``, ``CRYPT``; bare hex digests are
            ``PLAIN-MD5``, ``SHA1.HEX``, ``SHA256.HEX``, ``SHA512.HEX``; forms Dovecot has no
            name for use the libpass name, e.g. ``PBKDF2-SHA256``, ``APR1-MD5``;
            ``LOCKED`` for ``!``/``*``-locked hashes); ``{UNKNOWN:FOO}`` for an
            unknown ``{FOO}`` or ``$FOO$`` prefix, ``UNKNOWN`` for text without any
            recognisable shape, ``EMPTY`` for an empty field.
        algorithm: the underlying algorithm (``sha512crypt``, ``bcrypt``, ``md5``,
            ``plain``, ``yescrypt``...), the same for ``{CRYPT}$6$...`` and
            ``{SHA512-CRYPT}$6$...``; ``unknown`` when not recognised.
        salted: each hash has its own salt (so it cannot be attacked in bulk).
        slow: deliberately expensive (iterated); verified on an executor.
        weak: plaintext, unsalted fast digests, DES-based crypt, MD5 contexts:
            the ``weak_scheme`` audit finding.
        supported: this installation can verify it.
        needs_user: verification needs the user name (``DIGEST-MD5``).
        encoding: ``hex`` or ``base64`` when a Dovecot ``.HEX``/``.B64`` suffix forces one.
        reason: why it is not supported, when it is not.
        alternatives: other schemes the same text could be (raw hex digests are
            ambiguous: 32 hex digits are MD5, but also MD4 or NTLM).
    """

    scheme: str
    algorithm: str
    salted: bool
    slow: bool
    weak: bool
    supported: bool
    needs_user: bool = False
    encoding: str | None = None
    reason: str | None = None
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Matched:
    """The password verifies against the stored hash."""

    scheme: str

    outcome = "matched"


@dataclass(frozen=True, slots=True)
class NotMatched:
    """The password was checked and does not verify."""

    scheme: str

    outcome = "not_matched"


@dataclass(frozen=True, slots=True)
class Unsupported:
    """The hash could not be checked here; ``reason`` says why (never a secret)."""

    scheme: str
    reason: str

    outcome = "unsupported"


@dataclass(frozen=True, slots=True)
class Malformed:
    """The stored value is not valid for its scheme; ``reason`` says how (never a secret)."""

    scheme: str
    reason: str

    outcome = "malformed"


VerifyResult = Matched | NotMatched | Unsupported | Malformed
"""The four explicit outcomes of verifying one password against one stored hash."""

OUTCOMES = ("matched", "not_matched", "unsupported", "malformed")
"""The ``outcome`` strings of the result variants, as ``verify_many`` writes them."""


@runtime_checkable
class HashScheme(Protocol):
    """One family of stored-hash formats (one module per family).

    ``identify`` looks at the payload left after any ``{SCHEME}`` prefix (``name`` is
    that prefix, upper-cased and without a ``.HEX``/``.B64`` suffix, or ``None`` when
    there was none; the caller records the suffix in :attr:`SchemeInfo.encoding`, and
    for textual schemes decodes the payload first) and returns a
    :class:`SchemeInfo` when the family owns it, else ``None``.  ``verify`` is only
    called with payloads this family identified; it never raises on bad input
    (it returns :class:`Malformed` or :class:`Unsupported`).
    """

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Return what this family recognises in ``payload``, or ``None``."""
        ...

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Check ``password`` (raw bytes, as the client sends them) against ``payload``."""
        ...
