"""HTTP authentication failures in nginx and Apache error logs.

User names are attacker-controlled and may contain ``", client: 127.0.0.1``: the
address taken is the last ``client:`` of the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from credwatch.hunt.interface import LineRule
from credwatch.hunt.patterns import IP

__all__ = ["APACHE", "NGINX", "ApacheParser", "NginxParser"]

_NGINX_CLIENT = r", client: " + IP + r", server: "

_NGINX = (
    LineRule(
        name="nginx.unknown_user",
        needles=('user "', "was not found in", ", client: "),
        pattern=r"user \"(?P<user>.*)\":? was not found in \"[^\"]*\"" + _NGINX_CLIENT,
        service="nginx",
        protocol="http",
        outcome="failure",
        reason="unknown_user",
    ),
    LineRule(
        name="nginx.password_mismatch",
        needles=('user "', "password mismatch, client: "),
        pattern=r"user \"(?P<user>.*)\": password mismatch" + _NGINX_CLIENT,
        service="nginx",
        protocol="http",
        outcome="failure",
        reason="password_mismatch",
    ),
    LineRule(
        name="nginx.pam",
        needles=("PAM: user '", "not authenticated"),
        pattern=r"PAM: user '(?P<user>.*)' - not authenticated: [^,]*" + _NGINX_CLIENT,
        service="nginx",
        protocol="http",
        outcome="failure",
        reason="password_mismatch",
    ),
)

_CLIENT = r"\[(?:client|remote) \[?" + IP + r"\]?(?::\d+)?\] (?:AH\d+: )?(?:Digest: )?"

_APACHE = (
    LineRule(
        name="apache.unknown_user",
        needles=(" not found",),
        pattern=_CLIENT + r"user (?P<user>.*?) not found",
        service="apache",
        protocol="http",
        outcome="failure",
        reason="unknown_user",
    ),
    LineRule(
        name="apache.digest_unknown_user",
        needles=("user `", "' not found"),
        pattern=_CLIENT + r"user `(?P<user>.*?)' in realm `[^']*' not found",
        service="apache",
        protocol="http",
        outcome="failure",
        reason="unknown_user",
    ),
    LineRule(
        name="apache.password_mismatch",
        needles=("authentication failure for",),
        pattern=_CLIENT + r"user (?P<user>.*?): authentication failure for",
        service="apache",
        protocol="http",
        outcome="failure",
        reason="password_mismatch",
    ),
    LineRule(
        name="apache.digest_mismatch",
        needles=(": password mismatch",),
        pattern=_CLIENT + r"user (?P<user>.*?): password mismatch",
        service="apache",
        protocol="http",
        outcome="failure",
        reason="password_mismatch",
    ),
)


@dataclass(frozen=True, slots=True)
class NginxParser:
    """nginx ``auth_basic`` / ``auth_pam`` failures (``--format nginx``)."""

    name: str = "nginx"
    rules: tuple[LineRule, ...] = _NGINX


@dataclass(frozen=True, slots=True)
class ApacheParser:
    """Apache ``mod_auth_basic`` / ``mod_auth_digest`` failures (``--format apache``)."""

    name: str = "apache"
    rules: tuple[LineRule, ...] = _APACHE


APACHE = ApacheParser()
NGINX = NginxParser()
