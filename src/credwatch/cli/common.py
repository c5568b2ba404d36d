"""What every command shares: the global state, JSON output and the consoles.

Rules (DESIGN.md, "Command line"): ``--json`` prints exactly one JSON document on
stdout; progress and logs go to stderr.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from credwatch.workspace import Workspace

__all__ = ["CliState", "emit_json", "err_console", "out_console", "state", "workspace"]

#: Human-readable output (tables, summaries).
out_console = Console(highlight=False, soft_wrap=True)
#: Progress bars, warnings and errors.
err_console = Console(stderr=True, highlight=False)


@dataclass(slots=True)
class CliState:
    """Global options, set by the root callback."""

    workspace: Path | None = None
    debug: bool = False


def state(ctx: typer.Context) -> CliState:
    """The global options of this invocation."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def workspace(ctx: typer.Context, *, require: bool = True) -> Workspace:
    """Resolve the workspace from ``--workspace`` / ``CREDWATCH_HOME``; check it if asked."""
    ws = Workspace.resolve(state(ctx).workspace)
    return ws.require() if require else ws


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (and nothing else there)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()
