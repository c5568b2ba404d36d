"""The online detectors of :mod:`credwatch.hunt` behind the policy endpoint.

Every ``command=report`` from Dovecot becomes a hunt ``AuthEvent`` fed to
:class:`~credwatch.hunt.OnlineHunter` (the same rules ``credwatch hunt`` runs over log
files, with their state in memory or in Redis).  The alerts it raises become flags:

* ``ip`` and ``subnet`` alerts flag that source;
* ``user`` alerts are about the reported event's user, who is flagged by keyed hash;
* ``site`` alerts (a site-wide shift) flag nobody in particular and are only counted.

Only alerts of severity ``medium`` or above flag anything.

Example:
    >>> hunter = OnlineHunter.from_config(HuntConfig(), MemoryState())       # doctest: +SKIP
    >>> observer = HuntObserver(hunter, user_key=lambda u: u, ttl=3600)      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

from credwatch.hunt import Alert, AuthEvent, OnlineHunter
from credwatch.serve.interface import Flag, PolicyEvent

__all__ = ["FLAGGING_SEVERITIES", "HuntObserver"]

FLAGGING_SEVERITIES = frozenset({"medium", "high", "critical"})


class HuntObserver:
    """An :class:`~credwatch.serve.interface.EventObserver` over hunt's online detectors.

    Args:
        hunter: the online detectors and their state.
        user_key: the key user flags are stored under (keyed hash of the address).
        ttl: lifetime of the flags raised, in seconds.
    """

    def __init__(
        self, hunter: OnlineHunter, *, user_key: Callable[[str], str | None], ttl: float
    ) -> None:
        self._hunter = hunter
        self._user_key = user_key
        self._ttl = ttl
        self.alerts_seen = 0

    def observe(self, event: PolicyEvent, now: float) -> list[Flag]:
        """Feed one reported authentication; return the flags its alerts raise."""
        auth = AuthEvent(
            ts=event.ts,
            service="dovecot",
            protocol=event.protocol or "unknown",
            user=event.user,
            src_ip=event.src_ip,
            outcome="success" if event.success else "failure",
            reason="ok" if event.success else "auth_failed",
        )
        alerts = self._hunter.observe(auth, event.exposed)
        self.alerts_seen += len(alerts)
        return [f for a in alerts if (f := self._flag(a, event, now)) is not None]

    def _flag(self, alert: Alert, event: PolicyEvent, now: float) -> Flag | None:
        if alert.severity not in FLAGGING_SEVERITIES:
            return None
        until = now + self._ttl
        if alert.key_type in ("ip", "subnet"):
            return Flag(kind=alert.key_type, key=alert.key, until=until, rule=alert.rule)
        if alert.key_type == "user" and event.user is not None:
            key = self._user_key(event.user)
            if key is not None:
                return Flag(kind="user", key=key, until=until, rule=alert.rule)
        return None
