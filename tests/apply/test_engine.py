"""apply end to end: dry run, idempotence, refusals, privacy, fault injection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from credwatch.apply import apply_plan, store_digest, verify_journal
from credwatch.cli.main import app
from credwatch.errors import ExternalServiceError
from credwatch.plan import plan_remediation, write_plan
from credwatch.workspace import Workspace
from tests.plan.runs import CASES, configure, create_mailbox, store_toml, write_run

CANARIES = ("canary", "CanaryPw", "rescue", "bulk")


def _setup(ws: Workspace, url: str, tmp_path: Path, cases=CASES, extra: str = "") -> Path:
    configure(ws, store_toml("mail", url) + extra)
    write_run(ws, "run1", "mail", store_digest(ws, "mail"), cases)
    path = tmp_path / "fix.plan.json"
    write_plan(plan_remediation(ws, "run1"), path)
    return path


def _state(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM mailbox ORDER BY id")).all()
        sessions = conn.execute(sa.text("SELECT count(*) FROM sessions")).scalar()
    return [tuple(r) for r in rows] + [("sessions", sessions)]


def _cli(ws: Workspace, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(ws.root), *args])


def test_dry_run_apply_and_second_apply(db_url: str, workspace: Workspace, tmp_path: Path) -> None:
    engine = create_mailbox(db_url)
    path = _setup(workspace, db_url, tmp_path)
    before = _state(engine)

    dry = apply_plan(workspace, path)
    assert dry.dry_run and dry.counts["force_reset"]["applied"] == 5
    assert _state(engine) == before
    assert not workspace.journal_path.exists()

    done = apply_plan(workspace, path, yes=True, batch_size=4)
    assert not done.dry_run and done.total("applied") == 10
    assert done.journal_records == 12  # begin + 10 actions + end
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.text("SELECT * FROM mailbox"))}
        assert conn.execute(sa.text("SELECT count(*) FROM sessions")).scalar() == 4
    assert rows[1].must_reset and rows[2].mfa_required and rows[4].password == ""
    assert not rows[6].must_reset  # no finding, no action
    assert verify_journal(workspace.journal_path).ok

    after = _state(engine)
    again = apply_plan(workspace, path, yes=True)
    assert again.total("applied") == 0 and again.total("done_before") == 10
    assert _state(engine) == after
    assert apply_plan(workspace, path).total("applied") == 0  # a dry run agrees
    assert verify_journal(workspace.journal_path).ok
    engine.dispose()


def _journal_text(ws: Workspace) -> str:
    return ws.journal_path.read_text() if ws.journal_path.exists() else ""


def test_privacy_no_address_or_password_in_plan_journal_or_output(
    workspace: Workspace, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_mailbox(url).dispose()
    path = _setup(workspace, url, tmp_path)
    outputs = [
        _cli(workspace, "plan", "show", str(path)),
        _cli(workspace, "plan", "show", str(path), "--json"),
        _cli(workspace, "apply", str(path)),
        _cli(workspace, "apply", str(path), "--json"),
        _cli(workspace, "apply", str(path), "--yes"),
        _cli(workspace, "journal", "verify", "--json"),
    ]
    assert all(r.exit_code == 0 for r in outputs), [r.output for r in outputs]
    texts = [r.output for r in outputs] + [path.read_text(), _journal_text(workspace)]
    for canary in CANARIES:
        assert not any(canary in t for t in texts), canary


def test_cli_dry_run_shows_what_would_change(workspace: Workspace, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_mailbox(url).dispose()
    path = _setup(workspace, url, tmp_path)
    result = _cli(workspace, "apply", str(path))
    assert result.exit_code == 0
    assert "would apply" in result.output and "--yes" in result.output
    doc = json.loads(_cli(workspace, "apply", str(path), "--json").stdout)
    assert doc["dry_run"] is True and doc["counts"]["revoke_sessions"] == {"applied": 3}


def _bad(ws, tmp_path, url, damage, code: int, message: str) -> None:
    engine = create_mailbox(url)
    path = _setup(ws, url, tmp_path)
    damage(ws, path, tmp_path, engine)
    before = _state(engine)
    result = _cli(ws, "apply", str(path), "--yes")
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert _state(engine) == before
    assert not ws.journal_path.exists()
    engine.dispose()


def _tamper(ws, path: Path, tmp_path, engine) -> None:
    doc = json.loads(path.read_text())
    doc["accounts"] = doc["accounts"][:1]
    path.write_text(json.dumps(doc))


def _other_store(ws, path, tmp_path: Path, engine) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    create_mailbox(other).dispose()
    configure(ws, store_toml("mail", other))


def _run_gone(ws: Workspace, path, tmp_path, engine) -> None:
    for f in (ws.runs_dir / "run1").iterdir():
        f.unlink()
    (ws.runs_dir / "run1").rmdir()


def _stale(ws, path, tmp_path, engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE mailbox SET state = 'closed' WHERE id = 6"))


def _missing_column(ws: Workspace, path, tmp_path, engine) -> None:
    text = ws.config_path.read_text().replace("must_reset = true", "must_change_pw = true")
    ws.config_path.write_text(text)


def _unconfigured_action(ws: Workspace, path, tmp_path, engine) -> None:
    lines = ws.config_path.read_text().splitlines()
    ws.config_path.write_text("\n".join(x for x in lines if not x.startswith("revoke_sessions")))


@pytest.mark.parametrize(
    ("damage", "code", "message"),
    [
        (_tamper, 3, "digest does not match"),
        (_other_store, 3, "made for another store"),
        (_run_gone, 3, "audit run 'run1' is not in"),
        (_stale, 3, "is stale"),
        (_missing_column, 2, "lacks the configured column(s): force_reset.set -> must_change_pw"),
        (_unconfigured_action, 2, "no configuration for action(s) revoke_sessions"),
    ],
)
def test_bad_inputs_change_nothing(
    workspace, tmp_path: Path, damage, code: int, message: str
) -> None:
    _bad(workspace, tmp_path, f"sqlite:///{tmp_path / 'store.db'}", damage, code, message)


def test_unknown_action_in_policy_exits_2(workspace: Workspace, tmp_path: Path) -> None:
    configure(workspace, store_toml("mail", f"sqlite:///{tmp_path / 's.db'}"))
    write_run(workspace, "run1", "mail", "sha256:x")
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[[rules]]\nname = "x"\nfindings = ["pair_valid"]\nactions = ["delete_user"]\n'
    )
    out = tmp_path / "p.json"
    result = _cli(
        workspace, "plan", "remediate", "--run", "run1", "--policy", str(policy), "-o", str(out)
    )
    assert result.exit_code == 2
    assert "unknown action 'delete_user'" in " ".join(result.output.split())
    assert not out.exists()


# -- fault injection -----------------------------------------------------------------

BULK = 3000
FAIL_AT = 1000 + 1700


def _bulk_cases() -> list[tuple[str, str, str, bool, list[str]]]:
    return [(str(1000 + i), "nifty", "active", False, ["pair_valid"]) for i in range(BULK)]


def _install_trigger(engine: sa.Engine, dialect: str, sleep: float = 0.0) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE mailbox ADD COLUMN changes INTEGER NOT NULL DEFAULT 0"))
        conn.execute(sa.text("CREATE TABLE cw_control (fail INTEGER NOT NULL)"))
        conn.execute(sa.text("INSERT INTO cw_control VALUES (1)"))
        if dialect == "postgresql":
            conn.execute(
                sa.text(
                    "CREATE FUNCTION cw_count() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.id = {FAIL_AT} AND (SELECT fail FROM cw_control) = 1 THEN "
                    "RAISE EXCEPTION 'injected failure'; END IF; "
                    f"PERFORM pg_sleep({sleep}); "
                    "NEW.changes := OLD.changes + 1; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER cw_count BEFORE UPDATE ON mailbox "
                    "FOR EACH ROW EXECUTE FUNCTION cw_count()"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE TRIGGER cw_count BEFORE UPDATE ON mailbox FOR EACH ROW BEGIN "
                    f"IF NEW.id = {FAIL_AT} AND (SELECT fail FROM cw_control) = 1 THEN "
                    "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'; END IF; "
                    "SET NEW.changes = OLD.changes + 1; END"
                )
            )


def _assert_exactly_once(ws: Workspace, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        query = sa.text("SELECT id, changes FROM mailbox WHERE id >= 1000")
        changes: dict[int, int] = {r[0]: r[1] for r in conn.execute(query)}
        sessions = conn.execute(
            sa.text("SELECT count(*) FROM sessions WHERE user_id >= 1000")
        ).scalar()
    assert set(changes.values()) == {1}, "every account changed exactly once"
    assert sessions == 0
    assert verify_journal(ws.journal_path).ok
    seen: dict[tuple[str, str], int] = {}
    for line in ws.journal_path.read_text().splitlines():
        record = json.loads(line)
        if record["event"] == "action":
            key = (record["account"], record["action"])
            seen[key] = seen.get(key, 0) + 1
    assert len(seen) == 2 * BULK and set(seen.values()) == {1}


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"])
def test_database_failing_mid_apply_then_resume(
    request: pytest.FixtureRequest, workspace: Workspace, tmp_path: Path, dialect: str
) -> None:
    url = request.getfixturevalue("pg_url" if dialect == "postgresql" else "mariadb_url")
    engine = create_mailbox(url, cases=[], extra_rows=BULK)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO sessions (sid, user_id) VALUES (:s, :u)"),
            [{"s": i + 1, "u": 1000 + i} for i in range(BULK)],
        )
    _install_trigger(engine, dialect)
    path = _setup(workspace, url, tmp_path, _bulk_cases())
    with pytest.raises(ExternalServiceError, match="injected failure"):
        apply_plan(workspace, path, yes=True, batch_size=500)
    with engine.connect() as conn:
        partial = int(
            conn.execute(sa.text("SELECT count(*) FROM mailbox WHERE must_reset")).scalar_one()
        )
    assert 0 < partial < BULK and partial % 250 == 0  # whole batches only
    assert verify_journal(workspace.journal_path).ok
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE cw_control SET fail = 0"))
    report = apply_plan(workspace, path, yes=True, batch_size=500)
    assert report.resumed and report.total("done_before") == 2 * partial
    _assert_exactly_once(workspace, engine)
    engine.dispose()


@pytest.mark.slow
def test_sigkill_mid_apply_then_resume(pg_url: str, workspace: Workspace, tmp_path: Path) -> None:
    engine = create_mailbox(pg_url, cases=[], extra_rows=BULK)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO sessions (sid, user_id) VALUES (:s, :u)"),
            [{"s": i + 1, "u": 1000 + i} for i in range(BULK)],
        )
    _install_trigger(engine, "postgresql", sleep=0.002)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE cw_control SET fail = 0"))
    path = _setup(workspace, pg_url, tmp_path, _bulk_cases())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from credwatch.cli.main import run; run()",
            "--workspace",
            str(workspace.root),
            "apply",
            str(path),
            "--yes",
            "--batch-size",
            "300",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            journal = workspace.journal_path
            if journal.exists() and journal.read_bytes().count(b"\n") > 600:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the apply finished before it could be killed"
    with engine.connect() as conn:
        partial = int(
            conn.execute(sa.text("SELECT count(*) FROM mailbox WHERE must_reset")).scalar_one()
        )
    assert 0 < partial < BULK
    report = apply_plan(workspace, path, yes=True, batch_size=300)
    assert report.resumed
    _assert_exactly_once(workspace, engine)
    engine.dispose()
