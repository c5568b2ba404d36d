"""The on-disk range corpus: sorted fixed-width binary hashes with a prefix table.

One *layer* is three files under a generation folder::

    NAME.hashes    n x width bytes, sorted (width 20 for SHA-1, 16 for NTLM and keys)
    NAME.counts    n little-endian uint32
    NAME.offsets   2^20 + 1 little-endian uint64: records of 5-hex prefix p are
                   [offsets[p], offsets[p + 1])

A range request is two slices of memory-mapped files, whatever the corpus size (the
public corpus is about 1 G hashes, 28 GB here), and no database query.  The text of a
response is rendered from the slice with NumPy (:func:`render_range`).

Example:
    >>> import numpy as np
    >>> h = np.array([bytes.fromhex("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8")], "S20")
    >>> render_range(h.view(np.uint8).reshape(1, 20), np.array([3], np.uint32))
    b'1E4C9B93F3F0682250B6CF8331B7EE68FD8:3'
"""

from __future__ import annotations

import binascii
import hashlib
import mmap
import os
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from credwatch.errors import InputError

__all__ = [
    "BUCKETS",
    "WIDTH",
    "CorruptCorpusError",
    "Layer",
    "LayerWriter",
    "Mode",
    "PreparedBatch",
    "bucket_of",
    "prefix_buckets",
    "render_range",
]

Mode = Literal["sha1", "ntlm"]
#: Hash width in bytes per mode.
WIDTH: dict[str, int] = {"sha1": 20, "ntlm": 16}
#: Number of 5-hex prefixes.
BUCKETS = 1 << 20
_OFFSETS_BYTES = (BUCKETS + 1) * 8
#: Rows rendered at once when writing a text layer (bounds that step's memory).
_TEXT_CHUNK = 1 << 20

_DEC5 = np.frombuffer(b"".join(b"%05d" % i for i in range(100_000)), dtype="S5")
_DIGIT_THRESHOLDS = np.array([10**i for i in range(1, 10)], dtype=np.uint32)


class CorruptCorpusError(InputError):
    """A corpus layer is incomplete or inconsistent; it is not served."""


