"""State stores for online detectors: in memory (one process) or Redis (shared).

Both implement :class:`credwatch.hunt.interface.StateStore` with the same semantics:
a sliding window per key (weighted events with a member), flags with an expiry, and
named counters.  Times are epoch seconds supplied by the caller (events carry their
own time), never the wall clock, so replaying a log gives the same answers.

Example:
    >>> s = MemoryState()
    >>> s.window_add("k", 0.0, "u1", 1, 60.0); s.window_add("k", 30.0, "u2", 2, 60.0)
    >>> s.window_count("k"), s.window_distinct("k")
    (3, 2)
"""

from __future__ import annotations

import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from credwatch.errors import ExternalServiceError

__all__ = ["MemoryState", "RedisState"]


@dataclass(slots=True)
class _Window:
    items: deque[tuple[float, str, int]] = field(default_factory=deque)
    total: int = 0
    members: Counter[str] = field(default_factory=Counter)


class MemoryState:
    """Detector state in this process's memory."""

    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._flags: dict[str, float] = {}
        self._counters: dict[str, Counter[str]] = {}

    def window_add(self, key: str, ts: float, member: str, weight: int, window: float) -> None:
        """Record ``weight`` events of ``member`` at ``ts``; drop those older than ``window``."""
        win = self._windows.setdefault(key, _Window())
        win.items.append((ts, member, weight))
        win.total += weight
        win.members[member] += 1
        # Events may arrive slightly out of order: expire relative to the newest time.
        newest = max(ts, win.items[-1][0])
        horizon = newest - window
        while win.items and win.items[0][0] < horizon:
            _, old_member, old_weight = win.items.popleft()
            win.total -= old_weight
            win.members[old_member] -= 1
            if win.members[old_member] <= 0:
                del win.members[old_member]

    def window_count(self, key: str) -> int:
        """Total weight in the window."""
        win = self._windows.get(key)
        return win.total if win else 0

    def window_distinct(self, key: str) -> int:
        """Distinct members in the window."""
        win = self._windows.get(key)
        return len(win.members) if win else 0

    def window_members(self, key: str, limit: int) -> list[str]:
        """Up to ``limit`` distinct members, oldest first."""
        win = self._windows.get(key)
        return list(win.members)[:limit] if win else []

    def window_span(self, key: str) -> tuple[float, float] | None:
        """Times of the oldest and newest event in the window."""
        win = self._windows.get(key)
        if not win or not win.items:
            return None
        return win.items[0][0], win.items[-1][0]

    def flag_set(self, key: str, ttl: float, now: float) -> bool:
        """Set a flag until ``now + ttl``; ``False`` if it was already set."""
        expiry = self._flags.get(key)
        if expiry is not None and expiry > now:
            return False
        self._flags[key] = now + ttl
        return True

    def flag_get(self, key: str, now: float) -> bool:
        """Whether the flag is set at ``now``."""
        expiry = self._flags.get(key)
        return expiry is not None and expiry > now

    def counter_add(self, key: str, field_name: str, amount: int) -> int:
        """Add to a counter; return its new value."""
        counters = self._counters.setdefault(key, Counter())
        counters[field_name] += amount
        return counters[field_name]

    def counters(self, key: str) -> dict[str, int]:
        """All counters of ``key``."""
        return dict(self._counters.get(key, {}))

    def counter_delete(self, key: str) -> None:
        """Forget the counters of ``key``."""
        self._counters.pop(key, None)


class RedisState:
    """Detector state in Redis, shared by every worker of ``credwatch serve``.

    Windows are two sorted sets per key (events scored by time; members scored by their
    last time, for distinct counts); flags are keys with an expiry stamp; counters are
    hashes.  Every key is under ``prefix`` and expires after ``ttl`` seconds of silence.

    Args:
        client: a ``redis.Redis`` client (``decode_responses=True``).
        prefix: namespace of every key.
        ttl: idle expiry of every key, in seconds.

    Raises:
        ExternalServiceError: when Redis fails (from every method).
    """

    def __init__(
        self, client: redis.Redis, *, prefix: str = "credwatch:hunt:", ttl: int = 86400 * 30
    ) -> None:
        self._r = client
        self._prefix = prefix
        self._ttl = ttl

    def _k(self, *parts: str) -> str:
        return self._prefix + "|".join(parts)

    def _call(self, fn: Callable[..., Any], *args: object) -> Any:
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise ExternalServiceError(
                f"Redis failed: {type(exc).__name__}", hint="check the Redis server"
            ) from None

    def window_add(self, key: str, ts: float, member: str, weight: int, window: float) -> None:
        """Record ``weight`` events of ``member`` at ``ts``; drop those older than ``window``."""
        events, members, totals = self._k("w", key), self._k("m", key), self._k("t", key)

        def run() -> None:
            pipe = self._r.pipeline()
            pipe.zadd(events, {f"{ts}|{weight}|{member}|{uuid.uuid4().hex[:8]}": ts})
            pipe.zadd(members, {member: ts}, gt=True)
            pipe.zadd(members, {member: ts}, nx=True)
            pipe.zremrangebyscore(events, "-inf", f"({ts - window}")
            pipe.zremrangebyscore(members, "-inf", f"({ts - window}")
            for k in (events, members, totals):
                pipe.expire(k, self._ttl)
            pipe.execute()

        self._call(run)

    def window_count(self, key: str) -> int:
        """Total weight in the window."""
        items = self._call(self._r.zrange, self._k("w", key), 0, -1)
        return sum(int(str(item).split("|", 2)[1]) for item in items)

    def window_distinct(self, key: str) -> int:
        """Distinct members in the window."""
        return int(self._call(self._r.zcard, self._k("m", key)))

    def window_members(self, key: str, limit: int) -> list[str]:
        """Up to ``limit`` distinct members, oldest first."""
        return [str(m) for m in self._call(self._r.zrange, self._k("m", key), 0, limit - 1)]

    def window_span(self, key: str) -> tuple[float, float] | None:
        """Times of the oldest and newest event in the window."""
        k = self._k("w", key)
        first = self._call(self._r.zrange, k, 0, 0, False, True)
        last = self._call(self._r.zrange, k, -1, -1, False, True)
        if not first or not last:
            return None
        return float(first[0][1]), float(last[0][1])

    def flag_set(self, key: str, ttl: float, now: float) -> bool:
        """Set a flag until ``now + ttl``; ``False`` if it was already set."""
        k = self._k("f", key)
        current = self._call(self._r.get, k)
        if current is not None and float(current) > now:
            return False
        self._call(self._r.set, k, str(now + ttl), None, None)
        self._call(self._r.expire, k, max(int(ttl) + 1, 1) if ttl < self._ttl else self._ttl)
        return True

    def flag_get(self, key: str, now: float) -> bool:
        """Whether the flag is set at ``now``."""
        current = self._call(self._r.get, self._k("f", key))
        return current is not None and float(current) > now

    def counter_add(self, key: str, field_name: str, amount: int) -> int:
        """Add to a counter; return its new value."""
        k = self._k("c", key)
        value = int(self._call(self._r.hincrby, k, field_name, amount))
        self._call(self._r.expire, k, self._ttl)
        return value

    def counters(self, key: str) -> dict[str, int]:
        """All counters of ``key``."""
        raw = self._call(self._r.hgetall, self._k("c", key))
        return {str(k): int(v) for k, v in raw.items()}

    def counter_delete(self, key: str) -> None:
        """Forget the counters of ``key``."""
        self._call(self._r.delete, self._k("c", key))
