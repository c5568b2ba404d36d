"""Flags in the worker's memory (one worker, or tests; lost on restart)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from credwatch.serve.interface import Flag, FlagKind

__all__ = ["MemoryFlagStore"]


class MemoryFlagStore:
    """A :class:`~credwatch.serve.interface.FlagStore` in a dict (thread-safe).

    Example:
        >>> store = MemoryFlagStore()
        >>> store.set(Flag("ip", "192.0.2.7", until=100.0, rule="api"), now=0.0)
        >>> store.active([("ip", "192.0.2.7")], now=50.0).rule
        'api'
    """

    def __init__(self) -> None:
        self._flags: dict[tuple[str, str], Flag] = {}
        self._lock = threading.Lock()

    def set(self, flag: Flag, now: float) -> None:
        """Set or extend a flag (a later ``until`` wins)."""
        with self._lock:
            old = self._flags.get((flag.kind, flag.key))
            if old is None or old.until < flag.until:
                self._flags[(flag.kind, flag.key)] = flag
            if len(self._flags) > 100_000:
                self._flags = {k: f for k, f in self._flags.items() if f.until > now}

    def active(self, keys: Sequence[tuple[FlagKind, str]], now: float) -> Flag | None:
        """The first flagged key at ``now``."""
        with self._lock:
            for key in keys:
                flag = self._flags.get(key)
                if flag is not None and flag.until > now:
                    return flag
        return None

    def clear(self, kind: FlagKind, key: str) -> bool:
        """Remove a flag."""
        with self._lock:
            return self._flags.pop((kind, key), None) is not None
