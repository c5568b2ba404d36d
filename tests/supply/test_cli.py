"""``credwatch supply scan`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.results import load_result
from credwatch.workspace import Workspace


def _run(*args: str, ws: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--workspace", str(ws), "supply", "scan", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_document_shape_and_saved_result(data: Path, workspace: Workspace) -> None:
    code, out, _ = _run(
        "--platforms",
        str(data / "platforms.toml"),
        "--advisories",
        str(data / "osv"),
        "--today",
        "2026-07-01",
        "--json",
        ws=workspace.root,
    )
    assert code == 0
    doc = json.loads(out)  # one JSON document on stdout, nothing else
    assert {"components", "findings", "concentration", "obligations", "summary"} <= set(doc)
    finding = doc["findings"][0]
    for key in (
        "component",
        "version",
        "purl",
        "advisories",
        "aliases",
        "severity",
        "fixed",
        "platforms",
        "tenants",
        "accounts",
    ):
        assert key in finding
    assert set(finding["accounts"]) == {"active", "dormant", "cancelled"}
    assert doc["concentration"]["single_points_of_failure"] == ["mail"]
    assert doc["advisories"]["withdrawn"] == 1
    assert doc["advisories"]["rejected"]["by_reason"] == {"not valid JSON": 1}
    saved = load_result(workspace, "supply")
    assert saved is not None
    assert saved["document"]["findings"] == doc["findings"]


def test_human_output(data: Path, tmp_path: Path) -> None:
    code, out, err = _run(
        "--sbom",
        str(data / "mail.cdx.json"),
        "--dpkg-status",
        str(data / "status"),
        "--distro",
        "Ubuntu:22.04",
        "--advisories",
        str(data / "osv"),
        ws=tmp_path / "no-workspace",
    )
    assert code == 0, err
    assert "Vulnerable components" in out
    assert "dovecot-core" in out
    assert "not installed" in err  # counted rejections are shown
    assert not (tmp_path / "no-workspace").exists()  # no workspace: nothing saved


@pytest.mark.parametrize(
    ("fail_on", "code"), [("critical", 10), ("any", 10), ("medium", 10), (None, 0)]
)
def test_fail_on(data: Path, tmp_path: Path, fail_on: str | None, code: int) -> None:
    args = ["--sbom", str(data / "mail.cdx.json"), "--advisories", str(data / "osv"), "--json"]
    if fail_on:
        args += ["--fail-on", fail_on]
    got, out, _ = _run(*args, ws=tmp_path)
    assert got == code
    json.loads(out)


def test_fail_on_critical_from_an_spdx_inventory(data: Path, tmp_path: Path) -> None:
    # the SPDX fixture lists the dovecot source package at a critical, unfixed version
    code, _, _ = _run(
        "--sbom",
        str(data / "mail.spdx.json"),
        "--advisories",
        str(data / "osv"),
        "--fail-on",
        "critical",
        ws=tmp_path,
    )
    assert code == 10


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--advisories", "ADV"], 3, "no inventory to scan"),
        (["--sbom", "BAD", "--advisories", "ADV"], 3, "no components found"),
        (["--sbom", "SBOM", "--advisories", "/nonexistent"], 3, "advisory database not found"),
        (["--sbom", "SBOM", "--advisories", "ADV", "--platforms", "BADMAP"], 2, "not valid TOML"),
        (["--sbom", "SBOM", "--advisories", "ADV", "--today", "soon"], 2, "not a date"),
        (["--sbom", "SBOM", "--advisories", "ADV", "--fail-on", "meh"], 2, "--fail-on"),
    ],
)
def test_errors_have_exit_codes_and_messages(
    data: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    badmap = tmp_path / "map.toml"
    badmap.write_text("[[[")
    table = {
        "ADV": str(data / "osv"),
        "BAD": str(bad),
        "SBOM": str(data / "mail.cdx.json"),
        "BADMAP": str(badmap),
    }
    got, out, err = _run(*[table.get(a, a) for a in args], ws=tmp_path / "ws")
    assert got == code
    assert message in err
    assert "Traceback" not in err + out


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["supply", "scan", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
