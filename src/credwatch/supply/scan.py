"""``supply scan`` as a library call: inventories + advisories + platform map -> report.

Example:
    >>> report = scan(
    ...     [InventoryRef(Path("bom.cdx.json"))],
    ...     OsvDirectory(Path("osv")),
    ...     load_platform_map(Path("platforms.toml")),
    ...     today=date(2026, 7, 1),
    ... )                                                      # doctest: +SKIP
    >>> report.to_json()["findings"][0]["tenants"]             # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from credwatch.errors import InputError
from credwatch.supply.analysis import (
    BlastRadius,
    Concentration,
    ObligationGap,
    blast_radius,
    concentration,
    obligation_gaps,
)
from credwatch.supply.interface import AdvisoryLoad, AdvisorySource
from credwatch.supply.inventory import read_inventory
from credwatch.supply.matching import AdvisoryIndex, NotAffected, Vulnerability, Vulnerable
from credwatch.supply.model import Component, Inventory, Unchecked
from credwatch.supply.osv import RATINGS, Severity
from credwatch.supply.platforms import AccountCounts, InventoryRef, PlatformMap
from credwatch.supply.versions import scheme_for

__all__ = ["SCHEMA_VERSION", "Finding", "InventoryStatus", "ScanReport", "scan"]

#: Version of the ``supply scan --json`` document.
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class InventoryStatus:
    """How reading one inventory went (``error`` set when it could not be read at all)."""

    path: str
    format: str
    components: int
    rejected: dict[str, int]
    error: str | None = None
    hosts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "path": self.path,
            "format": self.format,
            "components": self.components,
            "rejected": self.rejected,
            "error": self.error,
            "hosts": list(self.hosts),
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """A vulnerable component (identical copies across inventories merged) and its blast radius."""

    component: Component
    sources: tuple[tuple[str, str], ...]
    vulnerabilities: tuple[Vulnerability, ...]
    blast: BlastRadius

    @property
    def severity(self) -> Severity | None:
        """The most severe of its vulnerabilities."""
        found = [v.severity for v in self.vulnerabilities if v.severity is not None]
        return max(found, key=lambda s: s.rank) if found else None

    @property
    def fixed(self) -> str | None:
        """A version fixing every vulnerability, or ``None`` when one has no fix."""
        fixes = [v.fixed for v in self.vulnerabilities]
        if not fixes or any(f is None for f in fixes):
            return None
        if self.component.ecosystem is None:
            return None
        scheme = scheme_for(self.component.ecosystem.family)
        return max((f for f in fixes if f is not None), key=scheme.parse)

    def to_json(self) -> dict[str, object]:
        """JSON-ready form (the keys DESIGN.md promises, plus details)."""
        c = self.component
        severity = self.severity
        return {
            "component": c.name,
            "version": c.version,
            "purl": c.purl,
            "ecosystem": None if c.ecosystem is None else str(c.ecosystem),
            "source_package": c.source_package,
            "sources": [{"path": p, "format": f} for p, f in self.sources],
            "advisories": sorted({i for v in self.vulnerabilities for i in v.ids}),
            "aliases": sorted({a for v in self.vulnerabilities for a in v.aliases}),
            "severity": None if severity is None else severity.rating,
            "cvss_score": None if severity is None else severity.score,
            "cvss_vector": None if severity is None else severity.vector,
            "fixed": self.fixed,
            "unfixed": sorted(v.ids[0] for v in self.vulnerabilities if v.fixed is None),
            "vulnerabilities": [v.to_json() for v in self.vulnerabilities],
            "platforms": list(self.blast.platforms),
            "hosts": list(self.blast.hosts),
            "tenants": list(self.blast.tenants),
            "accounts": None if self.blast.accounts is None else self.blast.accounts.to_json(),
            "tenants_without_counts": list(self.blast.tenants_without_counts),
        }


@dataclass(frozen=True, slots=True)
class ScanReport:
    """Everything ``supply scan`` found."""

    source: str
    advisories: AdvisoryLoad
    inventories: tuple[InventoryStatus, ...]
    components: tuple[tuple[Component, str, str | None], ...]
    findings: tuple[Finding, ...]
    concentration: Concentration | None
    obligations: tuple[ObligationGap, ...] | None
    policy: dict[str, Any] | None = field(default=None)

    def summary(self) -> dict[str, Any]:
        """Counts: components by outcome, unchecked by reason, findings by severity."""
        outcomes = Counter(status for _, status, _ in self.components)
        reasons = Counter(reason for _, status, reason in self.components if reason)
        severities = Counter(
            (f.severity.rating if f.severity is not None else "unknown") for f in self.findings
        )
        return {
            "inventories": len(self.inventories),
            "inventories_failed": sum(1 for i in self.inventories if i.error),
            "inventories_empty": sum(
                1 for i in self.inventories if not i.error and not i.components
            ),
            "components": len(self.components),
            "vulnerable": outcomes.get("vulnerable", 0),
            "not_affected": outcomes.get("not-affected", 0),
            "unchecked": outcomes.get("unchecked", 0),
            "unchecked_by_reason": dict(sorted(reasons.items())),
            "findings": len(self.findings),
            "findings_by_severity": {
                r: severities[r] for r in (*reversed(RATINGS), "unknown") if severities[r]
            },
            "obligation_gaps": None if self.obligations is None else len(self.obligations),
        }

    def to_json(self) -> dict[str, Any]:
        """The ``supply scan --json`` document."""
        return {
            "schema_version": SCHEMA_VERSION,
            "advisory_source": self.source,
            "advisories": self.advisories.to_json(),
            "summary": self.summary(),
            "inventories": [i.to_json() for i in self.inventories],
            "components": [
                {**c.to_json(), "status": status, "reason": reason}
                for c, status, reason in self.components
            ],
            "findings": [f.to_json() for f in self.findings],
            "concentration": None if self.concentration is None else self.concentration.to_json(),
            "obligations": None
            if self.obligations is None
            else [g.to_json() for g in self.obligations],
            "policy": self.policy,
        }


def _component_key(c: Component) -> tuple[str | None, ...]:
    return (
        str(c.ecosystem) if c.ecosystem else None,
        c.name,
        c.version,
        c.purl,
        c.source_package,
    )


def scan(
    inventories: Sequence[InventoryRef],
    source: AdvisorySource,
    platform_map: PlatformMap | None = None,
    *,
    today: date,
    census: Callable[[str, str], AccountCounts] | None = None,
) -> ScanReport:
    """Read the inventories (and the map's), match advisories, compute the blast radius.

    An inventory that cannot be read is reported with its error and the scan goes on;
    malformed components are counted per inventory.

    Args:
        inventories: inventory files given directly (not tied to a host).
        source: where advisories come from.
        platform_map: tenants, platforms, hosts (their inventories are read too), suppliers.
        today: the reference date for drill ages.
        census: ``census(store, tenant)`` for tenants whose map names a store.

    Raises:
        InputError: no component could be read from any inventory.
        ExternalServiceError: the advisory source failed.
    """
    pmap = platform_map
    if pmap is not None and census is not None:
        pmap = pmap.with_census(census)
    refs: dict[Path, tuple[InventoryRef, list[tuple[str, str]]]] = {}
    for ref in inventories:
        refs.setdefault(ref.path.resolve(), (ref, []))
    if pmap is not None:
        for platform in pmap.platforms.values():
            for host in platform.hosts:
                for ref in host.inventories:
                    refs.setdefault(ref.path.resolve(), (ref, []))[1].append(
                        (platform.name, host.name)
                    )
    if not refs:
        raise InputError(
            "no inventory to scan",
            hint="give --sbom/--dpkg-status files or a platform map listing host inventories",
        )
    statuses: list[InventoryStatus] = []
    placed: list[tuple[Component, list[tuple[str, str]]]] = []
    for ref, hosts in refs.values():
        host_names = tuple(sorted(f"{p}/{h}" for p, h in hosts))
        try:
            inv: Inventory = read_inventory(ref.path, ref.format, ref.ecosystem)
        except InputError as exc:
            statuses.append(
                InventoryStatus(str(ref.path), ref.format.value, 0, {}, exc.message, host_names)
            )
            continue
        statuses.append(
            InventoryStatus(
                inv.source,
                inv.format,
                len(inv.components),
                dict(inv.rejected),
                None,
                host_names,
            )
        )
        placed.extend((c, hosts) for c in inv.components)
    if not placed:
        failed = [s for s in statuses if s.error]
        raise InputError(
            f"no components found in {len(statuses)} inventory file(s)"
            + (f": {failed[0].path}: {failed[0].error}" if failed else ""),
            hint="check the files' formats (CycloneDX JSON/XML, SPDX 2.x JSON, dpkg status)",
        )
    load = source.load([c for c, _ in placed])
    index = AdvisoryIndex(load.advisories)
    results: list[tuple[Component, str, str | None]] = []
    grouped: dict[
        tuple[str | None, ...], tuple[Vulnerable, list[tuple[str, str]], set[tuple[str, str]]]
    ] = {}
    for component, hosts in placed:
        result = index.match_one(component)
        if isinstance(result, Vulnerable):
            results.append((component, "vulnerable", None))
            key = _component_key(component)
            entry = grouped.setdefault(key, (result, [], set()))
            if (component.source, component.format) not in entry[1]:
                entry[1].append((component.source, component.format))
            entry[2].update(hosts)
        elif isinstance(result, NotAffected):
            results.append((component, "not-affected", None))
        else:
            assert isinstance(result, Unchecked)
            results.append((component, "unchecked", result.reason))
    findings = [
        Finding(v.component, tuple(srcs), v.vulnerabilities, blast_radius(pmap, hosts))
        for v, srcs, hosts in grouped.values()
    ]
    findings.sort(
        key=lambda f: (
            -(f.severity.rank[0] if f.severity else -1.0),
            -(f.blast.accounts.total if f.blast.accounts else 0),
            f.component.name,
            f.component.version or "",
        )
    )
    conc: Concentration | None = None
    gaps: tuple[ObligationGap, ...] | None = None
    policy: dict[str, Any] | None = None
    if pmap is not None:
        per_platform: Counter[str] = Counter()
        for f in findings:
            per_platform.update(f.blast.platforms)
        conc = concentration(pmap, dict(per_platform))
        gaps = tuple(obligation_gaps(pmap, today))
        policy = {
            "max_notification_hours": pmap.policy.max_notification_hours,
            "drill_max_age_months": pmap.policy.drill_max_age_months,
            "spof_share": pmap.policy.spof_share,
            "today": today.isoformat(),
        }
    return ScanReport(
        source=source.name,
        advisories=load,
        inventories=tuple(statuses),
        components=tuple(results),
        findings=tuple(findings),
        concentration=conc,
        obligations=gaps,
        policy=policy,
    )
