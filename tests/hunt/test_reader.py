"""Files: compression, bad input (binary, truncated, huge lines), journald and JSON forms."""

from __future__ import annotations

import bz2
import gzip
import ipaddress
import json
import lzma
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.errors import InputError
from credwatch.hunt.engine import Engine, normalize_ips
from credwatch.hunt.follow import TailedFile
from credwatch.hunt.reader import lines_to_array, split_journal_export

LOG = (
    "Jun 24 10:00:01 mx1 dovecot: imap-login: Login: user=<taro@nifty.com>, method=PLAIN, "
    "rip=192.0.2.10, lip=10.0.0.1\n"
    "Jun 24 10:00:02 mx1 postfix/smtpd[1]: connect from unknown[192.0.2.11]\n"
    "Jun 24 10:00:03 mx1 postfix/smtpd[1]: warning: unknown[192.0.2.11]: SASL LOGIN "
    "authentication failed: UGFzc3dvcmQ6\n"
)

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "plain": lambda b: b,
    "gzip": gzip.compress,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
    "zstd": lambda b: zstandard.ZstdCompressor().compress(b),
}


@pytest.mark.parametrize("kind", list(COMPRESSORS))
def test_compressed_files(engine: Engine, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"mail.log.{kind}"
    path.write_bytes(COMPRESSORS[kind](LOG.encode()))
    table, stats = engine.parse_file(path)
    assert (stats.lines, stats.parsed, stats.unparsed) == (3, 2, 1)
    assert stats.compression == ("none" if kind == "plain" else kind)
    assert stats.error is None
    assert sorted(table.column("src_ip").to_pylist()) == ["192.0.2.10", "192.0.2.11"]


def test_truncated_gzip_keeps_what_came_before(engine: Engine, tmp_path: Path) -> None:
    lines = "".join(
        f"Jun 24 10:{i // 60 % 60:02d}:{i % 60:02d} gw sshd[{i}]: Failed password for "
        f"u{i * 7919 % 100003} "
        f"from 10.{i % 256}.{i * 31 % 256}.{i * 17 % 251 + 1} port {i} ssh2\n"
        for i in range(20000)
    )
    data = gzip.compress(lines.encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    table, stats = engine.parse_file(path)
    assert stats.error is not None and "truncated" in stats.error
    assert 0 < table.num_rows < 20000


def test_binary_file_is_reported_not_fatal(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "core"
    path.write_bytes(os.urandom(4096) + b"\x00" * 100)
    table, stats = engine.parse_file(path)
    assert table.num_rows == 0 and stats.lines == 0
    assert stats.error is not None and "binary" in stats.error


def test_missing_file_is_an_input_error(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        engine.parse_file(tmp_path / "nope.log")


def test_one_megabyte_line_crlf_and_invalid_utf8(engine: Engine, tmp_path: Path) -> None:
    huge = (
        "Jun 24 10:00:00 mx1 dovecot: imap-login: Login: user=<"
        + "x" * 1_000_000
        + ">, rip=192.0.2.1\r\n"
    )
    bad = (
        b"Jun 24 10:00:05 gw sshd[1]: Failed password for \xff\xfeuser from 192.0.2.9 port 2 "
        b"ssh2\r\n"
    )
    path = tmp_path / "odd.log"
    path.write_bytes(huge.encode() + bad + LOG.replace("\n", "\r\n").encode())
    table, stats = engine.parse_file(path)
    assert stats.lines == 5
    rows = {r["line_no"]: r for r in table.to_pylist()}
    assert len(rows[1]["user"]) == 1_000_000
    assert rows[2]["src_ip"] == "192.0.2.9" and "\ufffd" in rows[2]["user"]
    assert rows[3]["user"] == "taro@nifty.com"


def test_many_blocks_parse_in_parallel_like_one(engine: Engine, tmp_path: Path) -> None:
    lines = "".join(
        f"Jun 24 10:{i // 60 % 60:02d}:{i % 60:02d} mx1 dovecot: imap-login: Login: "
        f"user=<u{i}@nifty.com>, method=PLAIN, rip=192.0.2.{i % 250 + 1}, lip=10.0.0.1\n"
        f"Jun 24 10:{i // 60 % 60:02d}:{i % 60:02d} mx1 dovecot: imap(u{i}): Logged out\n"
        for i in range(3000)
    )
    path = tmp_path / "mail.log"
    path.write_text(lines, encoding="utf-8")
    whole, stats = engine.parse_file(path)
    blocks, block_stats = engine.parse_file(path, block_bytes=4096)
    assert (block_stats.lines, block_stats.parsed) == (stats.lines, stats.parsed) == (6000, 3000)
    assert blocks.equals(whole)
    assert blocks.column("line_no").to_pylist() == list(range(1, 6000, 2))


def test_small_blocks_long_lines_crlf_and_no_final_newline(engine: Engine, tmp_path: Path) -> None:
    long_user = "x" * 10_000  # longer than a block: the reader widens its read
    text = (
        LOG.replace("\n", "\r\n")
        + f"Jun 24 10:00:04 gw sshd[1]: Failed password for {long_user} from 192.0.2.5 port 2 "
        "ssh2\n"
        + LOG
        + "Jun 24 10:00:09 gw sshd[1]: Failed password for last from 192.0.2.6 port 2 ssh2\r"
    )
    path = tmp_path / "odd.log"
    path.write_bytes(text.encode())
    whole, stats = engine.parse_file(path)
    small, small_stats = engine.parse_file(path, block_bytes=256)
    assert small.sort_by("line_no").equals(whole.sort_by("line_no"))
    assert (small_stats.lines, small_stats.parsed) == (stats.lines, stats.parsed) == (8, 6)
    rows = {r["line_no"]: r for r in small.to_pylist()}
    assert rows[4]["user"] == long_user and rows[1]["user"] == "taro@nifty.com"
    assert rows[8]["user"] == "last" and rows[8]["src_ip"] == "192.0.2.6"


def test_out_of_order_ipv6_and_odd_names(engine: Engine, tmp_path: Path) -> None:
    lines = [
        "Jun 24 12:00:00 gw sshd[1]: Failed password for invalid user 山田 太郎 from "
        "2001:db8:1:2::99 port 5 ssh2",
        "Jun 24 09:00:00 gw sshd[1]: Failed password for invalid user josé maría from "
        "::ffff:192.0.2.44 port 5 ssh2",
        "Jun 24 11:00:00 gw sshd[1]: Failed password for root from "
        "2001:0db8:0001:0002:0000:0000:0000:0098 port 5 ssh2",
    ]
    path = tmp_path / "auth.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, _ = engine.parse_file(path)
    rows = {r["line_no"]: r for r in table.to_pylist()}
    assert rows[1]["user"] == "山田 太郎" and rows[1]["subnet"] == "2001:db8:1:2::/64"
    assert rows[2]["user"] == "josé maría" and rows[2]["src_ip"] == "192.0.2.44"
    assert rows[2]["subnet"] == "192.0.2.0/24"
    assert rows[3]["src_ip"] == "2001:db8:1:2::98"
    assert rows[2]["ts"] < rows[3]["ts"] < rows[1]["ts"]


def test_journal_export_and_json(engine: Engine, tmp_path: Path) -> None:
    stamp = int(datetime(2026, 6, 24, 10, 0, 0).timestamp() * 1e6)
    message = (
        "warning: unknown[192.0.2.20]: SASL PLAIN authentication failed: authentication failure"
    )
    binary_msg = b"Failed password for root from 192.0.2.21 port 22 ssh2"
    export = (
        (
            f"__CURSOR=s=1\n__REALTIME_TIMESTAMP={stamp}\nSYSLOG_IDENTIFIER=postfix/smtpd\n_PID=7\n"
            f"MESSAGE={message}\n\n"
            f"__CURSOR=s=2\n__REALTIME_TIMESTAMP={stamp + 1_000_000}\n"
            "SYSLOG_IDENTIFIER=sshd\n_PID=8\n"
        ).encode()
        + b"MESSAGE\n"
        + len(binary_msg).to_bytes(8, "little")
        + binary_msg
        + b"\n\n"
    )
    path = tmp_path / "journal.export"
    path.write_bytes(export)
    table, stats = engine.parse_file(path)
    assert stats.layout == "journal-export" and stats.parsed == 2
    assert sorted(table.column("src_ip").to_pylist()) == ["192.0.2.20", "192.0.2.21"]
    doc = {
        "__REALTIME_TIMESTAMP": str(stamp),
        "SYSLOG_IDENTIFIER": "postfix/smtpd",
        "_PID": "7",
        "MESSAGE": message,
    }
    jpath = tmp_path / "journal.json"
    jpath.write_text(json.dumps(doc) + "\nnot json at all\n", encoding="utf-8")
    jtable, jstats = engine.parse_file(jpath)
    assert jstats.layout == "json" and (jstats.parsed, jstats.unparsed) == (1, 1)
    assert jtable.column("ts").to_pylist()[0].hour == datetime.utcfromtimestamp(stamp / 1e6).hour


def test_ecs_flattened_keys(engine: Engine, tmp_path: Path) -> None:
    doc = {
        "@timestamp": "2026-06-24T10:00:00+09:00",
        "event.outcome": "success",
        "source.ip": "192.0.2.30",
        "user.name": "umi@nifty.com",
        "service.type": "pop3",
    }
    path = tmp_path / "ecs.jsonl"
    path.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    rows = engine.parse_file(path)[0].to_pylist()
    assert rows[0]["outcome"] == "success" and rows[0]["service"] == "pop3"
    assert rows[0]["ts"] == datetime(2026, 6, 24, 1, 0, 0)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b), max_size=20
    )
)
def test_line_split_round_trips(lines: list[bytes]) -> None:
    data = b"".join(line + b"\n" for line in lines)
    got = lines_to_array(data).to_pylist()
    assert got == [line.decode("utf-8", errors="replace") for line in lines]


def test_journal_export_without_message() -> None:
    lines, stamps = split_journal_export(b"__CURSOR=a\n__REALTIME_TIMESTAMP=x\n\n")
    assert lines == [""] and stamps == [None]


def test_committed_fixture_counts(engine: Engine) -> None:
    """A small mixed mail log: every credential line parsed, the rest counted as unparsed."""
    path = Path(__file__).parent / "data" / "mixed-mail.log"
    table, stats = engine.parse_file(path, now=datetime(2026, 6, 30))
    assert (stats.lines, stats.parsed, stats.unparsed) == (15, 11, 4)
    by_service = sorted(table.column("service").to_pylist())
    assert by_service.count("dovecot") == 5 and by_service.count("postfix") == 3
    assert "2400:4050:a1:b2::17" in table.column("src_ip").to_pylist()


def test_tailed_file_truncation_and_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    path.write_text("one\ntwo\nthr", encoding="utf-8")
    tailed = TailedFile(path)
    assert tailed.read_new() == ["one", "two"]
    with path.open("a", encoding="utf-8") as fh:
        fh.write("ee\n")
    assert tailed.read_new() == ["three"]
    path.write_text("new\n", encoding="utf-8")  # copytruncate: the file shrank
    assert tailed.read_new() == ["new"] and tailed.rotations == 1
    path.unlink()
    assert tailed.read_new() == []


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**128 - 1), st.sampled_from(["compressed", "exploded", "upper"]))
def test_ipv6_normalisation_matches_ipaddress(value: int, form: str) -> None:
    """Canonical text and /64 (or /24 for IPv4-mapped) exactly as :mod:`ipaddress` gives."""
    if value % 3 == 0:
        value &= (1 << 32) - 1  # also the low, IPv4-compatible range
    if value % 5 == 0:
        value = (0xFFFF << 32) | (value & 0xFFFFFFFF)  # IPv4-mapped
    addr = ipaddress.IPv6Address(value)
    text = {"compressed": str(addr), "exploded": addr.exploded, "upper": addr.exploded.upper()}
    mapped = addr.ipv4_mapped
    expected_ip = str(mapped) if mapped else str(addr)
    prefix = f"{mapped}/24" if mapped else f"{addr}/64"
    expected_net = str(ipaddress.ip_network(prefix, strict=False))
    ips, nets = normalize_ips(pa.array([text[form]]))
    assert (ips[0].as_py(), nets[0].as_py()) == (expected_ip, expected_net)
