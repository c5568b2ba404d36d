"""Choose an executor from a command-line spec: ``local[:N]``, ``dask-local[:N]``,
``dask://HOST:PORT`` or ``tls://HOST:PORT``."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from credwatch.errors import UsageError
from credwatch.execute.dask_cluster import DaskExecutor, is_loopback
from credwatch.execute.interface import Executor
from credwatch.execute.local import LocalExecutor

__all__ = ["ExecutorKind", "ExecutorSpec", "executor_from_spec", "parse_executor_spec"]

_HINT = "use local[:N], dask-local[:N], dask://HOST:PORT or tls://HOST:PORT"
_COUNT = re.compile(r"(local|dask-local)(?::(\d{1,4}))?")
_REMOTE = re.compile(r"(dask|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


class ExecutorKind(enum.StrEnum):
    """The kinds of executor a spec can name."""

    LOCAL = "local"
    DASK_LOCAL = "dask-local"
    DASK = "dask"
    DASK_TLS = "tls"


@dataclass(frozen=True, slots=True)
class ExecutorSpec:
    """A parsed executor spec; :meth:`create` builds the executor."""

    kind: ExecutorKind
    workers: int | None = None
    host: str | None = None
    port: int | None = None

    def create(self, *, unsafe_cleartext_network: bool = False) -> Executor:
        """Build the executor (starting a local cluster or connecting to a scheduler).

        Raises:
            UsageError: plain TCP to a non-loopback scheduler without the unsafe flag.
            ExternalServiceError: the scheduler cannot be reached.
        """
        if self.kind is ExecutorKind.LOCAL:
            return LocalExecutor(workers=self.workers)
        if self.kind is ExecutorKind.DASK_LOCAL:
            return DaskExecutor(workers=self.workers or 2)
        scheme = "tcp" if self.kind is ExecutorKind.DASK else "tls"
        return DaskExecutor(
            f"{scheme}://{self.host}:{self.port}",
            unsafe_cleartext_network=unsafe_cleartext_network,
        )


def parse_executor_spec(spec: str, *, unsafe_cleartext_network: bool = False) -> ExecutorSpec:
    """Parse ``local[:N]``, ``dask-local[:N]``, ``dask://HOST:PORT`` or ``tls://HOST:PORT``.

    Raises:
        UsageError: the spec is malformed, a count is 0, or ``dask://`` names a
            non-loopback host without ``unsafe_cleartext_network``.

    Example:
        >>> parse_executor_spec("dask-local:2")
        ExecutorSpec(kind=<ExecutorKind.DASK_LOCAL: 'dask-local'>, workers=2, host=None, port=None)
    """
    text = spec.strip()
    match = _COUNT.fullmatch(text)
    if match is not None:
        workers = int(match.group(2)) if match.group(2) is not None else None
        if workers == 0:
            raise UsageError(f"executor {text!r} asks for 0 workers", hint=_HINT)
        return ExecutorSpec(ExecutorKind(match.group(1)), workers=workers)
    match = _REMOTE.fullmatch(text)
    if match is None:
        raise UsageError(f"unknown executor spec {text!r}", hint=_HINT)
    kind = ExecutorKind.DASK if match.group(1) == "dask" else ExecutorKind.DASK_TLS
    host, port = match.group(2), int(match.group(3))
    if not 0 < port < 65536:
        raise UsageError(f"executor {text!r}: port out of range", hint=_HINT)
    if kind is ExecutorKind.DASK and not is_loopback(host) and not unsafe_cleartext_network:
        raise UsageError(
            f"refusing dask://{host}:{port}: plaintext passwords would cross the network "
            "without TLS",
            hint=f"use tls://{host}:{port} with distributed.comm.tls.* configured (docs/hashes.md)",
        )
    return ExecutorSpec(kind, host=host, port=port)


def executor_from_spec(spec: str, *, unsafe_cleartext_network: bool = False) -> Executor:
    """Parse ``spec`` and build the executor it names.

    Raises:
        UsageError: a bad spec (with a hint listing the valid forms).
        ExternalServiceError: a remote scheduler cannot be reached.

    Example:
        >>> with executor_from_spec("local:1") as ex:
        ...     ex.workers
        1
    """
    parsed = parse_executor_spec(spec, unsafe_cleartext_network=unsafe_cleartext_network)
    return parsed.create(unsafe_cleartext_network=unsafe_cleartext_network)
