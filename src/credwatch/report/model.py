"""What the incident report says: one frozen dataclass per section, plus :class:`Missing`.

Every section is either its data or a :class:`Missing` naming the input that is not
there yet (or could not be read) and the command that produces it.  A renderer shows
a missing section as such; it never fills in a figure.  Addresses in these objects are
masked (``t***@nifty.com``) and no password ever reaches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from credwatch.audit.model import FINDINGS

__all__ = [
    "FINDING_ORDER",
    "SCHEMA_VERSION",
    "SECTIONS",
    "Alert",
    "BlastRadius",
    "Coverage",
    "CriticalAccount",
    "DomainRow",
    "Exposure",
    "ExposureCell",
    "GraphEdge",
    "GraphNode",
    "HuntTimeline",
    "IncidentSummary",
    "JournalCount",
    "Layer",
    "Missing",
    "NextStep",
    "PlanProgress",
    "Progress",
    "Report",
    "RuleSummary",
    "SchemeCensus",
    "SchemeRow",
    "SectionInfo",
    "SourceRow",
    "TimeBucket",
    "Urgency",
    "VulnerableComponent",
]

SCHEMA_VERSION = "1.0"

#: Audit findings, severest first (the audit's own order).
FINDING_ORDER: tuple[str, ...] = FINDINGS


@dataclass(frozen=True, slots=True)
class Missing:
    """A section that could not be filled.

    Attributes:
        inputs: what is missing, e.g. ``"an audit run (WORKSPACE/runs/)"``.
        command: the command that produces it.
        detail: why it is unusable when it exists but could not be read ("" when absent).
    """

    inputs: str
    command: str
    detail: str = ""

    @property
    def unreadable(self) -> bool:
        """True when the input exists but could not be used (as opposed to absent)."""
        return bool(self.detail)


# -- incident summary ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One ingested leak file."""

    name: str
    ingested_at: str | None
    lines: int
    accepted: int
    rejected: int
    distinct_emails: int
    distinct_pairs: int
    rejected_by_reason: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class DomainRow:
    """Exposed addresses and pairs on one domain (over every source)."""

    domain: str
    addresses: int
    pairs: int | None


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """What leaked and when it was ingested."""

    sources: tuple[SourceRow, ...]
    domains: tuple[DomainRow, ...]
    total_lines: int
    total_accepted: int
    total_rejected: int
    total_addresses: int | None
    total_pairs: int | None
    total_passwords: int | None
    first_ingested: str | None
    last_ingested: str | None


# -- exposure of our accounts ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExposureCell:
    """Accounts of one tenant and status carrying one finding."""

    tenant: str
    status: str
    finding: str
    accounts: int


@dataclass(frozen=True, slots=True)
class CriticalAccount:
    """An account whose leaked password still works (masked address only)."""

    account: str
    masked_email: str
    tenant: str
    status: str
    mfa: bool
    findings: tuple[str, ...]
    risk_score: int
    priority: int


@dataclass(frozen=True, slots=True)
class Exposure:
    """The latest audit run, by tenant x status x finding."""

    run: str
    store: str
    created_at: str | None
    accounts: int
    exposed: int
    by_finding: tuple[tuple[str, int], ...]
    by_status: tuple[tuple[str, int], ...]
    cells: tuple[ExposureCell, ...]
    critical: tuple[CriticalAccount, ...]
    critical_total: int
    critical_active_without_mfa: int

    def matrix(self) -> tuple[tuple[str, ...], tuple[tuple[str, str, dict[str, int]], ...]]:
        """The tenant x status x finding table: finding columns, then one row per
        ``(tenant, status)`` with its counts per finding (severest finding first)."""
        rows: dict[tuple[str, str], dict[str, int]] = {}
        for cell in self.cells:
            rows.setdefault((cell.tenant, cell.status), {})[cell.finding] = cell.accounts
        present = {c.finding for c in self.cells}
        findings = tuple(f for f in FINDING_ORDER if f in present) + tuple(
            sorted(present - set(FINDING_ORDER))
        )
        return findings, tuple((t, s, counts) for (t, s), counts in sorted(rows.items()))


# -- hash schemes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemeRow:
    """Accounts stored under one hash scheme."""

    scheme: str
    accounts: int
    exposed: int
    weak: bool


@dataclass(frozen=True, slots=True)
class SchemeCensus:
    """Hash schemes of the audited store; weak ones flagged."""

    run: str
    rows: tuple[SchemeRow, ...]
    weak_accounts: int
    unknown: tuple[tuple[str, int], ...]


