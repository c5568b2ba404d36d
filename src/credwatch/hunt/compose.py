"""Combining detectors: :class:`AnyOf` (union) and :class:`AllOf` (same key fired by all).

Example:
    >>> from credwatch.hunt.config import DEFAULTS
    >>> from credwatch.hunt.detectors import FailuresPerIp, UsersPerIp
    >>> strict = AllOf("brute_force_many_users",
    ...                (FailuresPerIp(DEFAULTS.failures_per_ip), UsersPerIp(DEFAULTS.users_per_ip)))
    >>> strict.name
    'brute_force_many_users'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from credwatch.hunt.interface import Alert, AuthEvent, Detector, StateStore

if TYPE_CHECKING:
    import duckdb

__all__ = ["AllOf", "AnyOf"]


@dataclass(slots=True)
class AnyOf:
    """Every alert of every child detector (they keep their own rule names)."""

    name: str
    children: Sequence[Detector]

    def detect_batch(self, con: duckdb.DuckDBPyConnection, events: str) -> list[Alert]:
        """All children's alerts."""
        return [a for d in self.children for a in d.detect_batch(con, events)]

    def observe(self, event: AuthEvent, exposed: bool | None, state: StateStore) -> list[Alert]:
        """All children's alerts for this event."""
        return [a for d in self.children for a in d.observe(event, exposed, state)]

    def flush(self, state: StateStore) -> list[Alert]:
        """All children's pending alerts."""
        return [a for d in self.children for a in d.flush(state)]


@dataclass(slots=True)
class AllOf:
    """An alert on a key only when every child fired on that same key.

    The combined alert is named ``name``, takes the highest severity, the widest time
    span and the children's evidence under their rule names.  Online, a key fires when
    the last child to fire on it does (children's firings are remembered per key in
    this object, so the combination runs in one process).
    """

    name: str
    children: Sequence[Detector]
    _seen: dict[tuple[str, str], dict[str, Alert]] = field(default_factory=dict)

    def _combine(self, parts: list[Alert]) -> Alert:
        order = {"low": 0, "medium": 1, "high": 2, "critical": 3}
        top = max(parts, key=lambda a: order[a.severity])
        return Alert(
            rule=self.name,
            key_type=parts[0].key_type,
            key=parts[0].key,
            severity=top.severity,
            first_seen=min(a.first_seen for a in parts),
            last_seen=max(a.last_seen for a in parts),
            count=max(a.count for a in parts),
            evidence={a.rule: dict(a.evidence) for a in parts},
        )

    def detect_batch(self, con: duckdb.DuckDBPyConnection, events: str) -> list[Alert]:
        """Alerts on keys every child fired on."""
        per_child = [
            {(a.key_type, a.key): a for a in d.detect_batch(con, events)} for d in self.children
        ]
        if not per_child:
            return []
        common = set(per_child[0]).intersection(*per_child[1:])
        return [self._combine([c[k] for c in per_child]) for k in sorted(common)]

    def _feed(self, alerts: list[Alert]) -> list[Alert]:
        out = []
        for alert in alerts:
            got = self._seen.setdefault((alert.key_type, alert.key), {})
            first_time = alert.rule not in got
            got[alert.rule] = alert
            if first_time and len(got) == len({d.name for d in self.children}):
                out.append(self._combine(list(got.values())))
        return out

    def observe(self, event: AuthEvent, exposed: bool | None, state: StateStore) -> list[Alert]:
        """Alerts on keys whose last child fires with this event."""
        return self._feed([a for d in self.children for a in d.observe(event, exposed, state)])

    def flush(self, state: StateStore) -> list[Alert]:
        """Combined alerts that become due at the end of input."""
        return self._feed([a for d in self.children for a in d.flush(state)])
