"""Remediation plans: policy decisions, the sealed file format, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credwatch.errors import ConfigError, InputError
from credwatch.plan import (
    default_policy,
    keyed_id,
    load_plan,
    load_remediation_policy,
    plan_remediation,
    summarize,
    write_plan,
)
from credwatch.plan.policy import parse_remediation_policy
from credwatch.workspace import Workspace
from tests.plan.runs import configure, store_toml, write_run

DIGEST = "sha256:" + "a" * 64


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    configure(workspace, store_toml("mail", f"sqlite:///{tmp_path / 'store.db'}"))
    write_run(workspace, "run1", "mail", DIGEST)
    return workspace


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ("1", [("revoke_sessions", "pair_valid"), ("force_reset", "pair_valid")]),
        (
            "2",
            [
                ("require_mfa", "recovery_exposed"),
                ("revoke_sessions", "pair_valid"),
                ("force_reset", "pair_valid"),
            ],
        ),
        ("3", [("force_reset", "email_only")]),
        ("4", [("purge_credential", "pair_stale")]),
        ("5", [("force_reset", "weak_scheme")]),
        ("7", [("revoke_sessions", "pair_valid"), ("force_reset", "pair_valid")]),
    ],
)
def test_default_policy_decides_each_case(
    ws: Workspace, account: str, expected: list[tuple[str, str]]
) -> None:
    plan = plan_remediation(ws, "run1")
    entry = next(a for a in plan.accounts if a.id == account)
    assert [(p.action, p.finding) for p in entry.actions] == expected
    assert all(p.rule in plan.rules for p in entry.actions)


def test_accounts_without_findings_are_left_out(ws: Workspace) -> None:
    plan = plan_remediation(ws, "run1")
    assert "6" not in {a.id for a in plan.accounts}
    assert plan.inputs.audit_run == "run1"
    assert plan.inputs.store_digest == DIGEST
    assert (plan.inputs.audit_summary_digest or "").startswith("sha256:")


def test_written_plan_loads_back_identical(ws: Workspace, tmp_path: Path) -> None:
    sealed = write_plan(plan_remediation(ws, "run1"), tmp_path / "p.json")
    loaded = load_plan(tmp_path / "p.json")
    assert loaded == sealed
    assert loaded.digest.startswith("sha256:")
    assert (tmp_path / "p.json").stat().st_mode & 0o077 == 0


def test_hand_edited_plan_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    write_plan(plan_remediation(ws, "run1"), path)
    doc = json.loads(path.read_text())
    doc["accounts"][0]["actions"] = doc["accounts"][0]["actions"][:1]
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="edited"):
        load_plan(path)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), char=st.characters(codec="utf-8"))
def test_any_one_character_change_is_refused_or_unreadable(
    ws: Workspace, tmp_path: Path, position: int, char: str
) -> None:
    path = tmp_path / "h.json"
    write_plan(plan_remediation(ws, "run1"), path)
    text = path.read_text(encoding="utf-8")
    at = position % len(text)
    if text[at] == char:
        return
    path.write_text(text[:at] + char + text[at + 1 :], encoding="utf-8")
    try:
        load_plan(path)
    except InputError:
        return
    # Only whitespace outside strings may change without changing the document.
    assert text[at].isspace() and char.isspace()


def test_other_schema_major_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    write_plan(plan_remediation(ws, "run1"), path)
    doc = json.loads(path.read_text())
    doc["schema_version"] = "2.0"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"schema version 2\.0"):
        load_plan(path)


def test_missing_run_is_an_input_error(ws: Workspace) -> None:
    with pytest.raises(InputError, match="not in"):
        plan_remediation(ws, "gone")


def test_run_of_an_unconfigured_store_is_a_config_error(ws: Workspace) -> None:
    write_run(ws, "run2", "other", DIGEST)
    with pytest.raises(ConfigError, match="no store named 'other'"):
        plan_remediation(ws, "run2")


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ('[[rules]]\nname="a"\nfindings=["pair_valid"]\nactions=["nuke"]', "unknown action 'nuke'"),
        ('[[rules]]\nname="a"\nfindings=["pwned"]\nactions=["lock"]', "unknown finding 'pwned'"),
        ('[[rules]]\nname="a"\nfindings=["pair_valid"]\nactions=[]', "non-empty list"),
        (
            '[[rules]]\nname="a"\nfindings=["pair_valid"]\nactions=["lock"]\ncolour=1',
            "unknown keys",
        ),
        ("rules = []", "at least one"),
        ("not toml [", "not valid TOML"),
        (
            '[[rules]]\nname="a"\nfindings=["exposed"]\nactions=["lock"]\n'
            '[[rules]]\nname="a"\nfindings=["exposed"]\nactions=["lock"]',
            "duplicate rule names",
        ),
        ('[[rules]]\nname="a"\nfindings=["exposed"]\nstatus=["gone"]\nactions=["lock"]', "status"),
    ],
)
def test_bad_policies_are_config_errors(tmp_path: Path, policy: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(policy)
    with pytest.raises(ConfigError, match=message):
        load_remediation_policy(path)


def test_custom_policy_with_status_and_mfa_conditions(ws: Workspace) -> None:
    policy = parse_remediation_policy(
        '[[rules]]\nname="lock-active-no-mfa"\nfindings=["exposed"]\n'
        'status=["active"]\nmfa=false\nactions=["lock", "lock"]\n',
        "custom",
    )
    plan = plan_remediation(ws, "run1", policy)
    assert {a.id for a in plan.accounts} == {"1", "2"}
    assert plan.inputs.policy == "custom"
    assert plan.inputs.policy_digest != default_policy().digest


def test_summary_counts_per_action_tenant_status(ws: Workspace) -> None:
    summary = summarize(plan_remediation(ws, "run1"))
    assert summary.accounts == 6
    assert summary.by_action == {
        "require_mfa": 1,
        "revoke_sessions": 3,
        "force_reset": 5,
        "purge_credential": 1,
    }
    assert summary.by_tenant["nifty"] == {
        "require_mfa": 1,
        "revoke_sessions": 2,
        "force_reset": 2,
    }
    assert summary.by_status["cancelled"] == {"purge_credential": 1}
    assert summary.by_rule["leaked-password-works"] == 3


def test_passwd_file_ids_are_keyed(workspace: Workspace, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("canary@nifty.com:{PLAIN}x:1:1::/h::\n")
    workspace.config_path.write_text(f'[stores.dove]\nkind = "passwd-file"\npath = "{users}"\n')
    write_run(
        workspace,
        "r",
        "dove",
        DIGEST,
        [("canary@nifty.com", "nifty", "active", False, ["pair_valid"])],
    )
    plan = plan_remediation(workspace, "r")
    assert plan.id_form == "keyed"
    assert plan.accounts[0].id == keyed_id(workspace.keyer(), "canary@nifty.com")
    write_plan(plan, tmp_path / "p.json")
    assert "canary" not in (tmp_path / "p.json").read_text()


def test_unverified_pair_gets_a_reset(workspace: Workspace, tmp_path: Path) -> None:
    configure(workspace, store_toml("mail", f"sqlite:///{tmp_path / 's.db'}"))
    write_run(
        workspace, "r", "mail", DIGEST, [("9", "cpi", "cancelled", False, ["pair_unverified"])]
    )
    entry = plan_remediation(workspace, "r").accounts[0]
    assert [(p.action, p.rule) for p in entry.actions] == [
        ("force_reset", "leaked-password-unverified"),
        ("purge_credential", "exposed-cancelled"),
    ]
