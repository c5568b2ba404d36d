"""No plaintext address or password anywhere on disk after an ingest (issue 3, item 4)."""

from __future__ import annotations

import gzip
from pathlib import Path

from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.workspace import Workspace
from tests.index.helpers import ingest

CANARIES = [
    ("Canary.Taro.Q7z@Nifty.com", "Zebra-Canary-Pw-8812!"),
    ("canary-hanako-3k@biglobe.ne.jp", "ひみつのカナリア９"),
    ("kanariya-jiro@cpi.ad.jp", "Pässwörd-Kanarienvogel"),
]


def _variants(text: str) -> set[bytes]:
    out: set[bytes] = set()
    for value in {text, text.lower(), text.upper()}:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            out.add(value.encode(encoding))
    return out


def _needles() -> set[bytes]:
    needles: set[bytes] = set()
    for email, password in CANARIES:
        needles |= _variants(email)
        needles |= _variants(email.split("@")[0])
        needles |= _variants(password)
    return needles


def _all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_workspace_holds_no_plaintext_after_ingest(
    workspace: Workspace, tmp_path: Path, monkeypatch: object
) -> None:
    # Run from a scratch cwd so a DuckDB default temp dir ('.tmp') would be caught too.
    scratch = tmp_path / "cwd"
    scratch.mkdir()
    monkeypatch.chdir(scratch)  # type: ignore[attr-defined]
    lines = [f"{e}:{p}" for e, p in CANARIES]
    filler = [f"user{i}@nifty.com:filler{i}" for i in range(5000)]
    utf8 = tmp_path / "in" / "dump.txt.gz"
    utf8.parent.mkdir()
    utf8.write_bytes(gzip.compress(("\n".join(filler + lines) + "\n").encode()))
    cp932 = tmp_path / "in" / "jp.txt"
    cp932.write_bytes("\n".join(lines[:2]).encode("cp932") + b"\n")
    report = ingest(workspace, utf8, cp932)
    assert [f.status for f in report.files] == ["ingested", "ingested"]
    runner = CliRunner()
    result = runner.invoke(app, ["--workspace", str(workspace.root), "leak", "stats", "--json"])
    assert result.exit_code == 0
    for email, password in CANARIES:
        check = runner.invoke(
            app,
            [
                "--workspace",
                str(workspace.root),
                "leak",
                "check",
                "--email",
                email,
                "--password-stdin",
                "--json",
            ],
            input=password,
        )
        assert check.exit_code == 0
        assert '"pair_exposed": true' in check.stdout
        for needle in (email, password, email.lower()):
            assert needle not in check.output
    files = _all_files(workspace.root) + _all_files(scratch)
    assert any(p.name == "exposure.duckdb" for p in files)
    needles = _needles()
    for path in files:
        data = path.read_bytes()
        found = [n for n in needles if n in data]
        assert not found, f"plaintext canary found in {path}"
