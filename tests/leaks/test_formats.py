"""Format detection and splitting, including passwords that contain the separator."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.leaks import LeakFormat, detect_format
from credwatch.leaks.formats import CsvLayout, delimited_split_sql, jsonl_split_sql, split_csv


@pytest.mark.parametrize(
    ("sample", "expected", "header"),
    [
        (["taro@nifty.com:pw", "a@b.jp:x;y"], LeakFormat.COLON, None),
        (["taro@nifty.com;pw:1", "a@b.jp;x"], LeakFormat.SEMICOLON, None),
        (["taro@nifty.com\tpw", "a@b.jp\tx"], LeakFormat.TAB, None),
        (["taro@nifty.com|pw", "a@b.jp|x"], LeakFormat.PIPE, None),
        (["taro@nifty.com,pw", "a@b.jp,x"], LeakFormat.CSV, False),
        (["email,password", "a@b.jp,x"], LeakFormat.CSV, True),
        (["id\tpassword\tmail", "1\tx\ta@b.jp"], LeakFormat.TSV, True),
        (['{"email": "a@b.jp", "password": "x"}'], LeakFormat.JSONL, None),
        (["user1:pw", "user2:pw"], LeakFormat.COLON, None),
        ([], LeakFormat.COLON, None),
    ],
)
def test_detect_format(sample: list[str], expected: LeakFormat, header: bool | None) -> None:
    choice = detect_format(sample)
    assert choice.format is expected
    if header is not None:
        assert choice.csv is not None
        assert choice.csv.has_header is header


def test_tsv_header_columns() -> None:
    choice = detect_format(["id\tpassword\tmail"], LeakFormat.TSV)
    assert choice.csv == CsvLayout("\t", True, address_column=2, password_column=1)


def _split(lines: list[str], sep: str, domain: str | None = None) -> list[tuple[object, ...]]:
    conn = duckdb.connect(":memory:")
    chunk = pa.table({"n": pa.array(range(1, len(lines) + 1), pa.int64()), "line": lines})
    conn.register("chunk", chunk)
    sql = delimited_split_sql("chunk", "$sep", "$dom")
    rows = conn.execute(sql + " ORDER BY n", {"sep": sep, "dom": domain}).fetchall()
    conn.close()
    return [tuple(r[1:]) for r in rows]


@pytest.mark.parametrize(
    ("line", "domain", "expected"),
    [
        ("taro@nifty.com:pa:ss", None, ("taro@nifty.com", "pa:ss", None)),
        ("taro@nifty.com:", None, ("taro@nifty.com", "", None)),
        ("taro@nifty.com", None, (None, None, "no_separator")),
        ("", None, (None, None, "blank")),
        ("user:p@ss", "nifty.com", ("user", "p@ss", None)),
        ("user:p@ss", None, (None, None, "no_separator")),
        ("user:pw", None, ("user", "pw", None)),
        ("a:b@c.jp:pw", None, ("a:b@c.jp", "pw", None)),
    ],
)
def test_delimited_split(line: str, domain: str | None, expected: tuple[object, ...]) -> None:
    assert _split([line], ":", domain) == [expected]


_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-+", min_size=1, max_size=20)
_password = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
)


@settings(deadline=None)  # a DuckDB connection per example; the machine may be busy
@given(local=_local, password=_password, sep=st.sampled_from([":", ";", "\t", "|"]))
def test_splitter_keeps_separators_inside_passwords(local: str, password: str, sep: str) -> None:
    address = f"{local}@nifty.com"
    assert _split([f"{address}{sep}{password}"], sep) == [(address, password, None)]


def test_jsonl_split() -> None:
    conn = duckdb.connect(":memory:")
    lines = [
        '{"email": "a@b.jp", "password": "x:y"}',
        '{"mail": "c@d.jp", "pass": "z"}',
        "not json",
        "[1, 2]",
        "",
        '{"email": "e@f.jp"}',
    ]
    conn.register("chunk", pa.table({"n": pa.array(range(1, 7), pa.int64()), "line": lines}))
    rows = conn.execute(jsonl_split_sql("chunk") + " ORDER BY n").fetchall()
    assert [tuple(r[1:]) for r in rows] == [
        ("a@b.jp", "x:y", None),
        ("c@d.jp", "z", None),
        (None, None, "malformed_record"),
        (None, None, "malformed_record"),
        (None, None, "blank"),
        ("e@f.jp", None, None),
    ]


def test_split_csv_with_header_and_quotes() -> None:
    lines = pa.array(["email,password", '"a@b.jp","p,w"', "c@d.jp", "", None, 'x@y.jp,"bad'])
    table = split_csv(lines, 1, CsvLayout(",", True))
    assert table.to_pylist() == [
        {"n": 1, "address": None, "password": None, "reason": "header"},
        {"n": 2, "address": "a@b.jp", "password": "p,w", "reason": None},
        {"n": 3, "address": None, "password": None, "reason": "no_separator"},
        {"n": 4, "address": None, "password": None, "reason": "blank"},
        {"n": 6, "address": None, "password": None, "reason": "malformed_record"},
    ]
