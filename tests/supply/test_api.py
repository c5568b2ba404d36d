"""The public surface: ``__all__`` is honest and implementations satisfy the Protocols."""

from __future__ import annotations

from pathlib import Path

import httpx

import credwatch.supply as supply
from credwatch.supply import (
    AdvisorySource,
    CycloneDxReader,
    DpkgStatusReader,
    InventoryReader,
    OsvApi,
    OsvDirectory,
    OsvZip,
    PythonEnvironmentReader,
    SpdxReader,
)


def test_all_is_exported_and_documented() -> None:
    for name in supply.__all__:
        obj = getattr(supply, name)
        assert getattr(obj, "__doc__", None), name
    public = {n for n in dir(supply) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(supply, n)).__name__ == "module"}
    assert public - modules - {"annotations"} <= set(supply.__all__)


def test_readers_are_inventory_readers() -> None:
    for reader in (CycloneDxReader(), SpdxReader(), DpkgStatusReader(), PythonEnvironmentReader()):
        assert isinstance(reader, InventoryReader)


def test_sources_are_advisory_sources(tmp_path: Path) -> None:
    with httpx.Client() as client:
        for source in (OsvDirectory(tmp_path), OsvZip(tmp_path / "a.zip"), OsvApi(client)):
            assert isinstance(source, AdvisorySource)
