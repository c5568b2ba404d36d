"""Parsing [stores.NAME]: table-driven valid and invalid configurations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credwatch.accounts.config import StoreKind, parse_store_config, validate_identifier
from credwatch.errors import ConfigError

SQL: dict[str, Any] = {
    "kind": "sql",
    "url": "sqlite:///x.db",
    "table": "mailbox",
    "columns": {"id": "id", "email": "username", "status": "state"},
    "status": {"active": ["active", 1], "dormant": "suspended"},
}


def test_sql_config_parses_and_keeps_actions_opaque() -> None:
    cfg = parse_store_config("mail", {**SQL, "actions": {"lock": {"sql": "UPDATE ..."}}})
    assert cfg.kind is StoreKind.SQL
    assert cfg.columns.email == "username"
    assert cfg.status_values == {"active": ("active", "1"), "dormant": ("suspended",)}
    assert cfg.actions == {"lock": {"sql": "UPDATE ..."}}
    assert cfg.status_of("1") == "active"
    assert cfg.status_of("closed") == "unknown"


def test_password_is_hidden_in_safe_url() -> None:
    cfg = parse_store_config("m", {**SQL, "url": "postgresql+psycopg://u:hunter2@db/x"})
    assert "hunter2" not in cfg.safe_url
    assert "hunter2" not in repr(cfg)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({**SQL, "kind": "ldap"}, "kind must be one of"),
        ({**SQL, "color": "red"}, "unknown keys: color"),
        ({**SQL, "table": "mailbox; DROP TABLE x"}, "not a plain SQL identifier"),
        ({**SQL, "columns": {"id": "id", "email": "user name"}}, "not a plain SQL identifier"),
        ({**SQL, "columns": {"id": "id"}}, "at least id and email"),
        ({**SQL, "columns": {"id": "id", "email": "e", "pw": "p"}}, "unknown keys: pw"),
        ({**SQL, "status": {"gone": ["x"]}}, "unknown statuses: gone"),
        ({**SQL, "status": {"active": ["x"], "dormant": ["x"]}}, "mapped to both"),
        ({"kind": "sql", "table": "t", "columns": {"id": "a", "email": "b"}}, "needs url"),
        ({"kind": "passwd-file"}, "needs path"),
        ({"kind": "passwd-file", "path": "u", "columns": {"id": "x"}}, "fixed"),
        ({"kind": "csv", "path": "a.csv", "delimiter": ";;"}, "one character"),
        ({**SQL, "batch_size": 0}, "positive integer"),
        ({**SQL, "actions": "lock"}, "must be a table"),
    ],
)
def test_invalid_configs_are_config_errors(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_store_config("mail", table)


def test_file_store_defaults() -> None:
    cfg = parse_store_config("d", {"kind": "passwd-file", "path": "/etc/dovecot/users"})
    assert cfg.columns.id == "user"
    assert cfg.tenant == "domain"
    assert cfg.status_of(None) == "active"  # no status field mapped: every account active


@given(st.text(max_size=80))
def test_validate_identifier_accepts_only_plain_names(text: str) -> None:
    try:
        validate_identifier(text, "table", "s")
    except ConfigError:
        return
    for part in text.split("."):
        assert part
        assert part[0].isascii()
        assert all(c.isascii() and (c.isalnum() or c in "_$") for c in part)
