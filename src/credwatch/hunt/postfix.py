"""Postfix SASL: ``SASL <MECH> authentication failed`` and ``sasl_username=`` successes.

Postfix does not log the user name of a failed SASL login, so those events have no
user; successful ones carry ``sasl_username``.
"""

from __future__ import annotations

from dataclasses import dataclass

from credwatch.hunt.interface import FastPath, LineRule
from credwatch.hunt.patterns import IP

__all__ = ["POSTFIX", "PostfixParser"]

_PROG = r"postfix(?:-[\w-]+)?/(?:(?P<proto>submission|smtps|submissions)/)?(?:\w+/)*smtpd"

_RULES = (
    LineRule(
        name="postfix.sasl_failed",
        needles=("SASL ", "authentication failed"),
        pattern=_PROG
        + r"\[\d+\]: warning: [^\[\s]*\["
        + IP
        + r"\](?::\d+)?: SASL [\w-]+ authentication failed"
        + r"(?:.*?, sasl_username=(?P<user>[^,\s]+))?",
        service="postfix",
        protocol="smtp",
        outcome="failure",
        reason="auth_failed",
        fast=FastPath(
            pattern=r" postfix/(?:smtpd|submission/smtpd)\[\d+\]: warning: "
            r"[\w.-]+\[[0-9A-Fa-f:.]+\]: "
            r"SASL [\w-]+ authentication failed: [\w:=+/ ]*$",
            fields=(
                (
                    "proto",
                    "CASE WHEN contains({L}, 'postfix/submission/') THEN 'submission' ELSE '' END",
                ),
                ("ip", "split_part(split_part({L}, ']: SASL ', 1), '[', -1)"),
                ("user", "''"),
            ),
        ),
    ),
    LineRule(
        name="postfix.disconnect_auth_failed",
        needles=("disconnect from ", " auth=0/"),
        pattern=_PROG
        + r"\[\d+\]: disconnect from [^\[\s]*\["
        + IP
        + r"\](?::\d+)?.* auth=0/(?P<attempts>\d+)",
        service="postfix",
        protocol="smtp",
        outcome="failure",
        reason="auth_failed",
    ),
    LineRule(
        name="postfix.sasl_login",
        needles=("sasl_username=",),
        pattern=_PROG
        + r"\[\d+\]: (?:\w+: )?client=[^\[\s]*\["
        + IP
        + r"\](?::\d+)?, sasl_method=[\w-]+, sasl_username=(?P<user>[^,\s]+)",
        service="postfix",
        protocol="smtp",
        outcome="success",
        reason="ok",
        fast=FastPath(
            pattern=r" postfix/(?:smtpd|submission/smtpd)\[\d+\]: [0-9A-Za-z]+: "
            r"client=[\w.-]+\[[0-9A-Fa-f:.]+\], "
            r"sasl_method=[\w-]+, sasl_username=[^,\s]+$",
            fields=(
                (
                    "proto",
                    "CASE WHEN contains({L}, 'postfix/submission/') THEN 'submission' ELSE '' END",
                ),
                ("ip", "split_part(split_part({L}, '], sasl_method=', 1), '[', -1)"),
                ("user", "split_part({L}, ', sasl_username=', 2)"),
            ),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class PostfixParser:
    """The Postfix SASL log family (``--format postfix``)."""

    name: str = "postfix"
    rules: tuple[LineRule, ...] = _RULES


POSTFIX = PostfixParser()
