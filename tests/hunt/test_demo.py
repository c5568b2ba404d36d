"""The demo auth logs: realistic shape, ground truth without secrets, all campaigns found."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc

from credwatch.demo.authlogs import AuthLogSpec, write_auth_logs
from credwatch.demo.hunt import flagged_addresses, score_alerts
from credwatch.demo.population import Population
from credwatch.hunt import hunt_files
from credwatch.hunt.interface import Alert
from credwatch.index.ingest import ingest_files
from credwatch.workspace import Workspace


def test_demo_logs_and_hunt(workspace: Workspace, tmp_path: Path) -> None:
    pop = Population(4000, seed=11)
    out = write_auth_logs(
        pop, tmp_path / "logs", workspace.keyer(), AuthLogSpec(spray_ips=8, brute_attempts=400)
    )
    again = write_auth_logs(
        pop, tmp_path / "again", workspace.keyer(), AuthLogSpec(spray_ips=8, brute_attempts=400)
    )
    assert out.log_path.read_bytes() == again.log_path.read_bytes()  # deterministic
    subs = pop.slice(0, pop.n)
    combo = tmp_path / "combo.txt"
    pairs = pc.binary_join_element_wise(subs.email, subs.leaked_password, ":").filter(subs.in_leak)
    combo.write_text("\n".join(pairs.to_pylist()) + "\n", encoding="utf-8")
    ingest_files(workspace, [combo])
    combo.unlink()

    truth_text = out.truth_path.read_text(encoding="utf-8")
    truth = json.loads(truth_text)
    leaked_password = subs.leaked_password.to_pylist()[0]
    assert subs.email.to_pylist()[0] not in truth_text and f":{leaked_password}" not in truth_text

    result = hunt_files([out.log_path], workspace=workspace, keep_events=True)
    assert (
        result.files[0].unparsed > 0
    )  # companion lines (connect, Logged out) are counted, not fatal
    assert result.table is not None
    ips = pc.unique(pc.drop_null(result.table.column("src_ip"))).to_pylist()
    score = score_alerts(result.alerts, truth, ips)
    assert score["stuffing"]["recall"] >= 0.9
    assert score["spraying"]["recall"] == 1.0 and score["brute_force"]["recall"] == 1.0
    assert score["benign_flagged_share"] <= 0.02
    assert result.leak_correlation is not None
    assert result.leak_correlation["rate"] > result.leak_correlation["base_rate"]


def test_subnet_alerts_cover_their_addresses() -> None:
    alert = Alert(
        "failures_per_subnet",
        "subnet",
        "198.51.100.0/24",
        "medium",
        datetime(2026, 1, 1),
        datetime(2026, 1, 1),
        5,
    )
    assert flagged_addresses([alert], ["198.51.100.7", "198.51.101.7", "2001:db8::1"]) == {
        "198.51.100.7"
    }
