"""Pick the inventory reader for a file: by an explicit format, or from its content.

Example:
    >>> inv = read_inventory(Path("bom.xml"))                  # doctest: +SKIP
    >>> inv.format                                             # doctest: +SKIP
    'cyclonedx-xml'
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from credwatch.errors import ParseError
from credwatch.supply._build import read_bytes
from credwatch.supply.cyclonedx import CycloneDxReader
from credwatch.supply.dpkg import DpkgStatusReader
from credwatch.supply.interface import InventoryReader
from credwatch.supply.model import Ecosystem, Inventory
from credwatch.supply.pyenv import PythonEnvironmentReader
from credwatch.supply.spdx import SpdxReader

__all__ = ["InventoryFormat", "detect_format", "read_inventory", "reader_for"]


class InventoryFormat(StrEnum):
    """Inventory formats credwatch reads."""

    AUTO = "auto"
    CYCLONEDX = "cyclonedx"
    SPDX = "spdx"
    DPKG_STATUS = "dpkg-status"
    PYTHON_ENV = "python-env"


def detect_format(path: Path) -> InventoryFormat:
    """Tell the format from the content: CycloneDX JSON/XML, SPDX JSON or dpkg status.

    Raises:
        InputError: the file is missing or unreadable.
        ParseError: the content matches no known format.
    """
    if path.is_dir():
        return InventoryFormat.PYTHON_ENV
    head = read_bytes(path)
    stripped = head.lstrip()
    if stripped[:1] == b"<":
        return InventoryFormat.CYCLONEDX
    if stripped[:1] == b"{":
        try:
            doc = json.loads(head)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ParseError(
                f"not valid JSON (line {getattr(exc, 'lineno', '?')})", path=str(path)
            ) from None
        if isinstance(doc, dict) and "spdxVersion" in doc:
            return InventoryFormat.SPDX
        return InventoryFormat.CYCLONEDX
    if stripped.startswith(b"Package:"):
        return InventoryFormat.DPKG_STATUS
    raise ParseError(
        "unknown inventory format (not CycloneDX, SPDX JSON or a dpkg status file)",
        path=str(path),
    )


def reader_for(fmt: InventoryFormat, ecosystem: Ecosystem | None = None) -> InventoryReader:
    """The reader of a (non-auto) format."""
    if fmt is InventoryFormat.CYCLONEDX:
        return CycloneDxReader()
    if fmt is InventoryFormat.SPDX:
        return SpdxReader()
    if fmt is InventoryFormat.DPKG_STATUS:
        return DpkgStatusReader(ecosystem)
    if fmt is InventoryFormat.PYTHON_ENV:
        return PythonEnvironmentReader()
    raise ValueError("auto is resolved by detect_format")


def read_inventory(
    path: Path,
    fmt: InventoryFormat = InventoryFormat.AUTO,
    ecosystem: Ecosystem | None = None,
) -> Inventory:
    """Read one inventory file (format detected unless given).

    Raises:
        InputError: the file is missing or unreadable.
        ParseError: the file is not valid in its format.
    """
    if fmt is InventoryFormat.AUTO:
        fmt = detect_format(path)
    return reader_for(fmt, ecosystem).read(path)
