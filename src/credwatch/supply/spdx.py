"""SPDX 2.x JSON SBOMs through spdx-tools.

The purl of a package sits in ``externalRefs`` (category ``PACKAGE-MANAGER``, type
``purl``); ``primaryPackagePurpose: SOURCE`` marks Debian source packages.

Example:
    >>> inv = SpdxReader().read(Path("sbom.spdx.json"))        # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

from spdx_tools.spdx.model.package import ExternalPackageRefCategory, PackagePurpose
from spdx_tools.spdx.parser.error import SPDXParsingError
from spdx_tools.spdx.parser.json.json_parser import parse_from_file

from credwatch.errors import ParseError
from credwatch.supply._build import make_component, read_bytes
from credwatch.supply.model import Component, Inventory, Rejections

__all__ = ["SpdxReader"]


class SpdxReader:
    """Reads SPDX 2.x JSON documents."""

    format = "spdx-json"

    def read(self, path: Path) -> Inventory:
        """Read every package.

        Raises:
            InputError: the file is missing or unreadable.
            ParseError: the file is not an SPDX 2.x JSON document.
        """
        data = read_bytes(path)
        source = str(path)
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ParseError(
                f"not valid JSON (line {getattr(exc, 'lineno', '?')})", path=source
            ) from None
        version = doc.get("spdxVersion") if isinstance(doc, dict) else None
        if not isinstance(version, str) or not version.startswith("SPDX-2."):
            raise ParseError('not an SPDX 2.x document (no "spdxVersion": "SPDX-2.x")', path=source)
        try:
            document = parse_from_file(source)
        except SPDXParsingError as exc:
            count = len(exc.get_messages())  # type: ignore[no-untyped-call]
            raise ParseError(f"invalid SPDX document ({count} problem(s))", path=source) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise ParseError(f"invalid SPDX document ({type(exc).__name__})", path=source) from None
        rejected = Rejections()
        components: list[Component] = []
        for i, package in enumerate(document.packages):
            purls = [
                ref.locator
                for ref in package.external_references
                if ref.category == ExternalPackageRefCategory.PACKAGE_MANAGER
                and ref.reference_type == "purl"
            ]
            source_package = (
                package.name if package.primary_package_purpose == PackagePurpose.SOURCE else None
            )
            components.append(
                make_component(
                    name=package.name,
                    version=package.version,
                    purl=purls[0] if purls else None,
                    source=source,
                    fmt=self.format,
                    rejected=rejected,
                    where=f"package {i} ({package.spdx_id})",
                    source_package=source_package,
                )
            )
        return Inventory(
            source=source,
            format=self.format,
            components=tuple(components),
            rejected=dict(rejected.by_reason),
            rejected_examples=tuple(rejected.examples),
        )
