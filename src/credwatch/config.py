"""The workspace configuration file, ``credwatch.toml``.

Only the top level is validated here; each package parses its own section
(``stores`` in :mod:`credwatch.accounts`, ``serve`` in :mod:`credwatch.serve`, ...)
through :meth:`Config.section`, so a typo in a section name fails loudly instead of
being ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credwatch.errors import ConfigError
from credwatch.normalize import DomainRule, Normalizer

__all__ = ["KNOWN_SECTIONS", "Config", "load_config"]

#: Top-level keys credwatch understands; anything else is refused as a likely typo.
KNOWN_SECTIONS = frozenset(
    {
        "affected_domains",
        "vault_private_key",
        "normalization",
        "stores",
        "audit",
        "remediation",
        "retention",
        "notify",
        "hunt",
        "serve",
        "supply",
        "report",
    }
)


@dataclass(frozen=True, slots=True)
class Config:
    """A parsed ``credwatch.toml``.

    Attributes:
        path: where it was read from (``None`` for defaults).
        data: the whole document.
    """

    path: Path | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """Return a top-level table (empty when absent).

        Raises:
            ConfigError: when the key exists but is not a table.
        """
        value = self.data.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self._where()}: [{name}] must be a table")
        return value

    @property
    def affected_domains(self) -> tuple[str, ...] | None:
        """Configured affected domains (normalised), or ``None`` to use the index's."""
        value = self.data.get("affected_domains")
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            raise ConfigError(f"{self._where()}: affected_domains must be a list of strings")
        return tuple(d.strip().lower() for d in value)

    @property
    def vault_private_key(self) -> Path | None:
        """Configured path of the vault private key, if it was moved."""
        value = self.data.get("vault_private_key")
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{self._where()}: vault_private_key must be a path string")
        return Path(value).expanduser()

    def normalizer(self) -> Normalizer:
        """Build the address normaliser, with the opt-in ``[normalization.domains]`` rules."""
        table = self.section("normalization")
        domains = table.get("domains", {})
        if not isinstance(domains, Mapping):
            raise ConfigError(f"{self._where()}: [normalization.domains] must be a table")
        rules: dict[str, DomainRule] = {}
        for domain, spec in domains.items():
            if not isinstance(spec, Mapping):
                raise ConfigError(f"{self._where()}: [normalization.domains.{domain}] not a table")
            unknown = set(spec) - {"fold_dots", "strip_plus"}
            if unknown:
                raise ConfigError(
                    f"{self._where()}: unknown keys in normalization.domains.{domain}: "
                    f"{', '.join(sorted(unknown))}",
                    hint="allowed: fold_dots, strip_plus",
                )
            rules[domain.lower()] = DomainRule(
                fold_dots=bool(spec.get("fold_dots", False)),
                strip_plus=bool(spec.get("strip_plus", False)),
            )
        return Normalizer(domain_rules=rules)

    def _where(self) -> str:
        return str(self.path) if self.path else "credwatch.toml"


def load_config(path: Path) -> Config:
    """Read and validate the top level of ``credwatch.toml``; a missing file is empty.

    Raises:
        ConfigError: when the file is not valid TOML or has unknown top-level keys.
    """
    if not path.exists():
        return Config(path=path, data={})
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    unknown = set(data) - KNOWN_SECTIONS
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level keys: {', '.join(sorted(unknown))}",
            hint=f"known keys: {', '.join(sorted(KNOWN_SECTIONS))}",
        )
    return Config(path=path, data=data)
