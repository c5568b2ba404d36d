"""The audit end to end through the CLI, and its failure paths."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from credwatch.audit import FINDINGS, load_summary, run_audit
from credwatch.cli.main import app
from credwatch.execute import executor_from_spec
from credwatch.normalize import mask_email
from credwatch.workspace import Workspace
from tests.accounts.helpers import add_config, create_mailbox, make_row, sql_store_toml
from tests.audit.conftest import CANARY_ADDRESSES, CANARY_PASSWORDS, EXPECTED, AuditSetup

SHOW_KEYS = {
    "run",
    "accounts",
    "exposed",
    "pair_valid",
    "pair_stale",
    "email_only",
    "recovery_exposed",
    "weak_scheme",
    "by_tenant",
    "by_status",
    "unknown_schemes",
}


def _cli(ws: Workspace, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--workspace", str(ws.root), *args])
    return result.exit_code, result.stdout


def _bulk_store(
    ws: Workspace, name: str, path: Path, rows: Iterable[tuple[int, str, str | None, str]]
) -> None:
    """Configure store NAME: active nifty accounts ``(id, address, recovery, hash)`` in a
    SQLite ``mailbox`` written with sqlite3 (fast enough for 100,000s of rows)."""
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE mailbox (id INTEGER PRIMARY KEY, username TEXT, isp TEXT, recovery TEXT, "
        "password TEXT, state TEXT, last_login TEXT, totp_enabled INTEGER)"
    )
    con.executemany("INSERT INTO mailbox VALUES (?, ?, 'nifty', ?, ?, 'active', NULL, 0)", rows)
    con.commit()
    con.close()
    add_config(ws, sql_store_toml(name, f"sqlite:///{path}"))


def _assert_no_plaintext(root: Path, *outputs: str) -> None:
    canaries = [*CANARY_PASSWORDS, *CANARY_ADDRESSES, "StaleCanary@NIFTY.com", "backup@nifty.com"]
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for canary in canaries:
                assert canary.encode() not in data, f"{canary} in {path}"
    for text in outputs:
        for canary in canaries:
            assert canary not in text


def test_audit_cli_end_to_end_every_finding(audit_setup: AuditSetup) -> None:
    ws = audit_setup.ws
    code, out = _cli(ws, "audit", "run", "--store", "mail", "--executor", "local:1", "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert set(summary) >= SHOW_KEYS
    for finding in FINDINGS:
        expected = sum(finding in f for f in EXPECTED.values())
        assert summary[finding] == expected, finding
    assert summary["accounts"] == 8
    assert summary["exposed"] == 6
    assert summary["unknown_statuses"] == {"frozen": 1}
    assert summary["unknown_schemes"] == {"{UNKNOWN:FOO}": 1}
    assert summary["by_tenant"]["cpi"]["email_only"] == 1
    assert summary["by_tenant"]["biglobe"]["by_status"]["dormant"]["pair_valid"] == 1
    assert summary["store_digest"].startswith("sha256:")

    code, shown = _cli(ws, "audit", "show", "--json")
    assert code == 0
    assert json.loads(shown)["run"] == summary["run"]

    code, lines = _cli(ws, "audit", "show", summary["run"], "--accounts", "--json")
    assert code == 0
    rows = [json.loads(line) for line in lines.splitlines()]
    assert {r["id"]: sorted(r["findings"]) for r in rows} == {
        k: sorted(v) for k, v in EXPECTED.items()
    }
    assert {"id", "tenant", "status", "findings"} <= set(rows[0])
    assert rows[0]["findings"][0] == "pair_valid"  # highest priority first

    table = pq.read_table(ws.runs_dir / summary["run"] / "accounts.parquet").to_pylist()
    ranked = sorted(table, key=lambda r: (-r["risk_score"], r["id"]))
    assert [r["priority"] for r in ranked] == list(range(1, len(table) + 1))
    masked = {r["id"]: r["masked_email"] for r in table}
    assert masked["1"] == mask_email(CANARY_ADDRESSES[0])
    assert masked["6"] == mask_email("widecanary@nifty.com")
    code, human = _cli(ws, "audit", "show")
    assert code == 0 and "pair_valid" in human
    _assert_no_plaintext(ws.root, out, shown, lines, human)


def test_audit_on_dask_local_cluster(audit_setup: AuditSetup) -> None:
    with executor_from_spec("dask-local:1") as executor:
        result = run_audit(audit_setup.ws, "mail", executor=executor)
    assert result.summary["pair_valid"] == 3
    assert result.summary["pair_stale"] == 1


def test_skipping_slow_verification_never_reads_as_no_match(audit_setup: AuditSetup) -> None:
    result = run_audit(audit_setup.ws, "mail", verify_slow=False)
    assert result.summary["pair_stale"] == 0
    assert result.summary["pair_unverified"] == 3  # two slow hashes skipped + {FOO}
    assert result.summary["pair_valid"] == 2


def test_fast_verification_in_partitions_gives_the_same_findings(
    audit_setup: AuditSetup, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = run_audit(audit_setup.ws, "mail")
    monkeypatch.setattr("credwatch.audit.verification.FAST_PARTITION_ROWS", 1)
    split = run_audit(audit_setup.ws, "mail")
    columns = ["id", "findings", "priority"]
    assert (
        pq.read_table(split.path / "accounts.parquet", columns=columns).to_pylist()
        == pq.read_table(whole.path / "accounts.parquet", columns=columns).to_pylist()
    )
    assert split.summary["pair_valid"] == whole.summary["pair_valid"] == 3


def test_resume_continues_the_interrupted_run(audit_setup: AuditSetup) -> None:
    first = run_audit(audit_setup.ws, "mail")
    (first.path / "summary.json").unlink()  # as if interrupted before the end
    code, out = _cli(audit_setup.ws, "audit", "run", "--store", "mail", "--resume", "--json")
    assert code == 0, out
    assert json.loads(out)["run"] == first.run


def test_resume_without_interrupted_run_is_refused(audit_setup: AuditSetup) -> None:
    code, _ = _cli(audit_setup.ws, "audit", "run", "--store", "mail", "--resume")
    assert code == 3


def test_unreachable_store_exits_4_and_writes_nothing(audit_setup: AuditSetup) -> None:
    ws = audit_setup.ws
    add_config(ws, sql_store_toml("down", "postgresql+psycopg://u@127.0.0.1:1/x?connect_timeout=2"))
    code, _ = _cli(ws, "audit", "run", "--store", "down")
    assert code == 4
    assert not ws.runs_dir.exists() or not any(ws.runs_dir.iterdir())


def test_show_without_runs_is_bad_input(workspace: Workspace) -> None:
    code, _ = _cli(workspace, "audit", "show", "--json")
    assert code == 3


@pytest.mark.slow
def test_large_store_matching_nothing_gives_exact_zeros(
    audit_setup: AuditSetup, tmp_path: Path
) -> None:
    n = 100_000
    sha512 = "{SHA512-CRYPT}$6$rounds=1000$s$h"
    rows = ((i, f"user{i}@nifty.com", None, sha512) for i in range(n))
    _bulk_store(audit_setup.ws, "big", tmp_path / "big.db", rows)
    result = run_audit(audit_setup.ws, "big")
    summary = load_summary(audit_setup.ws, result.run)
    assert summary["accounts"] == n
    assert summary["exposed"] == 0
    assert all(summary[f] == 0 for f in FINDINGS)


def test_non_ascii_recovery_address_is_normalised(audit_setup: AuditSetup, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wide.db'}"
    wide_recovery = "".join(chr(ord(c) + 0xFEE0) for c in "backup@NIFTY") + ".com"
    create_mailbox(
        url,
        [
            make_row(1, "fresh@jcom.home.ne.jp", None, tenant="jcom", recovery=wide_recovery),
            make_row(2, "other@jcom.home.ne.jp", None, tenant="jcom", recovery="x@例え.jp"),
        ],
    )
    add_config(audit_setup.ws, sql_store_toml("wide", url))
    result = run_audit(audit_setup.ws, "wide")
    assert result.summary["recovery_exposed"] == 1
    rows = {r["id"]: r for r in pq.read_table(result.path / "accounts.parquet").to_pylist()}
    assert rows["1"]["recovery_domain"] == "nifty.com"
    assert rows["2"]["recovery_domain"] == "xn--r8jz45g.jp"


def test_scratch_folder_is_removed_after_success_and_failure(audit_setup: AuditSetup) -> None:
    ws = audit_setup.ws
    run_audit(ws, "mail")
    add_config(ws, sql_store_toml("down", "postgresql+psycopg://u@127.0.0.1:1/x?connect_timeout=2"))
    code, _ = _cli(ws, "audit", "run", "--store", "down")
    assert code == 4
    assert not list(ws.runs_dir.glob(".audit-scratch-*"))


@pytest.mark.slow
def test_public_rows_spill_under_a_small_memory_cap(
    audit_setup: AuditSetup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 200_000
    rows = ((i, f"user{i}@nifty.com", f"r{i}@biglobe.ne.jp", "{PLAIN}pw") for i in range(n))
    _bulk_store(audit_setup.ws, "spill", tmp_path / "spill.db", rows)
    monkeypatch.setattr("credwatch.audit.scratch.PUBLIC_MEMORY_LIMIT", "64MB")
    result = run_audit(audit_setup.ws, "spill")
    assert result.summary["accounts"] == n
    assert result.summary["weak_scheme"] == n
    priorities = pq.read_table(result.path / "accounts.parquet", columns=["priority"])
    assert sorted(priorities.column(0).to_pylist()) == list(range(1, n + 1))
