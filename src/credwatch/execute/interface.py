"""The :class:`Executor` protocol: run a picklable function on batches, somewhere.

An executor only knows how to ``submit`` one call and hand back a
:class:`concurrent.futures.Future`; batching, ordering, checkpoints and progress are
the same for every executor and live in :func:`credwatch.execute.run_batches`.

Arguments cross to workers pickled, over a pipe (``local``) or a TCP socket
(``dask-local`` on 127.0.0.1, ``dask://`` / ``tls://``), and are never written to
disk; results should be Arrow tables that contain no plaintext.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

__all__ = ["Batch", "Executor", "ProgressCallback", "ProgressUpdate"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Batch(Generic[T]):
    """One unit of work.

    Attributes:
        id: stable key, the same on a resumed run (letters, digits, ``-``, ``_``;
            at most 64 characters); finished batches are checkpointed under it.
        items: what the function receives (pickled to the worker).
        size: number of items, for progress and rates.
    """

    id: str
    items: T
    size: int


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    """Where a run stands: sent to the progress callback after every batch."""

    batches_done: int
    items_done: int
    items_total: int | None
    batches_resumed: int


ProgressCallback = Callable[[ProgressUpdate], None]
"""Called after each finished (or resumed) batch; keeps the library free of any UI."""


class Executor(Protocol):
    """Somewhere to run picklable calls: a process pool or a Dask cluster.

    Executors are context managers; leaving the block releases their workers.
    """

    @property
    def name(self) -> str:
        """The spec this executor was built from, e.g. ``local:2`` (no credentials)."""
        ...

    @property
    def workers(self) -> int:
        """How many calls can run at the same time."""
        ...

    def submit(self, fn: Callable[[T], R], arg: T) -> Future[R]:
        """Start ``fn(arg)`` on a worker."""
        ...

    def close(self) -> None:
        """Release the workers (idempotent)."""
        ...

    def __enter__(self) -> Executor:
        """Return self."""
        ...

    def __exit__(self, *exc: object) -> None:
        """Close."""
        ...
