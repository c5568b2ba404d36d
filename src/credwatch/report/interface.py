"""The :class:`Renderer` protocol: one report, several output formats."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from credwatch.report.model import Report

__all__ = ["Renderer"]


@runtime_checkable
class Renderer(Protocol):
    """Turns a :class:`~credwatch.report.model.Report` into one document.

    Attributes:
        suffix: the file suffix of the format (``".html"``).
    """

    suffix: str

    def render(self, report: Report) -> str:
        """Return the whole document as text."""
        ...
