"""OpenSSH ``sshd``: failed and accepted logins, ``Invalid user``, users refused by
``AllowUsers``/``DenyUsers``, ``ROOT LOGIN REFUSED``, preauth disconnects of an
authenticating user, and PAM ``authentication failure`` lines.

User names are attacker-controlled (``Failed password for invalid user x from 1.2.3.4
port 1 ssh2 from 5.6.7.8 port 2 ssh2``): the address taken is the last ``from IP
port N`` of the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from credwatch.hunt.interface import LineRule
from credwatch.hunt.patterns import IP

__all__ = ["SSHD", "SshdParser"]

_METHOD = r"(?:password|publickey|keyboard-interactive(?:/pam)?|none|hostbased)"
_END = r"(?: port \d+)?(?: ssh\d?)?(?::| \[preauth\]|\s*$)"


def _rule(name: str, needles: tuple[str, ...], pattern: str, outcome: str, reason: str) -> LineRule:
    return LineRule(
        name=f"sshd.{name}",
        needles=needles,
        pattern=pattern,
        service="sshd",
        protocol="ssh",
        outcome="success" if outcome == "success" else "failure",
        reason=reason,
    )


_RULES = (
    _rule(
        "accepted",
        ("Accepted ", " for "),
        r"Accepted " + _METHOD + r" for (?P<user>.*?) from " + IP + _END,
        "success",
        "ok",
    ),
    _rule(
        "failed_invalid",
        ("Failed ", "for invalid user "),
        r"Failed " + _METHOD + r" for invalid user (?P<user>.*?) from " + IP + _END,
        "failure",
        "unknown_user",
    ),
    _rule(
        "failed",
        ("Failed ", " for "),
        r"Failed " + _METHOD + r" for (?P<user>.*?) from " + IP + _END,
        "failure",
        "password_mismatch",
    ),
    _rule(
        "invalid_user",
        ("nvalid user ",),
        r"[Ii](?:nvalid|llegal) user (?P<user>.*?) from " + IP + _END,
        "failure",
        "unknown_user",
    ),
    _rule(
        "not_allowed",
        ("User ", " not allowed because "),
        r"User (?P<user>\S+) from " + IP + r" not allowed because ",
        "failure",
        "not_allowed",
    ),
    _rule(
        "root_refused",
        ("ROOT LOGIN REFUSED FROM ",),
        r"ROOT LOGIN REFUSED FROM " + IP,
        "failure",
        "not_allowed",
    ),
    _rule(
        "max_attempts",
        ("maximum authentication attempts exceeded for ",),
        r"maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*?) from "
        + IP
        + _END,
        "failure",
        "auth_failed",
    ),
    _rule(
        "preauth_user",
        ("authenticating user ",),
        r"(?:Connection (?:closed|reset) by|Disconnected from) authenticating user "
        r"(?P<user>.*) " + IP + r" port \d+",
        "failure",
        "auth_failed",
    ),
    _rule(
        "preauth_invalid",
        (" invalid user ", " port "),
        r"(?:Connection (?:closed|reset) by|Disconnected from|Disconnecting) invalid user "
        r"(?P<user>.*) " + IP + r" port \d+",
        "failure",
        "unknown_user",
    ),
    _rule(
        "pam_error",
        ("PAM: ", " for "),
        r"PAM: (?:[Aa]uthentication (?:failure|error)|User not known to the underlying "
        r"authentication module) for (?:illegal user )?(?P<user>.*?) from " + IP,
        "failure",
        "password_mismatch",
    ),
    _rule(
        "pam_failure",
        ("sshd", "authentication failure;"),
        r"authentication failure;(?:.*? ruser=(?P<user>\S*))?.*? rhost=" + IP,
        "failure",
        "password_mismatch",
    ),
)


@dataclass(frozen=True, slots=True)
class SshdParser:
    """The sshd log family (``--format sshd``)."""

    name: str = "sshd"
    rules: tuple[LineRule, ...] = _RULES


SSHD = SshdParser()
