"""Offline OSV databases: a folder of OSV JSON records, or an osv.dev zip file.

osv.dev publishes one ``all.zip`` per ecosystem
(``https://osv-vulnerabilities.storage.googleapis.com/<ECOSYSTEM>/all.zip``) holding one
JSON record per member; a folder may hold records at any depth (``*.json``).  Every
record is parsed once; withdrawn records are ignored and counted; a record that is not
valid JSON or not an OSV object is counted by reason and never stops the load.

Example:
    >>> load = OsvDirectory(Path("osv")).load([])             # doctest: +SKIP
    >>> load.records, len(load.advisories), load.withdrawn     # doctest: +SKIP
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

from credwatch.errors import InputError
from credwatch.supply.interface import AdvisoryLoad
from credwatch.supply.model import Component
from credwatch.supply.osv import RecordError, parse_record

__all__ = ["OsvDirectory", "OsvZip", "accept_record", "open_offline"]


def accept_record(load: AdvisoryLoad, raw: bytes | str | object, source: str) -> None:
    """Parse one record (bytes/str JSON, or an already-decoded object) into ``load``."""
    load.records += 1
    if isinstance(raw, bytes | str):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            load.rejected.add(source, "not valid JSON")
            return
    if isinstance(raw, dict) and raw.get("withdrawn"):
        load.withdrawn += 1
        return
    try:
        advisory = parse_record(raw, source)
    except RecordError as exc:
        load.rejected.add(source, f"not an OSV record: {exc}")
        return
    for reason, count in advisory.skipped:
        load.skipped_entries[reason] = load.skipped_entries.get(reason, 0) + count
    load.advisories.append(advisory)


class OsvDirectory:
    """A folder of OSV JSON records (searched recursively).

    Args:
        path: the folder.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"osv-dir:{path}"

    def load(self, components: Sequence[Component]) -> AdvisoryLoad:
        """Read every ``*.json`` record under the folder (``components`` is not needed).

        Raises:
            InputError: the folder does not exist or holds no JSON file.
        """
        del components  # an offline database is loaded whole
        if not self.path.is_dir():
            raise InputError(f"{self.path}: advisory folder not found")
        files = sorted(p for p in self.path.rglob("*.json") if p.is_file())
        if not files:
            raise InputError(
                f"{self.path}: no OSV records (*.json) found",
                hint="point --advisories at a folder of OSV JSON files or an osv.dev zip",
            )
        load = AdvisoryLoad()
        for file in files:
            try:
                data = file.read_bytes()
            except OSError:
                load.records += 1
                load.rejected.add(str(file), "unreadable file")
                continue
            accept_record(load, data, str(file))
        return load


class OsvZip:
    """An osv.dev per-ecosystem zip (``all.zip``) or any zip of OSV JSON records.

    Args:
        path: the zip file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"osv-zip:{path}"

    def load(self, components: Sequence[Component]) -> AdvisoryLoad:
        """Read every ``*.json`` member.

        Raises:
            InputError: the file is missing or not a zip archive.
        """
        del components
        load = AdvisoryLoad()
        try:
            with zipfile.ZipFile(self.path) as archive:
                for info in archive.infolist():
                    if info.is_dir() or not info.filename.endswith(".json"):
                        continue
                    source = f"{self.path}!{info.filename}"
                    try:
                        data = archive.read(info)
                    except (zipfile.BadZipFile, OSError, ValueError):
                        load.records += 1
                        load.rejected.add(source, "unreadable zip member")
                        continue
                    accept_record(load, data, source)
        except FileNotFoundError:
            raise InputError(f"{self.path}: advisory zip not found") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{self.path}: not a readable zip file ({exc})") from None
        return load


def open_offline(path: Path) -> OsvDirectory | OsvZip:
    """The offline source for ``path``: a folder or a zip file.

    Raises:
        InputError: ``path`` does not exist.
    """
    if path.is_dir():
        return OsvDirectory(path)
    if path.is_file():
        return OsvZip(path)
    raise InputError(
        f"{path}: advisory database not found",
        hint="give a folder of OSV JSON records, an osv.dev zip, or 'osv-api'",
    )
