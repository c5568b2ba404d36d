"""Importing Pwned Passwords files and the index's counts into a new corpus generation.

The build is an external sort that needs no more memory than one partition:

1. every input (imported files, the index's counts and keys) is parsed in chunks and
   each record is appended to a spill file of its *partition* (a range of 5-hex
   prefixes), so no input is ever held whole;
2. each partition is then merged on its own: the previous generation's records of that
   prefix range, minus the previous index contribution, plus the new index counts and
   the new files' records are concatenated, sorted, summed per hash and appended to the
   new layers.

The new generation is validated and only then published by switching ``CURRENT``
(:mod:`credwatch.corpus.store`); the server keeps serving the old one meanwhile.
Re-importing a file already imported (same SHA-256) is skipped.

Example:
    >>> report = import_files(ws.corpus_dir, [Path("pwnedpasswords.txt")], mode="sha1",
    ...                       index=None)                                  # doctest: +SKIP
    >>> report.accepted, report.rejected_by_reason                         # doctest: +SKIP
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from credwatch.corpus.interface import IndexSource
from credwatch.corpus.layout import (
    BUCKETS,
    WIDTH,
    CorruptCorpusError,
    Layer,
    LayerWriter,
    PreparedBatch,
    bucket_of,
)
from credwatch.corpus.parse import ParsedBatch, prefix_of_filename, read_batches
from credwatch.corpus.store import (
    MANIFEST,
    SCHEMA_VERSION,
    Corpus,
    collect_garbage,
    generations_dir,
    open_corpus,
    open_generation,
    switch_current,
)
from credwatch.errors import InputError

__all__ = ["FileReport", "ImportReport", "import_files"]

Mode = Literal["sha1", "ntlm"]
_UINT32_MAX = 2**32 - 1
#: Target records per partition: bounds the merge's memory (~30 bytes per record, x4).
PARTITION_RECORDS = 4_000_000
KEY_WIDTH = 16
#: Threads that merge partitions (and parse input chunks) at once.
THREADS = 2


@dataclass(frozen=True, slots=True)
class FileReport:
    """What one input (a file, or a folder of per-prefix files) contributed.

    Attributes:
        name: the file or folder name (not the full path).
        digest: SHA-256 of its content (of the sorted names and digests for a folder).
        skipped: True when the same content was imported before (nothing was added).
        lines, blank, accepted: line counts.
        rejected_by_reason: rejected lines by reason (see ``parse.REJECT_REASONS``).
    """

    name: str
    digest: str
    skipped: bool
    lines: int = 0
    blank: int = 0
    accepted: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Total rejected lines."""
        return sum(self.rejected_by_reason.values())


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The result of one import: the new generation and per-file figures.

    Attributes:
        generation: the generation now served.
        mode: ``sha1`` or ``ntlm``.
        files: one report per input.
        records: distinct hashes served in this mode after the import.
        index_records: distinct hashes contributed by the exposure index.
    """

    generation: str
    mode: Mode
    files: tuple[FileReport, ...]
    records: int
    index_records: int

    @property
    def accepted(self) -> int:
        """Accepted lines over all inputs."""
        return sum(f.accepted for f in self.files)

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        """Rejected lines over all inputs, by reason."""
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.rejected_by_reason)
        return dict(total)


class _Spill:
    """Records partitioned by prefix range into append-only files (hashes, counts)."""

    def __init__(self, folder: Path, name: str, width: int, partitions: int) -> None:
        self.folder = folder
        self.name = name
        self.width = width
        self.partitions = partitions
        self.shift = 20 - partitions.bit_length() + 1
        # Small keys: NumPy's stable sort is then a radix sort.
        self.key_type = np.uint16 if partitions <= 1 << 16 else np.uint32

    def _paths(self, part: int) -> tuple[Path, Path]:
        stem = f"{self.name}.{part:05d}"
        return self.folder / f"{stem}.hashes.spill", self.folder / f"{stem}.counts.spill"

    def add(self, hashes: npt.NDArray[np.uint8], counts: npt.NDArray[np.uint32]) -> None:
        if hashes.shape[0] == 0:
            return
        parts = (bucket_of(hashes) >> self.shift).astype(self.key_type)
        order = np.argsort(parts, kind="stable")
        grouped_hashes = hashes[order]
        grouped_counts = np.asarray(counts, dtype="<u4")[order]
        sorted_parts = parts[order]
        bounds = np.flatnonzero(sorted_parts[1:] != sorted_parts[:-1]) + 1
        starts = [0, *bounds.tolist()]
        ends = [*bounds.tolist(), sorted_parts.size]
        for s, e in zip(starts, ends, strict=True):
            hashes_path, counts_path = self._paths(int(sorted_parts[s]))
            with hashes_path.open("ab") as out:
                out.write(grouped_hashes[s:e].data)
            with counts_path.open("ab") as out:
                out.write(grouped_counts[s:e].data)

    def read(self, part: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
        hashes_path, counts_path = self._paths(part)
        if not hashes_path.exists():
            return np.zeros((0, self.width), np.uint8), np.zeros(0, np.int64)
        hashes = np.fromfile(hashes_path, dtype=np.uint8).reshape(-1, self.width)
        counts = np.fromfile(counts_path, dtype="<u4").astype(np.int64)
        hashes_path.unlink()
        counts_path.unlink()
        return hashes, counts


def _sort_reduce(
    hashes: npt.NDArray[np.uint8], counts: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Sort rows lexicographically and sum the counts of equal rows."""
    n, width = hashes.shape
    if n == 0:
        return hashes, counts
    hashes = np.ascontiguousarray(hashes)
    head = hashes[:, :8].copy().view(">u8").ravel().astype(np.uint64)
    order = np.argsort(head, kind="stable")
    rows, new, tied, differ = _boundaries(hashes, head, order)
    if differ.any():
        # Distinct hashes sharing their first 8 bytes: sort on every byte.
        order = np.lexsort([hashes[:, i] for i in range(width - 1, -1, -1)])
        rows, new, tied, differ = _boundaries(hashes, head, order)
    new[tied + 1] = differ
    if bool(new.all()):
        return rows, counts[order]  # no duplicates: nothing to sum, no second copy
    starts = np.flatnonzero(new)
    return rows[starts], np.add.reduceat(counts[order], starts)


