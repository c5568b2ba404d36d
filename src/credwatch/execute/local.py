"""The default executor: a pool of local worker processes."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

from credwatch.errors import UsageError

__all__ = ["LocalExecutor", "default_workers"]

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalExecutor:
    """Run calls on ``workers`` local processes (default: one per usable core).

    Arguments travel to the workers pickled through pipes, never through files.  The
    pool uses the ``forkserver`` start method where available, so workers do not
    inherit the parent's threads or open connections.

    Raises:
        UsageError: ``workers`` is not positive.

    Example:
        >>> with LocalExecutor(workers=2) as ex:
        ...     ex.submit(abs, -3).result()
        3
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise UsageError(f"local executor needs at least 1 worker, not {workers}")
        self._workers = workers or default_workers()
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        self._pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=self._workers, mp_context=context
        )

    @property
    def name(self) -> str:
        """``local:N``."""
        return f"local:{self._workers}"

    @property
    def workers(self) -> int:
        """Number of worker processes."""
        return self._workers

    def submit(self, fn: Callable[[T], R], arg: T) -> Future[R]:
        """Start ``fn(arg)`` in a worker process."""
        if self._pool is None:
            raise UsageError("the local executor is closed")
        return self._pool.submit(fn, arg)

    def close(self) -> None:
        """Shut the pool down, cancelling calls not yet started."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalExecutor:
        """Return self."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the pool."""
        self.close()
