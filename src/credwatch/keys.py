"""Keyed hashes that stand for addresses and pairs in every stored artefact.

Construction (version 1, recorded in the index metadata as :data:`KEY_CONSTRUCTION`)::

    K          = lowercase hex of the 32-byte workspace pepper
    email_key  = SHA-256(K || "|e|" || normalised address as UTF-8)[:16]
    pair_key   = SHA-256(K || "|p|" || hex(email_key) || "|" || password as UTF-8)[:16]

SHA-256 over a secret prefix is a PRF for these fixed-format messages: a length
extension can only produce messages with SHA padding bytes inside, never another
address or pair.  We chose it over keyed BLAKE2b because it runs vectorised inside
DuckDB (``sha256``) during ingest, where a Python call per record is too slow; the
Python side here computes the same bytes for single look-ups.

Changing the construction or the pepper means re-ingesting: the index refuses to open
under another one (see ``credwatch.index``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["KEY_CONSTRUCTION", "KEY_LENGTH", "Keyer"]

KEY_CONSTRUCTION = "sha256-prefix-v1"
KEY_LENGTH = 16


@dataclass(frozen=True, slots=True)
class Keyer:
    """Derives ``email_key`` and ``pair_key`` under one pepper.

    The pepper never appears in ``repr`` or messages.

    Example:
        >>> k = Keyer(bytes(32))
        >>> len(k.email_key("taro@nifty.com"))
        16
    """

    pepper: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.pepper) != 32:
            raise ValueError("the pepper must be exactly 32 bytes")

    @property
    def email_prefix(self) -> str:
        """The secret prefix for address keys (pass it to SQL as a parameter)."""
        return self.pepper.hex() + "|e|"

    @property
    def pair_prefix(self) -> str:
        """The secret prefix for pair keys (pass it to SQL as a parameter)."""
        return self.pepper.hex() + "|p|"

    @property
    def fingerprint(self) -> str:
        """A public identifier of the pepper, stored to detect a pepper change."""
        return hashlib.sha256(self.pepper.hex().encode() + b"|fingerprint|").hexdigest()[:16]

    def email_key(self, normalized_email: str) -> bytes:
        """Return the 16-byte key of an already normalised address."""
        data = (self.email_prefix + normalized_email).encode("utf-8")
        return hashlib.sha256(data).digest()[:KEY_LENGTH]

    def pair_key(self, email_key: bytes, password: str) -> bytes:
        """Return the 16-byte key of (address, password)."""
        data = (self.pair_prefix + email_key.hex() + "|" + password).encode(
            "utf-8", "surrogatepass"
        )
        return hashlib.sha256(data).digest()[:KEY_LENGTH]

    @staticmethod
    def sql_email_key(prefix_param: str, email_expr: str) -> str:
        """DuckDB expression for ``email_key`` given the prefix parameter name."""
        return f"unhex(left(sha256({prefix_param} || {email_expr}), 32))"

    @staticmethod
    def sql_pair_key(prefix_param: str, email_key_expr: str, password_expr: str) -> str:
        """DuckDB expression for ``pair_key`` from a BLOB email key and a password."""
        return (
            f"unhex(left(sha256({prefix_param} || lower(hex({email_key_expr})) || '|' "
            f"|| {password_expr}), 32))"
        )