def _boundaries(
    hashes: npt.NDArray[np.uint8], head: npt.NDArray[np.uint64], order: npt.NDArray[np.intp]
) -> tuple[
    npt.NDArray[np.uint8], npt.NDArray[np.bool_], npt.NDArray[np.intp], npt.NDArray[np.bool_]
]:
    """Rows in ``order``, where their first 8 bytes change, and the ties on those bytes.

    Only tied neighbours (duplicates, or rare distinct hashes sharing 8 bytes) are
    compared in full: ``differ`` tells which of them are distinct.
    """
    rows = hashes[order]
    sorted_head = head[order]
    new = np.ones(rows.shape[0], dtype=bool)
    np.not_equal(sorted_head[1:], sorted_head[:-1], out=new[1:])
    tied = np.flatnonzero(~new[1:])
    differ = (rows[tied] != rows[tied + 1]).any(axis=1)
    return rows, new, tied, differ


def _partitions_for(records: int) -> int:
    parts = 16
    while parts < BUCKETS and records / parts > PARTITION_RECORDS:
        parts *= 2
    return parts


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _inputs(paths: Sequence[Path]) -> list[tuple[str, str, list[Path]]]:
    """Resolve arguments to ``(name, digest, files)``; a folder is one input."""
    result: list[tuple[str, str, list[Path]]] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.is_file())
            if not files:
                raise InputError(f"{path}: the folder holds no files")
            unnamed = [p.name for p in files if prefix_of_filename(p) is None]
            if unnamed:
                raise InputError(
                    f"{path}: {len(unnamed)} file(s) not named by a 5-hex prefix "
                    f"(first: {unnamed[0]})",
                    hint="a folder must hold per-prefix files such as 21BD1.txt",
                )
            outer = hashlib.sha256()
            for p in files:
                outer.update(f"{p.name}\0{_file_digest(p)}\n".encode())
            result.append((path.name, outer.hexdigest(), files))
        elif path.is_file():
            result.append((path.name, _file_digest(path), [path]))
        else:
            raise InputError(f"{path}: no such file or folder")
    return result


