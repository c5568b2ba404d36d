"""The data credwatch's supply-chain scan works on: components, advisories, rejections.

All results are frozen, slotted dataclasses.  A component that could not be checked
(no ecosystem, an unknown version scheme, an invalid version) is reported as such in
:class:`Unchecked`; it never looks like a component with no advisory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "Component",
    "Ecosystem",
    "Inventory",
    "Rejection",
    "Rejections",
    "Unchecked",
]

_UBUNTU_CODENAMES = {
    "trusty": "14.04",
    "xenial": "16.04",
    "bionic": "18.04",
    "focal": "20.04",
    "jammy": "22.04",
    "noble": "24.04",
    "oracular": "24.10",
    "plucky": "25.04",
    "questing": "25.10",
}
_DEBIAN_CODENAMES = {
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}


@dataclass(frozen=True, slots=True)
class Ecosystem:
    """An OSV ecosystem split into its family and (optional) release.

    ``Ubuntu:Pro:20.04:LTS`` is family ``Ubuntu``, release ``pro:20.04``;
    ``Debian:12`` is ``Debian`` / ``12``; ``PyPI`` has no release.  A component whose
    release is unknown (``None``) is matched against every release of its family.

    Example:
        >>> Ecosystem.parse("Ubuntu:Pro:20.04:LTS")
        Ecosystem(family='Ubuntu', release='pro:20.04')
        >>> Ecosystem.from_distro("Ubuntu", "esm-apps/focal").release
        'pro:20.04'
    """

    family: str
    release: str | None = None

    @classmethod
    def parse(cls, text: str) -> Ecosystem:
        """Split an OSV ecosystem string."""
        family, _, rest = text.strip().partition(":")
        if not rest:
            return cls(family)
        parts = [p for p in rest.split(":") if p and p.upper() != "LTS"]
        pro = bool(parts) and parts[0].lower() == "pro"
        if pro:
            parts = parts[1:]
        release = ":".join(parts) or None
        if release is not None and pro:
            release = f"pro:{release}"
        return cls(family, release)

    @classmethod
    def from_distro(cls, family: str, distro: str | None) -> Ecosystem:
        """The ecosystem of a deb purl's ``distro`` qualifier (codename or number)."""
        if not distro:
            return cls(family)
        text = distro.lower()
        pro = "esm" in text
        name = text.rsplit("/", 1)[-1] if not text.endswith("/esm") else text.split("/", 1)[0]
        name = name.removeprefix("debian-").removeprefix("ubuntu-")
        table = _UBUNTU_CODENAMES if family == "Ubuntu" else _DEBIAN_CODENAMES
        release = table.get(name, name)
        return cls(family, f"pro:{release}" if pro and family == "Ubuntu" else release)

    def covers(self, other: Ecosystem) -> bool:
        """Whether an advisory for ``other`` applies to a component of this ecosystem."""
        if self.family != other.family:
            return False
        return self.release is None or other.release is None or self.release == other.release

    def osv_name(self) -> str:
        """The OSV spelling (``Ubuntu:Pro:20.04:LTS``, ``Debian:12``, ``PyPI``) for API queries."""
        if self.release is None:
            return self.family
        if self.family != "Ubuntu":
            return f"{self.family}:{self.release}"
        pro, _, number = self.release.rpartition(":")
        year, _, month = number.partition(".")
        lts = month == "04" and year.isdigit() and int(year) % 2 == 0
        return "Ubuntu:" + ("Pro:" if pro else "") + number + (":LTS" if lts else "")

    def __str__(self) -> str:
        return self.family if self.release is None else f"{self.family}:{self.release}"


@dataclass(frozen=True, slots=True)
class Component:
    """One third-party component found in an inventory.

    Attributes:
        name: the package name as the inventory spells it (Debian: binary package).
        version: the version string, or ``None`` when the inventory gives none.
        purl: the package URL, when known.
        ecosystem: the OSV ecosystem, or ``None`` when it cannot be told.
        source: the file (or environment) it came from.
        format: the inventory format (``cyclonedx-json``, ``spdx-json``, ``dpkg-status``, ...).
        source_package: Debian/Ubuntu source package, which OSV records are keyed by.
    """

    name: str
    version: str | None
    purl: str | None
    ecosystem: Ecosystem | None
    source: str
    format: str
    source_package: str | None = None

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "version": self.version,
            "purl": self.purl,
            "ecosystem": None if self.ecosystem is None else str(self.ecosystem),
            "source_package": self.source_package,
            "source": self.source,
            "format": self.format,
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """One input item that could not be used, with a safe reason (never its content)."""

    source: str
    reason: str
    where: str | None = None


@dataclass(slots=True)
class Rejections:
    """Counted rejections by reason, with the first few kept as examples."""

    by_reason: Counter[str] = field(default_factory=Counter)
    examples: list[Rejection] = field(default_factory=list)
    keep: int = 20

    def add(self, source: str, reason: str, where: str | None = None) -> None:
        """Count one rejection."""
        self.by_reason[reason] += 1
        if len(self.examples) < self.keep:
            self.examples.append(Rejection(source, reason, where))

    def extend(self, other: Rejections) -> None:
        """Merge another tally into this one."""
        self.by_reason.update(other.by_reason)
        room = self.keep - len(self.examples)
        self.examples.extend(other.examples[: max(room, 0)])

    @property
    def total(self) -> int:
        """How many items were rejected."""
        return sum(self.by_reason.values())

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "total": self.total,
            "by_reason": dict(sorted(self.by_reason.items())),
            "examples": [
                {"source": r.source, "reason": r.reason, "where": r.where} for r in self.examples
            ],
        }


@dataclass(frozen=True, slots=True)
class Inventory:
    """The components of one inventory file, and what was rejected while reading it."""

    source: str
    format: str
    components: tuple[Component, ...]
    rejected: Mapping[str, int] = field(default_factory=dict)
    rejected_examples: tuple[Rejection, ...] = ()


@dataclass(frozen=True, slots=True)
class Unchecked:
    """A component that could not be checked against advisories, and why."""

    component: Component
    reason: str
