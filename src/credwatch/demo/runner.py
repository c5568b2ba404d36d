"""Runs the demo incident: a list of stages sharing one :class:`DemoContext`.

Each stage lives in its own module of :mod:`credwatch.demo` and exposes
``run(ctx: DemoContext) -> StageResult``; :data:`STAGES` lists them in flow order
(generate the combolist, ingest, account store, audit, remediation, retention, auth
logs and hunt, supply chain, report).  A stage reads what earlier stages left in
``ctx.artifacts`` and adds its own.

Example:
    >>> result = run_demo(Workspace(Path("ws")), accounts=5000)   # doctest: +SKIP
    >>> [s.name for s in result.stages]                           # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credwatch.demo.population import Population
from credwatch.workspace import Workspace

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DemoContext",
    "DemoResult",
    "Stage",
    "StageResult",
    "run_demo",
]

#: Default size: small enough for the whole flow in well under a minute on 2 cores.
DEFAULT_ACCOUNTS = 20_000


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one stage did.

    Attributes:
        name: the stage's name.
        lines: a few human-readable summary lines (no secrets, masked addresses only).
        data: the same as JSON-ready data.
        seconds: wall time, filled in by the runner.
        peak_rss_mb: the demo process's peak resident memory during the stage, in MB
            (worker processes not included; ``None`` where the OS cannot say).
    """

    name: str
    lines: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    peak_rss_mb: float | None = None


@dataclass(slots=True)
class DemoContext:
    """Shared state of one demo run.

    Attributes:
        workspace: an initialised workspace.
        population: the synthetic subscribers.
        out_dir: where generated inputs go (combolists, logs, SBOMs, the demo store).
        store_url: SQLAlchemy URL of the demo account store (``None``: SQLite in out_dir).
        artifacts: outputs of earlier stages for later ones (paths, run ids, ...).
    """

    workspace: Workspace
    population: Population
    out_dir: Path
    store_url: str | None = None
    artifacts: dict[str, Any] = field(default_factory=dict)


Stage = Callable[[DemoContext], StageResult]


def _stages() -> list[tuple[str, Stage]]:
    """The stages in flow order; imported here so that importing credwatch.demo stays cheap."""
    # Each package adds its stage here, in flow order: combolist + ingest, accounts,
    # audit, remediation, retention, auth logs + hunt, supply, report.
    from credwatch.demo import (  # noqa: PLC0415 - lazy, see the docstring
        accounts,
        audit,
        authlogs,
        combolist,
        hunt,
        ingest,
        remediate,
        report,
        retention,
        supply,
    )

    return [
        ("combolist", combolist.run),
        ("ingest", ingest.run),
        ("accounts", accounts.run),
        ("audit", audit.run),
        ("remediation", remediate.run),
        ("retention", retention.run),
        ("authlogs", authlogs.run),
        ("hunt", hunt.run),
        ("supply", supply.run),
        ("report", report.run),
    ]


_PROC_SELF = Path("/proc/self")


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark so each stage reports its own (Linux only)."""
    try:
        (_PROC_SELF / "clear_refs").write_text("5")
    except OSError:
        return


def _read_peak_rss_mb() -> float | None:
    """The peak RSS since the last reset, from ``/proc/self/status`` (Linux only)."""
    try:
        status = (_PROC_SELF / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Every stage's result, in order."""

    out_dir: Path
    stages: tuple[StageResult, ...]


def run_demo(
    workspace: Workspace,
    *,
    accounts: int = DEFAULT_ACCOUNTS,
    out_dir: Path | None = None,
    store_url: str | None = None,
    seed: int = 20260601,
    on_stage_start: Callable[[str], None] | None = None,
    on_stage_done: Callable[[StageResult], None] | None = None,
) -> DemoResult:
    """Generate the synthetic incident and run the whole flow on it.

    Args:
        workspace: where keys, index and runs go (initialised if needed).
        accounts: number of synthetic subscribers.
        out_dir: folder for generated inputs (default ``WORKSPACE/demo``).
        store_url: account store URL (default SQLite in ``out_dir``).
        seed: the random seed; the same seed gives the same incident.
        on_stage_start: called with a stage's name before it runs.
        on_stage_done: called with each stage's result.
    """
    workspace.init()
    out = out_dir if out_dir is not None else workspace.root / "demo"
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(
        workspace=workspace,
        population=Population(accounts, seed=seed),
        out_dir=out,
        store_url=store_url,
    )
    results: list[StageResult] = []
    for name, stage in _stages():
        if on_stage_start is not None:
            on_stage_start(name)
        _reset_peak_rss()
        started = time.perf_counter()
        result = stage(ctx)
        done = StageResult(
            name=result.name,
            lines=result.lines,
            data=result.data,
            seconds=time.perf_counter() - started,
            peak_rss_mb=_read_peak_rss_mb(),
        )
        results.append(done)
        if on_stage_done is not None:
            on_stage_done(done)
    return DemoResult(out_dir=out, stages=tuple(results))
