"""The platform map: tenants -> shared platforms -> hosts -> inventories, and suppliers.

A TOML or YAML file (chosen by suffix: ``.toml``, ``.yaml``/``.yml``)::

    [policy]
    max_notification_hours = 72      # contractual breach-notification deadline allowed
    drill_max_age_months = 12        # a tested drill older than this is a gap
    spof_share = 0.5                 # shared platform holding >= this share of accounts

    [tenants.nifty]
    display_name = "Nifty"
    platforms = ["mail-backend"]
    accounts = { active = 1000, dormant = 200, cancelled = 50 }
    # or: store = "mail"  (census of [stores.mail] through credwatch.accounts;
    #      store_tenant = "nifty" names the tenant there, default the tenant's key)

    [platforms.mail-backend]
    display_name = "Shared mail backend"
    suppliers = ["mailsoft"]
    [platforms.mail-backend.hosts.imap1]
    inventories = ["imap1.cdx.json", { path = "imap1.status", format = "dpkg-status",
                   ecosystem = "Debian:12" }]

    [suppliers.mailsoft]
    display_name = "MailSoft KK"
    notification_hours = 96
    contact = "soc@mailsoft.example"
    last_drill = 2025-03-01
    drill_result = "passed"          # passed | failed | partial

Inventory paths are relative to the map's folder.  Unknown keys are refused (a typo
should not silently drop a platform).

Example:
    >>> pmap = load_platform_map(Path("platforms.toml"))       # doctest: +SKIP
    >>> sorted(pmap.tenants)                                   # doctest: +SKIP
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from credwatch.errors import ConfigError
from credwatch.supply.inventory import InventoryFormat
from credwatch.supply.model import Ecosystem

__all__ = [
    "STATUSES",
    "AccountCounts",
    "Host",
    "InventoryRef",
    "Platform",
    "PlatformMap",
    "Policy",
    "Supplier",
    "Tenant",
    "load_platform_map",
    "parse_platform_map",
]

STATUSES = ("active", "dormant", "cancelled")


@dataclass(frozen=True, slots=True)
class AccountCounts:
    """Accounts of one tenant by status (``unknown``: a census status outside the three)."""

    active: int = 0
    dormant: int = 0
    cancelled: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        """All accounts."""
        return self.active + self.dormant + self.cancelled + self.unknown

    def __add__(self, other: AccountCounts) -> AccountCounts:
        return AccountCounts(
            self.active + other.active,
            self.dormant + other.dormant,
            self.cancelled + other.cancelled,
            self.unknown + other.unknown,
        )

    def to_json(self) -> dict[str, int]:
        """JSON-ready form (``unknown`` only when non-zero)."""
        out = {"active": self.active, "dormant": self.dormant, "cancelled": self.cancelled}
        if self.unknown:
            out["unknown"] = self.unknown
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    """What the organisation requires of suppliers and calls concentrated."""

    max_notification_hours: float = 72.0
    drill_max_age_months: int = 12
    spof_share: float = 0.5


@dataclass(frozen=True, slots=True)
class InventoryRef:
    """An inventory file of a host."""

    path: Path
    format: InventoryFormat = InventoryFormat.AUTO
    ecosystem: Ecosystem | None = None


@dataclass(frozen=True, slots=True)
class Host:
    """A host of a platform and its inventories."""

    name: str
    inventories: tuple[InventoryRef, ...]


@dataclass(frozen=True, slots=True)
class Platform:
    """A platform (shared when more than one tenant depends on it)."""

    name: str
    display_name: str
    hosts: tuple[Host, ...]
    suppliers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant, the platforms it depends on and its accounts (``None``: not known)."""

    name: str
    display_name: str
    platforms: tuple[str, ...]
    accounts: AccountCounts | None
    store: str | None = None
    store_tenant: str | None = None


