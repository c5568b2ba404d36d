"""Dask distributed executors: an in-process ``LocalCluster`` or a running scheduler.

``dask-local[:N]`` starts N single-threaded worker processes talking TCP on 127.0.0.1.
``dask://HOST:PORT`` joins a running scheduler over plain TCP, which is only accepted
for a loopback HOST: plaintext passwords cross the network only over TLS
(``tls://HOST:PORT``, configured through Dask's ``distributed.comm.tls.*`` settings:
``ca-file``, ``client.cert``, ``client.key``; see docs/hashes.md), unless the caller
passes the loudly named ``unsafe_cleartext_network=True``.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from credwatch.errors import ExternalServiceError, UsageError

__all__ = ["DaskExecutor", "is_loopback"]

T = TypeVar("T")
R = TypeVar("R")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (names are never resolved)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DaskExecutor:
    """Run calls on a Dask cluster.

    Args:
        address: ``None`` to start a ``LocalCluster``, else ``tcp://HOST:PORT`` or
            ``tls://HOST:PORT`` of a running scheduler.
        workers: worker processes of the local cluster (ignored for a remote one).
        unsafe_cleartext_network: allow ``tcp://`` to a non-loopback host, sending
            plaintext passwords unencrypted over the network.  Never do this outside
            a lab.
        connect_timeout: seconds to wait for a remote scheduler.

    Raises:
        UsageError: plain TCP to a non-loopback host without the unsafe flag.
        ExternalServiceError: the scheduler cannot be reached or the cluster not started.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 2,
        unsafe_cleartext_network: bool = False,
        connect_timeout: float = 10.0,
    ) -> None:
        from distributed import Client, LocalCluster  # noqa: PLC0415 - heavy import, only when used

        self._cluster: Any = None
        self._client: Any = None
        if address is None:
            if workers < 1:
                raise UsageError(f"dask-local needs at least 1 worker, not {workers}")
            self._name = f"dask-local:{workers}"
            try:
                self._cluster = LocalCluster(  # type: ignore[no-untyped-call]
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self._client = Client(self._cluster)  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError) as exc:
                self.close()
                raise ExternalServiceError(
                    f"could not start a Dask LocalCluster ({type(exc).__name__})",
                    hint="try --executor local",
                ) from exc
        else:
            scheme, _, hostport = address.partition("://")
            host = hostport.rsplit(":", 1)[0]
            if scheme == "tcp" and not is_loopback(host) and not unsafe_cleartext_network:
                raise UsageError(
                    f"refusing plain TCP to the Dask scheduler at {host}: passwords would "
                    "cross the network unencrypted",
                    hint="use tls://HOST:PORT with distributed.comm.tls.* configured "
                    "(see docs/hashes.md)",
                )
            self._name = f"dask://{hostport}" if scheme == "tcp" else f"tls://{hostport}"
            try:
                if scheme == "tls":
                    from distributed.security import Security  # noqa: PLC0415

                    # Security() reads distributed.comm.tls.* from the Dask configuration.
                    security = Security()  # type: ignore[no-untyped-call]
                    self._client = Client(  # type: ignore[no-untyped-call]
                        address, security=security, timeout=connect_timeout
                    )
                else:
                    self._client = Client(address, timeout=connect_timeout)  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError) as exc:
                raise ExternalServiceError(
                    f"could not reach the Dask scheduler at {hostport} ({type(exc).__name__})",
                    hint="check that dask scheduler runs there and the port is reachable",
                ) from exc
        self._pool = self._client.get_executor(pure=False)

    @property
    def name(self) -> str:
        """``dask-local:N``, ``dask://HOST:PORT`` or ``tls://HOST:PORT``."""
        return self._name

    @property
    def workers(self) -> int:
        """Threads across the cluster's workers (at least 1)."""
        if self._client is None:
            return 1
        info = self._client.scheduler_info()
        threads = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
        return max(threads, 1)

    def submit(self, fn: Callable[[T], R], arg: T) -> Future[R]:
        """Start ``fn(arg)`` on a Dask worker (a fresh task key, never derived from ``arg``)."""
        if self._client is None:
            raise UsageError("the Dask executor is closed")
        future: Future[R] = self._pool.submit(fn, arg)
        return future

    def close(self) -> None:
        """Disconnect; a local cluster is shut down."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskExecutor:
        """Return self."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close."""
        self.close()
