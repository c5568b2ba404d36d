"""Dovecot: ``*-login:`` connection lines and ``auth``/``auth-worker`` passdb lines.

Covers Dovecot 2.2 to 2.4 wording: ``Login: user=<..>`` (success), ``Aborted login`` /
``Disconnected`` / ``Login aborted`` ``(auth failed, N attempts ...)``, ``(proxy dest
auth failed)``, ``(tried to use disallowed plaintext auth)``, passdb ``unknown user``,
``Password mismatch``, ``invalid credentials``, ``pam_authenticate() failed`` and
``pam_unix(dovecot:auth): authentication failure; ... rhost=``.  With ``auth_verbose``
on, one failed login logs both a passdb line (with the reason) and a login line (with
the protocol and attempt count); both are events.
"""

from __future__ import annotations

from dataclasses import dataclass

from credwatch.hunt.interface import FastPath, LineRule
from credwatch.hunt.patterns import IP

__all__ = ["DOVECOT", "DovecotParser"]

_PROTO = r"(?P<proto>imap|pop3|submission|managesieve|lmtp)-login: "
_PASSDB = (
    (
        r"\b(?:passwd-file|pam|sql|ldap|checkpassword|static|passwd|shadow|bsdauth|lua|"
        r"oauth2|dict|auth)\((?P<user>[^,()]*),"
    )
    + IP
    + r"(?:,[^)]*)?\)"
)

_LOGIN_PROTO = ("proto", "split_part(split_part({L}, '-login: ', 1), ' ', -1)")
_RIP = ("ip", "split_part(split_part({L}, ', rip=', 2), ',', 1)")
_USER = ("user", "split_part(split_part({L}, ': user=<', 2), '>', 1)")
_DRIVERS = (
    r"(?:passwd-file|pam|sql|ldap|checkpassword|static|passwd|shadow|bsdauth|lua|oauth2|dict)"
)
_PASSDB_TAIL = "split_part({L}, '(', -1)"


def _passdb_fast(ending: str) -> FastPath:
    """``auth: DRIVER(user,ip[,<session>]): ENDING`` at the end of the line."""
    return FastPath(
        pattern=r"(?:auth|auth-worker\(\d+\)): (?:Info: )?"
        + _DRIVERS
        + r"\([^,()<>]*,[0-9A-Fa-f:.]+(?:,<[^<>()]*>)?\): "
        + ending
        + "$",
        fields=(
            ("user", "split_part(" + _PASSDB_TAIL + ", ',', 1)"),
            ("ip", "split_part(split_part(" + _PASSDB_TAIL + ", ',', 2), ')', 1)"),
        ),
    )


_RULES = (
    LineRule(
        name="dovecot.login",
        needles=("-login: ", "Login: user=<"),
        pattern=_PROTO + r"(?:Info: )?Login: user=<(?P<user>[^>]*)>.*?\brip=" + IP,
        service="dovecot",
        protocol="imap",
        outcome="success",
        reason="ok",
        fast=FastPath(
            pattern=r" (?:imap|pop3|submission|managesieve|lmtp)-login: (?:Info: )?Login: "
            r"user=<[^<>]*>, method=[\w-]+, rip=[0-9A-Fa-f:.]+(?:,|$)",
            fields=(_LOGIN_PROTO, _USER, _RIP),
        ),
    ),
    LineRule(
        name="dovecot.login_failed",
        needles=("-login: ", "(auth failed"),
        pattern=_PROTO
        + r".*\(auth failed, (?P<attempts>\d+) attempts?[^)]*\)[^:]*: "
        + r"(?:user=<(?P<user>[^>]*)>, )?.*?\brip="
        + IP,
        service="dovecot",
        protocol="imap",
        outcome="failure",
        reason="auth_failed",
        fast=FastPath(
            pattern=r" (?:imap|pop3|submission|managesieve|lmtp)-login: [\w ]+ \(auth failed, "
            r"\d+ attempts?(?: in \d+ secs)?\): user=<[^<>]*>, method=[\w-]+, "
            r"rip=[0-9A-Fa-f:.]+(?:,|$)",
            fields=(
                _LOGIN_PROTO,
                ("attempts", "split_part(split_part({L}, '(auth failed, ', 2), ' ', 1)"),
                _USER,
                _RIP,
            ),
        ),
    ),
    LineRule(
        name="dovecot.proxy_failed",
        needles=("-login: ", "(proxy dest auth failed)"),
        pattern=_PROTO
        + r".*\(proxy dest auth failed\): (?:user=<(?P<user>[^>]*)>, )?.*?\brip="
        + IP,
        service="dovecot",
        protocol="imap",
        outcome="failure",
        reason="proxy_auth_failed",
    ),
    LineRule(
        name="dovecot.disallowed_auth",
        needles=("-login: ", "(tried to use dis"),
        pattern=_PROTO
        + r".*\(tried to use (?:disallowed|disabled) [^)]*\): (?:user=<(?P<user>[^>]*)>, "
        r")?.*?\brip=" + IP,
        service="dovecot",
        protocol="imap",
        outcome="failure",
        reason="disallowed_auth",
    ),
    LineRule(
        name="dovecot.unknown_user",
        needles=("(", "unknown user"),
        pattern=_PASSDB + r"(?:<[^>]*>)?: (?:Info: )?(?:\w+: )?unknown user",
        service="dovecot",
        protocol="auth",
        outcome="failure",
        reason="unknown_user",
        fast=_passdb_fast("unknown user"),
    ),
    LineRule(
        name="dovecot.password_mismatch",
        needles=("(", "assword mismatch"),
        pattern=_PASSDB
        + r"(?:<[^>]*>)?: (?:Info: )?(?:\w+: )?(?:pam_authenticate\(\) failed: "
        + r"Authentication failure \()?[Pp]assword mismatch",
        service="dovecot",
        protocol="auth",
        outcome="failure",
        reason="password_mismatch",
        fast=_passdb_fast("Password mismatch"),
    ),
    LineRule(
        name="dovecot.invalid_credentials",
        needles=("(", "invalid credentials"),
        pattern=_PASSDB + r"(?:<[^>]*>)?: (?:Info: )?(?:\w+: )?invalid credentials",
        service="dovecot",
        protocol="auth",
        outcome="failure",
        reason="password_mismatch",
    ),
    LineRule(
        name="dovecot.pam_unknown_user",
        needles=("pam_authenticate() failed: User not known",),
        pattern=_PASSDB + r".*pam_authenticate\(\) failed: User not known",
        service="dovecot",
        protocol="auth",
        outcome="failure",
        reason="unknown_user",
    ),
    LineRule(
        name="dovecot.pam_failed",
        needles=("pam_authenticate() failed",),
        pattern=_PASSDB + r".*pam_authenticate\(\) failed",
        service="dovecot",
        protocol="auth",
        outcome="failure",
        reason="pam_failed",
    ),
    LineRule(
        name="dovecot.pam_unix",
        needles=("pam_unix(dovecot", "authentication failure"),
        pattern=r"pam_unix\(dovecot:auth\): authentication failure;.*? rhost="
        + IP
        + r"(?:\s+user=(?P<user>\S+))?",
        service="dovecot",
        protocol="auth",
        outcome="failure",
        reason="password_mismatch",
    ),
)


@dataclass(frozen=True, slots=True)
class DovecotParser:
    """The Dovecot log family (``--format dovecot``)."""

    name: str = "dovecot"
    rules: tuple[LineRule, ...] = _RULES


DOVECOT = DovecotParser()
