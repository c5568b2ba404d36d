"""Retention plans from a real store (SQLite, PostgreSQL, passwd-file) and a policy."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from credwatch.apply import apply_plan, unseal, verify_journal
from credwatch.cli.main import app
from credwatch.errors import ConfigError
from credwatch.plan import keyed_id, load_plan, write_plan
from credwatch.plan.model import ACTIONS
from credwatch.retention import load_retention_policy, parse_retention_policy, plan_retention
from credwatch.workspace import Workspace
from tests.plan.runs import NOW, configure, create_mailbox, store_toml

STRONG = "{BLF-CRYPT}" + bcrypt.hashpw(b"another", bcrypt.gensalt(4)).decode()
EXAMPLE = Path(__file__).resolve().parents[2] / "src/credwatch/retention/example_policy.toml"


def _clock() -> datetime:
    return NOW.replace(tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_example_policy_on_a_sql_store(url: str, workspace: Workspace, tmp_path: Path) -> None:
    engine = create_mailbox(url)
    with engine.begin() as conn:  # a strong hash for account 6: only its status matters
        conn.execute(sa.text("UPDATE mailbox SET password = :h WHERE id = 6"), {"h": STRONG})
    configure(workspace, store_toml("mail", url))
    plan = plan_retention(workspace, "mail", load_retention_policy(EXAMPLE), clock=_clock)
    actions = {a.id: [(p.action, p.rule) for p in a.actions] for a in plan.accounts}
    # every CASES row has a {PLAIN} hash -> weak-storage; dormant ones also lock + reset;
    # the cancelled one (120 days) is purged.
    assert actions["3"] == [("lock", "dormant-365-days"), ("force_reset", "dormant-365-days")]
    assert actions["4"] == [
        ("force_reset", "weak-storage"),
        ("purge_credential", "cancelled-90-days"),
    ]
    assert actions["1"] == [("force_reset", "weak-storage")]
    assert "6" not in actions
    basis = next(p.basis for p in plan.accounts[0].actions)
    assert basis is not None and "scheme PLAIN" in basis
    assert plan.kind == "retention" and plan.inputs.audit_run is None

    path = tmp_path / "retention.plan.json"
    write_plan(plan, path)
    assert "canary" not in path.read_text() and "CanaryPw" not in path.read_text()
    report = apply_plan(workspace, path, yes=True)
    assert report.counts["purge_credential"]["applied"] == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT password FROM mailbox WHERE id = 4")).scalar() == ""
        assert conn.execute(sa.text("SELECT state FROM mailbox WHERE id = 3")).scalar() == "locked"
    assert apply_plan(workspace, path, yes=True).total("applied") == 0
    assert verify_journal(workspace.journal_path).ok
    engine.dispose()


def test_passwd_file_retention_and_apply(workspace: Workspace, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(
        f"canary@nifty.com:{{PLAIN}}CanaryPw:1:1::/h::\nstrong@nifty.com:{STRONG}:1:1::/h::\n"
    )
    users.chmod(0o640)
    workspace.config_path.write_text(f'[stores.dove]\nkind = "passwd-file"\npath = "{users}"\n')
    policy = parse_retention_policy(
        '[[rules]]\nname = "weak"\nschemes = ["weak"]\nactions = ["force_reset"]\n', "p"
    )
    plan = write_plan(plan_retention(workspace, "dove", policy), tmp_path / "p.json")
    assert plan.id_form == "keyed"
    assert [a.id for a in plan.accounts] == [keyed_id(workspace.keyer(), "canary@nifty.com")]
    assert "canary" not in (tmp_path / "p.json").read_text()
    dry = apply_plan(workspace, tmp_path / "p.json")
    assert dry.counts == {"force_reset": {"applied": 1}}
    apply_plan(workspace, tmp_path / "p.json", yes=True)
    assert users.read_text().startswith(
        "canary@nifty.com:{PLAIN}!CanaryPw:1:1::/h::nologin=y reason=password-reset-required\n"
    )
    assert users.stat().st_mode & 0o777 == 0o640
    assert "canary" not in workspace.journal_path.read_text()
    assert apply_plan(workspace, tmp_path / "p.json", yes=True).total("applied") == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rules]]\nname="a"\nstatus=["cancelled"]\nactions=["shred"]', "unknown action 'shred'"),
        ('[[rules]]\nname="a"\nactions=["lock"]', "no condition"),
        ('[[rules]]\nname="a"\ninactive_days=-1\nactions=["lock"]', "inactive_days"),
        ('[[rules]]\nname="a"\nschemes=[]\nactions=["lock"]', "schemes"),
        ('[[rules]]\nname="a"\nstatus=["cancelled"]\nactions=["lock"]\nwhen=1', "unknown keys"),
    ],
)
def test_bad_retention_policies(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_retention_policy(text, "p")


@given(
    actions=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4),
    days=st.integers(min_value=0, max_value=5000),
)
def test_policy_parser_accepts_exactly_the_known_actions(actions: list[str], days: int) -> None:
    quoted = ", ".join('"' + a.replace("\\", "\\\\").replace('"', '\\"') + '"' for a in actions)
    text = f'[[rules]]\nname = "r"\ninactive_days = {days}\nactions = [{quoted}]\n'
    try:
        policy = parse_retention_policy(text, "p")
    except ConfigError as exc:
        assert not set(actions) <= ACTIONS or "TOML" in exc.message
        return
    assert set(policy.rules[0].actions) == set(actions) <= ACTIONS


def test_cli_plan_retention_and_show(workspace: Workspace, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_mailbox(url).dispose()
    configure(workspace, store_toml("mail", url))
    out = tmp_path / "r.json"
    runner = CliRunner()
    base = ["--workspace", str(workspace.root)]
    result = runner.invoke(
        app,
        [*base, "plan", "retention", "--store", "mail", "--policy", str(EXAMPLE), "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "weak-storage" in result.output
    assert load_plan(out).kind == "retention"
    shown = runner.invoke(app, [*base, "plan", "show", str(out), "--json"])
    assert shown.exit_code == 0 and '"kind": "retention"' in shown.stdout
    missing = runner.invoke(
        app,
        [*base, "plan", "retention", "--store", "nope", "--policy", str(EXAMPLE), "-o", str(out)],
    )
    assert missing.exit_code == 2


def test_isolate_moves_sealed_credentials_out(workspace: Workspace, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = create_mailbox(url)
    configure(workspace, store_toml("mail", url))
    policy = parse_retention_policy(
        '[[rules]]\nname = "isolate-cancelled"\nstatus = ["cancelled"]\ninactive_days = 30\n'
        'actions = ["isolate"]\n',
        "p",
    )
    path = tmp_path / "iso.plan.json"
    write_plan(plan_retention(workspace, "mail", policy, clock=_clock), path)
    report = apply_plan(workspace, path, yes=True)
    assert report.counts == {"isolate": {"applied": 1}}
    with engine.connect() as conn:
        sealed = conn.execute(sa.text("SELECT account_id, sealed FROM isolated_credentials")).one()
        assert conn.execute(sa.text("SELECT password FROM mailbox WHERE id = 4")).scalar() == ""
    assert b"CanaryPw" not in bytes(sealed[1])
    assert unseal(workspace.vault_private_key(), "4", bytes(sealed[1])) == "{PLAIN}CanaryPw4"
    engine.dispose()
