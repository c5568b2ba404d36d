"""The self-contained HTML report: jinja2 template, inline CSS and SVG, embedded data.

Nothing in the page refers to another resource (no external CSS, font, script or
image) and a Content-Security-Policy of ``default-src 'none'`` makes sure a browser
would refuse one anyway.  The report's JSON document is embedded as
``<script type="application/json" id="report-data">`` (data, never executed).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from credwatch.report import charts
from credwatch.report.formatting import short_time
from credwatch.report.json_renderer import report_document
from credwatch.report.model import SCHEMA_VERSION, SECTIONS, Missing, Report

__all__ = ["HtmlRenderer"]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("credwatch.report", "templates"),
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.tests["missingsection"] = lambda value: isinstance(value, Missing)
    env.filters["when"] = short_time
    return env


def _charts(report: Report) -> dict[str, Markup | None]:
    """Every chart whose section has data to draw; ``None`` otherwise."""
    out: dict[str, Markup | None] = dict.fromkeys(
        ("domains", "exposure", "schemes", "hunt", "blast", "progress")
    )
    if not isinstance(report.summary, Missing) and report.summary.domains:
        out["domains"] = Markup(charts.domain_chart(report.summary))  # noqa: S704 - our SVG
    if not isinstance(report.exposure, Missing) and report.exposure.cells:
        out["exposure"] = Markup(charts.exposure_chart(report.exposure))  # noqa: S704
    if not isinstance(report.schemes, Missing) and report.schemes.rows:
        out["schemes"] = Markup(charts.scheme_chart(report.schemes))  # noqa: S704
    if not isinstance(report.hunt, Missing) and report.hunt.timeline:
        out["hunt"] = Markup(charts.hunt_chart(report.hunt))  # noqa: S704
    if not isinstance(report.blast, Missing) and report.blast.nodes:
        out["blast"] = Markup(charts.blast_graph_chart(report.blast))  # noqa: S704
    if not isinstance(report.progress, Missing) and report.progress.counts:
        out["progress"] = Markup(charts.progress_chart(report.progress))  # noqa: S704
    return out


def _cards(report: Report) -> list[dict[str, Any]]:
    """The key figures strip; ``value`` is ``None`` when the section is missing."""
    s, e, h, b, p = report.summary, report.exposure, report.hunt, report.blast, report.progress

    def card(label: str, value: int | None, *, critical: bool = False) -> dict[str, Any]:
        return {
            "label": label,
            "value": None if value is None else f"{value:,}",
            "critical": critical,
        }

    return [
        card("leaked addresses", None if isinstance(s, Missing) else s.total_addresses),
        card("leaked pairs", None if isinstance(s, Missing) else s.total_pairs),
        card("our exposed accounts", None if isinstance(e, Missing) else e.exposed),
        card(
            "leaked password still works",
            None if isinstance(e, Missing) else e.critical_total,
            critical=True,
        ),
        card("hunt alerts", None if isinstance(h, Missing) else h.alerts_total),
        card("vulnerable components", None if isinstance(b, Missing) else len(b.findings)),
        card("journaled actions", None if isinstance(p, Missing) else p.entries),
    ]


class HtmlRenderer:
    """Renders the report as one self-contained HTML page.

    Example:
        >>> html = HtmlRenderer().render(build_report(ws))   # doctest: +SKIP
    """

    suffix = ".html"

    def __init__(self) -> None:
        self._template = _environment().get_template("report.html.j2")

    def render(self, report: Report) -> str:
        """Return the HTML page."""
        findings, matrix = (
            ((), ()) if isinstance(report.exposure, Missing) else report.exposure.matrix()
        )
        status = {sid: ("unreadable" if m.unreadable else "missing") for sid, m in report.missing}
        return self._template.render(
            r=report,
            sections=SECTIONS,
            titles={s.id: s.title for s in SECTIONS},
            status=defaultdict(lambda: "available", status),
            cards=_cards(report),
            charts=_charts(report),
            findings=findings,
            matrix=matrix,
            data=report_document(report),
            schema_version=SCHEMA_VERSION,
        )
