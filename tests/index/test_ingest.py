"""Ingest: formats, encodings, keys, password counts, idempotence, bad input, transactions."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from credwatch.errors import ConfigError, UsageError
from credwatch.index import ExposureIndex, ingest_files
from credwatch.index import ingest as ingest_module
from credwatch.index.ingest import _plaintext_connection
from credwatch.index.passwords import ntlm
from credwatch.index.seal import read_vault_file
from credwatch.normalize import Normalizer
from credwatch.workspace import Workspace
from tests.index.helpers import ingest, stats

PAIRS = [
    ("taro@nifty.com", "sakura1"),
    ("hanako@biglobe.ne.jp", "p@ss:w;o|rd"),
    ("jiro.yamada@cpi.ad.jp", "さくら"),
]


def _lines(sep: str) -> list[str]:
    return [f"{e}{sep}{p}" for e, p in PAIRS]


def _csv(header: bool, delimiter: str) -> list[str]:
    rows = [f'"{e}"{delimiter}"{p}"' for e, p in PAIRS]
    return ([f"email{delimiter}password"] if header else []) + rows


def _jsonl() -> list[str]:
    return [json.dumps({"email": e, "password": p}, ensure_ascii=False) for e, p in PAIRS]


FORMATS = {
    "colon": _lines(":"),
    "semicolon": _lines(";"),
    "tab": _lines("\t"),
    "pipe": _lines("|"),
    "csv-header": _csv(True, ","),
    "csv": _csv(False, ","),
    "tsv-header": _csv(True, "\t"),
    "jsonl": _jsonl(),
}


def assert_all_exposed(ws: Workspace, pairs: list[tuple[str, str]] = PAIRS) -> None:
    with ExposureIndex.open(ws) as index:
        for email, password in pairs:
            result = index.check(email=email.upper(), password=password)
            assert (result.email_exposed, result.pair_exposed) == (True, True)
            assert result.password_count is not None
            assert result.password_count >= 1


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_auto_detected(workspace: Workspace, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(FORMATS[name]) + "\n", encoding="utf-8")
    report = ingest(workspace, path)
    source = report.files[0].source
    assert source is not None, report
    assert source.accepted == 3
    assert source.lines == 3
    assert source.rejected == 0
    assert_all_exposed(workspace)


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "euc-jp"])
@pytest.mark.parametrize("compress", [None, "gzip", "bz2"])
def test_encodings_detected(
    workspace: Workspace, tmp_path: Path, encoding: str, compress: str | None
) -> None:
    data = ("\r\n".join(_lines(":")) + "\r\n").encode(encoding)
    if compress == "gzip":
        data = gzip.compress(data)
    elif compress == "bz2":
        data = bz2.compress(data)
    path = tmp_path / "dump"
    path.write_bytes(data)
    source = ingest(workspace, path).files[0].source
    assert source is not None
    assert source.encoding == encoding
    assert source.accepted == 3
    assert_all_exposed(workspace)


def test_latin1_and_override(workspace: Workspace, tmp_path: Path) -> None:
    pairs = [("jose@example.es", "contraseña"), ("anne@example.fr", "café")]
    path = tmp_path / "latin.txt"
    path.write_bytes("\n".join(f"{e}:{p}" for e, p in pairs).encode("latin-1") + b"\n")
    source = ingest(workspace, path).files[0].source
    assert source is not None
    assert source.encoding == "latin-1"
    assert_all_exposed(workspace, pairs)
    other = tmp_path / "forced.txt"
    other.write_bytes("x@example.es:ñ\n".encode("latin-1"))
    forced = ingest(workspace, other, encoding="latin1").files[0].source
    assert forced is not None
    assert forced.encoding == "latin-1"


def test_user_pass_with_default_domain(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    path.write_text("Taro:pw1\nhanako:p@ss\nmixed@cpi.ad.jp:x\n")
    source = ingest(workspace, path, default_domain="Nifty.COM").files[0].source
    assert source is not None
    assert source.accepted == 3
    assert_all_exposed(
        workspace,
        [("taro@nifty.com", "pw1"), ("hanako@nifty.com", "p@ss"), ("mixed@cpi.ad.jp", "x")],
    )


def test_invalid_default_domain(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        ingest(workspace, tmp_path / "x", default_domain="not a domain")


def test_rejections_are_counted_with_line_numbers(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "dirty.txt"
    lines = [
        "taro@nifty.com:ok",  # 1
        "",  # 2 blank
        "no separator here",  # 3
        "bad@@nifty.com:pw",  # 4 invalid address
        "x@nifty.com:",  # 5 empty password
        "bin@nifty.com:\x01pw",  # 6 binary
        "taro@nifty.com:ok",  # 7 duplicate (accepted, one pair)
        "Ünïcode@Nifty.com:pw",  # 8 non-ASCII local part (accepted)
        "a@xn--bcher-kva.example:pw",  # 9 punycode domain (accepted)
        "a@bücher.example:pw",  # 10 IDN domain, same address as line 9
    ]
    path.write_text("\n".join(lines) + "\n")
    source = ingest(workspace, path).files[0].source
    assert source is not None
    assert source.lines == 10
    assert source.accepted == 5
    assert source.rejected_by_reason == {
        "binary": 1,
        "blank": 1,
        "empty_password": 1,
        "invalid_address": 1,
        "no_separator": 1,
    }
    assert source.rejected_line_sample == {
        "binary": [6],
        "blank": [2],
        "empty_password": [5],
        "invalid_address": [4],
        "no_separator": [3],
    }
    assert source.distinct_pairs == 3
    assert source.distinct_emails == 3
    with ExposureIndex.open(workspace) as index:
        assert index.check(email="ünïcode@nifty.com").email_exposed is True
        assert index.check(email="a@bücher.example", password="pw").pair_exposed is True
        assert index.check(password="ok").password_count == 2


def test_keys_match_the_python_keyer(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n".join(_lines(":")) + "\n")
    ingest(workspace, path)
    keyer = workspace.keyer()
    with ExposureIndex.open(workspace) as index:
        rows = index.connection.execute(
            "SELECT email_key, pair_key, domain FROM exposures ORDER BY domain"
        ).fetchall()
    expected = []
    for email, password in PAIRS:
        key = keyer.email_key(Normalizer().normalize(email))
        expected.append((key, keyer.pair_key(key, password), email.split("@")[1]))
    assert sorted(rows, key=lambda r: r[2]) == sorted(expected, key=lambda r: r[2])


def test_password_counts_sha1_ntlm_aggregated(workspace: Workspace, tmp_path: Path) -> None:
    first = tmp_path / "a.txt"
    first.write_text("a@nifty.com:123456\nb@nifty.com:123456\nc@nifty.com:パスワード\n")
    second = tmp_path / "b.txt"
    second.write_text("d@nifty.com:123456\n")
    ingest(workspace, first, second)
    with ExposureIndex.open(workspace) as index:
        sha = pa.Table.from_batches(list(index.password_counts("sha1"))).to_pylist()
        nt = pa.Table.from_batches(list(index.password_counts("ntlm"))).to_pylist()
        assert index.check(password="123456").password_count == 3
        assert index.check(password="unknown").password_count == 0
    expected_sha = sorted(
        [(hashlib.sha1(b"123456").digest(), 3), (hashlib.sha1("パスワード".encode()).digest(), 1)]
    )
    assert [(r["hash"], r["count"]) for r in sha] == expected_sha
    expected_nt = sorted([(ntlm("123456"), 3), (ntlm("パスワード"), 1)])
    assert [(r["hash"], r["count"]) for r in nt] == expected_nt


def test_reingest_is_a_noop(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n".join(_lines(":")) + "\n")
    assert ingest(workspace, path).files[0].status == "ingested"
    before = stats(workspace).to_json()
    copy = tmp_path / "copy.txt"
    copy.write_bytes(path.read_bytes())
    report = ingest(workspace, copy)
    assert report.files[0].status == "skipped"
    assert not report.nothing_ingested
    after = stats(workspace).to_json()
    assert after == before
    with ExposureIndex.open(workspace) as index:
        assert len(index.vault_files()) == 1


def test_exposure_api(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("\n".join(_lines(":")) + "\n")
    ingest(workspace, path)
    keyer = workspace.keyer()
    known = keyer.email_key("taro@nifty.com")
    unknown = keyer.email_key("nobody@nifty.com")
    with ExposureIndex.open(workspace) as index:
        assert index.exposed_email_keys([known, unknown]) == {known}
        assert index.exposed_email_keys([]) == set()
        assert index.exposed_domains() == ["biglobe.ne.jp", "cpi.ad.jp", "nifty.com"]
        result = index.check(email="nobody@nifty.com", password="sakura1")
        assert (result.email_exposed, result.pair_exposed, result.password_count) == (
            False,
            False,
            1,
        )
        assert index.check(email="taro@nifty.com", password="wrong").pair_exposed is False
        assert index.check(email="taro@nifty.com").pair_exposed is None
        files = index.vault_files()
    rows = [
        r
        for f in files
        for t in read_vault_file(f, workspace.vault_private_key())
        for r in t.to_pylist()
    ]
    assert sorted(r["password"] for r in rows) == sorted(p for _, p in PAIRS)


def test_index_refuses_another_pepper(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("taro@nifty.com:x\n")
    ingest(workspace, path)
    workspace.pepper_path.chmod(0o600)
    workspace.pepper_path.write_bytes(b"\x01" * 32)
    with pytest.raises(ConfigError, match="another pepper"):
        ExposureIndex.open(workspace)


def test_read_only_open_without_index(workspace: Workspace) -> None:
    with pytest.raises(ConfigError, match="no exposure index"):
        ExposureIndex.open(workspace)


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    bad = tmp_path / "bad.txt"
    bad.write_text("no separator\n\nbad@@x.jp:pw\nok@nifty.com:\n")
    long_line = tmp_path / "long.txt"
    long_line.write_bytes(b"a@nifty.com:" + b"x" * 10_000_000 + b"\n")
    truncated = tmp_path / "cut.txt.gz"
    data = gzip.compress(b"".join(f"u{i}@nifty.com:pw{i}\n".encode() for i in range(200_000)))
    truncated.write_bytes(data[: len(data) // 2])
    return {
        "empty": empty,
        "binary": binary,
        "only-bad-lines": bad,
        "10MB-line": long_line,
        "truncated-gzip": truncated,
        "missing": tmp_path / "missing.txt",
        "directory": tmp_path,
    }


@pytest.mark.parametrize(
    "case",
    ["empty", "binary", "only-bad-lines", "10MB-line", "truncated-gzip", "missing", "directory"],
)
def test_bad_input_fails_and_leaves_the_index_intact(
    workspace: Workspace, tmp_path: Path, case: str
) -> None:
    good = tmp_path / "good.txt"
    good.write_text("\n".join(_lines(":")) + "\n")
    ingest(workspace, good)
    before = stats(workspace).to_json()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    report = ingest(workspace, _bad_inputs(inputs)[case])
    assert report.files[0].status == "failed"
    assert report.files[0].error
    assert report.nothing_ingested
    assert stats(workspace).to_json() == before
    with ExposureIndex.open(workspace) as index:
        assert len(index.vault_files()) == 1
    assert sorted(p.suffix for p in workspace.vault_dir.iterdir()) == [".cwv"]


def test_one_bad_file_does_not_stop_the_others(workspace: Workspace, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("\n".join(_lines(":")) + "\n")
    report = ingest(workspace, tmp_path / "missing.txt", good)
    assert [f.status for f in report.files] == ["failed", "ingested"]
    assert not report.nothing_ingested


def test_glob_patterns_are_expanded(workspace: Workspace, tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"part{i}.txt").write_text(f"user{i}@nifty.com:pw{i}\n")
    report = ingest(workspace, Path(str(tmp_path / "part*.txt")))
    assert [f.status for f in report.files] == ["ingested"] * 3
    assert [s.name for s in stats(workspace).sources] == ["part0.txt", "part1.txt", "part2.txt"]


def test_many_blocks_and_orphans_cleaned(workspace: Workspace, tmp_path: Path) -> None:
    workspace.vault_dir.mkdir(parents=True, exist_ok=True)
    orphan = workspace.vault_dir / "000009-dead.cwv.tmp"
    orphan.write_bytes(b"left by a crash")
    path = tmp_path / "big.txt.gz"
    n = 60_000
    path.write_bytes(
        gzip.compress(b"".join(f"user{i}@nifty.com:pw{i % 1000}\n".encode() for i in range(n)))
    )
    report = ingest(workspace, path, source="big")
    source = report.files[0].source
    assert source is not None
    assert (source.name, source.accepted, source.distinct_passwords) == ("big", n, 1000)
    assert not orphan.exists()


def test_interrupt_rolls_back(workspace: Workspace, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("\n".join(_lines(":")) + "\n")
    ingest(workspace, good)
    before = stats(workspace).to_json()
    other = tmp_path / "other.txt"
    other.write_text("new@nifty.com:pw\n")

    def interrupt(path: Path, lines: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest_files(workspace, [other], on_progress=interrupt)
    assert stats(workspace).to_json() == before
    assert sorted(p.suffix for p in workspace.vault_dir.iterdir()) == [".cwv"]
    with ExposureIndex.open(workspace) as index:
        assert index.check(email="new@nifty.com").email_exposed is False


def test_plaintext_connection_cannot_spill() -> None:
    conn = _plaintext_connection()
    try:
        setting = conn.execute("SELECT current_setting('temp_directory')").fetchall()
    finally:
        conn.close()
    assert setting == [("",)]


@pytest.mark.parametrize("keys_in_memory", [True, False])
def test_pairs_repeated_across_blocks_count_once(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys_in_memory: bool
) -> None:
    # Tiny blocks, so repeats fall into different blocks and password counts are
    # merged across blocks; without room for the keys in memory, DuckDB finds the
    # repeats instead.
    monkeypatch.setattr(ingest_module, "_BLOCK_BYTES", 64)
    monkeypatch.setattr(ingest_module, "_MERGE_PASSWORDS_AT", 1)  # merge counts often
    if not keys_in_memory:
        monkeypatch.setattr(ingest_module, "_KEYS_IN_MEMORY", 0)
    lines = ["taro@nifty.com:pw1", "hanako@cpi.ad.jp:x", "TARO@nifty.com:pw1", "taro@nifty.com:pw2"]
    path = tmp_path / "repeats.txt"
    path.write_text("\n".join(lines * 20) + "\n")
    source = ingest(workspace, path).files[0].source
    assert source is not None
    assert (source.accepted, source.distinct_emails, source.distinct_pairs) == (80, 2, 3)
    assert source.distinct_passwords == 3
    keyer = workspace.keyer()
    with ExposureIndex.open(workspace) as index:
        rows = index.connection.execute("SELECT pair_key FROM exposures").fetchall()
        assert index.check(password="pw1").password_count == 40
        files = index.vault_files()
    taro, hanako = keyer.email_key("taro@nifty.com"), keyer.email_key("hanako@cpi.ad.jp")
    expected = {(taro, "pw1"), (hanako, "x"), (taro, "pw2")}
    assert sorted(r[0] for r in rows) == sorted(keyer.pair_key(k, p) for k, p in expected)
    sealed = {
        (r["email_key"], r["password"])
        for f in files
        for t in read_vault_file(f, workspace.vault_private_key())
        for r in t.to_pylist()
    }
    assert sealed == expected
