"""Debian ``dpkg`` status files (``/var/lib/dpkg/status``) through python-debian.

Only packages whose ``Status`` is ``install ok installed`` are components; others are
counted (``not installed``).  OSV's Debian and Ubuntu records are keyed by *source*
package, so each component keeps its ``Source`` (name and, when given in parentheses,
the source version, which is what advisories' fixed versions refer to after a binNMU).

Example:
    >>> inv = DpkgStatusReader().read(Path("/var/lib/dpkg/status"))   # doctest: +SKIP
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from debian.deb822 import Deb822

from credwatch.errors import ParseError
from credwatch.supply._build import read_bytes
from credwatch.supply.model import Component, Ecosystem, Inventory, Rejections

__all__ = ["DpkgStatusReader"]

_SOURCE = re.compile(r"^\s*(?P<name>[a-z0-9][a-z0-9.+-]*)\s*(?:\((?P<version>[^)]+)\))?\s*$")


class DpkgStatusReader:
    """Reads a dpkg status file.

    Args:
        ecosystem: the distribution (``Debian:12``, ``Ubuntu:22.04``).  ``None`` guesses
            ``Ubuntu`` when versions carry ``ubuntu`` revisions, else ``Debian``, with no
            release (matched against every release's advisories).
    """

    format = "dpkg-status"

    def __init__(self, ecosystem: Ecosystem | None = None) -> None:
        self.ecosystem = ecosystem

    def read(self, path: Path) -> Inventory:
        """Read every installed package.

        Raises:
            InputError: the file is missing or unreadable.
            ParseError: the file holds no dpkg stanza at all.
        """
        data = read_bytes(path)
        source = str(path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        rejected = Rejections()
        rows: list[tuple[str, str, str | None, str | None]] = []
        stanzas = 0
        for stanza in Deb822.iter_paragraphs(io.StringIO(text), use_apt_pkg=False):
            stanzas += 1
            where = f"stanza {stanzas}"
            name, version = stanza.get("Package"), stanza.get("Version")
            if not name or not version:
                rejected.add(source, "stanza without Package or Version", where)
                continue
            status = stanza.get("Status", "")
            if status.split()[-1:] != ["installed"]:
                rejected.add(source, "not installed", where)
                continue
            src_name: str | None = None
            src_version: str | None = None
            if stanza.get("Source"):
                m = _SOURCE.match(stanza["Source"])
                if m is None:
                    rejected.add(source, "malformed Source field", where)
                else:
                    src_name, src_version = m.group("name"), m.group("version")
            rows.append((name.strip(), version.strip(), src_name, src_version))
        if stanzas == 0:
            raise ParseError(
                "no dpkg stanza found (not a dpkg status file?)",
                path=source,
                hint="pass /var/lib/dpkg/status or a copy of it",
            )
        ecosystem = self.ecosystem
        if ecosystem is None:
            ubuntu = any("ubuntu" in version for _, version, _, _ in rows)
            ecosystem = Ecosystem("Ubuntu" if ubuntu else "Debian")
        namespace = ecosystem.family.lower()
        components = tuple(
            Component(
                name=name,
                # After a binNMU (+b1) advisories' fixed versions refer to the source version.
                version=src_version or version,
                purl=f"pkg:deb/{namespace}/{name}@{version.replace('+', '%2B')}",
                ecosystem=ecosystem,
                source=source,
                format=self.format,
                source_package=src_name or name,
            )
            for name, version, src_name, src_version in rows
        )
        return Inventory(
            source=source,
            format=self.format,
            components=components,
            rejected=dict(rejected.by_reason),
            rejected_examples=tuple(rejected.examples),
        )
