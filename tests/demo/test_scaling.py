"""The demo at size: a store built slice by slice, and an auth log that stops growing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from credwatch.demo import accounts as demo_accounts
from credwatch.demo.authlogs import AuthLogSpec, write_auth_logs
from credwatch.demo.population import Population
from credwatch.demo.runner import DemoContext
from credwatch.hashes import verify
from credwatch.normalize import Normalizer
from credwatch.workspace import Workspace

_SPEC = AuthLogSpec(spray_ips=4, spray_users_per_ip=20, brute_attempts=50)


def test_demo_store_holds_every_subscriber_with_a_verifiable_hash(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_accounts, "SLOW_HASH_BUDGET", 40)
    whole = Population.slices
    monkeypatch.setattr(Population, "slices", lambda self, size=0: whole(self, 1000))  # 3 slices
    pop = Population(2500, seed=5)
    ctx = DemoContext(workspace=workspace, population=pop, out_dir=tmp_path / "demo")
    ctx.out_dir.mkdir()
    result = demo_accounts.run(ctx)
    assert result.data["census"]["accounts"] == 2500

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'demo' / 'accounts.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, username, password, state FROM mailbox")).all()
    engine.dispose()
    parts = [pop.slice(start, stop) for start, stop in pop.slices()]
    assert [r.id for r in rows] == list(range(1, 2501))  # every slice appended once, in order
    assert [r.username for r in rows] == [e for p in parts for e in p.email.to_pylist()]
    current = [pw for p in parts for pw in p.current_password.to_pylist()]
    slow = 0
    for row in rows:
        if row.password is None:
            assert row.state == "closed"  # only cancelled accounts had their credential purged
            continue
        scheme = row.password[1 : row.password.index("}")]
        slow += scheme in ("SHA512-CRYPT", "BLF-CRYPT")
        if scheme != "LEGACY-NTHASH":  # the scheme credwatch must report as unknown
            assert verify(current[row.id - 1], row.password).outcome == "matched", scheme
    assert slow == 40  # the slow-hash budget holds across slices
    census = ctx.artifacts["accounts_census"]
    assert sum(n for per in census.values() for n in per.values()) == 2500


def test_auth_log_is_the_first_backends_and_stops_growing(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = Population.slices
    monkeypatch.setattr(Population, "slices", lambda self, size=0: whole(self, 700))  # blocks
    spec = AuthLogSpec(
        spray_ips=_SPEC.spray_ips,
        spray_users_per_ip=_SPEC.spray_users_per_ip,
        brute_attempts=_SPEC.brute_attempts,
        backend_subscribers=1000,
    )
    pop = Population(3000, seed=3)
    big = write_auth_logs(pop, tmp_path / "big", workspace.keyer(), spec)
    truth = json.loads(big.truth_path.read_text(encoding="utf-8"))
    assert truth["backend"] == {"subscribers": 1000, "platform_subscribers": 3000, "backends": 3}
    bigger = write_auth_logs(Population(9000, seed=3), tmp_path / "x", workspace.keyer(), spec)
    assert 0.8 < bigger.lines / big.lines < 1.25  # past one backend the log stops growing

    # The log's users are the first 1000 subscribers as the combolist and the store hold
    # them (block by block), so ground truth and exposure agree with the index.
    keyer, normalizer = workspace.keyer(), Normalizer()
    blocks = [pop.slice(a, b) for a, b in pop.slices()]
    first = [e for block in blocks for e in block.email.to_pylist()][:1000]
    backend = {keyer.email_key(normalizer.normalize(e)).hex() for e in first}
    stuffed = set(truth["campaigns"]["stuffing"]["user_keys"])
    assert stuffed and stuffed <= backend
    assert set(truth["campaigns"]["spraying"]["user_keys"]) <= backend
    log = big.log_path.read_text(encoding="utf-8")
    assert first[0] in log or first[1] in log or first[2] in log
