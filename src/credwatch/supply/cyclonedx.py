"""CycloneDX SBOMs (JSON and XML, spec 1.4 to 1.6) through cyclonedx-python-lib.

Nested components are walked.  cyclonedx-python-lib refuses a whole document when one
purl does not parse, so purls are checked first: a bad one is counted (``purl does not
parse``) and removed, and its component is kept (unchecked: no ecosystem).

Example:
    >>> inv = CycloneDxReader().read(Path("bom.cdx.json"))     # doctest: +SKIP
    >>> inv.format, len(inv.components)                        # doctest: +SKIP
    ('cyclonedx-json', 62)
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from cyclonedx.exception import CycloneDxException
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.schema.deprecation import BaseSchemaDeprecationWarning
from defusedxml import DefusedXmlException

from credwatch.errors import ParseError
from credwatch.supply._build import make_component, read_bytes
from credwatch.supply.model import Component, Inventory, Rejections
from credwatch.supply.purls import InvalidPurlError, parse_purl

__all__ = ["CycloneDxReader"]

_ERRORS = (CycloneDxException, ValueError, TypeError, KeyError, AttributeError)


def _valid_purl(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        parse_purl(text)
    except InvalidPurlError:
        return False
    return True


def _clean_json(components: Any, path: str, rejected: Rejections, trail: str) -> None:
    if not isinstance(components, list):
        return
    for i, comp in enumerate(components):
        if not isinstance(comp, dict):
            continue
        where = f"{trail}components[{i}]"
        if "purl" in comp and not _valid_purl(comp["purl"]):
            rejected.add(path, "purl does not parse", where)
            comp.pop("purl")
        _clean_json(comp.get("components"), path, rejected, f"{where}.")


def _walk(components: Iterable[CdxComponent]) -> Iterator[CdxComponent]:
    for comp in components:
        yield comp
        yield from _walk(comp.components)


class CycloneDxReader:
    """Reads CycloneDX JSON or XML (chosen by content: ``{`` or ``<``)."""

    format = "cyclonedx"

    def read(self, path: Path) -> Inventory:
        """Read every component.

        Raises:
            InputError: the file is missing or unreadable.
            ParseError: the file is not a CycloneDX document.
        """
        data = read_bytes(path)
        text = data.lstrip()[:1]
        rejected = Rejections()
        source = str(path)
        if text == b"<":
            fmt = "cyclonedx-xml"
            bom = self._xml(data, source, rejected)
        else:
            fmt = "cyclonedx-json"
            bom = self._json(data, source, rejected)
        components: list[Component] = []
        for i, comp in enumerate(_walk(bom.components)):
            name = comp.name
            if comp.group and comp.purl is None:
                name = f"{comp.group}/{comp.name}"
            components.append(
                make_component(
                    name=name,
                    version=comp.version,
                    purl=comp.purl.to_string() if comp.purl is not None else None,
                    source=source,
                    fmt=fmt,
                    rejected=rejected,
                    where=f"component {i}",
                )
            )
        return Inventory(
            source=source,
            format=fmt,
            components=tuple(components),
            rejected=dict(rejected.by_reason),
            rejected_examples=tuple(rejected.examples),
        )

    @staticmethod
    def _json(data: bytes, source: str, rejected: Rejections) -> Bom:
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ParseError(
                f"not valid JSON (line {getattr(exc, 'lineno', '?')})", path=source
            ) from None
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise ParseError(
                'not a CycloneDX document (no "bomFormat": "CycloneDX")',
                path=source,
                hint="for SPDX use --sbom too: the format is detected from the content",
            )
        _clean_json(doc.get("components"), source, rejected, "")
        try:
            with warnings.catch_warnings():
                # Older documents use fields later specs deprecate: still valid input.
                warnings.simplefilter("ignore", BaseSchemaDeprecationWarning)
                return Bom.from_json(doc)  # type: ignore[attr-defined,no-any-return]
        except _ERRORS as exc:
            raise ParseError(
                f"invalid CycloneDX JSON ({type(exc).__name__})", path=source
            ) from None

    @staticmethod
    def _xml(data: bytes, source: str, rejected: Rejections) -> Bom:
        try:
            root: Element = SafeET.fromstring(data)
        except (SafeET.ParseError, DefusedXmlException) as exc:
            raise ParseError(f"not valid XML ({type(exc).__name__})", path=source) from None
        if not root.tag.startswith("{http://cyclonedx.org/schema/bom/") or not root.tag.endswith(
            "}bom"
        ):
            raise ParseError(
                "not a CycloneDX XML document (root is not a CycloneDX <bom>)", path=source
            )
        namespace = root.tag[: root.tag.index("}") + 1]
        for i, comp in enumerate(root.iter(f"{namespace}component")):
            purl = comp.find(f"{namespace}purl")
            if purl is not None and not _valid_purl((purl.text or "").strip()):
                rejected.add(source, "purl does not parse", f"component {i}")
                comp.remove(purl)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", BaseSchemaDeprecationWarning)
                return Bom.from_xml(root)  # type: ignore[attr-defined,no-any-return]
        except _ERRORS as exc:
            raise ParseError(f"invalid CycloneDX XML ({type(exc).__name__})", path=source) from None
