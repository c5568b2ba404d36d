"""Match components against advisories: an index by (ecosystem family, package name).

Advisories are indexed once by ``(family, normalised name)`` — and, for Ubuntu
records, by every binary package name they list — with their ranges already parsed
(:mod:`credwatch.supply.osv`).  Matching a component is then a dictionary lookup and a
few version comparisons.  Records for the same vulnerability (``aliases``,
``upstream``, ``UBUNTU-CVE-X`` = ``CVE-X``, a USN and the CVEs it fixes) are merged
into one :class:`Vulnerability` per component.

Each component ends as exactly one of :class:`Vulnerable`, :class:`NotAffected` or
:class:`~credwatch.supply.model.Unchecked` (with the reason it could not be checked).

Example:
    >>> index = AdvisoryIndex(load.advisories)                 # doctest: +SKIP
    >>> results = index.match(components)                      # doctest: +SKIP
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from credwatch.supply.model import Component, Unchecked
from credwatch.supply.osv import Advisory, Affected, Severity
from credwatch.supply.purls import normalise_name
from credwatch.supply.versions import KNOWN_FAMILIES, InvalidVersionError, scheme_for

__all__ = [
    "AdvisoryIndex",
    "MatchResult",
    "NotAffected",
    "Vulnerability",
    "Vulnerable",
    "merge_aliases",
]


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One vulnerability of a component, merged over the records that describe it.

    Attributes:
        ids: the ids of the matching records (sorted).
        aliases: every other id they name (CVE, GHSA, DSA, USN, ...), sorted.
        severity: the most severe of the records' severities, or ``None``.
        fixed: the first version that fixes it for this component (the highest fix any
            record names above the component's version), or ``None`` when none does.
        summary: a one-line summary from one of the records.
    """

    ids: tuple[str, ...]
    aliases: tuple[str, ...]
    severity: Severity | None
    fixed: str | None
    summary: str

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "ids": list(self.ids),
            "aliases": list(self.aliases),
            "severity": None if self.severity is None else self.severity.to_json(),
            "fixed": self.fixed,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class Vulnerable:
    """A component some advisory affects."""

    component: Component
    vulnerabilities: tuple[Vulnerability, ...]


@dataclass(frozen=True, slots=True)
class NotAffected:
    """A component that was checked and no advisory affects."""

    component: Component


MatchResult = Vulnerable | NotAffected | Unchecked


def merge_aliases(advisories: Iterable[Advisory]) -> list[list[Advisory]]:
    """Group advisories that share an id or alias (union-find over all their ids)."""
    items = list(advisories)
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, adv in enumerate(items):
        for ident in (adv.id, *adv.aliases):
            j = owner.setdefault(ident, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    groups: dict[int, list[Advisory]] = defaultdict(list)
    for i, adv in enumerate(items):
        groups[find(i)].append(adv)
    return list(groups.values())


class AdvisoryIndex:
    """Advisories indexed by ``(ecosystem family, normalised package name)``.

    Args:
        advisories: parsed advisories (withdrawn ones already left out).
    """

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        # Verdicts per (ecosystem, name, source package, version): a fleet repeats them.
        self._memo: dict[tuple[str, str, str | None, str], tuple[Vulnerability, ...] | None] = {}
        self._by_key: dict[tuple[str, str], list[tuple[Advisory, Affected]]] = defaultdict(list)
        for adv in advisories:
            for entry in adv.affected:
                family = entry.ecosystem.family
                for name in {entry.name, *entry.binaries}:
                    self._by_key[(family, name)].append((adv, entry))

    def __len__(self) -> int:
        return len(self._by_key)

    def candidates(self, component: Component) -> list[tuple[Advisory, Affected]]:
        """Affected entries indexed under the component's names and ecosystem family."""
        eco = component.ecosystem
        if eco is None:
            return []
        names = {normalise_name(eco.family, component.name)}
        if component.source_package:
            names.add(normalise_name(eco.family, component.source_package))
        out: list[tuple[Advisory, Affected]] = []
        for name in sorted(names):
            out.extend(
                pair
                for pair in self._by_key.get((eco.family, name), ())
                if eco.covers(pair[1].ecosystem)
            )
        return out

    def match_one(self, component: Component) -> MatchResult:
        """Check one component."""
        eco = component.ecosystem
        if eco is None:
            return Unchecked(component, "no ecosystem (no purl, or a purl type OSV does not cover)")
        if eco.family not in KNOWN_FAMILIES:
            return Unchecked(component, f"no version semantics for ecosystem {eco.family}")
        if component.version is None:
            return Unchecked(component, "no version")
        version = component.version
        try:
            scheme_for(eco.family).parse(version)
        except InvalidVersionError:
            return Unchecked(component, f"version is not valid in {eco.family}")
        key = (str(eco), component.name, component.source_package, version)
        if key in self._memo:
            known = self._memo[key]
            return NotAffected(component) if known is None else Vulnerable(component, known)
        found = self._vulnerabilities(component, version, eco.family)
        self._memo[key] = found
        return NotAffected(component) if found is None else Vulnerable(component, found)

    def _vulnerabilities(
        self, component: Component, version: str, family: str
    ) -> tuple[Vulnerability, ...] | None:
        hits: dict[str, tuple[Advisory, list[Affected]]] = {}
        for adv, entry in self.candidates(component):
            try:
                affected = entry.contains(version)
            except InvalidVersionError:
                continue  # e.g. a SEMVER range over a version that is not semver
            if affected:
                hits.setdefault(adv.id, (adv, []))[1].append(entry)
        if not hits:
            return None
        vulns = [
            _vulnerability(group, {a.id: hits[a.id][1] for a in group}, version, family)
            for group in merge_aliases(adv for adv, _ in hits.values())
        ]
        vulns.sort(key=lambda v: (-(v.severity.rank[0] if v.severity else -1.0), v.ids))
        return tuple(vulns)

    def match(self, components: Sequence[Component]) -> list[MatchResult]:
        """Check every component, in order."""
        return [self.match_one(c) for c in components]


def _vulnerability(
    group: list[Advisory], entries: dict[str, list[Affected]], version: str, family: str
) -> Vulnerability:
    scheme = scheme_for(family)
    current = scheme.parse(version)
    fixes: list[str] = []
    for adv in group:
        above: list[str] = []
        for entry in entries[adv.id]:
            for candidate in entry.fixed:
                try:
                    if current < scheme.parse(candidate):
                        above.append(candidate)
                except InvalidVersionError:
                    continue
        if above:
            # This record's fix for the component: the lowest fixed version above it.
            fixes.append(min(above, key=lambda t: cast(Any, scheme.parse(t))))
    fixed = max(fixes, key=lambda t: cast(Any, scheme.parse(t))) if fixes else None
    ids = tuple(sorted(a.id for a in group))
    aliases = tuple(sorted({x for a in group for x in a.aliases} - set(ids)))
    severities = [a.severity for a in group if a.severity is not None]
    severity = max(severities, key=lambda s: s.rank) if severities else None
    summary = next((a.summary for a in sorted(group, key=lambda a: a.id) if a.summary), "")
    return Vulnerability(ids, aliases, severity, fixed, summary)
