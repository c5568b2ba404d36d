"""OSV records: parsed once into advisories with pre-parsed ranges.

An OSV record (https://ossf.github.io/osv-schema/) lists affected packages, each with
ranges of events (``introduced``, ``fixed``, ``last_affected``, ``limit``) and/or an
explicit ``versions`` list.  :func:`parse_record` validates a record and turns every
``ECOSYSTEM``/``SEMVER`` range into sorted half-open intervals over parsed versions,
so matching a component is a handful of comparisons.

Things a record can do that we count rather than crash on: an unknown ecosystem, no
package (``GIT``-only ranges, e.g. the PSF's CPython records), an invalid version in an
event, a withdrawn record.

Example:
    >>> adv = parse_record({"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI",
    ...     "name": "aiosmtpd"}, "ranges": [{"type": "ECOSYSTEM", "events": [
    ...     {"introduced": "0"}, {"fixed": "1.4.5"}]}]}]})
    >>> adv.affected[0].contains("1.4.4"), adv.affected[0].contains("1.4.5")
    (True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from credwatch.supply.model import Ecosystem
from credwatch.supply.purls import normalise_name
from credwatch.supply.versions import (
    KNOWN_FAMILIES,
    InvalidVersionError,
    Orderable,
    VersionScheme,
    scheme_for,
)

__all__ = [
    "RATINGS",
    "Advisory",
    "Affected",
    "CvssScore",
    "Interval",
    "Range",
    "RecordError",
    "Severity",
    "intervals_from_events",
    "parse_record",
]

#: Severity ratings, least to most severe.
RATINGS = ("none", "low", "medium", "high", "critical")
_RATING_ALIASES = {"moderate": "medium", "negligible": "low", "important": "high", "unknown": ""}
_CVE = re.compile(r"^(?:UBUNTU|DEBIAN|ALPINE)-(CVE-\d{4}-\d+)$")


class RecordError(ValueError):
    """An OSV record is unusable as a whole (the message is a short, safe reason)."""


@dataclass(frozen=True, slots=True)
class Interval:
    """``lower <= v < upper`` (``upper_inclusive`` turns it into ``<=``); ``None`` is unbounded."""

    lower: Orderable | None
    upper: Orderable | None
    upper_inclusive: bool = False

    def contains(self, v: Orderable) -> bool:
        """Whether ``v`` lies in the interval."""
        if self.lower is not None and v < self.lower:
            return False
        if self.upper is None:
            return True
        return v <= self.upper if self.upper_inclusive else v < self.upper


def intervals_from_events(
    scheme: VersionScheme, events: Sequence[Mapping[str, Any]]
) -> tuple[tuple[Interval, ...], tuple[str, ...], Orderable | None]:
    """Turn an OSV range's events into intervals, following the schema's algorithm.

    Events are sorted by version (``introduced: "0"`` first); walking them, an
    ``introduced`` opens an interval, a ``fixed`` closes it before the fixed version and a
    ``last_affected`` closes it after that version.  ``limit`` events cap the whole range.

    Returns:
        the intervals, the fixed versions (as written), and the limit (or ``None``).

    Raises:
        InvalidVersionError: an event's version is invalid in this scheme.
        RecordError: an event is malformed.
    """
    parsed: list[tuple[int, Orderable | None, str, str]] = []
    limits: list[Orderable] = []
    fixed: list[str] = []
    for event in events:
        if not isinstance(event, Mapping) or len(event) != 1:
            raise RecordError("a range event is not a one-key object")
        ((kind, value),) = event.items()
        if not isinstance(value, str):
            raise RecordError("a range event's version is not a string")
        if kind == "introduced" and value == "0":
            parsed.append((0, None, kind, value))
        elif kind in {"introduced", "fixed", "last_affected"}:
            parsed.append((1, scheme.parse(value), kind, value))
            if kind == "fixed":
                fixed.append(value)
        elif kind == "limit":
            if value != "*":
                limits.append(scheme.parse(value))
        else:
            raise RecordError(f"unknown range event {kind!r}")
    order = sorted(
        range(len(parsed)),
        key=_SortKey.of(parsed),
    )
    out: list[Interval] = []
    start: Orderable | None = None
    open_ = False
    for i in order:
        _, version, kind, _ = parsed[i]
        if kind == "introduced":
            if not open_:
                start, open_ = version, True
        elif open_:
            out.append(Interval(start, version, upper_inclusive=kind == "last_affected"))
            open_ = False
    if open_:
        out.append(Interval(start, None))
    limit = max(limits) if limits else None
    return tuple(out), tuple(fixed), limit


class _SortKey:
    """Sort events by version, ``introduced: "0"`` first (versions of one scheme only)."""

    __slots__ = ("item",)

    def __init__(self, item: tuple[int, Orderable | None, str, str]) -> None:
        self.item = item

    @staticmethod
    def of(parsed: list[tuple[int, Orderable | None, str, str]]) -> Any:
        return lambda i: _SortKey(parsed[i])

    def __lt__(self, other: _SortKey) -> bool:
        a, b = self.item, other.item
        if a[0] != b[0]:
            return a[0] < b[0]
        if a[1] is None or b[1] is None:
            return False
        return bool(a[1] < b[1])


@dataclass(frozen=True, slots=True)
class CvssScore:
    """A CVSS vector from the record and its computed base score."""

    type: str
    vector: str
    score: float
    rating: str


@dataclass(frozen=True, slots=True)
class Severity:
    """The severity of an advisory: the best CVSS score, or a textual rating only."""

    rating: str
    score: float | None = None
    vector: str | None = None

    @property
    def rank(self) -> tuple[float, int]:
        """Sort key: score first, then rating."""
        return (self.score if self.score is not None else -1.0, RATINGS.index(self.rating))

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"rating": self.rating, "score": self.score, "vector": self.vector}


@dataclass(frozen=True, slots=True)
class Range:
    """One ``ECOSYSTEM`` or ``SEMVER`` range, parsed once.

    Attributes:
        scheme: how this range's versions are ordered.
        intervals: the affected intervals.
        fixed: fixed versions, as written.
        limit: versions at or above it are never affected (``None``: no limit).
    """

    scheme: VersionScheme
    intervals: tuple[Interval, ...]
    fixed: tuple[str, ...]
    limit: Orderable | None

    def contains(self, version: str) -> bool:
        """Whether ``version`` falls in the range.

        Raises:
            InvalidVersionError: ``version`` is not valid in this range's scheme.
        """
        v = self.scheme.parse(version)
        if self.limit is not None and not v < self.limit:
            return False
        return any(iv.contains(v) for iv in self.intervals)


@dataclass(frozen=True, slots=True)
class Affected:
    """One ``affected[]`` entry with pre-parsed ranges.

    Attributes:
        ecosystem: the entry's ecosystem (family + release).
        name: the package name, normalised for lookups.
        binaries: other names the entry applies to (Ubuntu's binary packages).
        ranges: the parsed ``ECOSYSTEM``/``SEMVER`` ranges.
        versions: versions listed explicitly as affected.
    """

    ecosystem: Ecosystem
    name: str
    binaries: frozenset[str]
    ranges: tuple[Range, ...]
    versions: frozenset[str]

    @property
    def fixed(self) -> tuple[str, ...]:
        """Every fixed version the ranges name."""
        return tuple(f for r in self.ranges for f in r.fixed)

    def contains(self, version: str) -> bool:
        """Whether ``version`` is affected (listed, or inside a range).

        Raises:
            InvalidVersionError: ``version`` is not listed and not valid in the ranges' scheme.
        """
        if version in self.versions:
            return True
        return any(r.contains(version) for r in self.ranges)


@dataclass(frozen=True, slots=True)
class Advisory:
    """A parsed OSV record.

    Attributes:
        id: the record's id.
        aliases: ids of the same vulnerability elsewhere (``aliases``, ``upstream`` and,
            for ``UBUNTU-CVE-*``/``DEBIAN-CVE-*`` ids, the CVE they are named after).
        summary: one line (``summary`` or the first line of ``details``), may be empty.
        severity: the best severity the record gives, or ``None``.
        cvss: every CVSS vector with its computed base score.
        affected: the usable affected entries.
        skipped: affected entries that could not be used, as ``(reason, count)``.
        modified: the record's ``modified`` timestamp, as written.
        source: where it came from (file, zip member or API).
    """

    id: str
    aliases: frozenset[str]
    summary: str
    severity: Severity | None
    cvss: tuple[CvssScore, ...]
    affected: tuple[Affected, ...]
    skipped: tuple[tuple[str, int], ...]
    modified: str
    source: str


@lru_cache(maxsize=4096)
def _cvss(kind: str, vector: str) -> CvssScore | None:
    # Cached: the same few thousand vectors recur across a whole database.
    try:
        if kind == "CVSS_V4":
            c4 = CVSS4(vector)
            return CvssScore(kind, vector, float(c4.base_score), c4.severity.lower())
        if kind == "CVSS_V3":
            c3 = CVSS3(vector)
            return CvssScore(kind, vector, float(c3.base_score), c3.severities()[0].lower())
        if kind == "CVSS_V2":
            c2 = CVSS2(vector)
            score = float(c2.base_score)
            return CvssScore(kind, vector, score, _rating_of(score))
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


def _rating_of(score: float) -> str:
    if score == 0:
        return "none"
    if score < 4:
        return "low"
    if score < 7:
        return "medium"
    if score < 9:
        return "high"
    return "critical"


def _text_rating(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = _RATING_ALIASES.get(value.strip().lower(), value.strip().lower())
    return text if text in RATINGS else None


def _severity(record: Mapping[str, Any]) -> tuple[Severity | None, tuple[CvssScore, ...]]:
    entries: list[Any] = list(record.get("severity") or [])
    for aff in record.get("affected") or []:
        if isinstance(aff, Mapping):
            entries.extend(aff.get("severity") or [])
    scores: list[CvssScore] = []
    texts: list[str] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        kind, score = entry.get("type"), entry.get("score")
        if not isinstance(kind, str) or not isinstance(score, str):
            continue
        if kind.startswith("CVSS_"):
            parsed = _cvss(kind, score)
            if parsed is not None and parsed not in scores:
                scores.append(parsed)
        elif (rating := _text_rating(score)) is not None:
            texts.append(rating)
    db = record.get("database_specific")
    if isinstance(db, Mapping) and (rating := _text_rating(db.get("severity"))) is not None:
        texts.append(rating)
    if scores:
        # CVSS v3.x is what operators and most feeds compare on; v4 and v2 only when alone.
        order = {"CVSS_V3": 3, "CVSS_V4": 2, "CVSS_V2": 1}
        best = max(scores, key=lambda s: (order.get(s.type, 0), s.score))
        return Severity(best.rating, best.score, best.vector), tuple(scores)
    if texts:
        return Severity(max(texts, key=RATINGS.index)), ()
    return None, ()


def _binaries(affected: Mapping[str, Any]) -> frozenset[str]:
    spec = affected.get("ecosystem_specific")
    if not isinstance(spec, Mapping):
        return frozenset()
    names: set[str] = set()
    for item in spec.get("binaries") or []:
        if isinstance(item, Mapping):
            if "binary_name" in item:
                names.add(str(item["binary_name"]).lower())
            else:
                names.update(str(k).lower() for k in item)
    return frozenset(names)


def _aliases(record: Mapping[str, Any], ident: str) -> frozenset[str]:
    out: set[str] = set()
    for key in ("aliases", "upstream"):
        values = record.get(key) or []
        if isinstance(values, list):
            out.update(v for v in values if isinstance(v, str))
    for name in (ident, *list(out)):
        m = _CVE.match(name)
        if m:
            out.add(m.group(1))
    out.discard(ident)
    return frozenset(out)


def _summary(record: Mapping[str, Any]) -> str:
    text = record.get("summary") or record.get("details") or ""
    if not isinstance(text, str):
        return ""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:200]


def parse_record(record: object, source: str = "") -> Advisory:
    """Validate one OSV record and pre-parse its ranges.

    Affected entries that cannot be used are left out and counted in
    :attr:`Advisory.skipped` (``unknown ecosystem``, ``no package``, ``invalid version``,
    ``no usable range``).  Withdrawn records are parsed too; the caller decides.

    Raises:
        RecordError: the record is not an object or has no ``id``.
    """
    if not isinstance(record, Mapping):
        raise RecordError("not a JSON object")
    ident = record.get("id")
    if not isinstance(ident, str) or not ident.strip():
        raise RecordError("no id")
    affected_in = record.get("affected") or []
    if not isinstance(affected_in, list):
        raise RecordError("'affected' is not a list")
    skipped: dict[str, int] = {}
    affected: list[Affected] = []
    for entry in affected_in:
        reason = None
        result = None
        try:
            result = _affected(entry)
        except (InvalidVersionError, RecordError) as exc:
            reason = (
                "invalid version in a range"
                if isinstance(exc, InvalidVersionError)
                else f"malformed affected entry: {exc}"
            )
        if isinstance(result, str):
            reason = result
        elif result is not None:
            affected.append(result)
        if reason is not None:
            skipped[reason] = skipped.get(reason, 0) + 1
    severity, scores = _severity(record)
    modified = record.get("modified")
    return Advisory(
        id=ident.strip(),
        aliases=_aliases(record, ident.strip()),
        summary=_summary(record),
        severity=severity,
        cvss=scores,
        affected=tuple(affected),
        skipped=tuple(sorted(skipped.items())),
        modified=modified if isinstance(modified, str) else "",
        source=source,
    )


def _affected(entry: object) -> Affected | str:
    """One affected entry, or the reason it is skipped."""
    if not isinstance(entry, Mapping):
        raise RecordError("not an object")
    package = entry.get("package")
    if not isinstance(package, Mapping):
        return "no package (GIT ranges only)"
    eco_text, name = package.get("ecosystem"), package.get("name")
    if not isinstance(eco_text, str) or not isinstance(name, str) or not name.strip():
        return "package without ecosystem or name"
    ecosystem = Ecosystem.parse(eco_text)
    if ecosystem.family not in KNOWN_FAMILIES:
        return "unknown ecosystem"
    ranges: list[Range] = []
    for rng in entry.get("ranges") or []:
        if not isinstance(rng, Mapping):
            raise RecordError("a range is not an object")
        kind = rng.get("type")
        if kind not in {"ECOSYSTEM", "SEMVER"}:
            continue  # GIT ranges name commits; versions lists cover them
        events = rng.get("events")
        if not isinstance(events, list) or not events:
            raise RecordError("a range has no events")
        scheme = scheme_for(ecosystem.family if kind == "ECOSYSTEM" else "SEMVER")
        ranges.append(Range(scheme, *intervals_from_events(scheme, events)))
    versions_in = entry.get("versions") or []
    versions = frozenset(v for v in versions_in if isinstance(v, str))
    if not ranges and not versions:
        return "no usable range"
    return Affected(
        ecosystem=ecosystem,
        name=normalise_name(ecosystem.family, name),
        binaries=_binaries(entry),
        ranges=tuple(ranges),
        versions=versions,
    )