def bucket_of(hashes: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """The 20-bit prefix (5 hex characters) of each ``(n, width)`` hash."""
    h = hashes[:, :3].astype(np.int64)
    return (h[:, 0] << 12) | (h[:, 1] << 4) | (h[:, 2] >> 4)


def prefix_buckets(sorted_hashes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    """The offsets table of sorted hashes: ``BUCKETS + 1`` cumulative counts."""
    counts = np.bincount(bucket_of(sorted_hashes), minlength=BUCKETS)
    offsets = np.zeros(BUCKETS + 1, dtype=np.uint64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def render_rows(
    hashes: npt.NDArray[np.uint8], counts: npt.NDArray[np.uint32]
) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Render records as ``SUFFIX:COUNT\\r\\n`` rows; return the text and each row's length.

    The suffix is the hash's hex without its first 5 characters, in uppercase; counts
    have no leading zeros.  Vectorised: a fixed-width row matrix with the count
    right-aligned, compacted by dropping the leading-zero positions.
    """
    n, width = hashes.shape
    if n == 0:
        return b"", np.zeros(0, dtype=np.int64)
    hex_len = 2 * width
    suffix = hex_len - 5
    hexed = np.frombuffer(
        binascii.hexlify(np.ascontiguousarray(hashes).tobytes()).upper(), dtype=np.uint8
    ).reshape(n, hex_len)
    counts = np.asarray(counts, dtype=np.uint32)
    high = counts // 100_000
    low = counts - high * 100_000
    row_len = suffix + 1 + 10 + 2
    rows = np.empty((n, row_len), dtype=np.uint8)
    rows[:, :suffix] = hexed[:, 5:]
    rows[:, suffix] = 58  # ':'
    rows[:, suffix + 1 : suffix + 6] = _DEC5[high].view(np.uint8).reshape(n, 5)
    rows[:, suffix + 6 : suffix + 11] = _DEC5[low].view(np.uint8).reshape(n, 5)
    rows[:, suffix + 11] = 13
    rows[:, suffix + 12] = 10
    digits = np.searchsorted(_DIGIT_THRESHOLDS, counts, side="right") + 1
    keep = np.ones((n, row_len), dtype=bool)
    keep[:, suffix + 1 : suffix + 11] = np.arange(10)[None, :] >= (10 - digits)[:, None]
    return rows[keep].tobytes(), (suffix + 3 + digits).astype(np.int64)


def render_range(hashes: npt.NDArray[np.uint8], counts: npt.NDArray[np.uint32]) -> bytes:
    """Render records of one prefix as the range API does: ``SUFFIX:COUNT`` joined by CRLF.

    The last line has no line ending, like api.pwnedpasswords.com; empty input renders
    an empty body.
    """
    return render_rows(hashes, counts)[0][:-2]


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """What a manifest records about a layer, to validate it when opened."""

    records: int
    width: int
    offsets_sha256: str
    text_bytes: int | None = None
    text_offsets_sha256: str | None = None

    def as_json(self) -> dict[str, object]:
        """The manifest entry."""
        entry: dict[str, object] = {
            "records": self.records,
            "width": self.width,
            "offsets_sha256": self.offsets_sha256,
        }
        if self.text_bytes is not None:
            entry["text_bytes"] = self.text_bytes
            entry["text_offsets_sha256"] = self.text_offsets_sha256
        return entry


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Sorted records rendered for a :class:`LayerWriter` (see :meth:`LayerWriter.prepare`)."""

    hashes: npt.NDArray[np.uint8]
    counts: npt.NDArray[np.uint32]
    bucket_counts: npt.NDArray[np.int64]
    texts: list[bytes]
    text_bytes: npt.NDArray[np.int64] | None


class LayerWriter:
    """Appends sorted, de-duplicated records bucket range by bucket range.

    Records must arrive in ascending hash order across calls; the writer checks it.
    """

    def __init__(self, folder: Path, name: str, width: int, *, text: bool = False) -> None:
        self.folder = folder
        self.name = name
        self.width = width
        self._hashes = (folder / f"{name}.hashes").open("wb")
        self._counts = (folder / f"{name}.counts").open("wb")
        self._text = (folder / f"{name}.text").open("wb") if text else None
        self._text_bytes = np.zeros(BUCKETS, dtype=np.int64)
        self._bucket_counts = np.zeros(BUCKETS, dtype=np.int64)
        self._last: bytes | None = None
        self.records = 0

    def prepare(
        self, hashes: npt.NDArray[np.uint8], counts: npt.NDArray[np.uint32]
    ) -> PreparedBatch:
        """Render a batch of sorted records for :meth:`write` (no state: safe in a thread)."""
        buckets = bucket_of(hashes)
        texts: list[bytes] = []
        text_bytes = None
        if self._text is not None and hashes.shape[0]:
            text_bytes = np.zeros(BUCKETS, dtype=np.int64)
            for start in range(0, hashes.shape[0], _TEXT_CHUNK):
                stop = start + _TEXT_CHUNK
                text, lengths = render_rows(hashes[start:stop], counts[start:stop])
                texts.append(text)
                text_bytes += np.bincount(
                    buckets[start:stop], weights=lengths, minlength=BUCKETS
                ).astype(np.int64)
        return PreparedBatch(
            hashes=np.ascontiguousarray(hashes),
            counts=np.asarray(counts, dtype="<u4"),
            bucket_counts=np.bincount(buckets, minlength=BUCKETS),
            texts=texts,
            text_bytes=text_bytes,
        )

    def write(self, batch: PreparedBatch) -> None:
        """Write a prepared batch (strictly after everything written before)."""
        hashes = batch.hashes
        if hashes.shape[0] == 0:
            return
        first = hashes[0].tobytes()
        if self._last is not None and first <= self._last:
            raise AssertionError("layer records out of order")  # a bug in the merge
        self._last = hashes[-1].tobytes()
        self._hashes.write(hashes.tobytes())
        self._counts.write(batch.counts.tobytes())
        self._bucket_counts += batch.bucket_counts
        self.records += int(hashes.shape[0])
        if self._text is not None and batch.text_bytes is not None:
            for text in batch.texts:
                self._text.write(text)
            self._text_bytes += batch.text_bytes

    def append(self, hashes: npt.NDArray[np.uint8], counts: npt.NDArray[np.uint32]) -> None:
        """Write a batch of sorted records (strictly after everything written before)."""
        self.write(self.prepare(hashes, counts))

    def close(self) -> LayerInfo:
        """Flush, fsync and write the offsets table; return the manifest entry."""
        offsets = np.zeros(BUCKETS + 1, dtype="<u8")
        np.cumsum(self._bucket_counts, out=offsets[1:])
        raw = offsets.tobytes()
        handles = [self._hashes, self._counts]
        if self._text is not None:
            handles.append(self._text)
        for handle in handles:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        _write_synced(self.folder / f"{self.name}.offsets", raw)
        text_bytes = text_sha = None
        if self._text is not None:
            text_offsets = np.zeros(BUCKETS + 1, dtype="<u8")
            np.cumsum(self._text_bytes, out=text_offsets[1:])
            text_raw = text_offsets.tobytes()
            _write_synced(self.folder / f"{self.name}.textoffsets", text_raw)
            text_bytes = int(text_offsets[-1])
            text_sha = hashlib.sha256(text_raw).hexdigest()
        return LayerInfo(
            records=self.records,
            width=self.width,
            offsets_sha256=hashlib.sha256(raw).hexdigest(),
            text_bytes=text_bytes,
            text_offsets_sha256=text_sha,
        )

    def abort(self) -> None:
        """Close the files without finishing (the generation folder is discarded)."""
        self._hashes.close()
        self._counts.close()
        if self._text is not None:
            self._text.close()


def _native_u64(raw: bytes) -> array[int]:
    """Little-endian uint64 bytes as an array of native ints (cheap to index)."""
    values = array("Q")
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


class Layer:
    """A memory-mapped, validated layer.

    Raises:
        CorruptCorpusError: when a file is missing, has the wrong size, or the offsets
            table does not match the manifest or the records.
    """

    def __init__(self, folder: Path, name: str, info: LayerInfo) -> None:
        self.name = name
        self.width = info.width
        self.records = info.records
        where = f"{folder.name}/{name}"
        try:
            raw = (folder / f"{name}.offsets").read_bytes()
        except OSError as exc:
            raise CorruptCorpusError(
                f"corpus {where}: offsets unreadable ({exc.strerror})"
            ) from None
        if len(raw) != _OFFSETS_BYTES or hashlib.sha256(raw).hexdigest() != info.offsets_sha256:
            raise CorruptCorpusError(f"corpus {where}: offsets table does not match its manifest")
        self.offsets: npt.NDArray[np.uint64] = np.frombuffer(raw, dtype="<u8")
        if int(self.offsets[0]) != 0 or int(self.offsets[-1]) != info.records:
            raise CorruptCorpusError(f"corpus {where}: offsets do not cover the records")
        if bool((np.diff(self.offsets.astype(np.int64)) < 0).any()):
            raise CorruptCorpusError(f"corpus {where}: offsets are not ascending")
        self.hashes = self._map(folder / f"{name}.hashes", info.records * info.width, where)
        self.counts = self._map(folder / f"{name}.counts", info.records * 4, where)
        self._hash_rows = self.hashes.reshape(-1, info.width)
        self._count_vals = self.counts.view("<u4")
        self._check_buckets(where)
        self.text: npt.NDArray[np.uint8] | None = None
        self.text_offsets: npt.NDArray[np.uint64] | None = None
        # The hot path (one range body per request) indexes plain buffers: a NumPy
        # scalar conversion and a NumPy slice cost more than copying the body.
        self._bounds: array[int] | None = None  # made on first use (8 MB)
        self._text_view: memoryview | None = None
        self._text_bounds: array[int] | None = None
        if info.text_bytes is not None:
            self._open_text(folder, info, where)

    def _open_text(self, folder: Path, info: LayerInfo, where: str) -> None:
        try:
            raw = (folder / f"{self.name}.textoffsets").read_bytes()
        except OSError as exc:
            raise CorruptCorpusError(
                f"corpus {where}: text offsets unreadable ({exc.strerror})"
            ) from None
        if len(raw) != _OFFSETS_BYTES or hashlib.sha256(raw).hexdigest() != (
            info.text_offsets_sha256
        ):
            raise CorruptCorpusError(f"corpus {where}: text offsets do not match the manifest")
        offsets = np.frombuffer(raw, dtype="<u8")
        if int(offsets[-1]) != info.text_bytes:
            raise CorruptCorpusError(f"corpus {where}: text offsets do not cover the text")
        # A bucket has text exactly when it has records.
        has_rows = self.offsets[1:] > self.offsets[:-1]
        if not np.array_equal(has_rows, offsets[1:] > offsets[:-1]):
            raise CorruptCorpusError(f"corpus {where}: text and records disagree")
        self.text = self._map(folder / f"{self.name}.text", int(info.text_bytes or 0), where)
        self.text_offsets = offsets
        self._text_view = self.text.data
        self._text_bounds = _native_u64(raw)

    @staticmethod
    def _map(path: Path, size: int, where: str) -> npt.NDArray[np.uint8]:
        try:
            actual = path.stat().st_size
        except OSError as exc:
            raise CorruptCorpusError(
                f"corpus {where}: {path.name} missing ({exc.strerror})"
            ) from None
        if actual != size:
            raise CorruptCorpusError(
                f"corpus {where}: {path.name} has {actual} bytes, the manifest says {size}"
            )
        if size == 0:
            return np.zeros(0, dtype=np.uint8)  # mmap refuses empty files
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return np.frombuffer(mapped, dtype=np.uint8)

    def _check_buckets(self, where: str) -> None:
        """Every non-empty bucket's first and last record carry its prefix."""
        if self.records == 0:
            return
        starts = self.offsets[:-1].astype(np.int64)
        ends = self.offsets[1:].astype(np.int64)
        filled = np.flatnonzero(ends > starts)
        firsts = bucket_of(self._hash_rows[starts[filled]])
        lasts = bucket_of(self._hash_rows[ends[filled] - 1])
        if not (np.array_equal(firsts, filled) and np.array_equal(lasts, filled)):
            raise CorruptCorpusError(f"corpus {where}: records are not where the offsets say")

    def rows(self, bucket: int) -> int:
        """The number of records of one 5-hex prefix."""
        if self._bounds is None:
            self._bounds = _native_u64(self.offsets.tobytes())
        return self._bounds[bucket + 1] - self._bounds[bucket]

    def body(self, bucket: int) -> bytes | None:
        """The pre-rendered range body of a prefix, or ``None`` without a text layer."""
        if self._text_view is None or self._text_bounds is None:
            return None
        start = self._text_bounds[bucket]
        end = self._text_bounds[bucket + 1]
        return self._text_view[start : end - 2].tobytes() if end > start else b""

    def slice(self, bucket: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint32]]:
        """The records of one 5-hex prefix: ``(n, width)`` hashes and ``n`` counts."""
        start = int(self.offsets[bucket])
        end = int(self.offsets[bucket + 1])
        return self._hash_rows[start:end], self._count_vals[start:end]

    def range_slice(
        self, first_bucket: int, end_bucket: int
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint32]]:
        """The records of buckets ``[first_bucket, end_bucket)``."""
        start = int(self.offsets[first_bucket])
        end = int(self.offsets[end_bucket])
        return self._hash_rows[start:end], self._count_vals[start:end]

    def lookup(self, key: bytes) -> int:
        """The count of one full hash, 0 when absent (binary search in its bucket)."""
        if len(key) != self.width or self.records == 0:
            return 0
        row = np.frombuffer(key, dtype=np.uint8).reshape(1, -1)
        bucket = int(bucket_of(row)[0])
        hashes, counts = self.slice(bucket)
        if hashes.shape[0] == 0:
            return 0
        keys = np.ascontiguousarray(hashes).view(f"S{self.width}").ravel()
        # S dtypes strip trailing NULs when compared; compare as void to stay exact.
        pos = int(np.searchsorted(keys.view(f"V{self.width}"), np.void(key)))
        if pos < keys.shape[0] and hashes[pos].tobytes() == key:
            return int(counts[pos])
        return 0
