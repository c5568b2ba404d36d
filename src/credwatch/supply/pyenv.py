"""Python environments: the distributions installed on ``sys.path`` or in given folders.

Example:
    >>> inv = PythonEnvironmentReader().read(Path("venv/lib/site-packages"))  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name

from credwatch.errors import InputError
from credwatch.supply.model import Component, Ecosystem, Inventory, Rejections

__all__ = ["PythonEnvironmentReader"]


class PythonEnvironmentReader:
    """Reads the installed distributions of a site-packages folder (or the running one)."""

    format = "python-env"

    def read(self, path: Path | None = None) -> Inventory:
        """List the distributions in ``path`` (``None``: the running interpreter's path).

        Raises:
            InputError: ``path`` is not a folder.
        """
        if path is not None and not path.is_dir():
            raise InputError(f"{path}: not a site-packages folder")
        source = str(path) if path is not None else "python-env:sys.path"
        found = distributions(path=[str(path)]) if path is not None else distributions()
        rejected = Rejections()
        seen: set[tuple[str, str]] = set()
        components: list[Component] = []
        for dist in found:
            # A half-installed or broken distribution may lack either field (KeyError on
            # Python >= 3.12): count it instead of failing the whole inventory.
            metadata = dist.metadata
            name = metadata["Name"] if metadata is not None and "Name" in metadata else None
            version = (
                metadata["Version"] if metadata is not None and "Version" in metadata else None
            )
            if not name or not version:
                rejected.add(source, "distribution without name or version")
                continue
            key = (canonicalize_name(name), version)
            if key in seen:
                continue  # the same distribution on two sys.path entries
            seen.add(key)
            components.append(
                Component(
                    name=name,
                    version=version,
                    purl=f"pkg:pypi/{key[0]}@{version}",
                    ecosystem=Ecosystem("PyPI"),
                    source=source,
                    format=self.format,
                )
            )
        components.sort(key=lambda c: (c.name.lower(), c.version or ""))
        return Inventory(
            source=source,
            format=self.format,
            components=tuple(components),
            rejected=dict(rejected.by_reason),
            rejected_examples=tuple(rejected.examples),
        )
