"""Generations of the range corpus and the pointer that says which one is served.

Layout (``WORKSPACE/corpus``)::

    CURRENT                      the served generation's name (replaced by rename)
    generations/NAME/            one complete, immutable generation
        manifest.json            written last: a generation without it is incomplete
        sha1.*, ntlm.*           the served layers (imports + index, merged)
        index-sha1.*, index-ntlm.*   the index's own password counts
        emails.*, pairs.*        exposure keys for the login-time check
    tmp/                         generations being built

An import builds a new generation next to the served one and switches ``CURRENT`` with
an atomic rename only once it is complete and validates; a crash leaves the previous one
served.  Opening validates the generation (:class:`~credwatch.corpus.layout.Layer`); a
corrupt one is refused and the newest previous valid generation is used instead.

Example:
    >>> corpus = open_corpus(ws.corpus_dir)          # doctest: +SKIP
    >>> corpus.layer("sha1").slice(0x21BD1)          # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from credwatch.corpus.layout import CorruptCorpusError, Layer, LayerInfo
from credwatch.errors import ConfigError

__all__ = [
    "MANIFEST",
    "SCHEMA_VERSION",
    "Corpus",
    "OpenedCorpus",
    "collect_garbage",
    "list_generations",
    "open_corpus",
    "open_generation",
    "switch_current",
]

SCHEMA_VERSION = "1.0"
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
#: Generations kept besides the served one (the fallback when it turns out corrupt).
KEEP_PREVIOUS = 1


@dataclass(frozen=True, slots=True)
class Corpus:
    """One opened, validated generation.

    Attributes:
        name: the generation's folder name.
        path: its folder.
        created_at: when it was built (the ``Last-Modified`` of every response).
        manifest: the parsed manifest.
        layers: layer name -> memory-mapped layer.
    """

    name: str
    path: Path
    created_at: datetime
    manifest: Mapping[str, Any]
    layers: Mapping[str, Layer] = field(repr=False)

    def layer(self, name: str) -> Layer | None:
        """A layer by name (``sha1``, ``ntlm``, ``index-sha1``, ``emails``, ...), if built."""
        return self.layers.get(name)

    @property
    def key_fingerprint(self) -> str | None:
        """The pepper fingerprint the ``emails``/``pairs`` keys were made under."""
        value = self.manifest.get("index", {}).get("pepper_fingerprint")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class OpenedCorpus:
    """The result of :func:`open_corpus`: the generation served and what was refused.

    Attributes:
        corpus: the generation to serve, or ``None`` when there is none (never built,
            or every generation is corrupt).
        refused: ``(generation name, reason)`` for each generation that failed validation.
    """

    corpus: Corpus | None
    refused: tuple[tuple[str, str], ...] = ()


def generations_dir(root: Path) -> Path:
    """The folder of complete generations."""
    return root / "generations"


def open_generation(path: Path) -> Corpus:
    """Open and validate one generation folder.

    Raises:
        CorruptCorpusError: when the manifest is missing or unreadable, has another
            schema major, or a layer does not validate.
    """
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptCorpusError(
            f"corpus generation {path.name}: no readable manifest ({type(exc).__name__})"
        ) from None
    if not isinstance(manifest, dict):
        raise CorruptCorpusError(f"corpus generation {path.name}: manifest is not an object")
    version = str(manifest.get("schema_version", ""))
    if version.partition(".")[0] != SCHEMA_VERSION.partition(".")[0]:
        raise CorruptCorpusError(
            f"corpus generation {path.name}: schema version {version!r} is not supported"
        )
    layers: dict[str, Layer] = {}
    try:
        for name, raw in dict(manifest.get("layers", {})).items():
            info = LayerInfo(
                records=int(raw["records"]),
                width=int(raw["width"]),
                offsets_sha256=str(raw["offsets_sha256"]),
                text_bytes=int(raw["text_bytes"]) if "text_bytes" in raw else None,
                text_offsets_sha256=raw.get("text_offsets_sha256"),
            )
            layers[str(name)] = Layer(path, str(name), info)
        created_at = datetime.fromisoformat(str(manifest["created_at"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptCorpusError(
            f"corpus generation {path.name}: malformed manifest ({type(exc).__name__})"
        ) from None
    return Corpus(
        name=path.name, path=path, created_at=created_at, manifest=manifest, layers=layers
    )


def list_generations(root: Path) -> list[Path]:
    """Complete-looking generation folders, newest first (names sort by creation time)."""
    folder = generations_dir(root)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)


def current_name(root: Path) -> str | None:
    """The name ``CURRENT`` points at, if any."""
    try:
        text = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{root / CURRENT}: unreadable ({exc.strerror})") from None
    return text or None


def open_corpus(root: Path) -> OpenedCorpus:
    """Open the served generation, falling back to the newest previous valid one.

    A generation that fails validation is never served; the caller reports the
    refusals (``credwatch serve`` logs them and exports them as a metric).
    """
    refused: list[tuple[str, str]] = []
    current = current_name(root)
    candidates: list[Path] = []
    if current is not None:
        candidates.append(generations_dir(root) / current)
    candidates += [p for p in list_generations(root) if p.name != current]
    for path in candidates:
        try:
            return OpenedCorpus(corpus=open_generation(path), refused=tuple(refused))
        except CorruptCorpusError as exc:
            refused.append((path.name, exc.message))
    return OpenedCorpus(corpus=None, refused=tuple(refused))


def switch_current(root: Path, name: str) -> None:
    """Point ``CURRENT`` at generation ``name`` atomically (write, fsync, rename)."""
    tmp = root / f".{CURRENT}.tmp"
    with tmp.open("w", encoding="utf-8") as out:
        out.write(name + "\n")
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(root / CURRENT)
    dir_fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def collect_garbage(root: Path, keep_previous: int = KEEP_PREVIOUS) -> list[str]:
    """Delete generations older than the served one and ``keep_previous`` others.

    A server still mapping a deleted generation keeps reading it (the files stay alive
    while mapped) until it reloads.  Returns the names removed.
    """
    current = current_name(root)
    removed: list[str] = []
    kept = 0
    for path in list_generations(root):
        if path.name == current:
            continue
        if kept < keep_previous:
            kept += 1
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    shutil.rmtree(root / "tmp", ignore_errors=True)
    return removed
