"""Run work in batches on a local process pool or a Dask cluster, resumably.

- :class:`Executor` (protocol), :class:`LocalExecutor` (default, one process per core),
  :class:`DaskExecutor` (``dask-local[:N]`` LocalCluster, ``dask://``/``tls://`` scheduler);
- :func:`executor_from_spec` turns ``local:2`` / ``dask-local:2`` / ``dask://H:P`` /
  ``tls://H:P`` into one (bad spec: :class:`~credwatch.errors.UsageError` with a hint);
- :func:`run_batches` runs a picklable function over :class:`Batch` es, ordered, with a
  bounded number in flight, a :class:`Checkpoint` so a resumed run skips finished
  batches, and an optional progress callback (:func:`rich_progress` draws one).

Plaintext only ever travels pickled through pipes or sockets to workers; checkpoints
hold results only.
"""

from credwatch.execute.checkpoint import Checkpoint
from credwatch.execute.dask_cluster import DaskExecutor, is_loopback
from credwatch.execute.interface import Batch, Executor, ProgressCallback, ProgressUpdate
from credwatch.execute.local import LocalExecutor, default_workers
from credwatch.execute.progress import rich_progress
from credwatch.execute.runner import BatchFailedError, BatchResult, run_batches
from credwatch.execute.spec import (
    ExecutorKind,
    ExecutorSpec,
    executor_from_spec,
    parse_executor_spec,
)

__all__ = [
    "Batch",
    "BatchFailedError",
    "BatchResult",
    "Checkpoint",
    "DaskExecutor",
    "Executor",
    "ExecutorKind",
    "ExecutorSpec",
    "LocalExecutor",
    "ProgressCallback",
    "ProgressUpdate",
    "default_workers",
    "executor_from_spec",
    "is_loopback",
    "parse_executor_spec",
    "rich_progress",
    "run_batches",
]
