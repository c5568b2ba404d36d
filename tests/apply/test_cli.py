"""The plan / apply / journal / notify commands through the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.plan import plan_remediation, write_plan
from credwatch.workspace import Workspace
from tests.apply.test_engine import CANARIES, _setup
from tests.plan.runs import configure, create_mailbox, store_toml, write_run


def _cli(ws: Workspace, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(ws.root), *args])


def test_plan_remediate_json_summary(workspace: Workspace, tmp_path: Path) -> None:
    configure(workspace, store_toml("mail", f"sqlite:///{tmp_path / 's.db'}"))
    write_run(workspace, "run1", "mail", "sha256:x")
    out = tmp_path / "fix.plan.json"
    result = _cli(workspace, "plan", "remediate", "--run", "run1", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["accounts"] == 6 and doc["by_action"]["require_mfa"] == 1
    assert doc["inputs"]["audit_run"] == "run1"
    human = _cli(workspace, "plan", "show", str(out))
    assert "actions per tenant" in human.output and "leaked-password-works" in human.output
    gone = _cli(workspace, "plan", "remediate", "--run", "nope", "-o", str(out))
    assert gone.exit_code == 3


def test_tampered_plan_show_exits_3(workspace: Workspace, tmp_path: Path) -> None:
    configure(workspace, store_toml("mail", f"sqlite:///{tmp_path / 's.db'}"))
    write_run(workspace, "run1", "mail", "sha256:x")
    out = tmp_path / "fix.plan.json"
    write_plan(plan_remediation(workspace, "run1"), out)
    out.write_text(out.read_text().replace('"nifty"', '"biglobe"', 1))
    result = _cli(workspace, "plan", "show", str(out))
    assert result.exit_code == 3 and "edited" in result.output


def test_journal_verify_reports_the_broken_line(workspace: Workspace, tmp_path: Path) -> None:
    assert _cli(workspace, "journal", "verify").exit_code == 0  # no journal yet
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_mailbox(url).dispose()
    path = _setup(workspace, url, tmp_path)
    assert _cli(workspace, "apply", str(path), "--yes").exit_code == 0
    ok = _cli(workspace, "journal", "verify", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ok"] is True
    lines = workspace.journal_path.read_text().splitlines()
    lines[4] = lines[4].replace('"applied"', '"not_found"')
    workspace.journal_path.write_text("\n".join(lines) + "\n")
    broken = _cli(workspace, "journal", "verify", "--json")
    assert broken.exit_code == 3
    assert json.loads(broken.stdout)["first_broken_line"] == 5
    assert "the line was edited" in " ".join(broken.output.split())


def test_notify_out_keeps_addresses_in_eml_only(workspace: Workspace, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_mailbox(url).dispose()
    path = _setup(workspace, url, tmp_path)
    _cli(workspace, "apply", str(path), "--yes")
    out = tmp_path / "notices"
    result = _cli(workspace, "notify", str(path), "--out", str(out), "--lang", "en", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["plan_applied"] is True
    assert sum(doc["by_tenant"][t].get("written", 0) for t in doc["by_tenant"]) == 6
    assert not any(c in result.output for c in CANARIES)
    for manifest in out.rglob("manifest.jsonl"):
        assert not any(c in manifest.read_text() for c in CANARIES)
    emls = list(out.rglob("*.eml"))
    assert emls and all(b"canary" in p.read_bytes() for p in emls)  # the To: address
    assert not any(b"CanaryPw" in p.read_bytes() for p in emls)
    human = _cli(workspace, "notify", str(path), "--out", str(tmp_path / "n2"))
    assert "contain recipient addresses" in " ".join(human.output.split())
