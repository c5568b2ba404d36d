"""Hunt credential stuffing, password spraying and brute force in authentication logs.

Parsers for Dovecot, Postfix SASL, Roundcube, sshd, Exim, nginx/Apache and JSON Lines
(ECS, journald) turn whole files into :class:`AuthEvent` rows inside DuckDB; detectors
run over them in batch (SQL) or event by event (:class:`OnlineHunter`, state in memory
or Redis).  ``leak_stuffing`` correlates attempted users with the exposure index,
which per-address tools such as fail2ban cannot do.

Example:
    >>> from credwatch.hunt import hunt_files
    >>> result = hunt_files([Path("mail.log")], workspace=ws)     # doctest: +SKIP
    >>> for alert in result.alerts: print(alert.rule, alert.key)  # doctest: +SKIP
"""

from __future__ import annotations

from credwatch.hunt.batch import HuntResult, build_detectors, expand_paths, hunt_events, hunt_files
from credwatch.hunt.compose import AllOf, AnyOf
from credwatch.hunt.config import DEFAULTS, HuntConfig
from credwatch.hunt.detectors import UserTokenizer
from credwatch.hunt.engine import FORMATS, PARSERS, Engine, FileStats
from credwatch.hunt.exposure import IndexExposure
from credwatch.hunt.interface import (
    Alert,
    AlertSink,
    AuthEvent,
    Detector,
    ExposureLookup,
    LineRule,
    LogParser,
    StateStore,
)
from credwatch.hunt.online import OnlineHunter
from credwatch.hunt.output import JsonLinesSink, render_blocklist, write_blocklist
from credwatch.hunt.state import MemoryState, RedisState

__all__ = [
    "DEFAULTS",
    "FORMATS",
    "PARSERS",
    "Alert",
    "AlertSink",
    "AllOf",
    "AnyOf",
    "AuthEvent",
    "Detector",
    "Engine",
    "ExposureLookup",
    "FileStats",
    "HuntConfig",
    "HuntResult",
    "IndexExposure",
    "JsonLinesSink",
    "LineRule",
    "LogParser",
    "MemoryState",
    "OnlineHunter",
    "RedisState",
    "StateStore",
    "UserTokenizer",
    "build_detectors",
    "expand_paths",
    "hunt_events",
    "hunt_files",
    "render_blocklist",
    "write_blocklist",
]
