"""The pluggable parts of the supply-chain scan.

* :class:`InventoryReader` turns one file (or environment) into an :class:`Inventory`;
  one module per format: :mod:`~credwatch.supply.cyclonedx`, :mod:`~credwatch.supply.spdx`,
  :mod:`~credwatch.supply.dpkg`, :mod:`~credwatch.supply.pyenv`.
* :class:`AdvisorySource` yields parsed OSV advisories for a set of components; one
  module per source: :mod:`~credwatch.supply.osv_offline` (folder or zip) and
  :mod:`~credwatch.supply.osv_api` (``/v1/querybatch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from credwatch.supply.model import Component, Inventory, Rejections
from credwatch.supply.osv import Advisory

__all__ = ["AdvisoryLoad", "AdvisorySource", "InventoryReader"]


@runtime_checkable
class InventoryReader(Protocol):
    """Reads one inventory format."""

    #: The format's name as reported on each component (``cyclonedx-json``, ...).
    format: str

    def read(self, path: Path) -> Inventory:
        """Read every component of ``path``.

        Malformed components are counted in :attr:`Inventory.rejected`; an unreadable or
        unparsable file raises.

        Raises:
            credwatch.errors.InputError: the file is missing or unreadable.
            credwatch.errors.ParseError: the file is not valid in this format.
        """
        ...


@dataclass(slots=True)
class AdvisoryLoad:
    """What an advisory source delivered.

    Attributes:
        advisories: the usable (not withdrawn) advisories.
        withdrawn: how many withdrawn records were ignored.
        rejected: records that could not be used, by reason.
        skipped_entries: affected entries left out of usable records, by reason.
        records: how many records were read in all.
    """

    advisories: list[Advisory] = field(default_factory=list)
    withdrawn: int = 0
    rejected: Rejections = field(default_factory=Rejections)
    skipped_entries: dict[str, int] = field(default_factory=dict)
    records: int = 0

    def to_json(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "records": self.records,
            "usable": len(self.advisories),
            "withdrawn": self.withdrawn,
            "rejected": self.rejected.to_json(),
            "skipped_entries": dict(sorted(self.skipped_entries.items())),
        }


@runtime_checkable
class AdvisorySource(Protocol):
    """Where advisories come from."""

    #: A short name for reports (``osv-dir:PATH``, ``osv-zip:PATH``, ``osv-api``).
    name: str

    def load(self, components: Sequence[Component]) -> AdvisoryLoad:
        """Return the advisories that may concern ``components`` (offline sources: all).

        Raises:
            credwatch.errors.InputError: an offline database is missing or unreadable.
            credwatch.errors.ExternalServiceError: an online service failed.
        """
        ...
