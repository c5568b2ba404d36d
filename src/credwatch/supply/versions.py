"""Ecosystem-correct version parsing and comparison.

Each OSV ecosystem family gets a :class:`VersionScheme` that turns a version string
into an object ordered the way that ecosystem orders versions:

* ``Debian``, ``Ubuntu`` — dpkg semantics (epochs, ``~`` sorts before everything,
  revisions), through :mod:`debian.debian_support` (python-debian);
* ``PyPI`` — PEP 440 through :mod:`packaging.version`;
* ``npm``, ``crates.io``, ``Go``, ``Hex``, ``Pub``, ``SwiftURL`` and ``SEMVER`` ranges —
  semantic versioning through :mod:`univers` (Go's leading ``v`` is dropped);
* ``Maven``, ``Packagist``, ``RubyGems``, ``NuGet``, ``Alpine`` — :mod:`univers`.

Parsing is cached per scheme, so a version string seen many times (a fleet of hosts
with the same package) is parsed once.

Example:
    >>> s = scheme_for("Debian")
    >>> s.parse("1:1.0~rc1-1") < s.parse("1:1.0-1") < s.parse("2:0.1-1")
    True
    >>> scheme_for("PyPI").parse("1.4.5") < scheme_for("PyPI").parse("1.4.6rc1")
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import total_ordering
from typing import Any, Protocol

from debian.debian_support import Version as DebianVersion
from packaging.version import InvalidVersion as PackagingInvalidVersion
from packaging.version import Version as Pep440Version
from univers import versions as uv

__all__ = [
    "KNOWN_FAMILIES",
    "InvalidVersionError",
    "Orderable",
    "VersionScheme",
    "ecosystem_family",
    "scheme_for",
]


class InvalidVersionError(ValueError):
    """A version string is not valid in its ecosystem."""


class Orderable(Protocol):
    """A parsed version: totally ordered within one scheme."""

    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...


_DEBIAN_VALID = re.compile(r"^(?:\d+:)?[0-9][A-Za-z0-9.+~:-]*$")


@total_ordering
class _DebianKey:
    """A Debian version with cached comparison (python-debian's compare is ~30 µs)."""

    __slots__ = ("_text", "_version")

    _cache: dict[tuple[str, str], int] = {}  # noqa: RUF012 - a deliberate class-wide cache

    def __init__(self, text: str) -> None:
        self._text = text
        self._version = DebianVersion(text)

    def _cmp(self, other: _DebianKey) -> int:
        key = (self._text, other._text)
        hit = _DebianKey._cache.get(key)
        if hit is None:
            if len(_DebianKey._cache) > 1_000_000:
                _DebianKey._cache.clear()
            hit = (self._version > other._version) - (self._version < other._version)
            _DebianKey._cache[key] = hit
        return hit

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DebianKey) and self._cmp(other) == 0

    def __lt__(self, other: _DebianKey) -> bool:
        return self._cmp(other) < 0

    def __hash__(self) -> int:
        # Equal versions may be spelt differently ("1.0" == "0:1.0" == "1.0-0"): hash the epoch.
        return hash(self._version.epoch or "0")

    def __repr__(self) -> str:
        return f"DebianVersion({self._text!r})"


def _parse_debian(text: str) -> Orderable:
    if not _DEBIAN_VALID.match(text):
        raise InvalidVersionError(f"not a Debian version: {text!r}")
    try:
        return _DebianKey(text)
    except ValueError as exc:
        raise InvalidVersionError(f"not a Debian version: {text!r}") from exc


def _parse_pep440(text: str) -> Orderable:
    try:
        return Pep440Version(text)
    except PackagingInvalidVersion as exc:
        raise InvalidVersionError(f"not a PEP 440 version: {text!r}") from exc


def _univers(cls: type[uv.Version], *, strip_v: bool = False) -> Callable[[str], Orderable]:
    def parse(text: str) -> Orderable:
        value = text[1:] if strip_v and text[:1] in {"v", "V"} else text
        try:
            return cls(value)
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidVersionError(f"not a {cls.__name__}: {text!r}") from exc

    return parse


@dataclass(slots=True)
class VersionScheme:
    """How one ecosystem family orders versions.

    Attributes:
        name: the scheme's name (``debian``, ``pep440``, ``semver``, ...).
        parser: turns a string into an orderable value or raises ``InvalidVersionError``.
    """

    name: str
    parser: Callable[[str], Orderable]
    _cache: dict[str, Orderable | InvalidVersionError] = field(default_factory=dict, repr=False)

    def parse(self, text: str) -> Orderable:
        """Parse ``text`` (cached).

        Raises:
            InvalidVersionError: the string is not a valid version of this scheme.
        """
        hit = self._cache.get(text)
        if hit is None:
            try:
                hit = self.parser(text.strip())
            except InvalidVersionError as exc:
                hit = exc
            if len(self._cache) > 500_000:
                self._cache.clear()
            self._cache[text] = hit
        if isinstance(hit, InvalidVersionError):
            raise hit
        return hit

    def compare(self, a: str, b: str) -> int:
        """Return -1, 0 or 1 as ``a`` sorts before, equal to or after ``b``.

        Raises:
            InvalidVersionError: either string is invalid.
        """
        pa_, pb = self.parse(a), self.parse(b)
        if pa_ == pb:
            return 0
        return -1 if pa_ < pb else 1


_FACTORIES: dict[str, tuple[str, Callable[[str], Orderable]]] = {
    "Debian": ("debian", _parse_debian),
    "Ubuntu": ("debian", _parse_debian),
    "PyPI": ("pep440", _parse_pep440),
    "npm": ("semver", _univers(uv.SemverVersion)),
    "crates.io": ("semver", _univers(uv.SemverVersion)),
    "Go": ("semver", _univers(uv.SemverVersion, strip_v=True)),
    "Hex": ("semver", _univers(uv.SemverVersion)),
    "Pub": ("semver", _univers(uv.SemverVersion)),
    "SEMVER": ("semver", _univers(uv.SemverVersion, strip_v=True)),
    "Maven": ("maven", _univers(uv.MavenVersion)),
    "Packagist": ("composer", _univers(uv.ComposerVersion, strip_v=True)),
    "RubyGems": ("gem", _univers(uv.RubygemsVersion)),
    "NuGet": ("nuget", _univers(uv.NugetVersion)),
    "Alpine": ("alpine", _univers(uv.AlpineLinuxVersion)),
}

#: Ecosystem families whose versions credwatch can order.
KNOWN_FAMILIES = frozenset(_FACTORIES) - {"SEMVER"}

_SCHEMES: dict[str, VersionScheme] = {}


def ecosystem_family(ecosystem: str) -> str:
    """The family of an OSV ecosystem string: ``"Ubuntu:Pro:20.04:LTS"`` -> ``"Ubuntu"``."""
    return ecosystem.split(":", 1)[0].strip()


def scheme_for(ecosystem: str) -> VersionScheme:
    """The version scheme of an OSV ecosystem (any release of a family), or ``SEMVER``.

    Raises:
        KeyError: credwatch has no version semantics for this ecosystem family.
    """
    family = ecosystem_family(ecosystem)
    scheme = _SCHEMES.get(family)
    if scheme is None:
        name, parser = _FACTORIES[family]
        scheme = _SCHEMES[family] = VersionScheme(name, parser)
    return scheme
