"""Roundcube: ``userlogins`` (``Successful login`` / ``Failed login``) and ``IMAP Error:
Login failed`` lines.

User names are attacker-controlled and may contain `` from 1.2.3.4`` themselves; the
address taken is the last ``from`` before the end, ``.``, ``(``, `` in`` or
`` AUTHENTICATE``.
"""

from __future__ import annotations

from dataclasses import dataclass

from credwatch.hunt.interface import LineRule
from credwatch.hunt.patterns import IP

__all__ = ["ROUNDCUBE", "RoundcubeParser"]

_TAIL = r"(?:\.? (?:AUTHENTICATE|in session|\(error)|\.?$|\.? in /|\(X-Real-IP)"

_RULES = (
    LineRule(
        name="roundcube.login",
        needles=("Successful login for ",),
        pattern=r"Successful login for (?P<user>.*?)(?: \(ID: \d+\))? from " + IP + _TAIL,
        service="roundcube",
        protocol="http",
        outcome="success",
        reason="ok",
    ),
    LineRule(
        name="roundcube.failed",
        needles=("ogin failed for ",),
        pattern=r"(?:IMAP Error: )?Login failed for (?P<user>.*?)(?: against \S+)? from "
        + IP
        + _TAIL,
        service="roundcube",
        protocol="http",
        outcome="failure",
        reason="auth_failed",
    ),
    LineRule(
        name="roundcube.failed_login_upper",
        needles=("FAILED login for ",),
        pattern=r"FAILED login for (?P<user>.*?) from " + IP + _TAIL,
        service="roundcube",
        protocol="http",
        outcome="failure",
        reason="auth_failed",
    ),
    LineRule(
        name="roundcube.failed_login",
        needles=("ailed login for ",),
        pattern=r"(?i:failed) login for (?P<user>.*?) from " + IP + _TAIL,
        service="roundcube",
        protocol="http",
        outcome="failure",
        reason="auth_failed",
    ),
)


@dataclass(frozen=True, slots=True)
class RoundcubeParser:
    """The Roundcube log family (``--format roundcube``)."""

    name: str = "roundcube"
    rules: tuple[LineRule, ...] = _RULES


ROUNDCUBE = RoundcubeParser()
