"""The shapes of hunting: events, rules, alerts, and the pluggable Protocols.

* :class:`AuthEvent` is one authentication attempt, whatever log it came from.
* A :class:`LogParser` is one log family (Dovecot, Postfix, ...): a list of
  :class:`LineRule` (cheap substring needles plus one RE2 pattern each) that the
  vectorised engine (:mod:`credwatch.hunt.engine`) runs over whole files inside DuckDB.
* A :class:`Detector` runs the same rule two ways: :meth:`Detector.detect_batch` over
  a whole events table (DuckDB SQL) and :meth:`Detector.observe` event by event with
  its state in a :class:`StateStore` (memory or Redis), for ``--follow`` and for the
  Dovecot auth-policy endpoint of ``credwatch serve``.
* An :class:`AlertSink` receives alerts as they are raised.

Example:
    >>> from datetime import datetime
    >>> e = AuthEvent(datetime(2026, 6, 24, 10, 0), "dovecot", "imap", "taro@nifty.com",
    ...               "192.0.2.7", "failure", "password_mismatch")
    >>> e.is_failure
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "EVENT_COLUMNS",
    "Alert",
    "AlertSink",
    "AuthEvent",
    "Detector",
    "ExposureLookup",
    "FastPath",
    "KeyType",
    "LineRule",
    "LogParser",
    "Outcome",
    "Severity",
    "StateStore",
]

Outcome = Literal["success", "failure"]
KeyType = Literal["ip", "subnet", "user", "site"]
Severity = Literal["low", "medium", "high", "critical"]

#: Columns of the events table every batch detector reads (DuckDB relation ``events``):
#: ``ts TIMESTAMP`` (UTC), ``service``, ``protocol``, ``user`` (as logged, may be NULL),
#: ``src_ip`` (may be NULL), ``outcome`` ('success'|'failure'), ``reason``,
#: ``attempts INTEGER`` (Dovecot's "N attempts"), ``subnet`` (/24 or /64),
#: ``exposed BOOLEAN`` (NULL when not checked), ``file_id``, ``line_no``, and
#: ``user_id``/``ip_id`` (dense integer codes of ``user``/``src_ip`` for joins, NULL where
#: those are; :func:`credwatch.hunt.hunt_events` adds them).
EVENT_COLUMNS = (
    "ts",
    "service",
    "protocol",
    "user",
    "src_ip",
    "outcome",
    "reason",
    "attempts",
    "subnet",
    "exposed",
    "file_id",
    "line_no",
    "user_id",
    "ip_id",
)


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """One authentication attempt.

    Attributes:
        ts: when it happened (naive UTC).
        service: the program that logged it (``dovecot``, ``postfix``, ``sshd``, ...).
        protocol: ``imap``, ``pop3``, ``submission``, ``smtp``, ``ssh``, ``http``, ...
        user: the user name as logged (``None`` when the line has none).
        src_ip: the client address (``None`` when the line has none).
        outcome: ``"success"`` or ``"failure"``.
        reason: why it failed (``password_mismatch``, ``unknown_user``, ``auth_failed``,
            ...) or ``"ok"``.
        attempts: how many attempts the line stands for (Dovecot's "N attempts").
    """

    ts: datetime
    service: str
    protocol: str
    user: str | None
    src_ip: str | None
    outcome: Outcome
    reason: str
    attempts: int = 1

    @property
    def is_failure(self) -> bool:
        """Whether the attempt failed."""
        return self.outcome == "failure"


@dataclass(frozen=True, slots=True)
class FastPath:
    """A cheaper way to extract a rule's groups from the common shape of its lines.

    When ``pattern`` (an RE2 pattern, only *matched*, which runs as a DFA) fits a line,
    each group is taken with the DuckDB string expression in ``fields`` (``{L}`` stands
    for the line), e.g. ``split_part(split_part({L}, 'rip=', 2), ',', 1)``; other lines
    of the rule go through the rule's capturing pattern.  Tests check both agree.
    """

    pattern: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class LineRule:
    """One kind of log line, run vectorised over whole files.

    Attributes:
        name: ``family.kind``, e.g. ``dovecot.login_failed``.
        needles: substrings that must all occur (a cheap filter before the regex).
        pattern: an RE2 pattern searched anywhere in the line, whose named groups may be
            ``user``, ``ip``, ``proto``, ``attempts``; every group must be named.
        service: the service recorded on the event.
        protocol: the fixed protocol, or ``None`` to take it from the ``proto`` group.
        outcome: the outcome recorded on the event.
        reason: the reason recorded on the event.
        fast: an optional cheaper extraction for the rule's most common line shape.
    """

    name: str
    needles: tuple[str, ...]
    pattern: str
    service: str
    protocol: str | None
    outcome: Outcome
    reason: str
    fast: FastPath | None = None


@runtime_checkable
class LogParser(Protocol):
    """A log family: its name (a ``--format`` choice) and its line rules."""

    @property
    def name(self) -> str:
        """The ``--format`` name of the family."""

    @property
    def rules(self) -> Sequence[LineRule]:
        """The family's rules, most specific first."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One finding of a detector.

    Attributes:
        rule: the detector's name.
        key_type: what the key is: ``ip``, ``subnet``, ``user`` (masked) or ``site``.
        key: the IP, subnet, masked user or ``"*"``.
        severity: ``low``, ``medium``, ``high`` or ``critical``.
        first_seen: the first event of the key that counts for the rule.
        last_seen: the last one.
        count: how many events (attempts) count for the rule.
        evidence: counts, time span, thresholds, masked sample users.
    """

    rule: str
    key_type: KeyType
    key: str
    severity: Severity
    first_seen: datetime
    last_seen: datetime
    count: int
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The alert as the JSON object of DESIGN.md (``hunt --json``, ``--alerts``)."""
        return {
            "rule": self.rule,
            "key_type": self.key_type,
            "key": self.key,
            "severity": self.severity,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "count": self.count,
            "evidence": dict(self.evidence),
        }


@runtime_checkable
class StateStore(Protocol):
    """Where online detectors keep sliding windows and flags (memory or Redis).

    Timestamps are epoch seconds (floats).  Every method is keyed by a string
    namespace chosen by the detector (e.g. ``"failures_per_ip|192.0.2.7"``).
    """

    def window_add(self, key: str, ts: float, member: str, weight: int, window: float) -> None:
        """Record ``weight`` events of ``member`` at ``ts``; forget those older than ``window``."""

    def window_count(self, key: str) -> int:
        """Total weight in the window of ``key`` (after the last ``window_add``)."""

    def window_distinct(self, key: str) -> int:
        """Distinct members in the window of ``key``."""

    def window_members(self, key: str, limit: int) -> list[str]:
        """Up to ``limit`` distinct members in the window of ``key``."""

    def window_span(self, key: str) -> tuple[float, float] | None:
        """Times of the oldest and newest event in the window of ``key``, if any."""

    def flag_set(self, key: str, ttl: float, now: float) -> bool:
        """Set a flag until ``now + ttl``; return ``False`` if it was already set."""

    def flag_get(self, key: str, now: float) -> bool:
        """Whether the flag is set at ``now``."""

    def counter_add(self, key: str, field_name: str, amount: int) -> int:
        """Add to a named counter of ``key``; return the new value."""

    def counters(self, key: str) -> dict[str, int]:
        """All counters of ``key``."""

    def counter_delete(self, key: str) -> None:
        """Forget the counters of ``key``."""


@runtime_checkable
class ExposureLookup(Protocol):
    """Answers "which of these attempted user names are in the exposure index?"."""

    def exposed_users(self, users: Iterable[str]) -> set[str]:
        """The subset of ``users`` (as logged) whose address is exposed.

        Raises:
            credwatch.errors.CredwatchError: when the index cannot be read.
        """


@runtime_checkable
class Detector(Protocol):
    """One detection rule, runnable over a whole log and event by event.

    The two paths implement the same definition (documented per detector in
    ``docs/hunt.md``); online alerts are raised once per key and firing period.
    """

    @property
    def name(self) -> str:
        """The rule name carried by alerts."""

    def detect_batch(self, con: duckdb.DuckDBPyConnection, events: str) -> list[Alert]:
        """Run the rule over the events table/view named ``events`` in ``con``."""

    def observe(self, event: AuthEvent, exposed: bool | None, state: StateStore) -> list[Alert]:
        """Feed one event (with its exposure flag); return alerts raised by it."""

    def flush(self, state: StateStore) -> list[Alert]:
        """Close open periods (end of input); return alerts that become due."""


@runtime_checkable
class AlertSink(Protocol):
    """Receives alerts as they are raised (JSON Lines file, console, blocklist, ...)."""

    def emit(self, alert: Alert) -> None:
        """Take one alert."""

    def close(self) -> None:
        """Flush and release resources."""
