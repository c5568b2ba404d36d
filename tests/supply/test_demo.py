"""The demo's supply stage: the whole picture on six ISP tenants."""

from __future__ import annotations

import json
from pathlib import Path

from credwatch.demo import supply
from credwatch.demo.population import TENANTS, Population
from credwatch.demo.runner import DemoContext
from credwatch.results import load_result
from credwatch.workspace import Workspace


def test_demo_stage(workspace: Workspace, tmp_path: Path) -> None:
    population = Population(3000, seed=7)
    ctx = DemoContext(workspace=workspace, population=population, out_dir=tmp_path / "demo")
    result = supply.run(ctx)
    assert result.name == "supply"
    envelope = load_result(workspace, "supply")
    assert envelope is not None
    doc = envelope["document"]
    findings = {f["component"]: f for f in doc["findings"]}
    dovecot = findings["dovecot-core"]
    assert dovecot["tenants"] == sorted(t.name for t in TENANTS)
    assert sum(dovecot["accounts"].values()) == 3000  # every subscriber stands behind it
    assert dovecot["advisories"] == ["DEMO-2026-0001", "DEMO-USN-0001-1"]
    assert dovecot["fixed"] == "1:2.3.16+dfsg1-3ubuntu2.5"
    assert findings["roundcube"]["fixed"] is None  # no fix yet: said so, not hidden
    assert "postfix" not in findings  # fixed before the installed version
    assert doc["advisories"]["withdrawn"] == 1
    assert doc["advisories"]["skipped_entries"] == {"unknown ecosystem": 1}
    assert "shared-mail" in doc["concentration"]["single_points_of_failure"]
    kinds = {(g["supplier"], g["kind"]) for g in doc["obligations"]}
    assert ("mailsoft", "notification-too-long") in kinds
    assert ("jcom-inhouse", "supplier-undescribed") in kinds
    # deterministic: the same seed writes the same inventories
    first = (tmp_path / "demo/supply/inventories/imap-1.cdx.json").read_text()
    supply.run(ctx)
    assert (tmp_path / "demo/supply/inventories/imap-1.cdx.json").read_text() == first
    # no subscriber address ends up in anything the stage wrote
    emails = population.slice(0, 50).email.to_pylist()
    written = "".join(p.read_text() for p in (tmp_path / "demo/supply").rglob("*") if p.is_file())
    written += json.dumps(doc)
    assert not any(e in written for e in emails)


def test_demo_stage_uses_the_accounts_census(workspace: Workspace, tmp_path: Path) -> None:
    ctx = DemoContext(workspace=workspace, population=Population(500), out_dir=tmp_path / "d")
    census = {t.name: {"active": 10, "dormant": 2, "cancelled": 1} for t in TENANTS}
    census["nifty"]["unknown"] = 4
    ctx.artifacts["accounts_census"] = census
    result = supply.run(ctx)
    assert "accounts stage's census" in result.lines[0]
    envelope = load_result(workspace, "supply")
    assert envelope is not None
    dovecot = next(f for f in envelope["document"]["findings"] if f["component"] == "dovecot-core")
    assert dovecot["accounts"] == {"active": 60, "dormant": 12, "cancelled": 6, "unknown": 4}
