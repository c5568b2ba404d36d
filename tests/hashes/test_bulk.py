"""verify_many: bulk path, routing, input shapes and privacy of the result."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from credwatch.errors import InputError
from credwatch.execute import LocalExecutor
from credwatch.hashes import RESULT_SCHEMA, verify, verify_many

CANARY = "Kanary-パス-4471"
SHA512 = (
    "$6$N9OwjengOLjjp6zm$a9iTIomCL1TJA0Cgz7BoDJnZTK6wp.6g5ywa5QK14oTd0M25LjA4fXs4LQ7aN7y31UOEfT"
    "Mhn/z8FP0YdjMPw1"
)


def _mixed() -> list[tuple[str | None, str, str | None]]:
    md5 = hashlib.md5(CANARY.encode()).hexdigest()
    return [
        (md5, CANARY, None),
        ("{PLAIN-MD5}" + md5, "nope", None),
        ("{PLAIN}" + CANARY, CANARY, None),
        ("{SHA1.HEX}" + hashlib.sha1(CANARY.encode()).hexdigest(), CANARY, None),
        ("{SHA512}" + hashlib.sha512(CANARY.encode()).hexdigest(), CANARY, None),
        ("{SHA512}" + "A" * 10, CANARY, None),
        (SHA512, "pässwörd", None),
        (SHA512, CANARY, None),
        ("{DIGEST-MD5}3d3fc13b4531166e3f3ba4c9aed2e519", "pässwörd", "user@example.com"),
        ("{FOO}bar", CANARY, None),
        (None, CANARY, None),
        ("{MD5}$1$XsWSHl71$j5inRiU.jLwcuzEcPmxXM0", "pässwörd", None),
    ]


def test_verify_many_matches_verify_row_by_row() -> None:
    rows = _mixed()
    table = verify_many(rows, batch_size=2)
    assert table.schema == RESULT_SCHEMA
    expected = [verify(pw, stored, user=user) for stored, pw, user in rows]
    assert table.column("outcome").to_pylist() == [r.outcome for r in expected]
    assert table.column("scheme").to_pylist() == [r.scheme for r in expected]
    assert table.column("outcome").to_pylist()[:8] == [
        "matched",
        "not_matched",
        "matched",
        "matched",
        "matched",
        "malformed",
        "matched",
        "not_matched",
    ]


def test_verify_many_accepts_arrow_and_uses_an_executor() -> None:
    rows = _mixed()
    table = pa.table(
        {
            "stored": [r[0] for r in rows],
            "password": [r[1] for r in rows],
            "user": [r[2] for r in rows],
        }
    )
    with LocalExecutor(workers=2) as ex:
        out = verify_many(table, executor=ex, batch_size=1)
    assert out.equals(verify_many(rows))


def test_results_hold_no_secret() -> None:
    out = verify_many(_mixed())
    text = repr(out.to_pylist())
    assert "Kanary" not in text
    assert "XsWSHl71" not in text


def test_missing_columns_are_an_input_error() -> None:
    with pytest.raises(InputError, match="password"):
        verify_many(pa.table({"stored": ["x"]}))


def test_empty_input() -> None:
    assert verify_many([]).num_rows == 0


def test_nulls_and_binary_stored_values() -> None:
    table = pa.table(
        {
            "stored": pa.array([b"{PLAIN}x", b"{PLAIN}x", None], pa.binary()),
            "password": ["x", None, "x"],
        }
    )
    assert verify_many(table).column("outcome").to_pylist() == [
        "matched",
        "unsupported",
        "unsupported",
    ]
