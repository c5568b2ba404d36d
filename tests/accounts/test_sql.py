"""The SQL connector against real SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credwatch.accounts import open_store
from credwatch.accounts.config import parse_store_config
from credwatch.accounts.sql import SqlStore
from credwatch.cli.main import app
from credwatch.errors import ConfigError, ExternalServiceError
from credwatch.workspace import Workspace
from tests.accounts.helpers import (
    COLUMNS,
    STATUS,
    add_config,
    create_mailbox,
    make_row,
    sql_store_toml,
)

ROWS = [
    make_row(1, "Taro@Nifty.com", "{SHA512-CRYPT}$6$abc$def", state="active", mfa=True),
    make_row(
        2,
        "hanako@biglobe.ne.jp",
        "{PLAIN-MD5}5f4dcc3b5aa765d61d8327deb882cf99",
        tenant="biglobe",
        state="suspended",
        recovery="h@gmail.com",
    ),
    make_row(3, "jiro@cpi.ad.jp", None, tenant="cpi", state="closed"),
    make_row(4, "saburo@cpi.ad.jp", "{FOO}bar", tenant="cpi", state="frozen"),
    make_row(5, "shiro@nifty.com", "{PLAIN}x", state="frozen"),
]


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    fixture = "pg_url" if request.param == "postgres" else "mariadb_url"
    return str(request.getfixturevalue(fixture))


def _store(url: str, **overrides: object) -> SqlStore:
    table: dict[str, object] = {
        "kind": "sql",
        "url": url,
        "table": "mailbox",
        "columns": COLUMNS,
        "status": STATUS,
    }
    table.update(overrides)
    return SqlStore(parse_store_config("mail", table))


def test_reads_every_account_with_mapped_statuses(db_url: str) -> None:
    create_mailbox(db_url, ROWS)
    store = _store(db_url)
    accounts = sorted((a for b in store.iter_batches(2) for a in b), key=lambda a: a.id)
    assert [a.id for a in accounts] == ["1", "2", "3", "4", "5"]
    assert [a.status for a in accounts] == ["active", "dormant", "cancelled", "unknown", "unknown"]
    assert accounts[3].raw_status == "frozen"
    assert accounts[0].mfa is True and accounts[1].mfa is False
    assert accounts[1].recovery_email == "h@gmail.com"
    assert accounts[2].password_hash is None
    assert accounts[0].last_login is not None and accounts[0].last_login.year == 2026
    batches = list(store.iter_arrow(2))
    assert sum(b.num_rows for b in batches) == 5


def test_digest_is_the_same_across_databases_and_batch_sizes(db_url: str, tmp_path: Path) -> None:
    create_mailbox(db_url, ROWS)
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    create_mailbox(reference, list(reversed(ROWS)))
    assert _store(db_url).snapshot_digest() == _store(reference, batch_size=2).snapshot_digest()
    create_mailbox(reference, [*ROWS[:-1], make_row(5, "shiro@nifty.com", "{PLAIN}changed")])
    assert _store(db_url).snapshot_digest() != _store(reference).snapshot_digest()


def test_missing_column_lists_the_real_columns(db_url: str) -> None:
    create_mailbox(db_url, ROWS)
    store = _store(db_url, columns={**COLUMNS, "mfa": "two_factor"})
    with pytest.raises(ConfigError) as info:
        next(store.iter_arrow())
    assert "mfa -> two_factor" in info.value.message
    assert info.value.hint is not None and "totp_enabled" in info.value.hint


def test_missing_table_is_a_config_error(db_url: str) -> None:
    create_mailbox(db_url, [])
    with pytest.raises(ConfigError, match="does not exist"):
        next(_store(db_url, table="mailboxes").iter_arrow())


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nobody:pw@127.0.0.1:1/none?connect_timeout=2",
        "mysql+pymysql://root@127.0.0.1:1/none?connect_timeout=2",
    ],
)
def test_unreachable_database_is_an_external_service_error(url: str) -> None:
    with pytest.raises(ExternalServiceError) as info:
        next(_store(url).iter_arrow())
    assert "pw@" not in info.value.message


def test_census_cli_unreachable_exits_4_and_writes_nothing(workspace: Workspace) -> None:
    add_config(workspace, sql_store_toml("down", "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"))
    before = sorted(p.name for p in workspace.root.rglob("*"))
    result = CliRunner().invoke(
        app, ["--workspace", str(workspace.root), "accounts", "census", "--store", "down"]
    )
    assert result.exit_code == 4, result.output
    assert "s3cret" not in result.output
    assert sorted(p.name for p in workspace.root.rglob("*")) == before


def test_census_cli_counts_schemes_statuses_and_unknowns(workspace: Workspace, db_url: str) -> None:
    create_mailbox(db_url, ROWS)
    add_config(workspace, sql_store_toml("mail", db_url))
    result = CliRunner().invoke(
        app,
        ["--workspace", str(workspace.root), "accounts", "census", "--store", "mail", "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accounts"] == 5
    assert doc["by_status"] == {"unknown": 2, "active": 1, "cancelled": 1, "dormant": 1}
    assert doc["unknown_statuses"] == {"frozen": 2}
    assert doc["schemes"]["SHA512-CRYPT"] == 1
    assert doc["unknown_schemes"] == {"{UNKNOWN:FOO}": 1}
    assert set(doc["weak_schemes"]) == {"PLAIN-MD5", "PLAIN"}
    assert doc["mfa"] == {"enabled": 1, "disabled": 4}
    assert doc["recovery_domains"] == {"(none)": 4, "gmail.com": 1}
    assert doc["by_tenant"] == {"cpi": 2, "nifty": 2, "biglobe": 1}


def test_open_store_unknown_name(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match="no store named"):
        open_store(workspace, "nope")
