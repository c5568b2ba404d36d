"""The pluggable parts of the policy endpoint: where flags live, what raises them.

* :class:`FlagStore`: flags with a lifetime on IPs, subnets and users, shared by every
  worker (Redis, :mod:`credwatch.serve.flags_redis`) or per process
  (:mod:`credwatch.serve.flags_memory`).  User flags are keyed by the keyed hash of the
  normalised address, never the address.
* :class:`EventObserver`: takes the auth events Dovecot reports and returns the flags
  its detectors raise (the online detectors of ``credwatch.hunt``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

__all__ = ["EventObserver", "Flag", "FlagKind", "FlagStore", "PolicyEvent"]

FlagKind = Literal["ip", "subnet", "user"]


@dataclass(frozen=True, slots=True)
class Flag:
    """A source or user to refuse until ``until`` (epoch seconds).

    Attributes:
        kind: ``ip``, ``subnet`` (``a.b.c.0/24`` or an IPv6 ``/64``) or ``user``.
        key: the IP, the subnet, or the hex keyed hash of the user's address.
        until: epoch seconds.
        rule: what raised it (a detector name, or ``api``).
    """

    kind: FlagKind
    key: str
    until: float
    rule: str


@dataclass(frozen=True, slots=True)
class PolicyEvent:
    """One authentication Dovecot reported (``command=report``).

    Attributes:
        ts: when the report arrived (naive UTC).
        protocol: ``imap``, ``pop3``, ``submission``, ... (as Dovecot sends it).
        user: the login name as sent; kept in memory only, never stored or logged.
        src_ip: the client address, if any.
        success: whether the authentication succeeded.
        policy_reject: whether the policy had refused it.
        exposed: whether the user's address is in the exposure index (``None``: unknown).
    """

    ts: datetime
    protocol: str
    user: str | None
    src_ip: str | None
    success: bool
    policy_reject: bool
    exposed: bool | None


@runtime_checkable
class FlagStore(Protocol):
    """Flags with a lifetime, looked up on every ``command=allow``."""

    def set(self, flag: Flag, now: float) -> None:
        """Set (or extend) a flag."""

    def active(self, keys: Sequence[tuple[FlagKind, str]], now: float) -> Flag | None:
        """The first of ``keys`` flagged at ``now``, if any."""

    def clear(self, kind: FlagKind, key: str) -> bool:
        """Remove a flag; return whether it existed."""


@runtime_checkable
class EventObserver(Protocol):
    """Online detection over reported auth events."""

    def observe(self, event: PolicyEvent, now: float) -> list[Flag]:
        """Feed one event; return the flags it raises (possibly none)."""
