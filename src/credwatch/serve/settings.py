"""The ``[serve]`` section of ``credwatch.toml``.

Example::

    [serve]
    token_file = "/etc/credwatch/serve.token"   # or token = "..." (bearer for /v1/*)
    redis_url = "redis://127.0.0.1:6379/0"      # shared policy state; memory otherwise
    workers = 2
    padding_rows = 1000                          # Add-Padding: at least this many rows
    cache_mb = 128                               # rendered range bodies, per worker
    flag_ttl_seconds = 3600                      # how long a flagged source stays flagged
    policy_delay_seconds = 0                     # 0: reject flagged logins; N: delay them N s
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credwatch.config import Config
from credwatch.errors import ConfigError

__all__ = ["ServeSettings", "load_settings"]

_INT_KEYS = {
    "workers": (1, 64),
    "padding_rows": (0, 100_000),
    "cache_mb": (0, 65_536),
    "flag_ttl_seconds": (1, 30 * 86_400),
    "policy_delay_seconds": (0, 300),
}
_KNOWN = {"token", "token_file", "redis_url", *_INT_KEYS}


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Settings of ``credwatch serve`` (see the module docstring for the TOML form).

    Attributes:
        token: the bearer token of ``/v1/*`` (never in ``repr``); ``None`` refuses every
            ``/v1/check`` and flag request with 401.
        redis_url: Redis for the policy state shared across workers, or ``None`` (memory).
        workers: uvicorn worker processes.
        padding_rows: minimum rows of a padded range response.
        cache_mb: per-worker cache of rendered range bodies (0 disables it).
        flag_ttl_seconds: lifetime of a flag raised by a detector or set through the API.
        policy_delay_seconds: 0 rejects flagged logins; a positive value delays them instead.
    """

    token: str | None = field(default=None, repr=False)
    redis_url: str | None = None
    workers: int = 1
    padding_rows: int = 1000
    cache_mb: int = 128
    flag_ttl_seconds: int = 3600
    policy_delay_seconds: int = 0


def load_settings(config: Config) -> ServeSettings:
    """Parse and validate ``[serve]``.

    Raises:
        ConfigError: an unknown key, a value of the wrong type or range, both ``token``
            and ``token_file``, or an unreadable or empty token file.
    """
    section: Mapping[str, Any] = config.section("serve")
    unknown = set(section) - _KNOWN
    if unknown:
        raise ConfigError(
            f"[serve]: unknown keys: {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(sorted(_KNOWN))}",
        )
    ints: dict[str, int] = {}
    for key, (low, high) in _INT_KEYS.items():
        if key in section:
            value = section[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(f"[serve] {key} must be an integer from {low} to {high}")
            ints[key] = value
    redis_url = section.get("redis_url")
    if redis_url is not None and not isinstance(redis_url, str):
        raise ConfigError("[serve] redis_url must be a string such as redis://127.0.0.1:6379/0")
    return ServeSettings(token=_token(section), redis_url=redis_url or None, **ints)


def _token(section: Mapping[str, Any]) -> str | None:
    token = section.get("token")
    token_file = section.get("token_file")
    if token is not None and token_file is not None:
        raise ConfigError("[serve]: set token or token_file, not both")
    if token_file is not None:
        if not isinstance(token_file, str):
            raise ConfigError("[serve] token_file must be a path string")
        path = Path(token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"[serve] token_file {path}: unreadable ({exc})") from None
    if token is None:
        return None
    if not isinstance(token, str) or len(token.strip()) < 16:
        raise ConfigError(
            "[serve] the token must be a string of at least 16 characters",
            hint='generate one with: python3 -c "import secrets; print(secrets.token_urlsafe())"',
        )
    return token.strip()
