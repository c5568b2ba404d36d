"""The latest result document of each command, kept in the workspace for the report.

``hunt`` and ``supply scan`` are expensive and their inputs (auth logs, SBOMs) may
not be at hand when the report is written, so each saves the JSON document it prints
with ``--json`` here, and ``credwatch report`` reads it back instead of re-running.

Layout: ``WORKSPACE/results/KIND.json``, one file per kind, replaced atomically on
every save (a reader never sees a half-written file).  The file is an envelope::

    {"schema_version": "1.0", "kind": "hunt", "saved_at": "2026-06-02T10:00:00+00:00",
     "document": {...the command's --json document...}}

Documents must already be privacy-safe (masked addresses, no passwords): this
module stores what it is given.

Example:
    >>> save_result(ws, "hunt", {"events": 10, "alerts": []})     # doctest: +SKIP
    >>> load_result(ws, "hunt")["document"]["events"]            # doctest: +SKIP
    10
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credwatch.errors import InputError, UsageError
from credwatch.workspace import Workspace

__all__ = ["RESULTS_SCHEMA_VERSION", "load_result", "result_path", "save_result"]

#: Version of the envelope; a reader refuses another major.
RESULTS_SCHEMA_VERSION = "1.0"
_KIND_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def result_path(ws: Workspace, kind: str) -> Path:
    """Where the latest ``kind`` result lives (``WORKSPACE/results/KIND.json``).

    Raises:
        UsageError: when ``kind`` is not a short lowercase name.
    """
    if not _KIND_RE.match(kind):
        raise UsageError(f"invalid result kind {kind!r}", hint="use a short lowercase name")
    return ws.root / "results" / f"{kind}.json"


def save_result(ws: Workspace, kind: str, document: dict[str, Any]) -> Path:
    """Store ``document`` as the latest ``kind`` result, atomically; return its path.

    The document is written with a schema version and the time it was saved; an
    earlier result of the same kind is replaced.  Values JSON cannot hold natively
    (dates, paths) are written as text; NaN and infinities are refused.

    Raises:
        UsageError: when ``kind`` is not a short lowercase name.
        InputError: when the document cannot be serialised as JSON.
    """
    path = result_path(ws, kind)
    envelope = {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "kind": kind,
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "document": document,
    }
    try:
        data = json.dumps(
            envelope, ensure_ascii=False, indent=1, default=str, allow_nan=False
        ).encode()
    except (TypeError, ValueError) as exc:
        raise InputError(f"the {kind} result is not JSON-serialisable: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{kind}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def load_result(ws: Workspace, kind: str) -> dict[str, Any] | None:
    """Return the latest ``kind`` envelope (keys above), or ``None`` if never saved.

    Raises:
        UsageError: when ``kind`` is not a short lowercase name.
        InputError: when the file is unreadable, not JSON, not an envelope, or of
            another schema major.
    """
    path = result_path(ws, kind)
    if not path.exists():
        return None
    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{path} is not a readable result file ({type(exc).__name__})",
            hint="delete it and re-run the command that saved it",
        ) from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("document"), dict):
        raise InputError(f"{path} is not a credwatch result file", hint="delete it")
    version = str(envelope.get("schema_version", ""))
    if version.split(".", 1)[0] != RESULTS_SCHEMA_VERSION.split(".", 1)[0]:
        raise InputError(
            f"{path} has schema version {version or 'none'}; this credwatch reads "
            f"{RESULTS_SCHEMA_VERSION.split('.', 1)[0]}.x",
            hint="re-run the command that saved it with this credwatch version",
        )
    return envelope
