"""The demo's combolist and ingest stages."""

from __future__ import annotations

import gzip
from pathlib import Path

from credwatch.demo import combolist
from credwatch.demo import ingest as ingest_stage
from credwatch.demo.population import Population
from credwatch.demo.runner import DemoContext
from credwatch.index import ExposureIndex
from credwatch.workspace import Workspace


def _context(ws: Workspace, out: Path, n: int = 800) -> DemoContext:
    return DemoContext(workspace=ws, population=Population(n, seed=11), out_dir=out)


def test_combolist_is_deterministic_and_ingestible(workspace: Workspace, tmp_path: Path) -> None:
    first = _context(workspace, tmp_path / "a")
    combolist.run(first)
    second = _context(workspace, tmp_path / "b")
    combolist.run(second)
    for a, b in zip(
        first.artifacts["combolist"]["files"], second.artifacts["combolist"]["files"], strict=True
    ):
        assert Path(a).read_bytes() == Path(b).read_bytes()
    main, jp = (Path(p) for p in first.artifacts["combolist"]["files"])
    assert gzip.decompress(main.read_bytes())
    jp.read_bytes().decode("cp932")
    result = ingest_stage.run(first)
    assert result.name == "ingest"
    document = first.artifacts["leak_stats"]
    by_name = {s["name"]: s for s in document["sources"]}
    assert by_name["dump-main"]["encoding"] == "utf-8"
    assert by_name["dump-jp"]["encoding"] == "cp932"
    assert set(by_name["dump-main"]["rejected_by_reason"]) >= {
        "blank",
        "no_separator",
        "invalid_address",
    }
    # Every leaked pair of the population is in the index.
    pop = first.population
    part = pop.slice(0, pop.n)
    with ExposureIndex.open(workspace) as index:
        for email, password, leaked in list(
            zip(
                part.email.to_pylist(),
                part.leaked_password.to_pylist(),
                part.in_leak.tolist(),
                strict=True,
            )
        )[:50]:
            result_ = index.check(email=email, password=password)
            assert result_.pair_exposed is leaked
    again = ingest_stage.run(first)
    assert any("skipped" in line for line in again.lines)
