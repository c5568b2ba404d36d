"""The ``[hunt]`` section of ``credwatch.toml``: detector thresholds and options.

Every key is optional; the defaults below are what ``credwatch hunt`` uses.  Windows
and buckets are in seconds.

```toml
[hunt]
default_domain = "nifty.com"     # domain for user names without '@' (leak correlation)

[hunt.failures_per_ip]           # brute force from one address
window = 600
threshold = 10

[hunt.leak_stuffing]
bucket = 1800
min_attempts = 20
min_lift = 0.15
z = 4.0
```

Set ``enabled = false`` in a detector's table to switch it off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from credwatch.errors import ConfigError

__all__ = [
    "DEFAULTS",
    "HuntConfig",
    "LeakParams",
    "SiteShiftParams",
    "SprayParams",
    "SuccessAfterParams",
    "WindowParams",
]


@dataclass(frozen=True, slots=True)
class WindowParams:
    """A sliding-window threshold: ``threshold`` within ``window`` seconds.

    ``min_ips`` applies to subnets only (distinct addresses needed).
    """

    window: int = 600
    threshold: int = 10
    min_ips: int = 1
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class SuccessAfterParams:
    """A success for a user after ``threshold`` failures for that user within ``window``."""

    window: int = 3600
    threshold: int = 5
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class SprayParams:
    """One address trying ``min_users`` users or more with at most ``max_per_user``
    attempts per user on average, within ``window``."""

    window: int = 3600
    min_users: int = 10
    max_per_user: float = 3.0
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class SiteShiftParams:
    """A bucket whose failure rate or unknown-user share is ``factor`` times the median
    of the ``lookback`` previous buckets (and ``min_delta`` above it), with at least
    ``min_failures`` failures and ``min_buckets`` buckets of history."""

    bucket: int = 600
    lookback: int = 12
    min_buckets: int = 3
    factor: float = 2.0
    min_delta: float = 0.1
    min_failures: int = 50
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class LeakParams:
    """Leak-correlated stuffing.

    A bucket is flagged when, among *cold* attempts (no earlier success of that user
    from that address), the share on exposed users is at least ``min_lift`` above the
    base rate and ``z`` standard errors above it, with ``min_attempts`` cold attempts.
    The base rate is the exposed share among successful logins seen up to the bucket's end
    (``base_rate`` until ``min_base`` successes were seen).  In a flagged bucket an
    address is flagged when it made a cold attempt on an exposed user that failed, or
    that succeeded for a user who had succeeded before from elsewhere, and made no cold
    attempt on an unexposed user.  Addresses from which ``shared_ip_users`` or more
    users logged in before (carrier NAT, offices) are not flagged by this rule.
    """

    bucket: int = 1800
    min_attempts: int = 20
    min_lift: float = 0.15
    z: float = 4.0
    base_rate: float = 0.5
    min_base: int = 100
    history: int = 86400 * 30
    shared_ip_users: int = 3
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class HuntConfig:
    """Every detector's parameters (the parsed ``[hunt]`` section)."""

    default_domain: str | None = None
    failures_per_ip: WindowParams = WindowParams(window=600, threshold=10)
    failures_per_subnet: WindowParams = WindowParams(window=3600, threshold=50, min_ips=3)
    users_per_ip: WindowParams = WindowParams(window=3600, threshold=5)
    ips_per_user: WindowParams = WindowParams(window=3600, threshold=5)
    success_after_failures: SuccessAfterParams = field(default_factory=SuccessAfterParams)
    spraying: SprayParams = field(default_factory=SprayParams)
    site_shift: SiteShiftParams = field(default_factory=SiteShiftParams)
    leak_stuffing: LeakParams = field(default_factory=LeakParams)

    @classmethod
    def from_section(cls, section: Mapping[str, Any], where: str = "credwatch.toml") -> HuntConfig:
        """Parse ``[hunt]``.

        Raises:
            ConfigError: on an unknown key or a value of the wrong type.
        """
        base = cls()
        changes: dict[str, Any] = {}
        known = {f.name for f in fields(cls)}
        for key, value in section.items():
            if key not in known:
                raise ConfigError(
                    f"{where}: unknown key hunt.{key}", hint=f"known: {', '.join(sorted(known))}"
                )
            if key == "default_domain":
                if not isinstance(value, str) or "@" in value or not value:
                    raise ConfigError(f"{where}: hunt.default_domain must be a domain name")
                changes[key] = value.strip().lower()
                continue
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: [hunt.{key}] must be a table")
            current = getattr(base, key)
            sub: dict[str, Any] = {}
            allowed = {f.name: f for f in fields(current)}
            for name, item in value.items():
                if name not in allowed:
                    raise ConfigError(
                        f"{where}: unknown key hunt.{key}.{name}",
                        hint=f"known: {', '.join(sorted(allowed))}",
                    )
                expected = type(getattr(current, name))
                if expected is bool and not isinstance(item, bool):
                    raise ConfigError(f"{where}: hunt.{key}.{name} must be true or false")
                if expected in (int, float) and (
                    isinstance(item, bool) or not isinstance(item, (int, float)) or item < 0
                ):
                    raise ConfigError(f"{where}: hunt.{key}.{name} must be a non-negative number")
                if expected is int and isinstance(item, float) and not item.is_integer():
                    raise ConfigError(f"{where}: hunt.{key}.{name} must be a whole number")
                sub[name] = expected(item)
            changes[key] = replace(current, **sub)
        return replace(base, **changes)


#: The defaults, as documented in docs/hunt.md.
DEFAULTS = HuntConfig()
