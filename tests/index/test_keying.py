"""The polars hot path: plain-line splitting agrees with the general path, keys with Keyer."""

from __future__ import annotations

import hashlib
import string

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.index.keying import (
    fast_split,
    fixed_binary,
    hex_words,
    key_rows,
    plain_address_pattern,
    sha1_hex,
)
from credwatch.keys import Keyer
from credwatch.leaks.formats import delimited_split_sql
from credwatch.normalize import Normalizer

SEPARATORS = (":", ";", "\t", "|")

# Lines built from the characters that matter to splitting and validation: every
# separator, '@', blanks, dots and dashes, letters of both cases, non-ASCII look-alikes
# (the Kelvin sign lowercases to 'k'), fullwidth letters (NFKC), and CR.
_tricky = st.lists(
    st.sampled_from([*"aZk.-_@:;|\t +", "\u212a", "\uff41", "é", "\r", "x", "com", "jp", "xn--"]),
    max_size=30,
).map("".join)
_plain = st.builds(
    lambda local, domain, tld, sep, password: f"{local}@{domain}.{tld}{sep}{password}",
    st.text(alphabet=string.ascii_letters + string.digits + "._%+-!#'|", min_size=1, max_size=20),
    st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=12),
    st.sampled_from(["com", "JP", "ne.jp", "Co.Uk", "x", "xn--p1ai"]),
    st.sampled_from(SEPARATORS),
    st.text(max_size=20),
)


def _fast(lines: list[str], separator: str) -> list[tuple[str | None, str | None]]:
    """The fast path's result per line, ``(None, None)`` where it leaves the line."""
    split = fast_split(pl.Series("line", lines, pl.String), separator)
    out: list[tuple[str | None, str | None]] = [(None, None)] * len(lines)
    plain = sorted(set(range(len(lines))) - {int(i) for i in split.rest})
    for position, row in zip(plain, split.rows.rows(), strict=True):
        out[position] = row
    return out


def _general(lines: list[str], separator: str) -> list[tuple[str | None, str | None]]:
    """The general path: the DuckDB splitter, then the Python normaliser."""
    conn = duckdb.connect(":memory:")
    conn.register("t", pa.table({"n": list(range(len(lines))), "line": lines}))
    rows = conn.execute(
        f"SELECT n, address, password, reason FROM ({delimited_split_sql('t', '$s', '$d')}) "
        "ORDER BY n",
        {"s": separator, "d": None},
    ).fetchall()
    conn.close()
    normalizer = Normalizer()
    out: list[tuple[str | None, str | None]] = []
    for _, address, password, reason in rows:
        norm = normalizer.try_normalize(address) if reason is None else None
        out.append((norm, password) if norm is not None and password else (None, None))
    return out


@settings(deadline=None, max_examples=150)
@given(st.lists(st.one_of(_plain, _tricky), min_size=1, max_size=20), st.sampled_from(SEPARATORS))
def test_plain_lines_split_as_the_general_path_does(lines: list[str], separator: str) -> None:
    fast = _fast(lines, separator)
    general = _general(lines, separator)
    for got, expected in zip(fast, general, strict=True):
        if got[0] is not None:
            assert got == expected


def test_plain_lines_take_the_fast_path() -> None:
    lines = ["Taro@NIFTY.com:Pa:ss", "a|b@c.jp:z", " x@y.com:p", "k@x.com:", "\u212a@x.com:p"]
    assert _fast(lines, ":") == [
        ("taro@nifty.com", "Pa:ss"),
        ("a|b@c.jp", "z"),
        (None, None),  # blanks around the address: general path
        (None, None),  # empty password: general path (counted there)
        (None, None),  # non-ASCII: general path (NFKC)
    ]


def test_pipe_is_excluded_from_the_address_when_it_separates() -> None:
    assert "|" in plain_address_pattern("|")
    assert _fast(["a|b@c.jp|z"], "|") == [(None, None)]


def test_unknown_separator_is_refused() -> None:
    with pytest.raises(KeyError):
        plain_address_pattern(",")


def test_keys_are_the_keyer_bytes() -> None:
    keyer = Keyer(bytes(range(32)))
    rows = pl.DataFrame(
        {
            "norm": ["taro@nifty.com", "山田@xn--wgv71a.jp", "a@b.co"],
            "password": ["sakura1", "さくら", "p|w:x"],
        }
    )
    keyed = key_rows(rows, keyer)
    email_keys = fixed_binary([keyed["ehi"].to_numpy(), keyed["elo"].to_numpy()]).to_pylist()
    pair_keys = fixed_binary([keyed["phi"].to_numpy(), keyed["plo"].to_numpy()]).to_pylist()
    for (norm, password), email_key, pair_key, domain in zip(
        rows.rows(), email_keys, pair_keys, keyed["domain"], strict=True
    ):
        assert email_key == keyer.email_key(norm)
        assert pair_key == keyer.pair_key(email_key, password)
        assert domain == norm.split("@")[1]


def test_sha1_words_make_the_sha1_digest() -> None:
    passwords = ["password", "さくら", ""]
    words = pl.DataFrame({"p": passwords}).select(hex_words(sha1_hex(pl.col("p")), 20))
    digests = fixed_binary([words[c].to_numpy() for c in words.columns], 20).to_pylist()
    assert digests == [hashlib.sha1(p.encode(), usedforsecurity=False).digest() for p in passwords]
