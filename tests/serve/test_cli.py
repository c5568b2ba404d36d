"""``credwatch passwords import`` and ``credwatch serve`` through the Typer app."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.workspace import Workspace
from tests.serve.conftest import hibp_file, sha1_hex, write_lines

runner = CliRunner()


def _run(ws: Workspace, *args: str):
    return runner.invoke(app, ["--workspace", str(ws.root), *args])


def test_import_json_counts_bad_lines(workspace: Workspace, tmp_path: Path) -> None:
    bad = write_lines(tmp_path / "mixed.txt", [f"{sha1_hex('a')}:2", "oops", f"{sha1_hex('b')}:0"])
    result = _run(
        workspace, "passwords", "import", "--json", str(hibp_file(tmp_path / "a.txt")), str(bad)
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["mode"] == "sha1"
    assert document["rejected_by_reason"] == {"no_separator": 1, "zero_count": 1}
    assert [f["name"] for f in document["files"]] == ["a.txt", "mixed.txt"]
    assert document["records"] == 5
    again = json.loads(_run(workspace, "passwords", "import", "--json", str(bad)).stdout)
    assert again["files"][0]["skipped"] is True


def test_import_table_output(workspace: Workspace, tmp_path: Path) -> None:
    result = _run(workspace, "passwords", "import", str(hibp_file(tmp_path / "a.txt")))
    assert result.exit_code == 0
    assert "distinct sha1 hashes served" in result.stdout


def test_import_ntlm(workspace: Workspace, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "n.txt", ["8846F7EAEE8FB117AD06BDD830B7586C:4"])
    result = _run(workspace, "passwords", "import", "--ntlm", "--json", str(path))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["mode"] == "ntlm"
    wrong = _run(workspace, "passwords", "import", str(path))
    assert wrong.exit_code == 3
    assert "--ntlm" in wrong.output


def test_bad_inputs_exit_3_without_traceback(workspace: Workspace, tmp_path: Path) -> None:
    missing = _run(workspace, "passwords", "import", str(tmp_path / "nope.txt"))
    assert missing.exit_code == 3
    junk = write_lines(tmp_path / "junk.txt", ["secret-looking line", "another"])
    result = _run(workspace, "passwords", "import", str(junk))
    assert result.exit_code == 3
    assert "Traceback" not in result.output
    assert "secret-looking" not in result.output


def test_import_without_files_and_without_index(workspace: Workspace) -> None:
    result = _run(workspace, "passwords", "import", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["records"] == 0


def test_serve_refuses_a_bad_serve_section(workspace: Workspace) -> None:
    workspace.config_path.write_text('[serve]\ntoken = "short"\n', encoding="utf-8")
    result = _run(workspace, "serve", "--no-refresh", "--port", "1")
    assert result.exit_code == 2
    assert "16 characters" in result.output
    workspace.config_path.write_text("[serve]\nworkerz = 2\n", encoding="utf-8")
    assert _run(workspace, "serve", "--no-refresh").exit_code == 2


def test_help_has_examples() -> None:
    for args in (["serve", "--help"], ["passwords", "import", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0
        assert "Example" in result.output
