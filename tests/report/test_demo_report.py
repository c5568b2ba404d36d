"""End to end: the demo's report holds none of the synthetic incident's secrets.

The demo's population knows every plaintext address and password of the incident
(what leaked, what accounts use today, recovery addresses).  After the whole demo
flow, no report format may contain any of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from credwatch.demo.population import Population
from credwatch.demo.runner import run_demo
from credwatch.workspace import Workspace

pytestmark = pytest.mark.slow

SEED = 424242
ACCOUNTS = 600


def _secrets() -> tuple[set[str], set[str]]:
    part = Population(ACCOUNTS, seed=SEED).slice(0, ACCOUNTS)
    addresses = {a for a in part.email.to_pylist() + part.recovery_email.to_pylist() if a}
    passwords = {
        p
        for p in part.leaked_password.to_pylist() + part.current_password.to_pylist()
        # Short, digit-only or letter-only passwords ("123456", "password") also occur
        # as numbers in SVG paths or as words of the report's own text.
        if p and len(p) >= 7 and re.search(r"[A-Za-z]", p) and re.search(r"[^A-Za-z]", p)
    }
    return addresses, passwords


def test_demo_report_holds_no_plaintext_secret(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    result = run_demo(ws, accounts=ACCOUNTS, out_dir=tmp_path / "demo", seed=SEED)
    assert result.stages[-1].name == "report"
    paths = result.stages[-1].data["report"]
    addresses, passwords = _secrets()
    assert addresses and passwords
    for path in paths.values():
        text = Path(path).read_text(encoding="utf-8")
        for address in addresses:
            assert address not in text
            assert f"{address.split('@')[0]}@" not in text
        leaked = [p for p in passwords if p in text]
        assert leaked == [], f"{len(leaked)} passwords found in {Path(path).name}"
    document = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    filled = {sid for sid, s in document["sections"].items() if s["status"] == "available"}
    # Every stage the demo ran fills its section.
    ran = {s.name for s in result.stages}
    expected = {"summary"} if "ingest" in ran else set()
    expected |= {"exposure", "schemes"} if "audit" in ran else set()
    expected |= {"blast"} if "supply" in ran else set()
    assert expected <= filled
