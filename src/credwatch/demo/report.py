"""Demo stage ``report``: write the incident report from what the earlier stages left.

Writes ``WORKSPACE/report.html`` (plus ``report.md`` and ``report.json`` next to it)
and records its path in ``ctx.artifacts["report"]``.  It runs last, so every section
whose stage ran is filled; the others say which command would fill them.
"""

from __future__ import annotations

from credwatch.demo.runner import DemoContext, StageResult
from credwatch.report import ReportFormat, save_rendered
from credwatch.report.collect import build_report
from credwatch.report.model import Exposure

__all__ = ["run"]


def run(ctx: DemoContext) -> StageResult:
    """Build the report once and write it as HTML, Markdown and JSON."""
    ws = ctx.workspace
    report = build_report(ws)
    paths = {}
    for fmt in ReportFormat:
        path = save_rendered(report, fmt, ws.root / f"report{fmt.renderer().suffix}")
        paths[fmt.value] = str(path)
    ctx.artifacts["report"] = paths["html"]
    filled = 6 - len(report.missing)
    lines = [f"report: {paths['html']} ({filled} of 6 sections filled)"]
    if isinstance(report.exposure, Exposure):
        lines.append(
            f"{report.exposure.critical_total:,} accounts still accept their leaked password, "
            f"{report.exposure.critical_active_without_mfa:,} of them active without MFA"
        )
    lines += [f"next ({s.urgency}): {s.title}" for s in report.next_steps[:3]]
    lines += [f"missing {sid}: run `{m.command}`" for sid, m in report.missing]
    return StageResult(
        name="report",
        lines=tuple(lines),
        data={
            "report": paths,
            "sections_filled": filled,
            "missing": [sid for sid, _ in report.missing],
        },
    )
