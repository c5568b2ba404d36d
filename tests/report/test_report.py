"""The report's sections, renderers and privacy guarantees (no browser needed)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

import credwatch.report as report_package
import credwatch.report.model as report_model
from credwatch.apply.journal import Journal
from credwatch.report import ReportFormat, build_report, render_report, write_report
from credwatch.report.charts import exposure_chart
from credwatch.report.interface import Renderer
from credwatch.report.json_renderer import report_document
from credwatch.report.loaders import (
    load_blast,
    load_coverage,
    load_exposure,
    load_hunt,
    load_progress,
    load_schemes,
    load_summary,
)
from credwatch.report.model import (
    Coverage,
    Exposure,
    ExposureCell,
    HuntTimeline,
    Missing,
    Progress,
)
from credwatch.report.scrub import scrub
from credwatch.results import save_result
from credwatch.workspace import Workspace
from tests.report.conftest import (
    CANARY_EMAILS,
    CANARY_PASSWORD,
    fill_workspace,
    write_run,
)

ALL_PARTS = ("index", "run", "hunt", "supply", "journal")
#: Which report sections each input fills.
SECTIONS_OF = {
    "index": {"summary"},
    "run": {"exposure", "schemes"},
    "hunt": {"hunt"},
    "supply": {"blast"},
    "journal": {"progress"},
}
SECTION_IDS = ("summary", "exposure", "schemes", "hunt", "blast", "progress")


def _canaries_absent(text: str) -> None:
    for canary in (*CANARY_EMAILS, CANARY_PASSWORD):
        assert canary not in text
    # The local part of each canary address never appears next to its domain either.
    for address in CANARY_EMAILS:
        local = address.split("@")[0]
        assert local not in text


# -- every subset of inputs renders, and says what is missing ------------------------------


@pytest.mark.parametrize(
    "parts",
    [(), ("index",), ("run",), ("hunt",), ("supply",), ("journal",), ("run", "journal"), ALL_PARTS],
    ids=lambda p: "+".join(p) or "nothing",
)
@pytest.mark.parametrize("fmt", list(ReportFormat), ids=lambda f: f.value)
def test_any_subset_of_inputs_renders(workspace: Workspace, parts, fmt: ReportFormat):
    fill_workspace(workspace, frozenset(parts))
    report = build_report(workspace)
    present = set().union(*(SECTIONS_OF[p] for p in parts)) if parts else set()
    assert {sid for sid, _ in report.missing} == set(SECTION_IDS) - present
    text = render_report(report, fmt)
    _canaries_absent(text)
    for _sid, missing in report.missing:
        assert missing.command in text or fmt is ReportFormat.HTML
        if fmt is ReportFormat.HTML:
            # HTML escapes "&&"; compare on the first word of the command.
            assert missing.command.split(" && ")[0] in text.replace("&amp;", "&")


def test_json_document_marks_each_section(workspace: Workspace):
    fill_workspace(workspace, frozenset({"run", "hunt"}))
    doc = json.loads(render_report(build_report(workspace), ReportFormat.JSON))
    assert doc["schema_version"] == "1.0"
    status = {sid: section["status"] for sid, section in doc["sections"].items()}
    assert status == {
        "summary": "missing",
        "exposure": "available",
        "schemes": "available",
        "hunt": "available",
        "blast": "missing",
        "progress": "missing",
    }
    assert doc["sections"]["blast"]["command"].startswith("credwatch supply scan")
    assert [m["section"] for m in doc["missing"]] == ["summary", "blast", "progress"]
    assert doc["sections"]["exposure"]["critical_total"] == 30


def test_renderers_follow_the_protocol():
    for fmt in ReportFormat:
        renderer = fmt.renderer()
        assert isinstance(renderer, Renderer)
        assert renderer.suffix == {"html": ".html", "md": ".md", "json": ".json"}[fmt.value]


# -- section contents -------------------------------------------------------------------


def test_summary_counts_addresses_and_pairs_per_domain(full_workspace: Workspace):
    summary = load_summary(full_workspace)
    assert not isinstance(summary, Missing)
    assert [s.name for s in summary.sources] == ["june-dump.txt", "paste-2.txt"]
    assert summary.total_rejected == 3
    assert dict(summary.sources[0].rejected_by_reason) == {
        "empty_password": 1,
        "invalid_address": 1,
        "no_separator": 1,
    }
    domains = {d.domain: (d.addresses, d.pairs) for d in summary.domains}
    assert domains["biglobe.ne.jp"] == (118, 118)  # 67 + 50 from paste-2 + 1 canary
    assert summary.total_addresses == sum(a for a, _ in domains.values())


def test_exposure_lists_pair_valid_active_without_mfa_first(full_workspace: Workspace):
    exposure = load_exposure(full_workspace)
    assert isinstance(exposure, Exposure)
    assert exposure.accounts == 70
    assert exposure.exposed == 60
    assert exposure.critical_total == 30
    assert exposure.critical_active_without_mfa == 10
    first = exposure.critical[:10]
    assert all(a.status == "active" and not a.mfa for a in first)
    assert all("pair_valid" in a.findings for a in exposure.critical)
    # Store ids that are addresses are masked.
    assert {a.account for a in exposure.critical} & set(CANARY_EMAILS) == set()
    findings, rows = exposure.matrix()
    assert findings[0] == "pair_valid"
    assert sum(r[2].get("pair_valid", 0) for r in rows) == 30


def test_schemes_flag_weak_ones_from_the_audit(full_workspace: Workspace):
    census = load_schemes(full_workspace)
    assert not isinstance(census, Missing)
    weak = {r.scheme for r in census.rows if r.weak}
    assert weak == {"PLAIN", "PLAIN-MD5"}
    assert census.weak_accounts == 20
    assert dict(census.unknown) == {"{FOO}": 3}


def test_latest_run_is_chosen_by_creation_time(workspace: Workspace):
    write_run(workspace, "b-older", created="2026-06-01T00:00:00Z")
    write_run(workspace, "a-newer", created="2026-06-09T00:00:00Z")
    exposure = load_exposure(workspace)
    assert isinstance(exposure, Exposure) and exposure.run == "a-newer"
    chosen = load_exposure(workspace, "b-older")
    assert isinstance(chosen, Exposure) and chosen.run == "b-older"
    assert isinstance(load_exposure(workspace, "nope"), Missing)


def test_hunt_section(full_workspace: Workspace):
    hunt = load_hunt(full_workspace)
    assert isinstance(hunt, HuntTimeline)
    assert hunt.leak_correlation == pytest.approx(0.83)
    assert hunt.leak_base_rate == pytest.approx(0.04)
    assert [a.key for a in hunt.top_sources] == ["203.0.113.7", "198.51.100.0/24"]
    assert len(hunt.timeline) == 12 and not hunt.timeline_from_alerts
    assert hunt.campaigns[0].severity == "critical"
    assert hunt.rules[0].rule == "leak_stuffing"
    assert hunt.block_sources == 1  # 203.0.113.7 (high); the subnet alert is medium
    assert CANARY_EMAILS[0] not in {a.key for a in hunt.campaigns}


def test_hunt_rules_that_could_not_run_are_shown(workspace: Workspace):
    save_result(
        workspace,
        "hunt",
        {"files": [], "events": 0, "alerts": [], "skipped": ["leak_stuffing: no index"]},
    )
    hunt = load_hunt(workspace)
    assert isinstance(hunt, HuntTimeline)
    assert hunt.leak_correlation is None
    assert hunt.skipped == ("leak_stuffing: no index",)
    for fmt in (ReportFormat.HTML, ReportFormat.MARKDOWN):
        text = render_report(build_report(workspace), fmt)
        assert "leak_stuffing: no index" in text
        assert "not measured" in text


def test_hunt_without_series_bins_alerts(workspace: Workspace):
    save_result(
        workspace,
        "hunt",
        {
            "files": [],
            "events": 3,
            "alerts": [
                {
                    "rule": "r",
                    "key_type": "ip",
                    "key": "192.0.2.1",
                    "severity": "low",
                    "first_seen": "2026-06-06T01:10:00Z",
                    "last_seen": None,
                    "count": 3,
                },
            ],
        },
    )
    hunt = load_hunt(workspace)
    assert isinstance(hunt, HuntTimeline)
    assert hunt.timeline_from_alerts
    assert [(b.start, b.attempts) for b in hunt.timeline] == [("2026-06-06T01", 3)]


def test_blast_graph_links_tenants_platforms_hosts_components(full_workspace: Workspace):
    blast = load_blast(full_workspace)
    assert not isinstance(blast, Missing)
    edges = {(e.source, e.target) for e in blast.edges}
    assert ("tenant:nifty", "platform:webmail") in edges
    assert ("platform:shared-mail", "host:shared-mail/mx1") in edges
    assert ("host:shared-mail/mx1", "component:roundcube 1.6.5") in edges
    assert blast.hhi == 7156.0 and blast.hhi_band == "highly concentrated"
    assert blast.single_points_of_failure == ("shared-mail",)
    assert blast.findings[0].component == "roundcube"
    assert blast.obligation_gaps and "MailCo" in blast.obligation_gaps[0]


def test_progress_counts_journal_actions(full_workspace: Workspace):
    progress = load_progress(full_workspace)
    assert isinstance(progress, Progress)
    assert progress.entries == 40
    assert progress.chain == "verified"
    plans = {p.plan: p for p in progress.plans}
    assert plans["a" * 16].finished and not plans["b" * 16].finished
    assert plans["a" * 16].planned == 32
    assert sum(c.count for c in progress.counts if c.result == "not_found") == 7


def test_a_broken_journal_chain_is_reported(full_workspace: Workspace):
    lines = full_workspace.journal_path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace('"applied"', '"already"', 1).replace('"not_found"', '"applied"')
    full_workspace.journal_path.write_text("".join(lines), encoding="utf-8")
    progress = load_progress(full_workspace)
    assert isinstance(progress, Progress)
    assert progress.chain == "broken"
    assert "line 4" in progress.chain_detail


# -- unreadable inputs: a clear Missing, never a crash, never a figure -----------------------


@pytest.mark.parametrize(
    ("breakage", "section"),
    [
        ("summary.json", "exposure"),
        ("accounts.parquet", "exposure"),
        ("hunt.json", "hunt"),
        ("hunt-shape", "hunt"),
        ("supply.json", "blast"),
        ("journal", "progress"),
    ],
)
def test_unreadable_inputs_are_named(full_workspace: Workspace, breakage: str, section: str):
    ws = full_workspace
    run = next(ws.runs_dir.iterdir())
    if breakage == "summary.json":
        (run / "summary.json").write_text("{not json", encoding="utf-8")
    elif breakage == "accounts.parquet":
        (run / "accounts.parquet").write_bytes(b"PAR1 garbage")
    elif breakage == "hunt.json":
        (ws.root / "results" / "hunt.json").write_text("[]", encoding="utf-8")
    elif breakage == "hunt-shape":
        save_result(ws, "hunt", {"files": "oops", "alerts": 3})
    elif breakage == "supply.json":
        (ws.root / "results" / "supply.json").write_bytes(b"\xff\xfe")
    else:
        with ws.journal_path.open("a", encoding="utf-8") as handle:
            handle.write("not json\n")
    report = build_report(ws)
    missing = dict(report.missing)
    if breakage == "summary.json":
        # A run without a readable summary is not a finished run: the older runs (none) win.
        assert "exposure" in missing
    else:
        assert missing[section].unreadable, missing[section]
    for fmt in ReportFormat:
        render_report(report, fmt)


def test_a_busy_index_is_reported_not_crashed(full_workspace: Workspace):
    holder = duckdb.connect(str(full_workspace.index_path))  # a writer holds the lock
    try:
        summary = load_summary(full_workspace)
    finally:
        holder.close()
    assert isinstance(summary, Missing) and summary.unreadable


# -- what to do next -------------------------------------------------------------------------


def test_next_steps_are_derived_from_the_data(full_workspace: Workspace):
    report = build_report(full_workspace)
    titles = [s.title for s in report.next_steps]
    assert titles[0].startswith("Reset ")
    assert "active accounts whose leaked password still works and that have no MFA" in titles[0]
    assert any("accounts off weak hash schemes (PLAIN, PLAIN-MD5)" in t for t in titles)
    assert any(t.startswith("Upgrade roundcube 1.6.5 to 1.6.7") for t in titles)
    assert any(t.startswith("Block 1 source addresses") for t in titles)
    assert any(t.startswith("Review and lock 1 accounts that logged in") for t in titles)
    block = next(s for s in report.next_steps if s.title.startswith("Block"))
    assert block.command.startswith("credwatch hunt /var/log/mail.log --blocklist")
    urgencies = [s.urgency for s in report.next_steps]
    assert urgencies == sorted(
        urgencies, key=["now", "today", "this week", "to complete the report"].index
    )


def test_next_steps_for_an_empty_workspace_only_name_commands(workspace: Workspace):
    report = build_report(workspace)
    assert {s.urgency for s in report.next_steps} == {"to complete the report"}
    # exposure and schemes share the audit run: one step for it.
    assert len(report.next_steps) == 5


# -- HTML is self-contained ------------------------------------------------------------------


def test_html_loads_nothing_from_elsewhere(full_workspace: Workspace, tmp_path: Path):
    path, _ = write_report(full_workspace, ReportFormat.HTML, tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html and "url(http" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script type="application/json" id="report-data">']
    assert html.count('<svg role="img"') == 6
    # Each chart's ids are prefixed, so several charts share one page without clashes.
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    embedded = re.search(r'id="report-data">(.*?)</script>', html, re.DOTALL)
    assert embedded is not None
    assert json.loads(embedded.group(1))["sections"]["hunt"]["status"] == "available"
    _canaries_absent(html)


def test_html_is_deterministic_for_the_same_inputs(full_workspace: Workspace):
    now = datetime(2026, 6, 10, tzinfo=UTC)
    first = render_report(build_report(full_workspace, now=now), ReportFormat.HTML)
    second = render_report(build_report(full_workspace, now=now), ReportFormat.HTML)
    assert first == second


def test_markdown_escapes_table_cells(workspace: Workspace):
    document = {
        "files": [],
        "events": 0,
        "alerts": [
            {
                "rule": "a|b",
                "key_type": "ip",
                "key": "192.0.2.1",
                "severity": "low",
                "first_seen": None,
                "last_seen": None,
                "count": 2,
            },
        ],
    }
    save_result(workspace, "hunt", document)
    text = render_report(build_report(workspace), ReportFormat.MARKDOWN)
    assert "| a\\|b | low | 1 | 1 | 2 |" in text


def test_report_document_matches_the_json_renderer(full_workspace: Workspace):
    report = build_report(full_workspace)
    assert json.loads(render_report(report, ReportFormat.JSON)) == json.loads(
        json.dumps(report_document(report))
    )


# -- scrub ----------------------------------------------------------------------------------


@given(st.text(max_size=80))
def test_scrub_is_idempotent(text: str):
    assert scrub(scrub(text)) == scrub(text)


@given(
    st.from_regex(r"[a-z0-9._+-]{2,20}", fullmatch=True),
    st.from_regex(r"[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True),
    st.text(alphabet=" \t:;,()", min_size=1, max_size=3),
)
def test_scrub_masks_every_address(local: str, domain: str, sep: str):
    text = f"user{sep}{local}@{domain}{sep}end"
    out = scrub(text)
    assert f"{local}@{domain}" not in out
    assert f"{local[0]}***@{domain}" in out


def test_exported_names_exist():
    for module in (report_package, report_model):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == []


def test_markdown_keeps_input_text_inert(workspace: Workspace):
    save_result(
        workspace,
        "hunt",
        {
            "files": [],
            "events": 1,
            "alerts": [
                {
                    "rule": "<img src=x onerror=alert(1)>",
                    "key_type": "ip",
                    "key": "`x`|y",
                    "severity": "low",
                    "first_seen": None,
                    "last_seen": None,
                    "count": 1,
                },
            ],
        },
    )
    text = render_report(build_report(workspace), ReportFormat.MARKDOWN)
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\\`x\\`\\|y" in text


def test_coverage_joins_the_journal_with_the_run(workspace: Workspace):
    write_run(workspace)  # pair_valid, active, no MFA: the canary id and acct-0007, -0014, ...
    plan = "c" * 64

    def action(account: str, name: str, result: str = "applied") -> dict[str, str]:
        return {
            "event": "action",
            "plan": plan,
            "account": account,
            "action": name,
            "result": result,
        }

    with Journal(workspace.journal_path) as journal:
        journal.append([{"event": "begin", "plan": plan, "kind": "remediation", "actions": 5}])
        journal.append(
            [
                action("acct-0007", "force_reset"),
                action("acct-0014", "force_reset", "already"),
                action("acct-0021", "force_reset", "not_found"),  # does not count
                action("acct-0007", "revoke_sessions"),
                action("acct-0008", "require_mfa"),  # recovery_exposed
                action("acct-0004", "force_reset"),  # weak_scheme, not pair_valid
            ]
        )
    coverage = load_coverage(workspace)
    assert coverage == Coverage(
        run="20260605-0900-mail",
        pair_valid=30,
        pair_valid_reset=2,
        pair_valid_revoked=1,
        active_without_mfa=10,
        active_without_mfa_reset=2,
        recovery_exposed_mfa=1,
        weak_scheme_reset=1,
    )
    report = build_report(workspace)
    assert isinstance(report.progress, Progress) and report.progress.coverage == coverage
    assert report.progress.plans[0].kind == "remediation"
    titles = [s.title for s in report.next_steps]
    assert titles[0] == (
        "Reset 8 active accounts whose leaked password still works and that have no MFA"
    )
    assert "Confirm the 2 forced resets took effect" in titles
    html = render_report(report, ReportFormat.HTML)
    assert 'id="coverage"' in html


def test_exposure_chart_draws_the_most_exposed_tenants_only():
    cells = tuple(ExposureCell(f"t{i:02d}", "active", "pair_valid", i + 1) for i in range(30))
    exposure = Exposure("r", "s", None, 0, 0, (), (), cells, (), 0, 0)
    svg = exposure_chart(exposure)
    assert ">t29<" in svg and ">t10<" in svg and ">t09<" not in svg
    assert "20 most exposed" in svg
