"""``credwatch report`` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.workspace import Workspace
from tests.report.conftest import CANARY_EMAILS, CANARY_PASSWORD, fill_workspace

runner = CliRunner()


def _run(ws: Workspace, *args: str):
    return runner.invoke(app, ["--workspace", str(ws.root), "report", *args])


def test_default_writes_the_html_into_the_workspace(full_workspace: Workspace):
    result = _run(full_workspace)
    assert result.exit_code == 0, result.output
    path = full_workspace.root / "report.html"
    assert path.exists()
    assert str(path) in result.stdout and "6 of 6 sections" in result.stdout


@pytest.mark.parametrize("flags", [("--format", "json"), ("--json",)])
def test_json_goes_to_stdout_alone(workspace: Workspace, flags):
    fill_workspace(workspace, frozenset({"run"}))
    result = _run(workspace, *flags)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["sections"]["exposure"]["status"] == "available"
    assert {m["section"] for m in doc["missing"]} == {"summary", "hunt", "blast", "progress"}


@pytest.mark.parametrize(("fmt", "suffix"), [("md", ".md"), ("json", ".json"), ("html", ".html")])
def test_output_file_in_each_format(full_workspace: Workspace, tmp_path: Path, fmt, suffix):
    out = tmp_path / "sub" / f"incident{suffix}"
    result = _run(full_workspace, "--format", fmt, "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    for canary in (*CANARY_EMAILS, CANARY_PASSWORD):
        assert canary not in text
        assert canary not in result.output


def test_missing_inputs_are_listed_on_stderr(workspace: Workspace):
    result = _run(workspace)
    assert result.exit_code == 0
    assert "missing summary" in result.stderr
    assert "credwatch audit run --store NAME" in result.stderr
    assert "0 of 6 sections" in result.stdout


def test_unknown_run_is_a_missing_section(full_workspace: Workspace):
    result = _run(full_workspace, "--run", "no-such-run", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["sections"]["exposure"]["status"] == "missing"
    assert "no-such-run" in doc["sections"]["exposure"]["inputs"]


def test_no_workspace_is_a_usage_error(tmp_path: Path):
    result = runner.invoke(app, ["--workspace", str(tmp_path / "nowhere"), "report"])
    assert result.exit_code == 2
    assert "credwatch" in result.stderr and "init" in result.stderr


def test_unknown_format_is_a_usage_error(workspace: Workspace):
    result = _run(workspace, "--format", "pdf")
    assert result.exit_code == 2


def test_unwritable_output_is_a_clear_error(workspace: Workspace, tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = _run(workspace, "-o", str(blocker / "report.html"))
    assert result.exit_code == 3
    assert "cannot write the report" in result.stderr


def test_the_report_file_is_private(full_workspace: Workspace, tmp_path: Path):
    out = tmp_path / "r.md"
    assert _run(full_workspace, "--format", "md", "-o", str(out)).exit_code == 0
    assert out.stat().st_mode & 0o077 == 0