@dataclass(frozen=True, slots=True)
class Supplier:
    """An upstream supplier and what its contract says (``None``: not recorded)."""

    name: str
    display_name: str
    notification_hours: float | None
    contact: str | None
    last_drill: date | None
    drill_result: str | None


@dataclass(frozen=True, slots=True)
class PlatformMap:
    """A parsed platform map."""

    path: Path | None
    policy: Policy
    tenants: Mapping[str, Tenant]
    platforms: Mapping[str, Platform]
    suppliers: Mapping[str, Supplier]

    def tenants_of(self, platform: str) -> list[str]:
        """Tenants depending on ``platform``, sorted."""
        return sorted(t.name for t in self.tenants.values() if platform in t.platforms)

    def with_census(self, census: Callable[[str, str], AccountCounts]) -> PlatformMap:
        """Fill the accounts of tenants that name a ``store`` through ``census(store, tenant)``."""
        tenants = {
            name: replace(t, accounts=census(t.store, t.store_tenant or name))
            if t.store is not None and t.accounts is None
            else t
            for name, t in self.tenants.items()
        }
        return replace(self, tenants=tenants)


def _err(where: str, message: str) -> ConfigError:
    return ConfigError(f"platform map {where}: {message}")


def _table(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _err(where, "must be a table")
    return value


def _keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise _err(where, f"unknown keys {', '.join(sorted(map(str, unknown)))}")


def _str(value: object, where: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise _err(where, "is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise _err(where, "must be a non-empty string")
    return value.strip()


def _number(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _err(where, "must be a non-negative number")
    return float(value)


def _names(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _err(where, "must be a list of names")
    return tuple(value)


def _date(value: object, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _err(where, "must be a date (YYYY-MM-DD)")


def _counts(value: object, where: str) -> AccountCounts | None:
    if value is None:
        return None
    table = _table(value, where)
    _keys(table, {*STATUSES, "unknown"}, where)
    counts: dict[str, int] = {}
    for key, raw in table.items():
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            raise _err(f"{where}.{key}", "must be a non-negative integer")
        counts[key] = raw
    return AccountCounts(**counts)


def _inventory(value: object, base: Path, where: str) -> InventoryRef:
    if isinstance(value, str):
        return InventoryRef(base / value)
    table = _table(value, where)
    _keys(table, {"path", "format", "ecosystem"}, where)
    path = _str(table.get("path"), f"{where}.path", required=True)
    assert path is not None
    fmt_text = _str(table.get("format"), f"{where}.format") or "auto"
    try:
        fmt = InventoryFormat(fmt_text)
    except ValueError:
        choices = ", ".join(f.value for f in InventoryFormat)
        raise _err(f"{where}.format", f"unknown format (choose {choices})") from None
    eco = _str(table.get("ecosystem"), f"{where}.ecosystem")
    return InventoryRef(base / path, fmt, Ecosystem.parse(eco) if eco else None)


def parse_platform_map(
    data: Mapping[str, Any], base: Path, path: Path | None = None
) -> PlatformMap:
    """Validate a decoded platform map.

    Raises:
        ConfigError: a key is unknown, a value has the wrong type, or a tenant names an
            undefined platform.
    """
    _keys(data, {"schema_version", "policy", "tenants", "platforms", "suppliers"}, "top level")
    version = data.get("schema_version", 1)
    if version != 1:
        raise _err("schema_version", f"unsupported version {version!r} (this credwatch reads 1)")
    pol = _table(data.get("policy"), "[policy]")
    _keys(pol, {"max_notification_hours", "drill_max_age_months", "spof_share"}, "[policy]")
    defaults = Policy()
    max_hours = _number(pol.get("max_notification_hours"), "policy.max_notification_hours")
    months = _number(pol.get("drill_max_age_months"), "policy.drill_max_age_months")
    share = _number(pol.get("spof_share"), "policy.spof_share")
    if share is not None and share > 1:
        raise _err("policy.spof_share", "must be a share between 0 and 1")
    policy = Policy(
        max_notification_hours=defaults.max_notification_hours if max_hours is None else max_hours,
        drill_max_age_months=defaults.drill_max_age_months if months is None else int(months),
        spof_share=defaults.spof_share if share is None else share,
    )

    platforms: dict[str, Platform] = {}
    for name, raw in _table(data.get("platforms"), "[platforms]").items():
        where = f"[platforms.{name}]"
        table = _table(raw, where)
        _keys(table, {"display_name", "hosts", "suppliers"}, where)
        hosts: list[Host] = []
        for host_name, host_raw in _table(table.get("hosts"), f"{where}.hosts").items():
            hwhere = f"{where}.hosts.{host_name}"
            host = _table(host_raw, hwhere)
            _keys(host, {"inventories"}, hwhere)
            invs = host.get("inventories") or []
            if not isinstance(invs, list):
                raise _err(f"{hwhere}.inventories", "must be a list")
            hosts.append(
                Host(
                    str(host_name),
                    tuple(
                        _inventory(v, base, f"{hwhere}.inventories[{i}]")
                        for i, v in enumerate(invs)
                    ),
                )
            )
        platforms[str(name)] = Platform(
            name=str(name),
            display_name=_str(table.get("display_name"), f"{where}.display_name") or str(name),
            hosts=tuple(hosts),
            suppliers=_names(table.get("suppliers"), f"{where}.suppliers"),
        )

    tenants: dict[str, Tenant] = {}
    for name, raw in _table(data.get("tenants"), "[tenants]").items():
        where = f"[tenants.{name}]"
        table = _table(raw, where)
        _keys(table, {"display_name", "platforms", "accounts", "store", "store_tenant"}, where)
        uses = _names(table.get("platforms"), f"{where}.platforms")
        missing = [p for p in uses if p not in platforms]
        if missing:
            raise _err(f"{where}.platforms", f"undefined platform(s) {', '.join(missing)}")
        tenants[str(name)] = Tenant(
            name=str(name),
            display_name=_str(table.get("display_name"), f"{where}.display_name") or str(name),
            platforms=uses,
            accounts=_counts(table.get("accounts"), f"{where}.accounts"),
            store=_str(table.get("store"), f"{where}.store"),
            store_tenant=_str(table.get("store_tenant"), f"{where}.store_tenant"),
        )

    suppliers: dict[str, Supplier] = {}
    for name, raw in _table(data.get("suppliers"), "[suppliers]").items():
        where = f"[suppliers.{name}]"
        table = _table(raw, where)
        _keys(
            table,
            {"display_name", "notification_hours", "contact", "last_drill", "drill_result"},
            where,
        )
        suppliers[str(name)] = Supplier(
            name=str(name),
            display_name=_str(table.get("display_name"), f"{where}.display_name") or str(name),
            notification_hours=_number(
                table.get("notification_hours"), f"{where}.notification_hours"
            ),
            contact=_str(table.get("contact"), f"{where}.contact"),
            last_drill=_date(table.get("last_drill"), f"{where}.last_drill"),
            drill_result=(_str(table.get("drill_result"), f"{where}.drill_result") or "").lower()
            or None,
        )
    return PlatformMap(path, policy, tenants, platforms, suppliers)


def load_platform_map(path: Path) -> PlatformMap:
    """Read and validate a platform map (TOML, or YAML for ``.yaml``/``.yml``).

    Raises:
        ConfigError: the file is missing, not valid TOML/YAML, or not a valid map.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: platform map not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read platform map ({type(exc).__name__})") from None
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            data = yaml.safe_load(text)
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        kind = "YAML" if path.suffix.lower() in {".yaml", ".yml"} else "TOML"
        raise ConfigError(f"{path}: not valid {kind} ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: a platform map must be a table at the top level")
    try:
        return parse_platform_map(data, path.parent, path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}", hint=exc.hint) from None
