"""The SQL actuator against SQLite, PostgreSQL and MariaDB (real servers)."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from credwatch.accounts.config import StoreConfig, parse_store_config
from credwatch.apply import parse_sql_specs, unseal
from credwatch.apply.interface import Outcome, WorkItem
from credwatch.apply.journal import PlanHistory
from credwatch.apply.sql import SqlActuator
from credwatch.errors import ConfigError, ExternalServiceError
from tests.plan.runs import create_mailbox, store_toml


def _config(url: str, actions: bool = True) -> StoreConfig:
    data = tomllib.loads(store_toml("mail", url, actions=actions))
    return parse_store_config("mail", data["stores"]["mail"])


def _actuator(url: str, key: X25519PrivateKey | None = None, batch_size: int = 3) -> SqlActuator:
    cfg = _config(url)
    return SqlActuator(
        cfg,
        parse_sql_specs("mail", cfg.actions),
        batch_size=batch_size,
        public_key=key.public_key() if key else None,
    )


def _rows(engine: sa.Engine) -> dict[int, dict[str, Any]]:
    with engine.connect() as conn:
        return {r.id: r._asdict() for r in conn.execute(sa.text("SELECT * FROM mailbox"))}


def test_execute_changes_then_skips(db_url: str) -> None:
    engine = create_mailbox(db_url)
    actuator = _actuator(db_url)
    items: list[WorkItem] = [
        ("1", "revoke_sessions"),
        ("1", "force_reset"),
        ("2", "force_reset"),
        ("3", "lock"),
        ("99", "lock"),
    ]
    actuator.validate(["revoke_sessions", "force_reset", "lock"])
    preview = actuator.preview(items)
    assert [o.result for o in preview] == ["applied"] * 4 + ["not_found"]
    assert not any(r["must_reset"] for r in _rows(engine).values())  # preview changed nothing
    batches: list[list[Outcome]] = []
    actuator.execute(items, "sha256:p", batches.append)
    assert sum(len(b) for b in batches) == 5 and len(batches) >= 2
    rows = _rows(engine)
    assert rows[1]["must_reset"] and rows[2]["must_reset"] and not rows[4]["must_reset"]
    assert rows[3]["state"] == "locked"
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM sessions WHERE user_id = 1")).scalar() == 0
        )
        checkpoint = conn.execute(sa.text("SELECT outcomes FROM credwatch_applied")).scalars()
        triples = [t for payload in checkpoint for t in json.loads(payload)]
    assert len(batches) == 2 and len(triples) == 5  # one checkpoint row per batch
    assert ["99", "lock", "not_found"] in triples
    again = actuator.preview(items[1:4])
    assert [o.result for o in again] == ["already"] * 3
    actuator.close()
    engine.dispose()


def test_recovered_reports_checkpointed_actions_missing_from_the_journal(db_url: str) -> None:
    engine = create_mailbox(db_url)
    actuator = _actuator(db_url)
    actuator.validate(["force_reset"])
    assert actuator.recovered("sha256:p", PlanHistory()) == []  # no checkpoint table yet
    actuator.execute([("1", "force_reset"), ("2", "force_reset")], "sha256:p", lambda _: None)
    history = PlanHistory(done={("1", "force_reset"): "applied"})
    assert actuator.recovered("sha256:p", history) == [
        Outcome("2", "force_reset", "applied", recovered=True)
    ]
    actuator.close()
    engine.dispose()


def test_missing_configured_column_is_a_config_error(db_url: str) -> None:
    engine = create_mailbox(db_url)
    cfg = _config(db_url)
    specs = parse_sql_specs("mail", {"lock": {"set": {"locked_flag": True}}})
    actuator = SqlActuator(cfg, specs)
    with pytest.raises(
        ConfigError, match=r"lacks the configured column\(s\): lock.set -> locked_flag"
    ):
        actuator.validate(["lock"])
    with pytest.raises(ConfigError, match="no configuration for action"):
        actuator.validate(["require_mfa"])
    actuator.close()
    engine.dispose()


def test_isolate_seals_the_hash_with_the_vault_key(db_url: str) -> None:
    engine = create_mailbox(db_url)
    key = X25519PrivateKey.generate()
    actuator = _actuator(db_url, key)
    actuator.validate(["isolate"])
    actuator.execute([("4", "isolate")], "sha256:p", lambda _: None)
    with engine.connect() as conn:
        sealed = conn.execute(sa.text("SELECT account_id, sealed FROM isolated_credentials")).one()
    assert sealed[0] == "4"
    assert b"CanaryPw4" not in bytes(sealed[1])
    assert unseal(key, "4", bytes(sealed[1])) == "{PLAIN}CanaryPw4"
    assert _rows(engine)[4]["password"] == ""
    assert [o.result for o in actuator.preview([("4", "isolate")])] == ["already"]
    actuator.close()
    engine.dispose()


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ({"explode": {"set": {"a": 1}}}, "unknown action 'explode'"),
        ({"lock": {"set": {"a b": 1}}}, "not a plain SQL identifier"),
        ({"lock": {"sql": "DELETE FROM x"}}, ":id"),
        ({"lock": {}}, "needs set"),
        ({"lock": {"set": {"a": [1]}}}, "string, number or boolean"),
        ({"lock": {"update": {}}}, "unknown keys"),
        ({"isolate": {"set": {"password": ""}}}, "isolate needs table"),
    ],
)
def test_bad_action_config(actions: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_sql_specs("mail", actions)


def test_database_errors_mask_quoted_addresses(db_url: str) -> None:
    engine = create_mailbox(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE UNIQUE INDEX mailbox_user ON mailbox (username)"))
    cfg = _config(db_url)
    specs = parse_sql_specs("mail", {"lock": {"set": {"username": "canary9@nifty.com"}}})
    actuator = SqlActuator(cfg, specs)
    actuator.validate(["lock"])
    with pytest.raises(ExternalServiceError) as caught:
        actuator.execute([("1", "lock"), ("2", "lock")], "sha256:p", lambda _: None)
    assert "canary9@" not in caught.value.message
    actuator.close()
    engine.dispose()
