"""The incident report: one self-contained HTML file, plus Markdown and JSON.

:func:`build_report` reads what every stage left in the workspace (the exposure
index, the latest audit run, the saved hunt and supply results, the journal) into a
:class:`Report`; a section whose input is absent is :class:`Missing`, naming the
command that produces it.  A :class:`Renderer` (chosen with :class:`ReportFormat`)
turns the report into text; :func:`write_report` does both and writes a file.

Example:
    >>> ws = Workspace.resolve(None)                                    # doctest: +SKIP
    >>> path = write_report(ws, ReportFormat.HTML, Path("report.html"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path

from credwatch.errors import InputError
from credwatch.report.collect import build_report
from credwatch.report.interface import Renderer
from credwatch.report.model import SECTIONS, Missing, NextStep, Report
from credwatch.workspace import Workspace

__all__ = [
    "SECTIONS",
    "Missing",
    "NextStep",
    "Renderer",
    "Report",
    "ReportFormat",
    "build_report",
    "render_report",
    "save_rendered",
    "write_report",
]


class ReportFormat(StrEnum):
    """Output formats of ``credwatch report``."""

    HTML = "html"
    MARKDOWN = "md"
    JSON = "json"

    def renderer(self) -> Renderer:
        """The renderer of this format."""
        # Imported here: the HTML renderer pulls in matplotlib, which JSON does not need.
        if self is ReportFormat.HTML:
            from credwatch.report.html import HtmlRenderer  # noqa: PLC0415

            return HtmlRenderer()
        if self is ReportFormat.MARKDOWN:
            from credwatch.report.markdown import MarkdownRenderer  # noqa: PLC0415

            return MarkdownRenderer()
        from credwatch.report.json_renderer import JsonRenderer  # noqa: PLC0415

        return JsonRenderer()


def render_report(report: Report, fmt: ReportFormat) -> str:
    """Render ``report`` in ``fmt``.

    Example:
        >>> text = render_report(build_report(ws), ReportFormat.MARKDOWN)   # doctest: +SKIP
    """
    return fmt.renderer().render(report)


def save_rendered(report: Report, fmt: ReportFormat, out: Path) -> Path:
    """Render ``report`` in ``fmt`` and write it to ``out`` atomically, readable by the
    owner only (0600: it names accounts, even if masked); return the path.

    Raises:
        InputError: when ``out`` cannot be written.
    """
    text = render_report(report, fmt)
    target = out.expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".report.", dir=target.parent)
    except OSError as exc:
        raise InputError(f"cannot write the report to {target}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the report to {target}: {exc.strerror}") from None
    return target


def write_report(
    ws: Workspace, fmt: ReportFormat, out: Path, *, run: str | None = None
) -> tuple[Path, Report]:
    """Build the report from ``ws``, render it in ``fmt`` and write it to ``out`` atomically.

    Raises:
        ConfigError: when the workspace does not exist or its keys are exposed.
        InputError: when ``out`` cannot be written.
    """
    report = build_report(ws, run=run)
    return save_rendered(report, fmt, out), report
