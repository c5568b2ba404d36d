"""Demo stage ``ingest``: ``credwatch leak ingest`` on the combolist, then ``leak stats``.

Reads ``ctx.artifacts["combolist"]`` and leaves the stats document (the ``leak stats
--json`` shape) in ``ctx.artifacts["leak_stats"]``.
"""

from __future__ import annotations

from pathlib import Path

from credwatch.demo.runner import DemoContext, StageResult
from credwatch.index import ExposureIndex, FileOutcome, IngestOptions, ingest_files

__all__ = ["run"]


def run(ctx: DemoContext) -> StageResult:
    """Ingest every combolist file under its source name and summarise the index."""
    combolist = ctx.artifacts["combolist"]
    outcomes: list[FileOutcome] = []
    for path, name in zip(combolist["files"], combolist["sources"], strict=True):
        report = ingest_files(ctx.workspace, [Path(path)], IngestOptions(source=name))
        report.raise_if_nothing_ingested()
        outcomes.extend(report.files)
    with ExposureIndex.open(ctx.workspace) as index:
        stats = index.stats()
    document = stats.to_json()
    ctx.artifacts["leak_stats"] = document
    lines = []
    for source in stats.sources:
        reasons = ", ".join(f"{k} {v:,}" for k, v in source.rejected_by_reason.items()) or "none"
        lines.append(
            f"{source.name}: {source.lines:,} lines ({source.encoding}), "
            f"{source.accepted:,} accepted, {source.distinct_emails:,} addresses, "
            f"{source.distinct_passwords:,} distinct passwords; rejected {reasons}"
        )
    skipped = len([o for o in outcomes if o.status == "skipped"])
    if skipped:
        lines.append(f"{skipped} file(s) already in the index (same content): skipped")
    top = ", ".join(f"{d} {n:,}" for d, n in list(stats.domains.items())[:6])
    lines.append(f"exposed addresses by domain: {top}")
    return StageResult(name="ingest", lines=tuple(lines), data=document)