# -- hunt -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """Authentication attempts and failures in one time bucket.

    When the hunt saved no series (``HuntTimeline.timeline_from_alerts``), buckets are
    hours: ``attempts`` holds the events counted by alerts starting in the hour and
    ``failures`` the number of those alerts.
    """

    start: str
    attempts: int
    failures: int


@dataclass(frozen=True, slots=True)
class Alert:
    """One hunt alert (user keys masked)."""

    rule: str
    key_type: str
    key: str
    severity: str
    first_seen: str | None
    last_seen: str | None
    count: int


@dataclass(frozen=True, slots=True)
class RuleSummary:
    """Every alert of one detection rule: one campaign pattern."""

    rule: str
    severity: str
    alerts: int
    keys: int
    events: int
    first_seen: str | None
    last_seen: str | None


@dataclass(frozen=True, slots=True)
class HuntTimeline:
    """The latest hunt: volume over time, campaigns, top sources, leak correlation."""

    saved_at: str | None
    files: int
    lines: int
    events: int
    unparsed: int
    timeline: tuple[TimeBucket, ...]
    timeline_from_alerts: bool
    alerts_total: int
    rules: tuple[RuleSummary, ...]
    by_severity: tuple[tuple[str, int], ...]
    campaigns: tuple[Alert, ...]
    block_sources: int
    top_sources: tuple[Alert, ...]
    leak_correlation: float | None
    leak_base_rate: float | None
    skipped: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


# -- supply chain ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VulnerableComponent:
    """A component with advisories and the accounts behind it."""

    component: str
    version: str
    advisories: tuple[str, ...]
    severity: str
    fixed: str
    platforms: tuple[str, ...]
    hosts: tuple[str, ...]
    tenants: tuple[str, ...]
    accounts: tuple[tuple[str, int], ...]

    @property
    def accounts_total(self) -> int:
        """Accounts behind the component, all statuses."""
        return sum(n for _, n in self.accounts)


Layer = Literal["tenant", "platform", "host", "component"]


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A node of the blast-radius graph."""

    id: str
    label: str
    layer: Layer
    vulnerable: bool = False


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """``source`` depends on ``target`` (tenant -> platform -> host -> component)."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """The latest supply scan: vulnerable components, the graph, concentration."""

    saved_at: str | None
    components: int
    findings: tuple[VulnerableComponent, ...]
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    total_accounts: int | None
    platform_shares: tuple[tuple[str, float], ...]
    hhi: float | None
    hhi_band: str | None
    single_points_of_failure: tuple[str, ...]
    obligation_gaps: tuple[str, ...]


# -- remediation and retention progress -----------------------------------------------


@dataclass(frozen=True, slots=True)
class JournalCount:
    """Journaled actions of one kind, action and result."""

    kind: str
    action: str
    result: str
    count: int


@dataclass(frozen=True, slots=True)
class PlanProgress:
    """What the journal records for one plan."""

    plan: str
    kind: str
    store: str
    planned: int
    done: int
    finished: bool
    first: str | None
    last: str | None
    results: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """How many ``pair_valid`` accounts of an audit run the journal shows as handled.

    An account counts as reset when the journal holds a ``force_reset`` for its store
    id with result ``applied`` or ``already`` (sessions likewise ``revoke_sessions``).
    Stores whose ids are addresses journal keyed ids instead; those accounts are not
    matched and count as not handled (never the other way round).
    """

    run: str
    pair_valid: int
    pair_valid_reset: int
    pair_valid_revoked: int
    active_without_mfa: int
    active_without_mfa_reset: int
    recovery_exposed_mfa: int
    weak_scheme_reset: int


@dataclass(frozen=True, slots=True)
class Progress:
    """Remediation and retention progress from the hash-chained journal."""

    entries: int
    counts: tuple[JournalCount, ...]
    plans: tuple[PlanProgress, ...]
    chain: Literal["verified", "broken"]
    chain_detail: str
    coverage: Coverage | None = None


# -- what to do next ------------------------------------------------------------------


Urgency = Literal["now", "today", "this week", "to complete the report"]


@dataclass(frozen=True, slots=True)
class NextStep:
    """One recommended action, derived from the data above."""

    urgency: Urgency
    title: str
    detail: str
    command: str


# -- the report -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SectionInfo:
    """Identity of a section: anchor id, title and the report attribute holding it."""

    id: str
    title: str


SECTIONS: tuple[SectionInfo, ...] = (
    SectionInfo("summary", "Incident summary"),
    SectionInfo("exposure", "Exposure of our accounts"),
    SectionInfo("schemes", "Hash-scheme census"),
    SectionInfo("hunt", "Hunt timeline"),
    SectionInfo("blast", "Blast radius and concentration"),
    SectionInfo("progress", "Remediation and retention progress"),
    SectionInfo("next", "What to do next"),
)


@dataclass(frozen=True, slots=True)
class Report:
    """The whole incident report; every renderer formats this object."""

    generated_at: str
    workspace: str
    summary: IncidentSummary | Missing
    exposure: Exposure | Missing
    schemes: SchemeCensus | Missing
    hunt: HuntTimeline | Missing
    blast: BlastRadius | Missing
    progress: Progress | Missing
    next_steps: tuple[NextStep, ...] = field(default=())

    @property
    def missing(self) -> tuple[tuple[str, Missing], ...]:
        """Sections that could not be filled, as ``(section id, Missing)``."""
        pairs = (
            ("summary", self.summary),
            ("exposure", self.exposure),
            ("schemes", self.schemes),
            ("hunt", self.hunt),
            ("blast", self.blast),
            ("progress", self.progress),
        )
        return tuple((sid, value) for sid, value in pairs if isinstance(value, Missing))
