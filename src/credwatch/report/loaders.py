"""One small loader per report section: the section's data, or :class:`Missing`.

Each loader reads what an earlier stage left in the workspace and never recomputes it:

==========  =====================================================  ============================
section     input                                                  produced by
==========  =====================================================  ============================
summary     the exposure index (``index/exposure.duckdb``)         ``credwatch leak ingest``
exposure    the latest audit run (``runs/RUN/``)                   ``credwatch audit run``
schemes     the same audit run (``scheme`` column)                 ``credwatch audit run``
hunt        the latest hunt result (``results/hunt.json``)         ``credwatch hunt``
blast       the latest supply result (``results/supply.json``)     ``credwatch supply scan``
progress    the journal (``journal.jsonl``)                        ``credwatch apply PLAN --yes``
==========  =====================================================  ============================

An absent input gives ``Missing(inputs, command)``; one that exists but cannot be read
gives ``Missing`` with a ``detail``: "could not read" never looks like "nothing found".
Every string taken from an input passes through :func:`~credwatch.report.scrub.scrub`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb

from credwatch.errors import CredwatchError
from credwatch.report.model import (
    Alert,
    BlastRadius,
    Coverage,
    CriticalAccount,
    DomainRow,
    Exposure,
    ExposureCell,
    GraphEdge,
    GraphNode,
    HuntTimeline,
    IncidentSummary,
    JournalCount,
    Layer,
    Missing,
    PlanProgress,
    Progress,
    RuleSummary,
    SchemeCensus,
    SchemeRow,
    SourceRow,
    TimeBucket,
    VulnerableComponent,
)
from credwatch.report.scrub import scrub
from credwatch.results import load_result
from credwatch.workspace import Workspace

_Section = TypeVar("_Section")

__all__ = [
    "CRITICAL_LIMIT",
    "find_run",
    "load_blast",
    "load_coverage",
    "load_exposure",
    "load_hunt",
    "load_progress",
    "load_schemes",
    "load_summary",
]

#: How many ``pair_valid`` accounts the report lists by name (masked); the rest are counted.
CRITICAL_LIMIT = 25

_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "moderate": 2, "low": 3, "info": 4}

INGEST_COMMAND = "credwatch leak ingest FILE... && credwatch report"
AUDIT_COMMAND = "credwatch audit run --store NAME"
HUNT_COMMAND = "credwatch hunt FILE..."
SUPPLY_COMMAND = "credwatch supply scan --sbom FILE --advisories DIR --platforms MAP"
APPLY_COMMAND = "credwatch plan remediate --run RUN -o PLAN && credwatch apply PLAN --yes"


class _UnreadableError(Exception):
    """An input exists but does not have the documented shape."""


# -- small typed accessors for JSON documents --------------------------------------------


def _int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _UnreadableError(f"expected a count, found {type(value).__name__}")


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _opt_float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    raise _UnreadableError(f"expected a number, found {type(value).__name__}")


def _opt_text(value: object) -> str | None:
    return None if value is None else scrub(value)


def _texts(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (scrub(value),)
    if isinstance(value, Mapping):
        return tuple(scrub(k) for k in value)
    if isinstance(value, Iterable):
        out = []
        for item in value:
            if isinstance(item, Mapping):
                name = item.get("name", item.get("id", ""))
                out.append(scrub(name))
            else:
                out.append(scrub(item))
        return tuple(out)
    raise _UnreadableError(f"expected a list of names, found {type(value).__name__}")


def _mapping(value: object, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _UnreadableError(f"{what} is not an object")
    return value


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _UnreadableError(f"{what} is not a list")
    return value


def _counts(value: object, what: str) -> tuple[tuple[str, int], ...]:
    return tuple((scrub(k), _int(v)) for k, v in _mapping(value, what).items())


# -- incident summary ------------------------------------------------------------------------


def load_summary(ws: Workspace) -> IncidentSummary | Missing:
    """What leaked and when: sources, per-domain addresses and pairs, from the index.

    Uses :meth:`credwatch.index.ExposureIndex.stats` (the ``leak stats`` figures) plus
    distinct pairs per domain; a missing, busy or mismatched index gives :class:`Missing`.
    """
    from credwatch.index import ExposureIndex  # noqa: PLC0415 - only this section needs it

    inputs = f"the exposure index ({ws.index_path})"
    if not ws.index_path.exists():
        return Missing(inputs, INGEST_COMMAND)
    try:
        with ExposureIndex.open(ws) as index:
            stats = index.stats()
            pairs = dict(
                index.connection.execute(
                    "SELECT domain, count(DISTINCT pair_key) FROM exposures GROUP BY domain"
                ).fetchall()
            )
    except CredwatchError as exc:
        return Missing(inputs, INGEST_COMMAND, exc.message)
    except duckdb.Error as exc:
        return Missing(inputs, INGEST_COMMAND, f"cannot read the index: {_first_line(exc)}")
    sources = tuple(
        SourceRow(
            name=scrub(s.name),
            ingested_at=s.ingested_at.isoformat(sep=" ", timespec="seconds"),
            lines=s.lines,
            accepted=s.accepted,
            rejected=s.rejected,
            distinct_emails=s.distinct_emails,
            distinct_pairs=s.distinct_pairs,
            rejected_by_reason=tuple(
                sorted((scrub(k), v) for k, v in s.rejected_by_reason.items())
            ),
        )
        for s in stats.sources
    )
    totals = stats.totals
    stamps = [s.ingested_at for s in sources if s.ingested_at]
    return IncidentSummary(
        sources=sources,
        domains=tuple(
            DomainRow(scrub(d), n, _opt_int(pairs.get(d))) for d, n in stats.domains.items()
        ),
        total_lines=totals.get("lines", 0),
        total_accepted=totals.get("accepted", 0),
        total_rejected=totals.get("rejected", 0),
        total_addresses=totals.get("distinct_emails"),
        total_pairs=totals.get("distinct_pairs"),
        total_passwords=totals.get("distinct_passwords"),
        first_ingested=min(stamps) if stamps else None,
        last_ingested=max(stamps) if stamps else None,
    )


# -- audit runs ------------------------------------------------------------------------------


def find_run(ws: Workspace, run: str | None = None) -> Path | None:
    """The folder of audit run ``run``, or of the latest run (by ``created_at``).

    Only folders holding both ``summary.json`` and ``accounts.parquet`` count as runs
    (an interrupted run has no summary yet).
    """
    if not ws.runs_dir.is_dir():
        return None
    if run is not None:
        folder = ws.runs_dir / run
        return folder if (folder / "summary.json").is_file() else None
    best: tuple[str, str, Path] | None = None
    for folder in ws.runs_dir.iterdir():
        summary = folder / "summary.json"
        if not (summary.is_file() and (folder / "accounts.parquet").is_file()):
            continue
        try:
            created = str(json.loads(summary.read_text(encoding="utf-8")).get("created_at", ""))
        except (OSError, ValueError, AttributeError):
            created = ""
        key = (created, folder.name, folder)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


def _run_inputs(ws: Workspace, run: str | None) -> str:
    if run is not None:
        return f"audit run {run} ({ws.runs_dir / run})"
    return f"an audit run ({ws.runs_dir}/RUN/summary.json and accounts.parquet)"


def load_exposure(ws: Workspace, run: str | None = None) -> Exposure | Missing:
    """Exposure of our accounts by tenant x status x finding, ``pair_valid`` first.

    Reads ``summary.json`` and ``accounts.parquet`` of the chosen (default: latest) run.
    """
    folder = find_run(ws, run)
    inputs = _run_inputs(ws, run)
    if folder is None:
        return Missing(inputs, AUDIT_COMMAND)
    try:
        summary = _mapping(
            json.loads((folder / "summary.json").read_text(encoding="utf-8")), "summary.json"
        )
        return _exposure_from(folder, summary)
    except (OSError, ValueError, duckdb.Error, _UnreadableError) as exc:
        return Missing(inputs, AUDIT_COMMAND, f"cannot read {folder.name}: {_first_line(exc)}")


def _parquet(folder: Path) -> str:
    return str(folder / "accounts.parquet").replace("'", "''")


def _exposure_from(folder: Path, summary: Mapping[str, Any]) -> Exposure:
    con = duckdb.connect()
    try:
        src = f"read_parquet('{_parquet(folder)}')"
        cells = con.execute(
            f"SELECT tenant, status, f, count(*) FROM (SELECT tenant, status,"
            f" unnest(findings) AS f FROM {src}) GROUP BY ALL ORDER BY tenant, status, f"
        ).fetchall()
        totals = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE len(findings) > 0) FROM {src}"
        ).fetchone()
        by_status = con.execute(
            f"SELECT status, count(*) FROM {src} GROUP BY ALL ORDER BY 2 DESC"
        ).fetchall()
        critical_filter = "list_contains(findings, 'pair_valid')"
        critical = con.execute(
            f"SELECT id, masked_email, tenant, status, mfa, findings, risk_score, priority"
            f" FROM {src} WHERE {critical_filter}"
            f" ORDER BY (status = 'active') DESC, mfa, risk_score DESC, priority, id"
            f" LIMIT {CRITICAL_LIMIT}"
        ).fetchall()
        crit_counts = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE status = 'active' AND NOT coalesce(mfa,"
            f" false)) FROM {src} WHERE {critical_filter}"
        ).fetchone()
    finally:
        con.close()
    finding_totals: Counter[str] = Counter()
    for _t, _s, finding, n in cells:
        finding_totals[finding] += n
    assert totals is not None  # an aggregate always returns one row
    assert crit_counts is not None
    return Exposure(
        run=scrub(summary.get("run", folder.name)),
        store=scrub(summary.get("store", "")),
        created_at=_opt_text(summary.get("created_at")),
        accounts=_int(totals[0]),
        exposed=_int(totals[1]),
        by_finding=tuple(sorted(finding_totals.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_status=tuple((scrub(s), _int(n)) for s, n in by_status),
        cells=tuple(ExposureCell(scrub(t), scrub(s), scrub(f), _int(n)) for t, s, f, n in cells),
        critical=tuple(
            CriticalAccount(
                account=scrub(aid),
                masked_email=scrub(masked or ""),
                tenant=scrub(tenant),
                status=scrub(status),
                mfa=bool(mfa),
                findings=tuple(scrub(f) for f in findings or ()),
                risk_score=_int(score or 0),
                priority=_int(prio or 0),
            )
            for aid, masked, tenant, status, mfa, findings, score, prio in critical
        ),
        critical_total=_int(crit_counts[0]),
        critical_active_without_mfa=_int(crit_counts[1]),
    )


def load_schemes(ws: Workspace, run: str | None = None) -> SchemeCensus | Missing:
    """Hash schemes of the audited accounts; a scheme is weak when the audit says so.

    A scheme counts as weak when any of its accounts carries the ``weak_scheme``
    finding: the audit's judgement, not a second list kept here.
    """
    folder = find_run(ws, run)
    inputs = _run_inputs(ws, run)
    if folder is None:
        return Missing(inputs, AUDIT_COMMAND)
    try:
        summary = _mapping(
            json.loads((folder / "summary.json").read_text(encoding="utf-8")), "summary.json"
        )
        con = duckdb.connect()
        try:
            rows = con.execute(
                f"SELECT coalesce(scheme, 'none'), count(*),"
                f" count(*) FILTER (WHERE len(findings) > 0),"
                f" bool_or(list_contains(findings, 'weak_scheme'))"
                f" FROM read_parquet('{_parquet(folder)}') GROUP BY ALL ORDER BY 2 DESC, 1"
            ).fetchall()
        finally:
            con.close()
        unknown = _counts(summary.get("unknown_schemes"), "unknown_schemes")
    except (OSError, ValueError, duckdb.Error, _UnreadableError) as exc:
        return Missing(inputs, AUDIT_COMMAND, f"cannot read {folder.name}: {_first_line(exc)}")
    scheme_rows = tuple(SchemeRow(scrub(s), _int(n), _int(e), bool(weak)) for s, n, e, weak in rows)
    return SchemeCensus(
        run=scrub(summary.get("run", folder.name)),
        rows=scheme_rows,
        weak_accounts=sum(r.accounts for r in scheme_rows if r.weak),
        unknown=unknown,
    )


# -- saved results (hunt, supply) ---------------------------------------------------------


def _load_saved(
    ws: Workspace,
    kind: str,
    what: str,
    command: str,
    parse: Callable[[dict[str, Any]], _Section],
) -> _Section | Missing:
    """Read ``results/KIND.json`` and parse it; anything unusable becomes ``Missing``."""
    inputs = f"{what} (results/{kind}.json)"
    try:
        envelope = load_result(ws, kind)
    except CredwatchError as exc:
        return Missing(inputs, command, exc.message)
    if envelope is None:
        return Missing(inputs, command)
    try:
        return parse(envelope)
    except (_UnreadableError, TypeError, ValueError) as exc:
        return Missing(inputs, command, f"unexpected {kind} document: {_first_line(exc)}")


# -- hunt ------------------------------------------------------------------------------------


def load_hunt(ws: Workspace) -> HuntTimeline | Missing:
    """The latest saved hunt: volume over time, campaigns, top sources, leak correlation.

    The volume series is the document's ``timeline`` (``[{"start", "attempts",
    "failures"}]``) when the hunt provides one; otherwise alerts are binned by their
    first-seen hour and the section says so.
    """
    return _load_saved(ws, "hunt", "a saved hunt result", HUNT_COMMAND, _hunt_from)


def _alert(raw: object) -> Alert:
    item = _mapping(raw, "an alert")
    return Alert(
        rule=scrub(item.get("rule", "")),
        key_type=scrub(item.get("key_type", "")),
        key=scrub(item.get("key", "")),
        severity=scrub(item.get("severity", "")).lower(),
        first_seen=_opt_text(item.get("first_seen")),
        last_seen=_opt_text(item.get("last_seen")),
        count=_int(item.get("count", 0)),
    )


def _hunt_from(envelope: Mapping[str, Any]) -> HuntTimeline:
    doc = _mapping(envelope.get("document"), "document")
    files = [_mapping(f, "a file") for f in _list(doc.get("files"), "files")]
    raw_alerts = _list(doc.get("alerts"), "alerts")
    alerts = [_alert(a) for a in raw_alerts]
    events = doc.get("events", 0)
    event_count = len(events) if isinstance(events, list) else _int(events)
    series = tuple(
        TimeBucket(
            start=scrub(_mapping(b, "a timeline bucket").get("start", "")),
            attempts=_int(b.get("attempts", 0)),
            failures=_int(b.get("failures", 0)),
        )
        for b in _list(doc.get("timeline"), "timeline")
    )
    from_alerts = False
    if not series and alerts:
        from_alerts = True
        per_hour: Counter[str] = Counter()
        per_hour_failures: Counter[str] = Counter()  # here: alerts starting in the hour
        for alert in alerts:
            if alert.first_seen:
                hour = alert.first_seen[:13]
                per_hour[hour] += alert.count
                per_hour_failures[hour] += 1
        series = tuple(
            TimeBucket(start=h, attempts=per_hour[h], failures=per_hour_failures[h])
            for h in sorted(per_hour)
        )
    ranked = sorted(alerts, key=lambda a: (_SEVERITY_RANK.get(a.severity, 5), -a.count, a.key))
    sources: dict[str, Alert] = {}
    for alert in alerts:
        if alert.key_type not in {"ip", "subnet"}:
            continue
        seen = sources.get(alert.key)
        if seen is None or alert.count > seen.count:
            sources[alert.key] = alert
    top_sources = sorted(sources.values(), key=lambda a: (-a.count, a.key))[:10]
    leak_rate, base_rate = _leak_correlation(doc, raw_alerts)
    return HuntTimeline(
        saved_at=_opt_text(envelope.get("saved_at")),
        files=len(files),
        lines=sum(_int(f.get("lines", 0)) for f in files),
        events=event_count,
        unparsed=sum(_int(f.get("unparsed", 0)) for f in files),
        timeline=series,
        timeline_from_alerts=from_alerts,
        alerts_total=len(alerts),
        rules=_rule_summaries(alerts),
        by_severity=tuple(
            sorted(
                Counter(a.severity for a in alerts).items(),
                key=lambda kv: _SEVERITY_RANK.get(kv[0], 5),
            )
        ),
        campaigns=_top_per_rule(ranked),
        block_sources=len(
            {
                a.key
                for a in alerts
                if a.key_type in {"ip", "subnet"} and a.severity in {"critical", "high"}
            }
        ),
        top_sources=tuple(top_sources),
        leak_correlation=leak_rate,
        leak_base_rate=base_rate,
        skipped=_texts(doc.get("skipped")),
        paths=tuple(scrub(f.get("path", "")) for f in files if f.get("path")),
    )


def _severest(alerts: list[Alert]) -> str:
    return min((a.severity for a in alerts), key=lambda s: _SEVERITY_RANK.get(s, 5))


def _rule_summaries(alerts: list[Alert]) -> tuple[RuleSummary, ...]:
    """One row per rule: its alerts, distinct keys, events, severest level and span."""
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_rule.setdefault(alert.rule, []).append(alert)
    rows = []
    for rule, group in by_rule.items():
        firsts = [a.first_seen for a in group if a.first_seen]
        lasts = [a.last_seen for a in group if a.last_seen]
        rows.append(
            RuleSummary(
                rule=rule,
                severity=_severest(group),
                alerts=len(group),
                keys=len({(a.key_type, a.key) for a in group}),
                events=sum(a.count for a in group),
                first_seen=min(firsts) if firsts else None,
                last_seen=max(lasts) if lasts else None,
            )
        )
    return tuple(sorted(rows, key=lambda r: (_SEVERITY_RANK.get(r.severity, 5), -r.alerts, r.rule)))


def _top_per_rule(ranked: list[Alert]) -> tuple[Alert, ...]:
    """The largest alert of each rule, severest rules first (alerts arrive ranked)."""
    best: dict[str, Alert] = {}
    for alert in ranked:
        known = best.get(alert.rule)
        if known is None or (
            _SEVERITY_RANK.get(alert.severity, 5) == _SEVERITY_RANK.get(known.severity, 5)
            and alert.count > known.count
        ):
            best[alert.rule] = alert
    return tuple(sorted(best.values(), key=lambda a: (_SEVERITY_RANK.get(a.severity, 5), -a.count)))


def _leak_correlation(
    doc: Mapping[str, Any], raw_alerts: list[Any]
) -> tuple[float | None, float | None]:
    """The share of attempted users found in the exposure index, and its base rate."""
    block = doc.get("leak_correlation")
    if isinstance(block, Mapping):
        return _opt_float(block.get("rate", block.get("share"))), _opt_float(block.get("base_rate"))
    for raw in raw_alerts:
        if not isinstance(raw, Mapping) or "leak" not in str(raw.get("rule", "")):
            continue
        evidence = _mapping(raw.get("evidence"), "evidence")
        for key in ("cold_exposed_share", "leak_share", "exposed_share", "share", "rate"):
            if key in evidence:
                return _opt_float(evidence[key]), _opt_float(evidence.get("base_rate"))
    return None, None


# -- supply ----------------------------------------------------------------------------------


def load_blast(ws: Workspace) -> BlastRadius | Missing:
    """The latest saved supply scan: vulnerable components, graph, concentration."""
    return _load_saved(ws, "supply", "a saved supply scan", SUPPLY_COMMAND, _blast_from)


def _component(raw: object) -> VulnerableComponent:
    item = _mapping(raw, "a finding")
    accounts = item.get("accounts", {})
    return VulnerableComponent(
        component=scrub(item.get("component", item.get("name", ""))),
        version=scrub(item.get("version", "")),
        advisories=_texts(item.get("advisories")),
        severity=scrub(item.get("severity") or "unknown"),
        fixed=", ".join(_texts(item.get("fixed"))),
        platforms=_texts(item.get("platforms")),
        hosts=_texts(item.get("hosts")),
        tenants=_texts(item.get("tenants")),
        accounts=_counts(accounts, "accounts") if isinstance(accounts, Mapping) else (),
    )


def _blast_from(envelope: Mapping[str, Any]) -> BlastRadius:
    doc = _mapping(envelope.get("document"), "document")
    findings = tuple(_component(f) for f in _list(doc.get("findings"), "findings"))
    concentration = _mapping(doc.get("concentration"), "concentration")
    platforms = [_mapping(p, "a platform") for p in _list(concentration.get("platforms"), "")]
    nodes: dict[str, GraphNode] = {}
    edges: set[GraphEdge] = set()

    def node(layer: Layer, name: str, *, label: str = "", vulnerable: bool = False) -> str:
        node_id = f"{layer}:{name}"
        known = nodes.get(node_id)
        nodes[node_id] = GraphNode(
            node_id, label or name, layer, vulnerable or (known.vulnerable if known else False)
        )
        return node_id

    # Tenants on each shared platform, from the concentration summary (the platform map).
    for platform in platforms:
        pid = node("platform", scrub(platform.get("name", "")))
        edges.update(GraphEdge(node("tenant", t), pid) for t in _texts(platform.get("tenants")))
    for finding in findings:
        comp = node("component", f"{finding.component} {finding.version}".strip(), vulnerable=True)
        # Hosts are "platform/host" in the supply document.
        hosted = False
        for host in finding.hosts:
            plat, _, name = host.rpartition("/")
            hid = node("host", host, label=name)
            edges.add(GraphEdge(hid, comp))
            if plat:
                edges.add(GraphEdge(node("platform", plat), hid))
            hosted = True
        if not hosted:
            edges.update(GraphEdge(node("platform", p), comp) for p in finding.platforms)
        for tenant in finding.tenants:
            edges.update(
                GraphEdge(node("tenant", tenant), node("platform", p)) for p in finding.platforms
            )
    shares = tuple(
        (scrub(p.get("name", "")), float(share))
        for p in platforms
        if (share := _opt_float(p.get("share"))) is not None
    )
    gaps: list[str] = []
    for gap in _list(doc.get("obligations"), "obligations"):
        item = _mapping(gap, "an obligation gap")
        text = f"{scrub(item.get('supplier', '?'))}: {scrub(item.get('kind', ''))}"
        if item.get("detail"):
            text += f" ({scrub(item['detail'])})"
        tenants = _texts(item.get("tenants"))
        if tenants:
            text += f"; exposes {', '.join(tenants)}"
        gaps.append(text)
    components = doc.get("components", 0)
    return BlastRadius(
        saved_at=_opt_text(envelope.get("saved_at")),
        components=len(components) if isinstance(components, list) else _int(components),
        findings=tuple(sorted(findings, key=lambda f: (-f.accounts_total, f.component))),
        nodes=tuple(sorted(nodes.values(), key=lambda n: n.id)),
        edges=tuple(sorted(edges, key=lambda e: (e.source, e.target))),
        total_accounts=_opt_int(concentration.get("total_accounts")),
        platform_shares=tuple(sorted(shares, key=lambda kv: -kv[1])),
        hhi=_opt_float(concentration.get("hhi")),
        hhi_band=_opt_text(concentration.get("hhi_band")),
        single_points_of_failure=_texts(concentration.get("single_points_of_failure")),
        obligation_gaps=tuple(gaps),
    )


# -- journal ---------------------------------------------------------------------------------

#: Journal results meaning "the account is in the planned state" (apply's vocabulary).
DONE_RESULTS = frozenset({"applied", "already"})


_JOURNAL_COLUMNS = (
    "{'event': 'VARCHAR', 'plan': 'VARCHAR', 'kind': 'VARCHAR', 'store': 'VARCHAR', "
    "'action': 'VARCHAR', 'result': 'VARCHAR', 'time': 'VARCHAR', 'actions': 'BIGINT'}"
)


def _journal_groups(path: Path) -> list[tuple[Any, ...]]:
    """Journal records grouped in DuckDB: a million lines in about a second."""
    if path.stat().st_size == 0:
        return []
    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT event, plan, kind, store, action, result, count(*), min(time), max(time),"
            " max(actions) FROM read_json(?, format = 'newline_delimited',"
            f" columns = {_JOURNAL_COLUMNS}) GROUP BY ALL",
            [str(path)],
        ).fetchall()
    finally:
        con.close()


def load_progress(ws: Workspace) -> Progress | Missing:
    """Remediation and retention progress from the hash-chained journal.

    Counts ``action`` records by kind, action and result; per plan digest: the planned
    number of actions (from its ``begin`` records), the results so far, and whether an
    apply finished (``end``).  The chain is checked with
    :func:`credwatch.apply.journal.verify_journal`.  The plan's kind (remediation or
    retention) is shown when the journal records it, "unrecorded" otherwise.
    """
    from credwatch.apply.journal import JournalError, verify_journal  # noqa: PLC0415

    inputs = f"the action journal ({ws.journal_path})"
    path = ws.journal_path
    if not path.exists():
        return Missing(inputs, APPLY_COMMAND)
    try:
        groups = _journal_groups(path)
        verification = verify_journal(path)
    except (OSError, duckdb.Error, JournalError) as exc:
        return Missing(inputs, APPLY_COMMAND, f"cannot read the journal: {_first_line(exc)}")
    plans: dict[str, dict[str, Any]] = {}
    for event, plan, kind, store, _action, _result, _n, first, last, actions in groups:
        info = plans.setdefault(
            scrub(plan or "unknown"),
            {
                "kind": "",
                "store": "",
                "planned": 0,
                "first": None,
                "last": None,
                "finished": False,
                "results": Counter(),
            },
        )
        info["kind"] = info["kind"] or scrub(kind or "")
        info["store"] = info["store"] or scrub(store or "")
        if first and (info["first"] is None or first < info["first"]):
            info["first"] = scrub(first)
        if last and (info["last"] is None or last > info["last"]):
            info["last"] = scrub(last)
        if event == "begin":
            info["planned"] = max(info["planned"], int(actions or 0))
        elif event == "end":
            info["finished"] = True
    counts: Counter[tuple[str, str, str]] = Counter()
    for event, plan, _kind, _store, action, result, n, *_rest in groups:
        if event != "action":
            continue
        info = plans[scrub(plan or "unknown")]
        info["results"][scrub(result or "unknown")] += int(n)
        counts[(info["kind"] or "unrecorded", scrub(action or ""), scrub(result or "unknown"))] += (
            int(n)
        )
    chain: Literal["verified", "broken"] = "verified" if verification.ok else "broken"
    if verification.ok:
        chain_detail = f"{verification.lines:,} lines, every link holds"
    else:
        chain_detail = scrub(
            f"line {verification.first_broken_line}: {verification.problem}; "
            "run `credwatch journal verify`"
        )
    return Progress(
        entries=sum(counts.values()),
        counts=tuple(JournalCount(k, a, r, n) for (k, a, r), n in sorted(counts.items())),
        plans=tuple(
            PlanProgress(
                plan=plan[:16],
                kind=info["kind"] or "unrecorded",
                store=info["store"],
                planned=info["planned"],
                done=sum(n for r, n in info["results"].items() if r in DONE_RESULTS),
                finished=info["finished"],
                first=info["first"],
                last=info["last"],
                results=tuple(sorted(info["results"].items())),
            )
            for plan, info in sorted(plans.items(), key=lambda kv: str(kv[1]["first"]))
        ),
        chain=chain,
        chain_detail=chain_detail,
    )


def load_coverage(ws: Workspace, run: str | None = None) -> Coverage | None:
    """Join the audit run's ``pair_valid`` accounts with the journal's resets.

    Returns ``None`` when either input is absent or unreadable (the sections say why).
    """
    folder = find_run(ws, run)
    if folder is None or not ws.journal_path.exists() or ws.journal_path.stat().st_size == 0:
        return None
    done = ", ".join(f"'{r}'" for r in sorted(DONE_RESULTS))
    con = duckdb.connect()
    try:
        row = con.execute(
            f"""
            WITH handled AS (
                SELECT account,
                       bool_or(action = 'force_reset') AS reset,
                       bool_or(action = 'revoke_sessions') AS revoked,
                       bool_or(action = 'require_mfa') AS mfa_required
                FROM read_json(?, format = 'newline_delimited',
                               columns = {{'event': 'VARCHAR', 'account': 'VARCHAR',
                                          'action': 'VARCHAR', 'result': 'VARCHAR'}})
                WHERE event = 'action' AND result IN ({done})
                GROUP BY account
            ),
            audited AS (
                SELECT id, list_contains(findings, 'pair_valid') AS valid,
                       list_contains(findings, 'recovery_exposed') AS recovery,
                       list_contains(findings, 'weak_scheme') AS weak,
                       status = 'active' AND NOT coalesce(mfa, false) AS exposed_now
                FROM read_parquet(?)
                WHERE list_contains(findings, 'pair_valid')
                   OR list_contains(findings, 'recovery_exposed')
                   OR list_contains(findings, 'weak_scheme')
            )
            SELECT count(*) FILTER (WHERE valid),
                   count(*) FILTER (WHERE valid AND coalesce(h.reset, false)),
                   count(*) FILTER (WHERE valid AND coalesce(h.revoked, false)),
                   count(*) FILTER (WHERE valid AND exposed_now),
                   count(*) FILTER (WHERE valid AND exposed_now AND coalesce(h.reset, false)),
                   count(*) FILTER (WHERE recovery AND coalesce(h.mfa_required, false)),
                   count(*) FILTER (WHERE weak AND coalesce(h.reset, false))
            FROM audited c LEFT JOIN handled h ON h.account = c.id
            """,
            [str(ws.journal_path), str(folder / "accounts.parquet")],
        ).fetchone()
    except duckdb.Error:
        return None  # the progress or exposure section reports the unreadable input
    finally:
        con.close()
    if row is None:
        return None
    total, reset, revoked, active, active_reset, mfa, weak = (int(v) for v in row)
    return Coverage(folder.name, total, reset, revoked, active, active_reset, mfa, weak)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return scrub(text[0] if text else type(exc).__name__)
