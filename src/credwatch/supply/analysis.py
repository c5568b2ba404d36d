"""Blast radius, concentration and supplier obligations over a platform map.

* **Blast radius** of a component: the hosts whose inventories list it, their
  platforms, the tenants depending on those platforms, and those tenants' accounts by
  status (each tenant counted once).
* **Concentration**: each platform's share of all accounts, the Herfindahl-Hirschman
  index over platforms (shares normalised to sum to 1, scaled 0-10,000; above 2,500 is
  "highly concentrated", 1,500-2,500 "moderately", as in the classic US merger
  guidelines), and single points of failure: platforms shared by two or more tenants
  that hold at least ``policy.spof_share`` of all accounts.
* **Obligations**: per supplier of a platform, gaps against policy — no entry for the
  supplier, no breach-notification deadline or one longer than policy allows, no
  incident-response contact, no tested drill, a drill older than the policy's months,
  a drill that did not pass — each with the platforms and tenants it exposes.

Example:
    >>> gaps = obligation_gaps(pmap, today=date(2026, 7, 1))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from credwatch.supply.platforms import AccountCounts, PlatformMap

__all__ = [
    "BlastRadius",
    "Concentration",
    "ObligationGap",
    "PlatformShare",
    "blast_radius",
    "concentration",
    "obligation_gaps",
]


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """Who stands behind one component.

    Attributes:
        hosts: ``platform/host`` names whose inventories list it.
        platforms: those hosts' platforms.
        tenants: tenants depending on those platforms.
        accounts: the tenants' accounts by status; ``None`` when no tenant's count is known.
        tenants_without_counts: tenants whose accounts are not known.
    """

    hosts: tuple[str, ...]
    platforms: tuple[str, ...]
    tenants: tuple[str, ...]
    accounts: AccountCounts | None
    tenants_without_counts: tuple[str, ...]


def _sum_accounts(
    pmap: PlatformMap, tenants: Iterable[str]
) -> tuple[AccountCounts | None, list[str]]:
    total: AccountCounts | None = None
    unknown: list[str] = []
    for name in tenants:
        counts = pmap.tenants[name].accounts
        if counts is None:
            unknown.append(name)
        else:
            total = counts if total is None else total + counts
    return total, unknown


def blast_radius(pmap: PlatformMap | None, hosts: Iterable[tuple[str, str]]) -> BlastRadius:
    """The blast radius of a component found on ``(platform, host)`` pairs."""
    pairs = sorted(set(hosts))
    if pmap is None or not pairs:
        return BlastRadius((), (), (), None, ())
    platforms = sorted({p for p, _ in pairs})
    tenants = sorted({t for p in platforms for t in pmap.tenants_of(p)})
    accounts, unknown = _sum_accounts(pmap, tenants)
    return BlastRadius(
        hosts=tuple(f"{p}/{h}" for p, h in pairs),
        platforms=tuple(platforms),
        tenants=tuple(tenants),
        accounts=accounts,
        tenants_without_counts=tuple(unknown),
    )


@dataclass(frozen=True, slots=True)
class PlatformShare:
    """One platform's place in the concentration summary."""

    name: str
    tenants: tuple[str, ...]
    hosts: int
    accounts: AccountCounts | None
    share: float | None
    shared: bool
    single_point_of_failure: bool
    vulnerable_components: int

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "tenants": list(self.tenants),
            "hosts": self.hosts,
            "accounts": None if self.accounts is None else self.accounts.to_json(),
            "share": None if self.share is None else round(self.share, 4),
            "shared": self.shared,
            "single_point_of_failure": self.single_point_of_failure,
            "vulnerable_components": self.vulnerable_components,
        }


@dataclass(frozen=True, slots=True)
class Concentration:
    """How concentrated accounts are on shared platforms."""

    total_accounts: int
    platforms: tuple[PlatformShare, ...]
    hhi: float | None
    band: str | None
    single_points_of_failure: tuple[str, ...]
    tenants_without_counts: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "total_accounts": self.total_accounts,
            "platforms": [p.to_json() for p in self.platforms],
            "hhi": None if self.hhi is None else round(self.hhi, 1),
            "hhi_band": self.band,
            "single_points_of_failure": list(self.single_points_of_failure),
            "tenants_without_counts": list(self.tenants_without_counts),
        }


