"""The Markdown form of the report: the same sections and figures, as tables."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined

from credwatch.report.formatting import short_time
from credwatch.report.model import SECTIONS, Missing, Report

__all__ = ["MarkdownRenderer"]


def _cell(value: object) -> str:
    """Make input text inert in Markdown: no pipes, line breaks, raw HTML or code spans."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split())


def _code(value: object) -> str:
    """Make text safe inside a Markdown code span (no backtick, one line)."""
    return " ".join(str(value).replace("`", "'").split())


class MarkdownRenderer:
    """Renders the report as GitHub-flavoured Markdown.

    Example:
        >>> text = MarkdownRenderer().render(build_report(ws))   # doctest: +SKIP
    """

    suffix = ".md"

    def __init__(self) -> None:
        env = Environment(
            loader=PackageLoader("credwatch.report", "templates"),
            autoescape=False,  # noqa: S701 - Markdown, not HTML; cells are escaped by `cell`
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.tests["missingsection"] = lambda value: isinstance(value, Missing)
        env.filters["when"] = short_time
        env.filters["cell"] = _cell
        env.filters["code"] = _code
        self._template = env.get_template("report.md.j2")

    def render(self, report: Report) -> str:
        """Return the Markdown document."""
        findings, matrix = (
            ((), ()) if isinstance(report.exposure, Missing) else report.exposure.matrix()
        )
        return self._template.render(
            r=report,
            titles={s.id: s.title for s in SECTIONS},
            findings=findings,
            matrix=matrix,
        )
