"""Online hunting: the same detectors, event by event, with state in memory or Redis.

``credwatch hunt --follow`` and the Dovecot auth-policy endpoint of ``credwatch serve``
both drive an :class:`OnlineHunter`.  Alerts with ``key_type == "user"`` raised by
:meth:`OnlineHunter.observe` are always about the user of the event just observed (the
alert's key is masked; callers that need to act on the user use the event's user).

Example:
    >>> hunter = OnlineHunter.from_config(HuntConfig(), MemoryState())
    >>> hunter.observe(event, exposed=None)                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from credwatch.hunt.batch import build_detectors
from credwatch.hunt.config import HuntConfig
from credwatch.hunt.detectors import UserTokenizer
from credwatch.hunt.interface import Alert, AuthEvent, Detector, StateStore

__all__ = ["OnlineHunter"]


@dataclass(slots=True)
class OnlineHunter:
    """Feeds events to detectors one at a time.

    Attributes:
        detectors: the rules (see :func:`credwatch.hunt.batch.build_detectors`).
        state: where windows, flags and counters live.
    """

    detectors: Sequence[Detector]
    state: StateStore

    @classmethod
    def from_config(
        cls,
        config: HuntConfig,
        state: StateStore,
        *,
        secret: bytes = b"credwatch-hunt-memory-only",
        leak: bool = True,
    ) -> OnlineHunter:
        """Build every enabled detector of ``config``.

        Args:
            config: thresholds.
            state: :class:`~credwatch.hunt.state.MemoryState` or
                :class:`~credwatch.hunt.state.RedisState`.
            secret: keys the tokens user names become in state (use a workspace secret
                when the state is shared, e.g. the pepper).
            leak: include ``leak_stuffing`` (the caller supplies exposure flags).
        """
        return cls(build_detectors(config, UserTokenizer(secret), leak=leak), state)

    def observe(self, event: AuthEvent, exposed: bool | None = None) -> list[Alert]:
        """Feed one event; return the alerts it raises (possibly several)."""
        return [a for d in self.detectors for a in d.observe(event, exposed, self.state)]

    def flush(self) -> list[Alert]:
        """End of input: alerts of periods still open (site-wide buckets)."""
        return [a for d in self.detectors for a in d.flush(self.state)]
