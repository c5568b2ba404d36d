"""Shared helpers of the inventory readers: components from purls, file reading."""

from __future__ import annotations

from pathlib import Path

from credwatch.errors import InputError
from credwatch.supply.model import Component, Ecosystem, Rejections
from credwatch.supply.purls import InvalidPurlError, parse_purl, purl_package

__all__ = ["make_component", "read_bytes"]


def read_bytes(path: Path) -> bytes:
    """The file's bytes.

    Raises:
        InputError: the file is missing or unreadable.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: inventory file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read inventory ({exc.strerror})") from None


def make_component(
    *,
    name: str,
    version: str | None,
    purl: str | None,
    source: str,
    fmt: str,
    rejected: Rejections,
    where: str | None = None,
    ecosystem: Ecosystem | None = None,
    source_package: str | None = None,
) -> Component:
    """Build a component; an unparsable purl is counted and dropped (the component stays)."""
    if purl:
        try:
            eco, _ = purl_package(purl)
            parsed = parse_purl(purl)
        except InvalidPurlError:
            rejected.add(source, "purl does not parse", where)
            purl = None
        else:
            ecosystem = eco or ecosystem
            if version is None and parsed.version:
                version = parsed.version
            qualifiers = parsed.qualifiers if isinstance(parsed.qualifiers, dict) else {}
            if source_package is None and qualifiers.get("arch") in {"source", "src"}:
                source_package = parsed.name
    return Component(
        name=name,
        version=version or None,
        purl=purl or None,
        ecosystem=ecosystem,
        source=source,
        format=fmt,
        source_package=source_package,
    )
