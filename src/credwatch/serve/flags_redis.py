"""Flags in Redis: shared by every worker and surviving restarts.

Each flag is one key ``PREFIX:flag:KIND:KEY`` holding ``rule`` with a millisecond
expiry, so Redis forgets expired flags by itself.  User keys are keyed hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from credwatch.errors import ExternalServiceError
from credwatch.serve.interface import Flag, FlagKind

__all__ = ["RedisFlagStore"]


class RedisFlagStore:
    """A :class:`~credwatch.serve.interface.FlagStore` on a Redis server.

    Args:
        client: a ``redis.Redis`` client (injected; tests pass one to the real server).
        prefix: the namespace of every key.

    Raises:
        ExternalServiceError: (from every method) when Redis fails.

    Example:
        >>> client = redis.Redis.from_url("redis://127.0.0.1:6379/0")  # doctest: +SKIP
        >>> store = RedisFlagStore(client)                              # doctest: +SKIP
    """

    def __init__(self, client: redis.Redis, prefix: str = "credwatch") -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, kind: str, key: str) -> str:
        return f"{self._prefix}:flag:{kind}:{key}"

    def set(self, flag: Flag, now: float) -> None:
        """Set or extend a flag (a later expiry wins: ``PEXPIREAT ... GT``)."""
        at_ms = int(flag.until * 1000)
        if at_ms <= int(now * 1000):
            return
        name = self._key(flag.kind, flag.key)
        try:
            pipe = self._client.pipeline()
            pipe.set(name, flag.rule, nx=True, pxat=at_ms)
            pipe.pexpireat(name, at_ms, gt=True)
            pipe.execute()
        except redis.RedisError as exc:
            raise ExternalServiceError(f"Redis failed while setting a flag: {exc}") from None

    def active(self, keys: Sequence[tuple[FlagKind, str]], now: float) -> Flag | None:
        """The first flagged key (Redis expiry decides; ``now`` is informational)."""
        if not keys:
            return None
        names = [self._key(kind, key) for kind, key in keys]
        try:
            pipe = self._client.pipeline()
            for name in names:
                pipe.get(name)
                pipe.pexpiretime(name)
            values = pipe.execute()
        except redis.RedisError as exc:
            raise ExternalServiceError(f"Redis failed while reading flags: {exc}") from None
        for i, (kind, key) in enumerate(keys):
            rule, expires_ms = values[2 * i], values[2 * i + 1]
            if rule is not None and isinstance(expires_ms, int) and expires_ms > 0:
                text = rule.decode() if isinstance(rule, bytes) else str(rule)
                return Flag(kind=kind, key=key, until=expires_ms / 1000, rule=text)
        return None

    def clear(self, kind: FlagKind, key: str) -> bool:
        """Remove a flag."""
        try:
            return bool(self._client.delete(self._key(kind, key)))
        except redis.RedisError as exc:
            raise ExternalServiceError(f"Redis failed while clearing a flag: {exc}") from None
