"""Run a function over batches on any executor: ordered, bounded, resumable."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa

from credwatch.errors import CredwatchError
from credwatch.execute.checkpoint import Checkpoint
from credwatch.execute.interface import Batch, Executor, ProgressCallback, ProgressUpdate

__all__ = ["BatchFailedError", "BatchResult", "run_batches"]

T = TypeVar("T")


class BatchFailedError(CredwatchError):
    """A batch raised in its worker.  The message names the batch and the exception
    type only (an exception's text could quote a secret); the original is chained."""

    def __init__(self, batch_id: str, exc: BaseException) -> None:
        super().__init__(
            f"batch {batch_id} failed in its worker: {type(exc).__name__}",
            hint="finished batches are checkpointed; fix the cause and run again with "
            "--resume (--debug shows the traceback)",
        )
        self.batch_id = batch_id


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The result of one batch, and whether it came from the checkpoint."""

    batch_id: str
    table: pa.Table
    resumed: bool


def run_batches(
    executor: Executor,
    fn: Callable[[T], pa.Table],
    batches: Iterable[Batch[T]],
    *,
    checkpoint: Checkpoint | None = None,
    progress: ProgressCallback | None = None,
    total_items: int | None = None,
    in_flight: int | None = None,
) -> Generator[BatchResult, None, None]:
    """Run ``fn`` on every batch and yield results in batch order.

    Closing the generator early stops submitting (batches already finished stay
    checkpointed).

    ``batches`` is consumed lazily, with at most ``in_flight`` (default: twice the
    executor's workers) submitted and unfinished, so plaintext held in batches stays
    bounded.  Batches already in ``checkpoint`` are not run again; each new result is
    saved there as soon as it arrives.  ``fn`` must be picklable (a module-level
    function) and return an Arrow table without plaintext.

    Raises:
        BatchFailedError: a batch raised; batches not yet started are cancelled, those
            already finished stay checkpointed.

    Example:
        >>> from credwatch.execute import LocalExecutor
        >>> import pyarrow.compute as pc
        >>> def double(xs):  # module-level in real code
        ...     return pa.table({"x": pc.multiply(pa.array(xs), 2)})
        >>> with LocalExecutor(workers=1) as ex:  # doctest: +SKIP
        ...     [r.table["x"].to_pylist() for r in run_batches(ex, double, [Batch("a", [1], 1)])]
        [[2]]
    """
    window = in_flight or 2 * max(executor.workers, 1)
    pending: deque[tuple[Batch[T], Future[pa.Table] | None, pa.Table | None]] = deque()
    running = 0
    done_batches = done_items = resumed = 0

    def report() -> None:
        if progress is not None:
            progress(ProgressUpdate(done_batches, done_items, total_items, resumed))

    def finish() -> BatchResult:
        nonlocal running, done_batches, done_items
        batch, future, table = pending.popleft()
        if future is None:
            assert table is not None
            return BatchResult(batch.id, table, resumed=True)
        running -= 1
        try:
            result = future.result()
        except CredwatchError:
            _cancel(pending)
            raise
        except Exception as exc:
            _cancel(pending)
            raise BatchFailedError(batch.id, exc) from exc
        if checkpoint is not None:
            checkpoint.save(batch.id, result)
        done_batches += 1
        done_items += batch.size
        report()
        return BatchResult(batch.id, result, resumed=False)

    try:
        for batch in batches:
            if checkpoint is not None and checkpoint.has(batch.id):
                pending.append((batch, None, checkpoint.load(batch.id)))
                done_batches += 1
                done_items += batch.size
                resumed += 1
                report()
            else:
                pending.append((batch, executor.submit(fn, batch.items), None))
                running += 1
            while running >= window or (pending and pending[0][1] is None):
                yield finish()
        while pending:
            yield finish()
    finally:
        _cancel(pending)  # closed early or failed: start nothing more


def _cancel(pending: deque[tuple[Batch[T], Future[pa.Table] | None, pa.Table | None]]) -> None:
    for _, future, _table in pending:
        if future is not None:
            future.cancel()