def _parse_into(
    files: list[Path],
    width: int,
    spill: _Spill,
    progress: Callable[[int], None] | None,
    pool: Executor,
) -> tuple[int, int, int, Counter[str]]:
    lines = blank = accepted = 0
    rejected: Counter[str] = Counter()
    for path in files:
        for batch in _batches(path, width, pool):
            spill.add(batch.hashes, batch.counts)
            lines += batch.lines
            blank += batch.blank
            accepted += batch.counts.size
            rejected.update(batch.rejected)
            if progress is not None:
                progress(batch.lines)
    return lines, blank, accepted, rejected


def _batches(path: Path, width: int, pool: Executor) -> Iterator[ParsedBatch]:
    """Parsed chunks of one file, in order (memory bounded by the chunk size)."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        yield from read_batches(handle, width, prefix_of_filename(path), executor=pool)


def import_files(
    root: Path,
    paths: Sequence[Path],
    *,
    mode: Mode,
    index: IndexSource | None,
    progress: Callable[[int], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ImportReport:
    """Import HIBP-format files (and refresh the index's contribution) as a new generation.

    Args:
        root: the corpus folder (``ws.corpus_dir``).
        paths: files in the downloader's format, whole (``HASH:COUNT``) or per prefix
            (named ``XXXXX[.txt]``, ``SUFFIX:COUNT``), or folders of per-prefix files.
            May be empty: then only the index's contribution is refreshed.
        mode: ``sha1`` or ``ntlm``, the hash type of the files.
        index: the exposure index to merge, or ``None`` when there is none.
        progress: called with the number of lines parsed after each chunk.
        now: the clock (tests pass a fixed one).

    Returns:
        Per-file figures and the new generation's name.

    Raises:
        InputError: a path does not exist or cannot be read, or every line of an input
            was rejected (nothing in it looks like the HIBP format).
        CorruptCorpusError: the new generation failed validation (nothing was switched).
    """
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _import_locked(root, paths, mode=mode, index=index, progress=progress, now=now)


def _import_locked(
    root: Path,
    paths: Sequence[Path],
    *,
    mode: Mode,
    index: IndexSource | None,
    progress: Callable[[int], None] | None,
    now: Callable[[], datetime],
) -> ImportReport:
    inputs = _inputs(paths)
    previous = open_corpus(root).corpus
    known = {
        str(entry.get("digest"))
        for entry in (previous.manifest.get("imports", []) if previous else [])
        if isinstance(entry, dict) and entry.get("mode") == mode
    }
    width = WIDTH[mode]
    if previous is not None and index is None and all(d in known for _, d, _ in inputs):
        layer = previous.layer(mode)
        index_layer = previous.layer(f"index-{mode}")
        return ImportReport(
            generation=previous.name,
            mode=mode,
            files=tuple(FileReport(name=n, digest=d, skipped=True) for n, d, _ in inputs),
            records=layer.records if layer else 0,
            index_records=index_layer.records if index_layer else 0,
        )
    created = now()
    name = created.strftime("%Y%m%dT%H%M%S%fZ")
    (root / "tmp").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root / "tmp"))
    try:
        estimate = sum(p.stat().st_size for _, _, files in inputs for p in files) // (2 * width)
        for layer_name in (mode, f"index-{mode}"):
            layer = previous.layer(layer_name) if previous else None
            estimate += layer.records if layer else 0
        partitions = _partitions_for(estimate)
        spills = {
            "files": _Spill(work, "files", width, partitions),
            "index": _Spill(work, "index", width, partitions),
            "email": _Spill(work, "email", KEY_WIDTH, partitions),
            "pair": _Spill(work, "pair", KEY_WIDTH, partitions),
        }
        reports = _parse_inputs(inputs, known, width, mode, spills["files"], progress)
        fingerprint = None
        if index is not None:
            fingerprint = index.pepper_fingerprint
            for hashes, counts in index.password_counts(mode):
                spills["index"].add(hashes, counts)
            for kind in ("email", "pair"):
                for keys in index.exposure_keys(kind):
                    spills[kind].add(keys, np.ones(keys.shape[0], dtype=np.uint32))
        layers = _merge(work, previous, spills, mode, partitions, refresh_keys=index is not None)
        manifest = _manifest(name, created, previous, layers, mode, reports, fingerprint, index)
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for spill_file in work.glob("*.spill"):
            spill_file.unlink()
        final = generations_dir(root) / name
        final.parent.mkdir(exist_ok=True)
        work.replace(final)
        try:
            opened = open_generation(final)
        except CorruptCorpusError:
            shutil.rmtree(final, ignore_errors=True)
            raise
        switch_current(root, name)
        collect_garbage(root)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    served = opened.layer(mode)
    index_layer = opened.layer(f"index-{mode}")
    return ImportReport(
        generation=name,
        mode=mode,
        files=tuple(reports),
        records=served.records if served else 0,
        index_records=index_layer.records if index_layer else 0,
    )


def _merge(
    work: Path,
    previous: Corpus | None,
    spills: dict[str, _Spill],
    mode: Mode,
    partitions: int,
    *,
    refresh_keys: bool,
) -> dict[str, dict[str, object]]:
    """Write every layer of the new generation, partition by partition."""
    other: Mode = "ntlm" if mode == "sha1" else "sha1"
    width = WIDTH[mode]
    writers = {
        mode: LayerWriter(work, mode, width, text=True),
        f"index-{mode}": LayerWriter(work, f"index-{mode}", width),
    }
    if refresh_keys:
        writers["emails"] = LayerWriter(work, "emails", KEY_WIDTH)
        writers["pairs"] = LayerWriter(work, "pairs", KEY_WIDTH)
    step = BUCKETS // partitions
    prev = previous.layers if previous else {}

    def merge_part(part: int) -> list[tuple[str, PreparedBatch]]:
        """One partition of every layer, sorted, merged and rendered (runs in a thread)."""
        lo, hi = part * step, (part + 1) * step
        out: list[tuple[str, PreparedBatch]] = []
        new_index = spills["index"].read(part)
        if refresh_keys:
            idx_h, idx_c = _sort_reduce(*new_index)
        else:
            idx_h, idx_c = _previous(prev.get(f"index-{mode}"), lo, hi, width)
        out.append((f"index-{mode}", writers[f"index-{mode}"].prepare(idx_h, _clip(idx_c))))
        pieces_h = [idx_h]
        pieces_c = [idx_c]
        old_h, old_c = _previous(prev.get(mode), lo, hi, width)
        pieces_h.append(old_h)
        pieces_c.append(old_c)
        if refresh_keys:
            old_idx_h, old_idx_c = _previous(prev.get(f"index-{mode}"), lo, hi, width)
            pieces_h.append(old_idx_h)
            pieces_c.append(-old_idx_c)
        file_h, file_c = spills["files"].read(part)
        pieces_h.append(file_h)
        pieces_c.append(file_c)
        merged_h, merged_c = _sort_reduce(np.concatenate(pieces_h), np.concatenate(pieces_c))
        positive = merged_c > 0
        out.append((mode, writers[mode].prepare(merged_h[positive], _clip(merged_c[positive]))))
        if refresh_keys:
            for kind, layer_name in (("email", "emails"), ("pair", "pairs")):
                keys, _ = _sort_reduce(*spills[kind].read(part))
                ones = np.ones(keys.shape[0], dtype=np.uint32)
                out.append((layer_name, writers[layer_name].prepare(keys, ones)))
        return out

    try:
        # Partitions are merged in worker threads (NumPy's sorts and copies run without
        # the GIL) and written in order; at most THREADS + 1 are held at once.
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            pending: deque[Future[list[tuple[str, PreparedBatch]]]] = deque()
            try:
                for part in range(partitions):
                    pending.append(pool.submit(merge_part, part))
                    if len(pending) > THREADS:
                        for name, batch in pending.popleft().result():
                            writers[name].write(batch)
                while pending:
                    for name, batch in pending.popleft().result():
                        writers[name].write(batch)
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        infos = {name: writer.close().as_json() for name, writer in writers.items()}
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    # Layers this import did not touch are carried over (hard links: no copy).
    carried = [other, f"index-{other}"] + ([] if refresh_keys else ["emails", "pairs"])
    for name in carried:
        if previous is None or previous.layer(name) is None:
            continue
        for suffix in ("hashes", "counts", "offsets", "text", "textoffsets"):
            source = previous.path / f"{name}.{suffix}"
            if source.exists():
                os.link(source, work / f"{name}.{suffix}")
        infos[name] = dict(previous.manifest["layers"][name])
    return infos


def _previous(
    layer: Layer | None, lo: int, hi: int, width: int
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    if layer is None:
        return np.zeros((0, width), np.uint8), np.zeros(0, np.int64)
    hashes, counts = layer.range_slice(lo, hi)
    return np.array(hashes), counts.astype(np.int64)


def _clip(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.uint32]:
    return np.minimum(counts, _UINT32_MAX).astype(np.uint32)


def _manifest(
    name: str,
    created: datetime,
    previous: Corpus | None,
    layers: dict[str, dict[str, object]],
    mode: Mode,
    reports: Iterable[FileReport],
    fingerprint: str | None,
    index: IndexSource | None,
) -> dict[str, object]:
    imports = list(previous.manifest.get("imports", [])) if previous else []
    for report in reports:
        if report.skipped:
            continue
        imports.append(
            {
                "name": report.name,
                "digest": report.digest,
                "mode": mode,
                "imported_at": created.isoformat(),
                "lines": report.lines,
                "blank": report.blank,
                "accepted": report.accepted,
                "rejected_by_reason": report.rejected_by_reason,
            }
        )
    index_meta: dict[str, object] = dict(previous.manifest.get("index", {})) if previous else {}
    if index is not None:
        index_meta = {"pepper_fingerprint": fingerprint, "refreshed_at": created.isoformat()}
    return {
        "schema_version": SCHEMA_VERSION,
        "generation": name,
        "created_at": created.isoformat(),
        "previous": previous.name if previous else None,
        "layers": layers,
        "imports": imports,
        "index": index_meta,
    }


def _nothing_valid(
    label: str, lines: int, rejected: Counter[str], width: int, mode: Mode
) -> InputError:
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(rejected.items()))
    return InputError(
        f"{label}: none of its {lines} lines is a HIBP-format record ({reasons})",
        hint=f"expected HASH:COUNT lines of {2 * width} hex characters "
        f"({'--ntlm' if mode == 'sha1' else 'without --ntlm'}?)",
    )


def _parse_inputs(
    inputs: list[tuple[str, str, list[Path]]],
    known: set[str],
    width: int,
    mode: Mode,
    spill: _Spill,
    progress: Callable[[int], None] | None,
) -> list[FileReport]:
    reports: list[FileReport] = []
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for label, digest, files in inputs:
            reports.append(
                _parse_input(label, digest, files, known, width, mode, spill, progress, pool)
            )
    return reports


def _parse_input(
    label: str,
    digest: str,
    files: list[Path],
    known: set[str],
    width: int,
    mode: Mode,
    spill: _Spill,
    progress: Callable[[int], None] | None,
    pool: Executor,
) -> FileReport:
    if digest in known:
        return FileReport(name=label, digest=digest, skipped=True)
    lines, blank, accepted, rejected = _parse_into(files, width, spill, progress, pool)
    if accepted == 0 and lines > blank:
        raise _nothing_valid(label, lines, rejected, width, mode)
    known.add(digest)
    return FileReport(
        name=label,
        digest=digest,
        skipped=False,
        lines=lines,
        blank=blank,
        accepted=accepted,
        rejected_by_reason=dict(rejected),
    )
