"""Email address normalisation, shared by every stage that derives an ``email_key``.

The same rules run in two places that must agree byte for byte: :class:`Normalizer`
for single addresses in Python (``leak check``, ``serve``, ``hunt``, account stores)
and :meth:`Normalizer.sql` for the vectorised ingest inside DuckDB.  The SQL form
handles ASCII addresses (nearly all of them); rows it marks as non-ASCII go through
the Python form, so both paths share one definition.

Rules (DESIGN.md, privacy model): NFKC, strip, lowercase, IDNA (UTS #46) for the
domain.  Per-domain rules (dot folding, ``+tag`` stripping) are opt-in, never default.

Example:
    >>> Normalizer().normalize("  Taro.Yamada@NIFTY.com ")
    'taro.yamada@nifty.com'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import idna

__all__ = [
    "MAX_ADDRESS_LENGTH",
    "DomainRule",
    "InvalidAddressError",
    "Normalizer",
    "mask_email",
]

MAX_ADDRESS_LENGTH = 254

# Characters never allowed unquoted in a local part (RFC 5322 specials, whitespace,
# controls).  Written out rather than using \s so Python and RE2 (DuckDB) agree.
_LOCAL_FORBIDDEN = r"\t\n\x0b\x0c\r @:;,<>()\[\]\\\"\x00-\x1f\x7f"
LOCAL_PART_PATTERN = rf"[^{_LOCAL_FORBIDDEN}]{{1,64}}"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TLD = r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
DOMAIN_PATTERN = rf"(?:{_LABEL}\.)+{_TLD}"
ADDRESS_PATTERN = rf"^{LOCAL_PART_PATTERN}@{DOMAIN_PATTERN}$"
_ADDRESS_RE = re.compile(ADDRESS_PATTERN)
_WHITESPACE = " \t\r\n\x0b\x0c"


class InvalidAddressError(ValueError):
    """The text is not a usable email address.  The message never repeats the text."""


@dataclass(frozen=True, slots=True)
class DomainRule:
    """Opt-in folding for one domain, e.g. ``gmail.com`` ignores dots and ``+tags``.

    Attributes:
        fold_dots: remove ``.`` from the local part.
        strip_plus: drop everything from the first ``+`` in the local part.
    """

    fold_dots: bool = False
    strip_plus: bool = False


@dataclass(frozen=True, slots=True)
class Normalizer:
    """Normalises addresses; the identity of an address for every keyed hash.

    Attributes:
        domain_rules: opt-in per-domain folding rules, keyed by normalised domain.
    """

    domain_rules: Mapping[str, DomainRule] = field(default_factory=dict)

    def normalize(self, raw: str) -> str:
        """Return the normalised address.

        Raises:
            InvalidAddressError: when the text is not a valid address.
        """
        text = unicodedata.normalize("NFKC", raw).strip(_WHITESPACE).lower()
        if text.count("@") != 1:
            raise InvalidAddressError("not an address: needs exactly one '@'")
        local, domain = text.split("@")
        if not domain.isascii():
            try:
                domain = idna.encode(domain, uts46=True).decode("ascii")
            except idna.IDNAError as exc:
                raise InvalidAddressError("domain is not a valid IDNA name") from exc
        address = f"{local}@{domain}"
        if len(address) > MAX_ADDRESS_LENGTH or not _ADDRESS_RE.match(address):
            raise InvalidAddressError("not a valid address")
        rule = self.domain_rules.get(domain)
        if rule is not None:
            local = self._fold(local, rule)
            if not local:
                raise InvalidAddressError("local part is empty after domain folding")
            address = f"{local}@{domain}"
        return address

    def try_normalize(self, raw: str) -> str | None:
        """Like :meth:`normalize` but return ``None`` for an invalid address."""
        try:
            return self.normalize(raw)
        except InvalidAddressError:
            return None

    @staticmethod
    def _fold(local: str, rule: DomainRule) -> str:
        if rule.strip_plus:
            local = local.split("+", 1)[0]
        if rule.fold_dots:
            local = local.replace(".", "")
        return local

    def sql(self, column: str) -> str:
        """Return a DuckDB expression normalising ASCII addresses held in ``column``.

        The expression yields the normalised address, or NULL when the address is
        invalid.  It must only be applied to ASCII text (check with
        ``regexp_matches(col, '^[\\x00-\\x7f]*$')`` or ``NOT contains non-ASCII``);
        anything else goes through :meth:`normalize`.
        """
        trimmed = f"lower(trim({column}, ' \t\r\n\x0b\x0c'))"
        valid = (
            f"CASE WHEN length({trimmed}) <= {MAX_ADDRESS_LENGTH} "
            f"AND regexp_full_match({trimmed}, '{_sql_quote(ADDRESS_PATTERN[1:-1])}') "
            f"THEN {trimmed} END"
        )
        if not self.domain_rules:
            return valid
        cases = []
        for domain, rule in sorted(self.domain_rules.items()):
            local = "split_part(a, '@', 1)"
            if rule.strip_plus:
                local = f"split_part({local}, '+', 1)"
            if rule.fold_dots:
                local = f"replace({local}, '.', '')"
            cases.append(
                f"WHEN split_part(a, '@', 2) = '{_sql_quote(domain)}' "
                f"THEN nullif({local}, '') || '@' || split_part(a, '@', 2)"
            )
        return f"(SELECT CASE {' '.join(cases)} ELSE a END FROM (SELECT {valid} AS a))"


def _sql_quote(text: str) -> str:
    return text.replace("'", "''")


def mask_email(address: str) -> str:
    """Mask an address for reports and logs: ``taro@nifty.com`` -> ``t***@nifty.com``.

    Anything without an ``@`` is masked whole (``***``).
    """
    local, sep, domain = address.rpartition("@")
    if not sep or not local:
        return "***"
    return f"{local[0]}***@{domain}"
