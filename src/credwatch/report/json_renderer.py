"""The JSON form of the report: the same content as the HTML, as one document."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from credwatch.report.model import SCHEMA_VERSION, SECTIONS, Missing, Report

__all__ = ["JsonRenderer", "report_document"]


def _section(value: object) -> dict[str, Any]:
    if isinstance(value, Missing):
        return {
            "status": "unreadable" if value.unreadable else "missing",
            "inputs": value.inputs,
            "command": value.command,
            "detail": value.detail,
        }
    assert dataclasses.is_dataclass(value) and not isinstance(value, type)
    return {"status": "available", **dataclasses.asdict(value)}


def report_document(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data (``schema_version`` 1.x); also embedded in the HTML.

    Each section is ``{"status": "available", ...its fields}`` or ``{"status":
    "missing"|"unreadable", "inputs", "command", "detail"}``.
    """
    sections = {
        info.id: _section(getattr(report, info.id)) for info in SECTIONS if info.id != "next"
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": report.generated_at,
        "workspace": report.workspace,
        "sections": sections,
        "missing": [
            {"section": sid, "inputs": m.inputs, "command": m.command, "detail": m.detail}
            for sid, m in report.missing
        ],
        "next_steps": [dataclasses.asdict(step) for step in report.next_steps],
    }


class JsonRenderer:
    """Renders :func:`report_document` as indented JSON."""

    suffix = ".json"

    def render(self, report: Report) -> str:
        """Return the report as one JSON document."""
        return json.dumps(report_document(report), ensure_ascii=False, indent=2) + "\n"
