"""``credwatch serve``: a self-hosted Pwned Passwords range API, a login-time exposure
check and a Dovecot auth-policy endpoint, over the corpus of :mod:`credwatch.corpus`.

Example:
    >>> from credwatch.serve import build_deps, create_server_app
    >>> app = create_server_app(build_deps(ws))      # doctest: +SKIP
"""

from __future__ import annotations

from credwatch.serve.app import ServeDeps, create_app, create_server_app
from credwatch.serve.check import CheckAnswer, CheckService
from credwatch.serve.corpus_provider import CorpusProvider
from credwatch.serve.flags_memory import MemoryFlagStore
from credwatch.serve.flags_redis import RedisFlagStore
from credwatch.serve.interface import EventObserver, Flag, FlagStore, PolicyEvent
from credwatch.serve.policy import PolicyDecision, PolicyEngine
from credwatch.serve.range import RangeService, parse_prefix
from credwatch.serve.runner import app_from_env, build_deps, refresh_index_snapshot, serve
from credwatch.serve.settings import ServeSettings, load_settings

__all__ = [
    "CheckAnswer",
    "CheckService",
    "CorpusProvider",
    "EventObserver",
    "Flag",
    "FlagStore",
    "MemoryFlagStore",
    "PolicyDecision",
    "PolicyEngine",
    "PolicyEvent",
    "RangeService",
    "RedisFlagStore",
    "ServeDeps",
    "ServeSettings",
    "app_from_env",
    "build_deps",
    "create_app",
    "create_server_app",
    "load_settings",
    "parse_prefix",
    "refresh_index_snapshot",
    "serve",
]
