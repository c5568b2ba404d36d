"""``--follow``: tail growing and rotated log files and raise alerts as they happen.

Each file is polled for appended bytes; complete lines go through the same vectorised
engine as batch mode (a small block per poll) and then event by event through an
:class:`~credwatch.hunt.online.OnlineHunter`.  A file whose inode changes (rotated by
logrotate's ``create``) or that shrinks (``copytruncate``) is reopened from its start.
A bounded run (``max_seconds`` or ``idle_seconds``) stops by itself, for tests and cron.

Example:
    >>> follow_files([Path("/var/log/mail.log")], hunter, on_alert=print,
    ...              max_seconds=60)                                  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credwatch.hunt.engine import Engine
from credwatch.hunt.exposure import IndexExposure
from credwatch.hunt.interface import Alert, AuthEvent
from credwatch.hunt.online import OnlineHunter

__all__ = ["FollowStats", "TailedFile", "follow_files"]

_MAX_PENDING = 1 << 20  # a partial line longer than this is cut and counted


@dataclass(slots=True)
class TailedFile:
    """Read position of one followed file."""

    path: Path
    inode: int | None = None
    offset: int = 0
    pending: bytes = b""
    lines: int = 0
    parsed: int = 0
    rotations: int = 0

    def read_new(self) -> list[str]:
        """Complete lines appended since the last call (handles rotation and truncation)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []  # between rotation and re-creation
        if self.inode is not None and (st.st_ino != self.inode or st.st_size < self.offset):
            self.rotations += 1
            self.offset = 0
            self.pending = b""
        self.inode = st.st_ino
        if st.st_size == self.offset:
            return []
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        data = self.pending + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self.pending = data if len(data) < _MAX_PENDING else b""
            return []
        self.pending = data[cut + 1 :]
        text = data[:cut].decode("utf-8", errors="replace")
        out = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
        self.lines += len(out)
        return out


@dataclass(slots=True)
class FollowStats:
    """What a follow run saw."""

    files: list[TailedFile] = field(default_factory=list)
    events: int = 0
    alerts: int = 0


def _events(table_rows: list[dict[str, Any]]) -> list[AuthEvent]:
    return [
        AuthEvent(
            ts=r["ts"],
            service=str(r["service"]),
            protocol=str(r["protocol"]),
            user=r["user"],
            src_ip=r["src_ip"],
            outcome="success" if r["outcome"] == "success" else "failure",
            reason=str(r["reason"]),
            attempts=int(r["attempts"]),
        )
        for r in table_rows
    ]


def follow_files(
    paths: Sequence[Path],
    hunter: OnlineHunter,
    *,
    on_alert: Callable[[Alert], None],
    engine: Engine | None = None,
    exposure: IndexExposure | None = None,
    poll_seconds: float = 0.5,
    max_seconds: float | None = None,
    idle_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> FollowStats:
    """Follow ``paths`` until stopped (Ctrl-C) or a bound is reached.

    Args:
        paths: plain-text log files (they may not exist yet).
        hunter: the online detectors and their state.
        on_alert: called with every alert as it is raised.
        engine: the parser (default: every log family).
        exposure: exposure look-ups for ``leak_stuffing`` (``None``: not checked).
        poll_seconds: pause between polls.
        max_seconds: stop after this long.
        idle_seconds: stop after this long without a new line.
    """
    engine = engine or Engine.for_format("auto")
    stats = FollowStats(files=[TailedFile(p) for p in paths])
    started = last_line = clock()
    while True:
        got_any = False
        for file_id, tailed in enumerate(stats.files):
            lines = tailed.read_new()
            if not lines:
                continue
            got_any = True
            now = datetime.now(UTC).replace(tzinfo=None)
            table = engine.parse_lines(lines, reference=now, file_id=file_id)
            tailed.parsed += table.num_rows
            events = _events(table.sort_by("line_no").to_pylist())
            if exposure is not None:
                exposure.exposed_users({e.user for e in events if e.user})  # one look-up per poll
            for event in events:
                exposed = (
                    exposure.status(event.user) if exposure is not None and event.user else None
                )
                for alert in hunter.observe(event, exposed):
                    stats.alerts += 1
                    on_alert(alert)
                stats.events += 1
        t = clock()
        if got_any:
            last_line = t
        if (max_seconds is not None and t - started >= max_seconds) or (
            idle_seconds is not None and t - last_line >= idle_seconds
        ):
            break
        sleep(poll_seconds)
    for alert in hunter.flush():
        stats.alerts += 1
        on_alert(alert)
    return stats
