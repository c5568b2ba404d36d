"""Hypothesis properties: normalisation, its SQL twin, the vault round trip, NTLM."""

from __future__ import annotations

import string
from pathlib import Path

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credwatch.index import ExposureIndex
from credwatch.index.passwords import ntlm, ntlm_hashes
from credwatch.index.seal import read_vault_file
from credwatch.normalize import Normalizer
from credwatch.workspace import Workspace
from tests.index.helpers import ingest

_ascii_address = st.builds(
    lambda pre, local, label, tld, post: f"{pre}{local}@{label}.{tld}{post}",
    st.sampled_from(["", " ", "\t", "  "]),
    st.text(alphabet=string.ascii_letters + string.digits + "._%+-!#'", min_size=1, max_size=30),
    st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=20),
    st.sampled_from(["com", "JP", "ne.jp", "Co.Uk", "x", "xn--p1ai"]),
    st.sampled_from(["", " ", "\r"]),
)


@settings(deadline=None)
@given(st.one_of(_ascii_address, st.text(max_size=40)))
def test_normalisation_is_idempotent(raw: str) -> None:
    normalizer = Normalizer()
    once = normalizer.try_normalize(raw)
    if once is not None:
        assert normalizer.normalize(once) == once


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(_ascii_address, st.text(alphabet=string.printable, max_size=30)),
        min_size=1,
        max_size=20,
    )
)
def test_python_and_sql_normalisation_agree_on_ascii(raws: list[str]) -> None:
    normalizer = Normalizer()
    conn = duckdb.connect(":memory:")
    conn.register("t", pa.table({"i": list(range(len(raws))), "a": raws}))
    rows = conn.execute(f"SELECT i, {normalizer.sql('a')} FROM t ORDER BY i").fetchall()
    conn.close()
    assert [r[1] for r in rows] == [normalizer.try_normalize(r) for r in raws]


_password = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(password=_password)
def test_any_password_round_trips_through_the_vault(
    workspace: Workspace, tmp_path_factory: object, password: str
) -> None:
    folder = Path(tmp_path_factory.mktemp("vault"))  # type: ignore[attr-defined]
    path = folder / "one.txt"
    path.write_bytes(f"taro@nifty.com:{password}\n".encode())
    report = ingest(workspace, path)
    assert report.files[0].status in ("ingested", "skipped")
    with ExposureIndex.open(workspace) as index:
        assert index.check(email="taro@nifty.com", password=password).pair_exposed is True
        files = index.vault_files()
    key = workspace.keyer().email_key("taro@nifty.com")
    sealed = {
        (r["email_key"], r["password"])
        for f in files
        for t in read_vault_file(f, workspace.vault_private_key())
        for r in t.to_pylist()
    }
    assert (key, password) in sealed


@settings(deadline=None)
@given(st.lists(st.text(max_size=40), max_size=30))
def test_vectorised_ntlm_matches_md4(passwords: list[str]) -> None:
    passwords = [p.encode("utf-8", "replace").decode("utf-8") for p in passwords]
    hashes = ntlm_hashes(pa.array(passwords, pa.string())).to_pylist()
    assert hashes == [ntlm(p) for p in passwords]
