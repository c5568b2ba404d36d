"""The Dovecot auth-policy decisions (what ``auth_policy_server_url`` calls).

Dovecot (2.2.27+) POSTs a JSON object built from ``auth_policy_request_attributes``
(default ``login=%{requested_username} pwhash=%{hashed_password} remote=%{rip}
device_id=%{client_id} protocol=%s session_id=%{session}``) to the URL with
``?command=allow`` before (and after) authenticating, and with ``?command=report``
(adding ``success`` and ``policy_reject``) once it is done.  It reads ``status`` from
the answer to ``allow``: negative refuses the login, positive delays it that many
seconds, 0 lets it through; ``msg`` becomes the refusal reason.  This is the protocol
PowerDNS weakforced implements.

Here ``allow`` refuses (or delays) logins from a flagged IP or subnet and logins of a
flagged user (under an active stuffing alert); ``report`` feeds the event to the online
detectors (:class:`~credwatch.serve.interface.EventObserver`), whose alerts become
flags.  User names are turned into keyed hashes at once and never stored or logged.

Example:
    >>> engine = PolicyEngine(MemoryFlagStore(), user_key=lambda u: u, observer=None)
    >>> engine.allow({"login": "taro@nifty.com", "remote": "192.0.2.7"}, now=0.0)
    PolicyDecision(status=0, msg='')
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credwatch.serve.flags_memory import MemoryFlagStore
from credwatch.serve.interface import EventObserver, Flag, FlagKind, FlagStore, PolicyEvent

__all__ = ["PolicyDecision", "PolicyEngine", "subnet_of"]

REFUSAL_MESSAGE = "Authentication refused by policy"


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The answer Dovecot reads: ``status`` (<0 refuse, >0 delay seconds, 0 allow), ``msg``."""

    status: int
    msg: str

    def to_json(self) -> dict[str, int | str]:
        """The JSON body of the answer."""
        return {"status": self.status, "msg": self.msg}


def subnet_of(ip: str) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) of an address, ``None`` when it is not one."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    bits = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{bits}", strict=False))


def _ip(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes"}


class PolicyEngine:
    """Decides ``allow`` requests and takes ``report`` events.

    Args:
        flags: where flags live (memory or Redis).
        user_key: turns a login name into the key user flags are stored under (the
            keyed hash of the normalised address), or ``None`` for an unusable name.
        observer: the online detectors, or ``None`` (flags then come only from the API).
        exposed: whether a login name is in the exposure index (``None``: unknown).
        delay_seconds: 0 refuses flagged logins; a positive value delays them instead.
    """

    def __init__(
        self,
        flags: FlagStore | None,
        *,
        user_key: Callable[[str], str | None],
        observer: EventObserver | None,
        exposed: Callable[[str], bool | None] = lambda _user: None,
        delay_seconds: int = 0,
    ) -> None:
        self.flags: FlagStore = flags if flags is not None else MemoryFlagStore()
        self._user_key = user_key
        self._observer = observer
        self._exposed = exposed
        self._delay = delay_seconds

    def keys_for(self, attributes: Mapping[str, Any]) -> list[tuple[FlagKind, str]]:
        """The flag keys a request is checked against: IP, its subnet, the user."""
        keys: list[tuple[FlagKind, str]] = []
        ip = _ip(attributes.get("remote"))
        if ip is not None:
            keys.append(("ip", ip))
            subnet = subnet_of(ip)
            if subnet is not None:
                keys.append(("subnet", subnet))
        login = attributes.get("login")
        if isinstance(login, str) and login:
            user = self._user_key(login)
            if user is not None:
                keys.append(("user", user))
        return keys

    def allow(self, attributes: Mapping[str, Any], now: float) -> PolicyDecision:
        """Answer ``command=allow``: refuse or delay a flagged source or user."""
        flag = self.flags.active(self.keys_for(attributes), now)
        if flag is None:
            return PolicyDecision(0, "")
        if self._delay > 0:
            return PolicyDecision(self._delay, "")
        return PolicyDecision(-1, REFUSAL_MESSAGE)

    def report(self, attributes: Mapping[str, Any], now: float) -> list[Flag]:
        """Take ``command=report``: feed the detectors, store the flags they raise."""
        login = attributes.get("login")
        user = login if isinstance(login, str) and login else None
        protocol = attributes.get("protocol")
        event = PolicyEvent(
            ts=datetime.fromtimestamp(now, UTC).replace(tzinfo=None),
            protocol=protocol if isinstance(protocol, str) else "",
            user=user,
            src_ip=_ip(attributes.get("remote")),
            success=_truthy(attributes.get("success", False)),
            policy_reject=_truthy(attributes.get("policy_reject", False)),
            exposed=self._exposed(user) if user is not None else None,
        )
        if self._observer is None:
            return []
        raised = self._observer.observe(event, now)
        for flag in raised:
            self.flags.set(flag, now)
        return raised

    def flag(self, kind: FlagKind, key: str, ttl: float, rule: str, now: float) -> Flag:
        """Set a flag by hand (the ``/v1/policy/flags`` API); users by login name."""
        stored = key
        if kind == "user":
            user = self._user_key(key)
            if user is None:
                raise ValueError("not a usable user name")
            stored = user
        elif kind == "ip":
            ip = _ip(key)
            if ip is None:
                raise ValueError("not an IP address")
            stored = ip
        else:
            try:
                network = ipaddress.ip_network(key.strip(), strict=False)
            except ValueError:
                raise ValueError("not a subnet") from None
            if network.prefixlen != (24 if network.version == 4 else 64):
                raise ValueError("subnets are /24 (IPv4) or /64 (IPv6)")
            stored = str(network)
        flag = Flag(kind=kind, key=stored, until=now + ttl, rule=rule)
        self.flags.set(flag, now)
        return flag
