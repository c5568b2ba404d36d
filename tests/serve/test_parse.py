"""The vectorised HIBP-line parser: formats, every rejection reason, chunking."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.corpus.parse import REJECT_REASONS, parse_chunk, prefix_of_filename, read_batches

H = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"  # SHA-1 of "password"
N = "8846F7EAEE8FB117AD06BDD830B7586C"  # NTLM of "password"


@pytest.mark.parametrize(
    ("line", "width", "prefix", "reason"),
    [
        (f"{H}:3", 20, None, None),
        (f"{H.lower()}:3", 20, None, None),
        (f"{H[5:]}:3", 20, H[:5], None),
        (f"{N}:3", 16, None, None),
        (f"{N[5:]}:3", 16, N[:5], None),
        (f"{H}:4294967295", 20, None, None),
        (H, 20, None, "no_separator"),
        (f"{H[:-1]}:3", 20, None, "bad_hash_length"),
        (f"{H}0:3", 20, None, "bad_hash_length"),
        (f"{N}:3", 20, None, "bad_hash_length"),
        (f"{H[:-1]}G:3", 20, None, "non_hex"),
        (f"{H[:-1]}\uff11:3".encode().decode("latin-1"), 20, None, "bad_hash_length"),
        (f"{H}:", 20, None, "bad_count"),
        (f"{H}:x", 20, None, "bad_count"),
        (f"{H}:-1", 20, None, "bad_count"),
        (f"{H}:4294967296", 20, None, "bad_count"),
        (f"{H}:3 ", 20, None, "bad_count"),
        (f"{H}:0", 20, None, "zero_count"),
        ("x" * 5000, 20, None, "overlong"),
    ],
)
def test_one_line(line: str, width: int, prefix: str | None, reason: str | None) -> None:
    batch = parse_chunk(line.encode("latin-1") + b"\r\n", width, prefix)
    assert batch.lines == 1
    if reason is None:
        assert batch.counts.size == 1
        assert not batch.rejected
        full = (prefix or "") + line.split(":", maxsplit=1)[0]
        assert bytes(batch.hashes[0]).hex().upper() == full.upper()
    else:
        assert batch.counts.size == 0
        assert dict(batch.rejected) == {reason: 1}
        assert reason in REJECT_REASONS


def test_line_endings_and_blank_lines() -> None:
    data = f"{H}:1\n\r\n{H}:2\r\n\n{H}:3".encode()
    batch = parse_chunk(data, 20, None)
    assert batch.counts.tolist() == [1, 2, 3]
    assert (batch.lines, batch.blank) == (5, 2)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("21BD1.txt", "21BD1"), ("21bd1", "21BD1"), ("pwned.txt", None), ("21BD.txt", None)],
)
def test_prefix_of_filename(name: str, prefix: str | None) -> None:
    assert prefix_of_filename(Path(name)) == prefix


records = st.lists(
    st.tuples(st.binary(min_size=20, max_size=20), st.integers(1, 2**32 - 1)), max_size=50
)


@given(records, st.sampled_from(["\n", "\r\n"]), st.integers(1, 200))
@settings(max_examples=60, deadline=None)
def test_round_trip_any_chunking(rows: list[tuple[bytes, int]], eol: str, chunk: int) -> None:
    text = eol.join(f"{h.hex().upper()}:{c}" for h, c in rows).encode()
    parsed = list(read_batches(io.BytesIO(text), 20, None, chunk_bytes=chunk))
    hashes = [bytes(r) for b in parsed for r in b.hashes]
    counts = [int(c) for b in parsed for c in b.counts]
    assert hashes == [h for h, _ in rows]
    assert counts == [c for _, c in rows]
    assert sum(sum(b.rejected.values()) for b in parsed) == 0


@given(st.binary(max_size=400), st.integers(1, 64))
@settings(max_examples=100, deadline=None)
def test_garbage_is_counted_never_fatal(data: bytes, chunk: int) -> None:
    parsed = list(read_batches(io.BytesIO(data), 20, None, chunk_bytes=chunk))
    for batch in parsed:
        assert batch.lines == batch.counts.size + batch.blank + sum(batch.rejected.values())
        assert set(batch.rejected) <= set(REJECT_REASONS)


suffix_records = st.lists(
    st.tuples(st.binary(min_size=20, max_size=20), st.integers(1, 2**32 - 1)), max_size=30
)


@given(suffix_records, st.sampled_from(["\n", "\r\n"]), st.integers(1, 120))
@settings(max_examples=40, deadline=None)
def test_per_prefix_lines_round_trip(rows: list[tuple[bytes, int]], eol: str, chunk: int) -> None:
    # Suffixes have an odd number of hex characters; the prefix's last one completes them.
    prefix = "21BD1"
    full = [bytes.fromhex(prefix + h.hex().upper()[5:]) for h, _ in rows]
    text = eol.join(
        f"{h.hex().upper()[5:]}:{c}" for h, (_, c) in zip(full, rows, strict=True)
    ).encode()
    parsed = list(read_batches(io.BytesIO(text), 20, prefix, chunk_bytes=chunk))
    assert [bytes(r) for b in parsed for r in b.hashes] == full
    assert [int(c) for b in parsed for c in b.counts] == [c for _, c in rows]


@given(st.lists(st.sampled_from([f"{H}:7", f"{H[:-1]}G:1", f"{H}:0", "", "x" * 70]), max_size=80))
@settings(max_examples=40, deadline=None)
def test_parsing_in_threads_gives_the_serial_result(lines: list[str]) -> None:
    data = "\r\n".join(lines).encode()
    serial = list(read_batches(io.BytesIO(data), 20, None, chunk_bytes=64))
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = list(read_batches(io.BytesIO(data), 20, None, chunk_bytes=64, executor=pool))
    assert len(threaded) == len(serial)
    for a, b in zip(serial, threaded, strict=True):
        assert a.hashes.tobytes() == b.hashes.tobytes()
        assert a.counts.tolist() == b.counts.tolist()
        assert (a.lines, a.blank, a.rejected) == (b.lines, b.blank, b.rejected)