def _band(hhi: float) -> str:
    if hhi > 2500:
        return "highly concentrated"
    if hhi >= 1500:
        return "moderately concentrated"
    return "unconcentrated"


def concentration(pmap: PlatformMap, vulnerable_by_platform: dict[str, int]) -> Concentration:
    """Shares of accounts per platform, the HHI and single points of failure."""
    total, unknown = _sum_accounts(pmap, sorted(pmap.tenants))
    total_n = total.total if total is not None else 0
    rows: list[PlatformShare] = []
    for name in sorted(pmap.platforms):
        tenants = pmap.tenants_of(name)
        accounts, _ = _sum_accounts(pmap, tenants)
        share = (accounts.total / total_n) if accounts is not None and total_n else None
        shared = len(tenants) >= 2
        rows.append(
            PlatformShare(
                name=name,
                tenants=tuple(tenants),
                hosts=len(pmap.platforms[name].hosts),
                accounts=accounts,
                share=share,
                shared=shared,
                single_point_of_failure=shared
                and share is not None
                and share >= pmap.policy.spof_share,
                vulnerable_components=vulnerable_by_platform.get(name, 0),
            )
        )
    weights = [r.accounts.total for r in rows if r.accounts is not None and r.accounts.total]
    hhi = sum((100 * w / sum(weights)) ** 2 for w in weights) if weights else None
    return Concentration(
        total_accounts=total_n,
        platforms=tuple(rows),
        hhi=hhi,
        band=None if hhi is None else _band(hhi),
        single_points_of_failure=tuple(r.name for r in rows if r.single_point_of_failure),
        tenants_without_counts=tuple(unknown),
    )


@dataclass(frozen=True, slots=True)
class ObligationGap:
    """One supplier obligation that falls short of policy."""

    supplier: str
    kind: str
    detail: str
    platforms: tuple[str, ...]
    tenants: tuple[str, ...]
    accounts: AccountCounts | None

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "supplier": self.supplier,
            "kind": self.kind,
            "detail": self.detail,
            "platforms": list(self.platforms),
            "tenants": list(self.tenants),
            "accounts": None if self.accounts is None else self.accounts.to_json(),
        }


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    return date(year, month, 28)


def obligation_gaps(pmap: PlatformMap, today: date) -> list[ObligationGap]:
    """Every supplier obligation gap, most exposed tenants first."""
    policy = pmap.policy
    users: dict[str, list[str]] = {}
    for pname, platform in sorted(pmap.platforms.items()):
        for used in platform.suppliers:
            users.setdefault(used, []).append(pname)
    cutoff = _months_before(today, policy.drill_max_age_months)
    gaps: list[ObligationGap] = []
    for supplier_name in sorted(users):
        platforms = tuple(users[supplier_name])
        tenants = tuple(sorted({t for p in platforms for t in pmap.tenants_of(p)}))
        accounts, _ = _sum_accounts(pmap, tenants)

        def gap(kind: str, detail: str, name: str = supplier_name) -> None:
            gaps.append(ObligationGap(name, kind, detail, platforms, tenants, accounts))  # noqa: B023

        supplier = pmap.suppliers.get(supplier_name)
        if supplier is None:
            gap("supplier-undescribed", "no [suppliers] entry: no obligation is recorded")
            continue
        if supplier.notification_hours is None:
            gap("notification-missing", "no breach-notification deadline in the contract")
        elif supplier.notification_hours > policy.max_notification_hours:
            gap(
                "notification-too-long",
                f"breach notification within {supplier.notification_hours:g} h; "
                f"policy allows at most {policy.max_notification_hours:g} h",
            )
        if supplier.contact is None:
            gap("contact-missing", "no incident-response contact")
        if supplier.last_drill is None:
            gap("drill-missing", "no tested incident-response drill recorded")
        elif supplier.last_drill < cutoff:
            gap(
                "drill-stale",
                f"last tested drill on {supplier.last_drill.isoformat()}, older than "
                f"{policy.drill_max_age_months} months",
            )
        if supplier.last_drill is not None and supplier.drill_result not in {
            None,
            "passed",
            "pass",
        }:
            gap("drill-failed", f"last drill result: {supplier.drill_result}")
        elif supplier.last_drill is not None and supplier.drill_result is None:
            gap("drill-result-missing", "the last drill's result is not recorded")
    gaps.sort(key=lambda g: (-(g.accounts.total if g.accounts else 0), g.supplier, g.kind))
    return gaps
