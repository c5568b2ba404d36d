"""Exim: ``<mech> authenticator failed for ... [IP]: 535 ...`` and ``<= ... A=mech:user``."""

from __future__ import annotations

from dataclasses import dataclass

from credwatch.hunt.interface import LineRule
from credwatch.hunt.patterns import IP

__all__ = ["EXIM", "EximParser"]

_RULES = (
    LineRule(
        name="exim.auth_failed",
        needles=("authenticator failed for ",),
        pattern=r"authenticator failed for .*?\["
        + IP
        + r"\](?::\d+)?(?: I=\[[^\]]*\](?::\d+)?)?(?: Ci=\d+)?: 535 "
        r"[^(]*(?:\(set_id=(?P<user>[^)]*)\))?",
        service="exim",
        protocol="smtp",
        outcome="failure",
        reason="auth_failed",
    ),
    LineRule(
        name="exim.login",
        needles=(" <= ", " A="),
        pattern=r" <= .*?\[" + IP + r"\](?::\d+)? .*?\bA=[\w-]+:(?P<user>\S+)",
        service="exim",
        protocol="smtp",
        outcome="success",
        reason="ok",
    ),
)


@dataclass(frozen=True, slots=True)
class EximParser:
    """The Exim log family (``--format exim``)."""

    name: str = "exim"
    rules: tuple[LineRule, ...] = _RULES


EXIM = EximParser()
