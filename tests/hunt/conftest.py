"""Shared helpers for the hunt tests: parse lines, build events, a real exposure index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from credwatch.hunt.detectors import subnet_of
from credwatch.hunt.engine import Engine
from credwatch.hunt.interface import AuthEvent
from credwatch.index.ingest import ingest_files
from credwatch.workspace import Workspace

REFERENCE = datetime(2026, 6, 30, 12, 0, 0)
T0 = datetime(2026, 6, 24, 10, 0, 0)


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The all-families engine (compiling its SQL once per session)."""
    return Engine.for_format("auto")


def parse(
    engine: Engine, lines: Sequence[str], reference: datetime = REFERENCE
) -> list[dict[str, Any]]:
    """Parse in-memory lines; return event rows in line order."""
    table = engine.parse_lines(list(lines), reference=reference)
    rows: list[dict[str, Any]] = table.sort_by("line_no").to_pylist()
    return rows


def event(
    seconds: float,
    ip: str | None,
    user: str | None,
    outcome: str = "failure",
    reason: str = "password_mismatch",
    attempts: int = 1,
) -> AuthEvent:
    """An AuthEvent ``seconds`` after T0."""
    return AuthEvent(
        ts=T0 + timedelta(seconds=seconds),
        service="dovecot",
        protocol="imap",
        user=user,
        src_ip=ip,
        outcome="success" if outcome == "success" else "failure",
        reason="ok" if outcome == "success" else reason,
        attempts=attempts,
    )


def events_table(
    events: Sequence[AuthEvent], exposed: Sequence[bool | None] | None = None
) -> pa.Table:
    """The batch events table of ``events`` (as the engine would produce it)."""
    exp = list(exposed) if exposed is not None else [None] * len(events)
    return pa.table(
        {
            "ts": pa.array([e.ts for e in events], pa.timestamp("us")),
            "service": [e.service for e in events],
            "protocol": [e.protocol for e in events],
            "user": pa.array([e.user for e in events], pa.string()),
            "src_ip": pa.array([e.src_ip for e in events], pa.string()),
            "outcome": [e.outcome for e in events],
            "reason": [e.reason for e in events],
            "attempts": pa.array([e.attempts for e in events], pa.int32()),
            "subnet": pa.array([subnet_of(e.src_ip) for e in events], pa.string()),
            "file_id": pa.array([0] * len(events), pa.int32()),
            "line_no": pa.array(range(1, len(events) + 1), pa.int64()),
            "exposed": pa.array(exp, pa.bool_()),
        }
    )


@pytest.fixture
def leaked_workspace(workspace: Workspace, tmp_path: Path) -> tuple[Workspace, list[str]]:
    """A workspace whose real exposure index holds 200 leaked addresses (returned)."""
    leaked = [f"user{i}@nifty.com" for i in range(200)]
    combo = tmp_path / "combo.txt"
    combo.write_text("".join(f"{a}:pw{i}secret\n" for i, a in enumerate(leaked)), encoding="utf-8")
    ingest_files(workspace, [combo])
    combo.unlink()
    return workspace, leaked
