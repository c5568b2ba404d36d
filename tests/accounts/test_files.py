"""Dovecot passwd-files and CSV stores: fields, extra fields, malformed lines counted."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from credwatch.accounts.config import parse_store_config
from credwatch.accounts.csv_store import CsvStore
from credwatch.accounts.passwd_file import MalformedLineError, PasswdFileStore, parse_line
from credwatch.cli.main import app
from credwatch.errors import ConfigError
from credwatch.workspace import Workspace
from tests.accounts.helpers import add_config

PASSWD = (
    "# Dovecot users\n"
    "taro@nifty.com:{SHA512-CRYPT}$6$salt$hash:1000:1000::/home/taro::userdb_quota_rule=*:storage=1G\n"
    "hanako@biglobe.ne.jp:{PLAIN}pw::::::nologin=y reason=locked state=suspended\n"
    "\n"
    ":{PLAIN}nouser\n"
    "bad@nifty.com:{PLAIN}x:notanumber:1\n"
    "jiro@cpi.ad.jp:{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuu5Ot5MV9b6P7F5J8q6e9Q5rP7i4V1vS.\n"
    "taro@nifty.com:{PLAIN}duplicate\n"
    "shiro\n"
)


def _passwd(tmp_path: Path, text: str = PASSWD, **extra: object) -> PasswdFileStore:
    path = tmp_path / "users"
    path.write_text(text, encoding="utf-8")
    return PasswdFileStore(
        parse_store_config("d", {"kind": "passwd-file", "path": str(path), **extra})
    )


def test_passwd_file_fields_and_extra_fields(tmp_path: Path) -> None:
    store = _passwd(tmp_path)
    accounts = [a for batch in store.iter_batches(2) for a in batch]
    assert [a.id for a in accounts] == [
        "taro@nifty.com",
        "hanako@biglobe.ne.jp",
        "jiro@cpi.ad.jp",
        "shiro",
    ]
    assert accounts[0].extra == {"userdb_quota_rule": "*:storage=1G"}
    assert accounts[0].tenant == "nifty.com"
    assert accounts[1].extra["nologin"] == "y"
    assert accounts[1].raw_status == "nologin"
    assert accounts[3].password_hash is None
    assert accounts[3].tenant == "(none)"
    assert store.rejected.total == 3
    assert store.rejected.line_numbers == [5, 6, 8]
    assert store.rejected.by_reason["duplicate user"] == 1


def test_passwd_file_status_from_extra_field(tmp_path: Path) -> None:
    store = _passwd(
        tmp_path,
        columns={"status": "state"},
        status={"active": ["active"], "dormant": ["suspended"]},
    )
    statuses = {a.id: a.status for b in store.iter_batches() for a in b}
    assert statuses["hanako@biglobe.ne.jp"] == "dormant"
    assert statuses["taro@nifty.com"] == "unknown"  # no state field: reported, not guessed


def test_undecodable_line_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_bytes(b"a@b.jp:{PLAIN}x\n\xff\xfe@b.jp:{PLAIN}y\n")
    store = PasswdFileStore(parse_store_config("d", {"kind": "passwd-file", "path": str(path)}))
    assert sum(b.num_rows for b in store.iter_arrow()) == 1
    assert store.rejected.by_reason == {"undecodable": 1}


def test_census_cli_reports_rejected_lines(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "users"
    path.write_text(PASSWD, encoding="utf-8")
    add_config(workspace, f'[stores.dove]\nkind = "passwd-file"\npath = "{path}"\n')
    result = CliRunner().invoke(
        app, ["--workspace", str(workspace.root), "accounts", "census", "--store", "dove", "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accounts"] == 4
    assert doc["rejected_lines"] == [5, 6, 8]
    assert doc["schemes"]["BLF-CRYPT"] == 1
    assert "pw" not in result.stdout.replace("passwd", "")


_FIELD = st.text(alphabet=st.characters(blacklist_characters=":\n\r", codec="utf-8"), max_size=12)


@given(
    user=st.text(alphabet="abcdefghij@.", min_size=1, max_size=20),
    password=_FIELD,
    uid=st.one_of(st.just(""), st.integers(0, 65535).map(str)),
    extra=st.dictionaries(
        st.text(alphabet="abcxyz_", min_size=1, max_size=8),
        st.text(alphabet="abc=*:0123", max_size=8),
        max_size=3,
    ),
)
def test_parse_line_round_trips(user: str, password: str, uid: str, extra: dict[str, str]) -> None:
    fields = " ".join(f"{k}={v}" for k, v in extra.items())
    entry = parse_line(f"{user}:{password}:{uid}:{uid}::/home::{fields}")
    assert entry.user == user
    assert entry.password == (password or None)
    assert entry.uid == uid
    assert entry.extra == extra


@given(st.text(max_size=60))
def test_parse_line_never_crashes(line: str) -> None:
    with contextlib.suppress(MalformedLineError):
        parse_line(line)


CSV = (
    "uid,mail,hash,state\n"
    "1,taro@nifty.com,{PLAIN}x,active\n"
    "2,hanako@biglobe.ne.jp\n"
    ",x@y.jp,{PLAIN}y,active\n"
    "3,jiro@cpi.ad.jp,{PLAIN}z,gone\n"
)


def _csv(tmp_path: Path, columns: dict[str, str]) -> CsvStore:
    path = tmp_path / "accounts.csv"
    path.write_text(CSV, encoding="utf-8")
    return CsvStore(parse_store_config("c", {"kind": "csv", "path": str(path), "columns": columns}))


def test_csv_store_reads_and_counts_bad_rows(tmp_path: Path) -> None:
    store = _csv(
        tmp_path, {"id": "uid", "email": "mail", "password_hash": "hash", "status": "state"}
    )
    accounts = [a for b in store.iter_batches() for a in b]
    assert [(a.id, a.status) for a in accounts] == [("1", "active"), ("3", "unknown")]
    assert store.rejected.by_reason == {"wrong number of fields": 1, "empty id": 1}
    assert store.rejected.line_numbers == [3, 4]


def test_csv_store_missing_header_field_lists_header(tmp_path: Path) -> None:
    store = _csv(tmp_path, {"id": "uid", "email": "address"})
    with pytest.raises(ConfigError) as info:
        next(store.iter_arrow())
    assert info.value.hint is not None and "uid, mail, hash, state" in info.value.hint
