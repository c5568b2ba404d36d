"""The HTML report in a real browser: headless Chromium, network offline, from disk.

Checks that every section rendered, that every chart has drawn content, that the
console stays free of errors and that no request leaves the page.  Skips locally when
Chromium is absent, fails under CI=true (``require_program``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from credwatch.report import ReportFormat, write_report
from credwatch.report.model import SECTIONS
from credwatch.workspace import Workspace
from tests.conftest import require_program
from tests.report.cdp import open_offline
from tests.report.conftest import fill_workspace

pytestmark = [pytest.mark.external, pytest.mark.slow]

CHECK_SCRIPT = """
(() => {
  const sections = [...document.querySelectorAll('section[data-section]')].map(s => {
    const box = s.getBoundingClientRect();
    return {
      id: s.dataset.section, status: s.dataset.status,
      height: box.height, text: s.innerText.length,
      missing: s.querySelectorAll('[data-missing]').length,
    };
  });
  const charts = [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return {
      name: svg.dataset.chart, width: box.width, height: box.height,
      shapes: svg.querySelectorAll('path, use, rect, text').length,
      title: (svg.querySelector('title') || {}).textContent || '',
    };
  });
  return {
    title: document.title, sections, charts,
    external: [...document.querySelectorAll('[src], link[href], [href^="http"]')].length,
    reportData: JSON.parse(document.getElementById('report-data').textContent).schema_version,
  };
})()
"""


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _open(ws: Workspace, tmp_path: Path) -> tuple[Path, object]:
    chromium = require_program("chromium")
    page, _report = write_report(ws, ReportFormat.HTML, tmp_path / "report.html")
    run = open_offline(chromium, page, tmp_path / "profile", CHECK_SCRIPT)
    (tmp_path / "report.png").write_bytes(run.screenshot)
    return page, run


def test_full_report_renders_offline_without_errors(full_workspace: Workspace, tmp_path: Path):
    page, run = _open(full_workspace, tmp_path)
    assert run.errors == []  # type: ignore[attr-defined]
    # The only request is the report file itself: nothing leaves the page.
    assert run.requests == [page.resolve().as_uri()]  # type: ignore[attr-defined]
    result = run.evaluation  # type: ignore[attr-defined]
    assert result["external"] == 0
    assert result["reportData"] == "1.0"
    by_id = {s["id"]: s for s in result["sections"]}
    assert list(by_id) == [s.id for s in SECTIONS]
    for section in by_id.values():
        assert section["status"] == "available", section
        assert section["missing"] == 0
        assert section["height"] > 50 and section["text"] > 50, section
    charts = {c["name"]: c for c in result["charts"]}
    assert set(charts) == {"domains", "exposure", "schemes", "hunt", "blast", "progress"}
    for chart in charts.values():
        assert chart["width"] > 200 and chart["height"] > 80, chart
        assert chart["shapes"] > 10, chart
        assert chart["title"], chart
    width, height = _png_size(run.screenshot)  # type: ignore[attr-defined]
    assert width == 1200 and height > 3000


def test_partial_report_says_what_is_missing(workspace: Workspace, tmp_path: Path):
    fill_workspace(workspace, frozenset({"run"}))
    _page, run = _open(workspace, tmp_path)
    assert run.errors == []  # type: ignore[attr-defined]
    result = run.evaluation  # type: ignore[attr-defined]
    status = {s["id"]: (s["status"], s["missing"]) for s in result["sections"]}
    assert status == {
        "summary": ("missing", 1),
        "exposure": ("available", 0),
        "schemes": ("available", 0),
        "hunt": ("missing", 1),
        "blast": ("missing", 1),
        "progress": ("missing", 1),
        "next": ("available", 0),
    }
    assert {c["name"] for c in result["charts"]} == {"exposure", "schemes"}


def test_the_harness_sees_a_page_that_reaches_out(tmp_path: Path):
    """Guard against a blind harness: an external image must show up as a request."""
    chromium = require_program("chromium")
    page = tmp_path / "leaky.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>x</title></head><body>"
        '<img src="http://192.0.2.1/pixel.png"><script>console.error("boom")</script>'
        '<section data-section="x" data-status="available">x</section></body></html>',
        encoding="utf-8",
    )
    run = open_offline(
        chromium,
        page,
        tmp_path / "profile",
        CHECK_SCRIPT.replace(
            "JSON.parse(document.getElementById('report-data').textContent).schema_version", "null"
        ),
    )
    assert "http://192.0.2.1/pixel.png" in run.requests
    assert any("boom" in e for e in run.errors)


PRINT_SCRIPT = """
(() => ({
  nav: getComputedStyle(document.querySelector('nav.toc')).display,
  header: getComputedStyle(document.querySelector('header.top')).backgroundColor,
  charts: [...document.querySelectorAll('svg.chart')].map(c => c.getBoundingClientRect().height),
  sections: document.querySelectorAll('section[data-section]').length,
}))()
"""


def test_print_stylesheet(full_workspace: Workspace, tmp_path: Path):
    chromium = require_program("chromium")
    page, _report = write_report(full_workspace, ReportFormat.HTML, tmp_path / "report.html")
    run = open_offline(chromium, page, tmp_path / "profile", PRINT_SCRIPT, media="print")
    assert run.errors == []
    result = run.evaluation
    assert result["nav"] == "none"  # no navigation on paper
    assert result["header"] in {"rgba(0, 0, 0, 0)", "transparent"}  # no dark ink block
    assert len(result["charts"]) == 6 and min(result["charts"]) > 80
    assert result["sections"] == 7
