"""LocalExecutor and a real Dask LocalCluster: same results, resume, failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from passlib.hash import sha256_crypt

from credwatch.errors import InputError, UsageError
from credwatch.execute import (
    Batch,
    BatchFailedError,
    Checkpoint,
    DaskExecutor,
    Executor,
    LocalExecutor,
    ProgressUpdate,
    executor_from_spec,
    run_batches,
)
from credwatch.hashes import verify_many
from tests.execute import jobs

# On a loaded machine distributed warns that creating its scratch folder took > 1 s.
pytestmark = pytest.mark.filterwarnings("ignore:Creating scratch directories:UserWarning")


def _batches(n: int = 10, size: int = 4) -> list[Batch[list[int]]]:
    return [Batch(f"b{k:03d}", list(range(k * size, (k + 1) * size)), size) for k in range(n)]


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[DaskExecutor]:
    with DaskExecutor(workers=2) as ex:
        yield ex


@pytest.fixture(scope="module")
def local_executor() -> Iterator[LocalExecutor]:
    with LocalExecutor(workers=2) as ex:
        yield ex


def _collect(ex: Executor, **kwargs: object) -> pa.Table:
    return pa.concat_tables(r.table for r in run_batches(ex, jobs.square, _batches(), **kwargs))  # type: ignore[arg-type]


def test_local_and_dask_give_identical_results(
    local_executor: LocalExecutor, dask_executor: DaskExecutor
) -> None:
    local = _collect(local_executor)
    dask = _collect(dask_executor)
    assert local.equals(dask)
    assert local.column("sq").to_pylist() == [i * i for i in range(40)]
    assert dask_executor.workers == 2
    assert dask_executor.name == "dask-local:2"


def test_verify_many_same_on_local_and_dask(
    local_executor: LocalExecutor, dask_executor: DaskExecutor
) -> None:
    sha = "$5$rounds=1000$NaCl$"
    stored = sha256_crypt.using(rounds=1000, salt="NaCl").hash("パスワード")
    assert stored.startswith(sha)
    rows = [(stored, "パスワード" if i % 3 else "x", None) for i in range(12)]
    a = verify_many(rows, executor=local_executor, batch_size=5)
    b = verify_many(rows, executor=dask_executor, batch_size=5)
    assert a.equals(b)
    assert a.column("outcome").to_pylist().count("matched") == 8


def test_resume_skips_finished_batches(tmp_path: Path, local_executor: LocalExecutor) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    cp_dir = tmp_path / "cp"
    batches = [Batch(b.id, (calls, b.items), b.size) for b in _batches()]
    # First run: interrupted after 4 results.
    cp = Checkpoint(cp_dir, fingerprint="job")
    gen = run_batches(local_executor, jobs.square_and_count, batches, checkpoint=cp, in_flight=1)
    first = [next(gen) for _ in range(4)]
    gen.close()
    assert len(list(calls.iterdir())) == 4
    # Resumed run: only the 6 remaining batches run; results are complete and ordered.
    updates: list[ProgressUpdate] = []
    resumed = list(
        run_batches(
            local_executor,
            jobs.square_and_count,
            batches,
            checkpoint=Checkpoint(cp_dir, fingerprint="job"),
            progress=updates.append,
            total_items=40,
        )
    )
    assert len(list(calls.iterdir())) == 10
    assert [r.resumed for r in resumed] == [True] * 4 + [False] * 6
    assert [r.table for r in resumed[:4]] == [r.table for r in first]
    assert pa.concat_tables(r.table for r in resumed).column("sq").to_pylist() == [
        i * i for i in range(40)
    ]
    assert updates[-1] == ProgressUpdate(10, 40, 40, 4)


def test_checkpoint_of_another_job_is_refused(tmp_path: Path) -> None:
    Checkpoint(tmp_path / "cp", fingerprint="a")
    with pytest.raises(InputError, match="different job"):
        Checkpoint(tmp_path / "cp", fingerprint="b")


def test_checkpoint_refuses_plaintext_columns(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="secrets"):
        Checkpoint(tmp_path / "cp", fingerprint="a").save("b1", pa.table({"password": ["x"]}))


@pytest.mark.parametrize("spec", ["local:2", "dask"])
def test_failing_batch_raises_a_clear_error(
    spec: str, tmp_path: Path, local_executor: LocalExecutor, dask_executor: DaskExecutor
) -> None:
    ex: Executor = local_executor if spec.startswith("local") else dask_executor
    cp = Checkpoint(tmp_path / "cp", fingerprint="fail")
    with pytest.raises(BatchFailedError) as info:
        list(run_batches(ex, jobs.fail_on_13, _batches(), checkpoint=cp))
    assert info.value.batch_id == "b003"
    assert "ValueError" in info.value.message
    assert "Kanary" not in info.value.diagnostics()
    assert {"b000", "b001", "b002"} <= cp.finished()
    assert "b003" not in cp.finished()


def test_executor_from_spec_local() -> None:
    with executor_from_spec("local:1") as ex:
        assert ex.name == "local:1"
        assert ex.submit(abs, -3).result() == 3
    with pytest.raises(UsageError):
        ex.submit(abs, 1)


def test_no_plaintext_on_disk(tmp_path: Path, local_executor: LocalExecutor) -> None:
    canary = "Kanary-パス-9912"
    stored = sha256_crypt.using(rounds=1000).hash(canary)
    cp = Checkpoint(tmp_path / "cp", fingerprint="privacy")
    verify_many([(stored, canary, None)] * 6, executor=local_executor, batch_size=2, checkpoint=cp)
    for path in (tmp_path / "cp").iterdir():
        data = path.read_bytes()
        assert canary.encode() not in data
        assert stored.encode() not in data
