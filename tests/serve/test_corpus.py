"""Corpus imports, generations, validation and fallback, look-ups."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.corpus import CorruptCorpusError, import_files, open_corpus, render_range
from credwatch.corpus.build import _sort_reduce
from credwatch.corpus.store import current_name, switch_current
from credwatch.errors import InputError
from credwatch.index import ExposureIndex
from credwatch.serve import CorpusProvider, refresh_index_snapshot
from credwatch.workspace import Workspace
from tests.serve.conftest import PASSWORDS, hibp_file, sha1_hex, write_lines


def _count(root: Path, password: str, mode: str = "sha1") -> int:
    corpus = open_corpus(root).corpus
    assert corpus is not None
    layer = corpus.layer(mode)
    assert layer is not None
    return layer.lookup(bytes.fromhex(sha1_hex(password)))


def test_whole_file_import_and_lookup(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    report = import_files(root, [hibp_file(tmp_path / "a.txt")], mode="sha1", index=None)
    assert report.records == len(PASSWORDS)
    assert report.accepted == len(PASSWORDS)
    for password, count in PASSWORDS.items():
        assert _count(root, password) == count
    assert _count(root, "not in there") == 0


def test_bad_lines_are_counted_by_reason(tmp_path: Path) -> None:
    lines = [f"{sha1_hex('password')}:5", "garbage", "", f"{sha1_hex('x')}:0", "ZZ" * 20 + ":1"]
    report = import_files(
        tmp_path / "c", [write_lines(tmp_path / "bad.txt", lines)], mode="sha1", index=None
    )
    (only,) = report.files
    assert only.accepted == 1
    assert only.rejected_by_reason == {"no_separator": 1, "zero_count": 1, "non_hex": 1}
    assert only.blank == 1


def test_file_without_any_record_is_an_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "notes.txt", ["hello", "world"])
    with pytest.raises(InputError, match="none of its 2 lines"):
        import_files(tmp_path / "c", [path], mode="sha1", index=None)
    assert current_name(tmp_path / "c") is None


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_files(tmp_path / "c", [tmp_path / "nope.txt"], mode="sha1", index=None)


def test_per_prefix_folder_and_incremental_sum(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    import_files(root, [hibp_file(tmp_path / "a.txt")], mode="sha1", index=None)
    folder = tmp_path / "ranges"
    folder.mkdir()
    h = sha1_hex("password")
    write_lines(folder / f"{h[:5]}.txt", [f"{h[5:]}:10", f"{sha1_hex('new one')[5:]}:0"])
    h2 = sha1_hex("new one")
    write_lines(folder / f"{h2[:5]}.txt", [f"{h2[5:]}:4"])
    report = import_files(root, [folder], mode="sha1", index=None)
    assert report.files[0].rejected_by_reason == {"zero_count": 1}
    assert _count(root, "password") == PASSWORDS["password"] + 10
    assert _count(root, "new one") == 4
    # The same content again is skipped, not added twice.
    again = import_files(root, [folder], mode="sha1", index=None)
    assert again.files[0].skipped
    assert _count(root, "password") == PASSWORDS["password"] + 10


def test_folder_with_other_files_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ranges"
    folder.mkdir()
    (folder / "README").write_text("hi", encoding="utf-8")
    with pytest.raises(InputError, match="not named by a 5-hex prefix"):
        import_files(tmp_path / "c", [folder], mode="sha1", index=None)


def test_ntlm_corpus(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    ntlm = "8846F7EAEE8FB117AD06BDD830B7586C"  # NTLM("password")
    import_files(root, [write_lines(tmp_path / "n.txt", [f"{ntlm}:7"])], mode="ntlm", index=None)
    corpus = open_corpus(root).corpus
    assert corpus is not None
    layer = corpus.layer("ntlm")
    assert layer is not None
    assert layer.lookup(bytes.fromhex(ntlm)) == 7
    hashes, counts = layer.slice(int(ntlm[:5], 16))
    assert render_range(hashes, counts) == f"{ntlm[5:]}:7".encode()


def test_index_snapshot_matches_the_index(leak_ws: Workspace) -> None:
    corpus = open_corpus(leak_ws.corpus_dir).corpus
    assert corpus is not None
    index_layer = corpus.layer("index-sha1")
    served = corpus.layer("sha1")
    assert index_layer is not None
    assert served is not None
    with ExposureIndex.open(leak_ws) as index:
        for password in ("password", "hunter2", "other"):
            expected = index.check(password=password).password_count
            assert index_layer.lookup(bytes.fromhex(sha1_hex(password))) == expected
            # served = imported file + index
            extra = PASSWORDS.get(password, 0)
            assert served.lookup(bytes.fromhex(sha1_hex(password))) == extra + (expected or 0)


def test_index_refresh_replaces_not_adds(leak_ws: Workspace, tmp_path: Path) -> None:
    copy = Workspace(root=tmp_path / "ws")
    shutil.copytree(leak_ws.root, copy.root)
    leak_ws = copy
    before = _count(leak_ws.corpus_dir, "password")
    leak_ws.index_path.touch()
    os.utime(leak_ws.index_path, (2_000_000_000, 2_000_000_000))
    assert refresh_index_snapshot(leak_ws)
    assert _count(leak_ws.corpus_dir, "password") == before


def _corrupt_offsets(gen: Path) -> None:
    path = gen / "sha1.offsets"
    data = bytearray(path.read_bytes())
    data[8 * 5] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate_hashes(gen: Path) -> None:
    path = gen / "sha1.hashes"
    path.write_bytes(path.read_bytes()[:-3])


def _truncate_text(gen: Path) -> None:
    path = gen / "sha1.text"
    path.write_bytes(path.read_bytes()[:-1])


def _corrupt_text_offsets(gen: Path) -> None:
    path = gen / "sha1.textoffsets"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def _drop_manifest(gen: Path) -> None:
    (gen / "manifest.json").unlink()


def _future_schema(gen: Path) -> None:
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["schema_version"] = "9.0"
    (gen / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "damage",
    [
        _corrupt_offsets,
        _truncate_hashes,
        _truncate_text,
        _corrupt_text_offsets,
        _drop_manifest,
        _future_schema,
    ],
)
def test_corrupt_generation_is_refused_and_previous_served(tmp_path: Path, damage) -> None:
    root = tmp_path / "corpus"
    first = import_files(root, [hibp_file(tmp_path / "a.txt")], mode="sha1", index=None)
    second = import_files(
        root, [hibp_file(tmp_path / "b.txt", {"extra": 5})], mode="sha1", index=None
    )
    assert current_name(root) == second.generation
    damage(root / "generations" / second.generation)
    opened = open_corpus(root)
    assert opened.corpus is not None
    assert opened.corpus.name == first.generation
    assert [name for name, _ in opened.refused] == [second.generation]
    # A server starting now serves the previous generation and reports the refusal.
    provider = CorpusProvider(root)
    served = provider.get()
    assert served is not None
    assert served.name == first.generation
    assert provider.refused


def test_running_server_switches_only_to_a_valid_generation(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    first = import_files(root, [hibp_file(tmp_path / "a.txt")], mode="sha1", index=None)
    now = [0.0]
    provider = CorpusProvider(root, interval=1.0, clock=lambda: now[0])
    second = import_files(root, [hibp_file(tmp_path / "b.txt", {"x": 1})], mode="sha1", index=None)
    assert provider.get().name == first.generation  # type: ignore[union-attr]
    now[0] = 2.0
    assert provider.get().name == second.generation  # type: ignore[union-attr]
    # A third generation that does not validate is not switched to.
    third = import_files(root, [hibp_file(tmp_path / "c.txt", {"y": 1})], mode="sha1", index=None)
    _truncate_hashes(root / "generations" / third.generation)
    switch_current(root, third.generation)
    now[0] = 4.0
    assert provider.get().name == second.generation  # type: ignore[union-attr]
    assert provider.refused[-1][0] == third.generation


def test_old_generations_are_collected(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for i in range(4):
        path = hibp_file(tmp_path / f"{i}.txt", {f"p{i}": 1})
        import_files(root, [path], mode="sha1", index=None)
    assert len(list((root / "generations").iterdir())) == 2
    assert not (root / "tmp").exists() or not list((root / "tmp").iterdir())


def test_sort_handles_hashes_sharing_their_first_eight_bytes() -> None:
    base = bytes.fromhex(sha1_hex("password"))
    rows = [base[:8] + bytes([b]) * 12 for b in (9, 3, 7, 3)]
    hashes = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(4, 20)
    out, counts = _sort_reduce(hashes, np.array([1, 2, 3, 4], dtype=np.int64))
    assert [bytes(r) for r in out] == sorted(set(rows))
    assert counts.tolist() == [6, 3, 1]


@given(
    st.dictionaries(st.binary(min_size=20, max_size=20), st.integers(1, 1000), max_size=40),
    st.binary(min_size=20, max_size=20),
)
@settings(max_examples=12, deadline=None)
def test_lookup_and_render_agree_with_a_dict(
    tmp_path_factory: pytest.TempPathFactory, data: dict[bytes, int], probe: bytes
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    if not data:
        return
    path = write_lines(tmp / "f.txt", [f"{h.hex()}:{c}" for h, c in data.items()])
    import_files(tmp / "c", [path], mode="sha1", index=None)
    corpus = open_corpus(tmp / "c").corpus
    assert corpus is not None
    layer = corpus.layer("sha1")
    assert layer is not None
    for h, c in data.items():
        assert layer.lookup(h) == c
    assert layer.lookup(probe) == data.get(probe, 0)
    bucket = int(probe.hex()[:5], 16)
    same = [(h.hex().upper(), c) for h, c in data.items() if h.hex()[:5] == probe.hex()[:5]]
    expected = sorted(same)
    text = "\r\n".join(f"{h[5:]}:{c}" for h, c in expected).encode()
    assert render_range(*layer.slice(bucket)) == text
    assert layer.body(bucket) == text


def test_corrupt_error_is_an_input_error() -> None:
    assert issubclass(CorruptCorpusError, InputError)
    assert hashlib.sha1(b"password").hexdigest().upper() == sha1_hex("password")


def test_one_huge_line_is_counted_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "one.txt"
    path.write_bytes(b"x" * 50_000 + b"\n" + f"{sha1_hex('p')}:1".encode())
    report = import_files(tmp_path / "c", [path], mode="sha1", index=None)
    assert report.files[0].rejected_by_reason == {"overlong": 1}
    assert report.accepted == 1
