"""Factories writing each report input in its contract shape (docs/contracts.md).

They plant canary addresses where a careless report could leak them: account ids
that are addresses, an unmasked user key in a hunt alert, an address in a journal
entry.  The report must mask every one of them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from credwatch.apply.journal import Journal
from credwatch.index import ingest_files
from credwatch.results import save_result
from credwatch.workspace import Workspace

CANARY_EMAILS = ("canary.taro@nifty.com", "zz-canary-hanako@biglobe.ne.jp")
CANARY_PASSWORD = "Canary-P@ssw0rd-7731"
TENANTS = ("nifty", "biglobe", "jcom")


def write_index(ws: Workspace, folder: Path) -> None:
    """Ingest a small combolist (with canary pairs and a few bad lines) for real."""
    domains = ("nifty.com", "biglobe.ne.jp", "jcom.home.ne.jp", "pikara.ne.jp")
    lines = [f"user{i}@{domains[i % 4 if i % 3 else 0]}:pw-{i % 300}" for i in range(400)]
    lines += [f"{address}:{CANARY_PASSWORD}" for address in CANARY_EMAILS]
    lines += ["no separator here", "bad-address:pw", "x@nifty.com:"]
    first = folder / "june-dump.txt"
    first.write_text("\n".join(lines) + "\n", encoding="utf-8")
    second = folder / "paste-2.txt"
    second.write_text(
        "\n".join(f"other{i}@biglobe.ne.jp:{CANARY_PASSWORD}{i}" for i in range(50)) + "\n",
        encoding="utf-8",
    )
    report = ingest_files(ws, [first, second])
    assert all(f.status == "ingested" for f in report.files), report


def write_run(
    ws: Workspace, run: str = "20260605-0900-mail", created: str = "2026-06-05T09:00:00Z"
) -> Path:
    """An audit run: accounts.parquet with every finding, and summary.json."""
    folder = ws.runs_dir / run
    folder.mkdir(parents=True)
    ids, tenants, statuses, mfa, schemes, findings, scores, prios, masked = ([] for _ in range(9))
    plan = [
        ("active", False, "SHA512-CRYPT", ["pair_valid"], 100),
        ("active", True, "BLF-CRYPT", ["pair_valid", "recovery_exposed"], 90),
        ("dormant", False, "PLAIN-MD5", ["pair_valid", "weak_scheme"], 95),
        ("active", False, "SHA512-CRYPT", ["pair_stale"], 40),
        ("cancelled", False, "PLAIN", ["email_only", "weak_scheme"], 30),
        ("active", False, "BLF-CRYPT", [], 0),
        ("dormant", False, "SHA512-CRYPT", ["recovery_exposed"], 20),
    ]
    for i in range(70):
        status, has_mfa, scheme, found, score = plan[i % len(plan)]
        tenant = TENANTS[i % 3]
        # Some stores use the address as the account id: plant canaries there.
        ids.append(CANARY_EMAILS[i % 2] if i < 2 else f"acct-{i:04d}")
        tenants.append(tenant)
        statuses.append(status)
        mfa.append(has_mfa)
        schemes.append(scheme)
        findings.append(found)
        scores.append(score)
        prios.append(0 if "pair_valid" in found else 2)
        masked.append(f"u***@{tenant}.example.jp")
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "tenant": pa.array(tenants, pa.string()),
            "status": pa.array(statuses, pa.string()),
            "mfa": pa.array(mfa, pa.bool_()),
            "email_domain": pa.array([f"{t}.example.jp" for t in tenants], pa.string()),
            "recovery_domain": pa.array([None] * 70, pa.string()),
            "scheme": pa.array(schemes, pa.string()),
            "findings": pa.array(findings, pa.list_(pa.string())),
            "risk_score": pa.array(scores, pa.int32()),
            "priority": pa.array(prios, pa.int32()),
            "masked_email": pa.array(masked, pa.string()),
        }
    )
    pq.write_table(table, folder / "accounts.parquet")
    summary = {
        "schema_version": "1.0",
        "run": run,
        "store": "mail",
        "store_digest": "s" * 64,
        "index_digest": "i" * 64,
        "created_at": created,
        "accounts": 70,
        "unknown_schemes": {"{FOO}": 3},
    }
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def hunt_document() -> dict[str, Any]:
    """A hunt --json document (DESIGN.md) with a login series and an unmasked canary."""
    alerts = [
        {
            "rule": "leak_stuffing",
            "key_type": "site",
            "key": "imap",
            "severity": "critical",
            "first_seen": "2026-06-06T01:00:00Z",
            "last_seen": "2026-06-06T05:00:00Z",
            "count": 4200,
            "evidence": {
                "cold_exposed_share": 0.83,
                "base_rate": 0.04,
                "sample_users": ["t***@nifty.com"],
            },
        },
        {
            "rule": "failures_per_ip",
            "key_type": "ip",
            "key": "203.0.113.7",
            "severity": "high",
            "first_seen": "2026-06-06T02:00:00Z",
            "last_seen": "2026-06-06T02:30:00Z",
            "count": 900,
            "evidence": {},
        },
        {
            "rule": "success_after_failures",
            "key_type": "user",
            "key": CANARY_EMAILS[0],  # a careless producer: the report must mask it
            "severity": "high",
            "first_seen": "2026-06-06T03:00:00Z",
            "last_seen": "2026-06-06T03:01:00Z",
            "count": 12,
            "evidence": {"user": CANARY_EMAILS[0]},
        },
        {
            "rule": "password_spraying",
            "key_type": "subnet",
            "key": "198.51.100.0/24",
            "severity": "medium",
            "first_seen": "2026-06-06T04:00:00Z",
            "last_seen": "2026-06-06T04:20:00Z",
            "count": 300,
            "evidence": {},
        },
    ]
    timeline = [
        {
            "start": f"2026-06-06T{h:02d}:00:00Z",
            "attempts": 1000 + 800 * (1 <= h <= 5),
            "failures": 50 + 700 * (1 <= h <= 5),
        }
        for h in range(12)
    ]
    return {
        "files": [{"path": "/var/log/mail.log", "lines": 20000, "parsed": 19950, "unparsed": 50}],
        "events": 19950,
        "alerts": alerts,
        "timeline": timeline,
    }


def supply_document() -> dict[str, Any]:
    """A ``supply scan --json`` document in the shape ScanReport.to_json() writes."""
    counts = {"active": 700, "dormant": 180, "cancelled": 120}
    return {
        "schema_version": "1.0",
        "advisory_source": "osv/",
        "components": [{"name": f"pkg{i}", "version": "1"} for i in range(412)],
        "findings": [
            {
                "component": "roundcube",
                "version": "1.6.5",
                "purl": "pkg:deb/debian/roundcube@1.6.5",
                "advisories": ["CVE-2026-0001", "DSA-5700-1"],
                "aliases": ["CVE-2026-0001"],
                "severity": "critical",
                "cvss_score": 9.8,
                "fixed": "1.6.7",
                "platforms": ["shared-mail"],
                "hosts": ["shared-mail/mx1", "shared-mail/mx2"],
                "tenants": list(TENANTS),
                "accounts": counts,
            },
            {
                "component": "libxml2",
                "version": "2.9.14",
                "purl": "pkg:deb/debian/libxml2@2.9.14",
                "advisories": ["DLA-1-1"],
                "aliases": [],
                "severity": "medium",
                "fixed": None,
                "platforms": ["webmail"],
                "hosts": ["webmail/web1"],
                "tenants": ["nifty"],
                "accounts": {"active": 280, "dormant": 50, "cancelled": 10},
            },
        ],
        "concentration": {
            "total_accounts": 1000,
            "platforms": [
                {
                    "name": "shared-mail",
                    "tenants": list(TENANTS),
                    "hosts": 2,
                    "accounts": counts,
                    "share": 1.0,
                    "shared": True,
                    "single_point_of_failure": True,
                    "vulnerable_components": 1,
                },
                {
                    "name": "webmail",
                    "tenants": ["nifty"],
                    "hosts": 1,
                    "accounts": {"active": 280, "dormant": 50, "cancelled": 10},
                    "share": 0.34,
                    "shared": False,
                    "single_point_of_failure": False,
                    "vulnerable_components": 1,
                },
            ],
            "hhi": 7156.0,
            "hhi_band": "highly concentrated",
            "single_points_of_failure": ["shared-mail"],
            "tenants_without_counts": [],
        },
        "obligations": [
            {
                "supplier": "MailCo",
                "kind": "drill_overdue",
                "detail": "last drill 2024-01-10",
                "platforms": ["shared-mail"],
                "tenants": list(TENANTS),
                "accounts": counts,
            }
        ],
    }


def write_journal(ws: Workspace) -> None:
    """A journal written by the real apply journal: two plans, one unfinished."""
    with Journal(ws.journal_path) as journal:
        for plan, count, finish in (("a" * 64, 30, True), ("b" * 64, 10, False)):
            journal.append(
                [{"event": "begin", "plan": plan, "store": "mail", "actions": count + 2}],
                time="2026-06-07T10:00:00Z",
            )
            journal.append(
                [
                    {
                        "event": "action",
                        "plan": plan,
                        "store": "mail",
                        # An account id that is an address: the report must mask it.
                        "account": CANARY_EMAILS[1] if i == 0 else f"acct-{i:04d}",
                        "action": ("force_reset", "revoke_sessions", "purge_credential")[i % 3],
                        "result": "not_found"
                        if i % 7 == 0
                        else "already"
                        if i % 5 == 0
                        else "applied",
                    }
                    for i in range(count)
                ],
                time="2026-06-07T10:05:00Z",
            )
            if finish:
                journal.append(
                    [{"event": "end", "plan": plan, "store": "mail", "store_digest": "x"}],
                    time="2026-06-07T10:06:00Z",
                )


def fill_workspace(ws: Workspace, parts: frozenset[str] | None = None) -> None:
    """Write every input (or only ``parts`` of index, run, hunt, supply, journal)."""
    wanted = (
        parts if parts is not None else frozenset({"index", "run", "hunt", "supply", "journal"})
    )
    if "index" in wanted:
        inputs = ws.root / "inputs"
        inputs.mkdir(exist_ok=True)
        write_index(ws, inputs)
    if "run" in wanted:
        write_run(ws)
    if "hunt" in wanted:
        save_result(ws, "hunt", hunt_document())
    if "supply" in wanted:
        save_result(ws, "supply", supply_document())
    if "journal" in wanted:
        write_journal(ws)


@pytest.fixture
def full_workspace(workspace: Workspace) -> Workspace:
    """A workspace holding every report input."""
    fill_workspace(workspace)
    return workspace
