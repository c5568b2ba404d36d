"""Factories writing each report input in its contract shape (docs/contracts.md).

They plant canary addresses where a careless report could leak them: account ids
that are addresses, an unmasked user key in a hunt alert, an address in a journal
entry.  The report must mask every one of them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from credwatch.apply.journal import Journal
from credwatch.results import save_result
from credwatch.workspace import Workspace

CANARY_EMAILS = ("canary.taro@nifty.com", "zz-canary-hanako@biglobe.ne.jp")
CANARY_PASSWORD = "Canary-P@ssw0rd-7731"
TENANTS = ("nifty", "biglobe", "jcom")


def write_index(ws: Workspace) -> None:
    """An exposure index with the contract's tables: two sources, four domains."""
    ws.index_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(ws.index_path))
    con.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1.0')")
    con.execute(
        "CREATE TABLE sources (source_id INTEGER, name VARCHAR, file_digest VARCHAR,"
        " path VARCHAR, format VARCHAR, encoding VARCHAR, ingested_at TIMESTAMP, lines BIGINT,"
        " accepted BIGINT, rejected BIGINT, rejected_by_reason JSON, rejected_line_sample JSON,"
        " distinct_emails BIGINT, distinct_pairs BIGINT, distinct_passwords BIGINT,"
        " vault_file VARCHAR)"
    )
    con.execute(
        "INSERT INTO sources VALUES"
        " (1, 'june-dump', 'd1', '/data/dump.txt', 'colon', 'utf-8', '2026-06-03 09:00:00',"
        "  1200, 1150, 50, '{\"no_separator\": 30, \"invalid_address\": 20}', '[3, 9]',"
        "  1000, 1100, 900, 'v1'),"
        " (2, 'paste-2', 'd2', '/data/p2.csv', 'csv', 'cp932', '2026-06-04 10:00:00',"
        "  300, 300, 0, '{}', '[]', 250, 260, 240, 'v2')"
    )
    con.execute(
        "CREATE TABLE exposures (email_key BLOB, domain VARCHAR, pair_key BLOB,"
        " source_id INTEGER, first_seen TIMESTAMP)"
    )
    rows = []
    domains = ("nifty.com", "biglobe.ne.jp", "jcom.home.ne.jp", "pikara.ne.jp")
    for i in range(400):
        ek = hashlib.sha256(f"e{i}".encode()).digest()[:16]
        pk = hashlib.sha256(f"p{i}".encode()).digest()[:16]
        rows.append((ek, domains[i % 4 if i % 3 else 0], pk, 1 + i % 2, "2026-06-03 09:00:00"))
    con.executemany("INSERT INTO exposures VALUES (?, ?, ?, ?, ?)", rows)
    con.execute(
        "CREATE TABLE password_counts (sha1 BLOB, ntlm BLOB, count BIGINT, source_id INTEGER)"
    )
    con.execute(
        "INSERT INTO password_counts SELECT sha1(i::VARCHAR)::BLOB, NULL, 1, 1 FROM range(300) t(i)"
    )
    con.close()


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
            "rule": "leak_correlated_stuffing",
            "key_type": "site",
            "key": "imap",
            "severity": "critical",
            "first_seen": "2026-06-06T01:00:00Z",
            "last_seen": "2026-06-06T05:00:00Z",
            "count": 4200,
            "evidence": {"leak_share": 0.83, "base_rate": 0.04, "sample_users": ["t***@nifty.com"]},
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
        write_index(ws)
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
