"""``credwatch leak ingest|stats|check`` through typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.workspace import Workspace

runner = CliRunner()


def _run(ws: Workspace, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--workspace", str(ws.root), *args], input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    path = tmp_path / "dump.txt"
    path.write_text("taro@nifty.com:sakura1\nhanako@cpi.ad.jp:sakura1\nbroken line\n")
    return path


def test_ingest_stats_check_json(workspace: Workspace, dump: Path) -> None:
    code, out, _ = _run(workspace, "leak", "ingest", str(dump), "--source", "june", "--json")
    assert code == 0
    document = json.loads(out)
    assert document["files"][0]["status"] == "ingested"
    code, out, _ = _run(workspace, "leak", "stats", "--json")
    assert code == 0
    stats = json.loads(out)
    assert set(stats) == {"sources", "domains", "totals"}
    source = stats["sources"][0]
    for key in (
        "name",
        "lines",
        "accepted",
        "rejected",
        "rejected_by_reason",
        "distinct_emails",
        "distinct_pairs",
        "distinct_passwords",
    ):
        assert key in source
    assert (source["name"], source["lines"], source["accepted"]) == ("june", 3, 2)
    assert source["rejected_by_reason"] == {"no_separator": 1}
    assert stats["domains"] == {"cpi.ad.jp": 1, "nifty.com": 1}
    code, out, _ = _run(
        workspace,
        "leak",
        "check",
        "--email",
        "Taro@Nifty.com",
        "--password-stdin",
        "--json",
        input="sakura1\n",
    )
    assert code == 0
    assert json.loads(out) == {"email_exposed": True, "pair_exposed": True, "password_count": 2}
    code, out, _ = _run(workspace, "leak", "check", "--email", "nobody@nifty.com", "--json")
    assert json.loads(out) == {"email_exposed": False, "pair_exposed": None, "password_count": None}


def test_human_output(workspace: Workspace, dump: Path) -> None:
    code, out, _ = _run(workspace, "leak", "ingest", str(dump))
    assert code == 0
    assert "2 accepted" in out
    code, out, _ = _run(workspace, "leak", "ingest", str(dump))
    assert code == 0
    assert "skipped" in out
    code, out, _ = _run(workspace, "leak", "stats")
    assert code == 0
    assert "nifty.com" in out
    assert "no_separator" in out
    code, out, _ = _run(workspace, "leak", "check", "--password-stdin", input="sakura1")
    assert code == 0
    assert "2 times" in out


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p / "missing.txt",
        lambda p: p,
        lambda p: (p / "empty.txt", (p / "empty.txt").write_bytes(b""))[0],
        lambda p: (p / "bad.txt", (p / "bad.txt").write_text("nothing\nhere\n"))[0],
    ],
    ids=["missing", "directory", "empty", "only-bad-lines"],
)
def test_nothing_ingested_exits_3(workspace: Workspace, tmp_path: Path, make: object) -> None:
    target = make(tmp_path)  # type: ignore[operator]
    code, _, err = _run(workspace, "leak", "ingest", str(target))
    assert code == 3
    assert "nothing was ingested" in err


def test_check_needs_something(workspace: Workspace, dump: Path) -> None:
    _run(workspace, "leak", "ingest", str(dump))
    code, _, err = _run(workspace, "leak", "check")
    assert code == 2
    assert "nothing to check" in err


def test_check_invalid_address_is_bad_input(workspace: Workspace, dump: Path) -> None:
    _run(workspace, "leak", "ingest", str(dump))
    code, out, _ = _run(workspace, "leak", "check", "--email", "not-an-address", "--json")
    assert code == 3
    assert out == ""


def test_stats_without_index_is_a_config_error(workspace: Workspace) -> None:
    code, _, err = _run(workspace, "leak", "stats")
    assert code == 2
    assert "leak ingest" in err


def test_unknown_encoding_is_usage_error(workspace: Workspace, dump: Path) -> None:
    code, _, _ = _run(workspace, "leak", "ingest", str(dump), "--encoding", "utf-16")
    assert code == 2
