"""Readers: compression by magic bytes, encodings, block splitting, bad bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from pathlib import Path

import pytest
import zstandard

from credwatch.errors import InputError, UsageError
from credwatch.leaks import Compression, FileReader, RejectReason, detect_encoding
from credwatch.leaks.encoding import normalize_encoding_name
from credwatch.leaks.reader import MAX_LINE_BYTES, detect_compression

LINES = ["taro@nifty.com:sakura1", "hanako@biglobe.ne.jp:p@ss:word", "jiro@cpi.ad.jp:x"]
TEXT = ("\n".join(LINES) + "\n").encode()


def _zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        # Members are separate files: one without a final newline must not run into the next.
        first, rest = data.split(b"\n", 1)
        zf.writestr("a.txt", first)
        zf.writestr("dir/", b"")
        zf.writestr("b.txt", rest)
    return buf.getvalue()


COMPRESSORS = {
    Compression.NONE: lambda d: d,
    Compression.GZIP: gzip.compress,
    Compression.XZ: lzma.compress,
    Compression.BZIP2: bz2.compress,
    Compression.ZSTD: lambda d: zstandard.ZstdCompressor().compress(d),
    Compression.ZIP: _zip,
}


def read_all(path: Path, **kwargs: object) -> tuple[list[str | None], dict[str, list[int]]]:
    source = FileReader(**kwargs).open(path)  # type: ignore[arg-type]
    lines: list[str | None] = []
    pre: dict[str, list[int]] = {}
    for chunk in source.chunks():
        assert chunk.first_line == len(lines) + 1
        lines.extend(chunk.lines.to_pylist())
        for reason, numbers in chunk.pre_rejected.items():
            pre.setdefault(reason, []).extend(numbers)
    return lines, pre


@pytest.mark.parametrize("kind", list(Compression))
def test_each_compression_reads_the_same_lines(tmp_path: Path, kind: Compression) -> None:
    path = tmp_path / "dump"
    path.write_bytes(COMPRESSORS[kind](TEXT))
    source = FileReader().open(path)
    assert source.compression is kind
    lines, pre = read_all(path)
    assert lines == LINES
    assert pre == {}


def test_detect_compression_plain() -> None:
    assert detect_compression(b"taro@") is Compression.NONE


@pytest.mark.parametrize("block", [7, 20, 64, 1 << 20])
def test_partial_lines_are_carried_between_blocks(tmp_path: Path, block: int) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(TEXT + b"last@nifty.com:no-newline")
    lines, _ = read_all(path, block_bytes=block)
    assert lines == [*LINES, "last@nifty.com:no-newline"]


def test_crlf_and_bom_are_stripped(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.replace(b"\n", b"\r\n"))
    lines, _ = read_all(path)
    assert lines == LINES


def test_ten_megabyte_line_is_counted_over_long_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a@b.jp:" + b"x" * 10_000_000 + b"\n" + TEXT)
    lines, pre = read_all(path, block_bytes=1 << 20)
    assert lines == [None, *LINES]
    assert pre == {RejectReason.OVER_LONG.value: [1]}


def test_long_line_within_a_block(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(TEXT + b"a@b.jp:" + b"y" * (MAX_LINE_BYTES + 1) + b"\n" + TEXT)
    lines, pre = read_all(path)
    assert lines == [*LINES, None, *LINES]
    assert pre == {RejectReason.OVER_LONG.value: [4]}


def test_binary_and_undecodable_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(TEXT + b"bin@x.jp:\x00\x01\x02\n" + b"bad@x.jp:\xff\xfe\n" + TEXT)
    lines, pre = read_all(path, encoding="utf-8")
    assert lines == [*LINES, None, None, *LINES]
    assert pre == {RejectReason.BINARY.value: [4], RejectReason.UNDECODABLE.value: [5]}


def test_undecodable_in_cp932(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes("a@b.jp:さくら\n".encode("cp932") + b"c@d.jp:\x81\n")
    lines, pre = read_all(path, encoding="cp932")
    assert lines == ["a@b.jp:さくら", None]
    assert pre == {RejectReason.UNDECODABLE.value: [2]}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (TEXT, "utf-8"),
        (b"\xef\xbb\xbf" + TEXT, "utf-8"),
        ("a@nifty.com:さくら123\nb@nifty.com:パスワード\n".encode(), "utf-8"),
        ("a@nifty.com:さくら123\nb@nifty.com:パスワード\n".encode("cp932"), "cp932"),
        ("a@nifty.com:さくら123\nb@nifty.com:東京タワー\n".encode("euc-jp"), "euc-jp"),
        ("jose@example.es:contraseña\nmüller@example.de:passwört\n".encode("latin-1"), "latin-1"),
        ("françois@example.fr:café1\n".encode("latin-1"), "latin-1"),
    ],
)
def test_detect_encoding(data: bytes, expected: str) -> None:
    assert detect_encoding(data) == expected


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("Shift_JIS", "cp932"), ("sjis", "cp932"), ("EUC-JP", "euc-jp"), ("latin1", "latin-1")],
)
def test_encoding_aliases(name: str, canonical: str) -> None:
    assert normalize_encoding_name(name) == canonical


def test_unknown_encoding_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        normalize_encoding_name("utf-16")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        FileReader().open(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        FileReader().open(tmp_path)


def test_truncated_gzip_raises_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.txt.gz"
    data = gzip.compress(TEXT * 5000)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="corrupt or truncated"):
        read_all(path)


def test_zip_with_unsupported_method_is_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    path.write_bytes(_zip(TEXT))
    data = bytearray(path.read_bytes())
    # Patch the compression method of every header (local and central) to 99 (AES).
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + offset : start + offset + 2] = (99).to_bytes(2, "little")
            start += 4
    path.write_bytes(bytes(data))
    with pytest.raises(InputError):
        read_all(path)
