"""``[stores.NAME]`` in ``credwatch.toml``, parsed into a typed :class:`StoreConfig`.

Example configuration::

    [stores.mail]
    kind = "sql"                        # sql | passwd-file | csv
    url = "postgresql+psycopg://127.0.0.1/test"
    table = "mailbox"
    batch_size = 50000                  # optional
    [stores.mail.columns]               # our name = the store's column
    id = "id"
    email = "username"
    tenant = "isp"                      # optional: default tenant = the address's domain
    recovery_email = "recovery"         # optional
    password_hash = "password"
    status = "state"                    # optional: default every account active
    last_login = "last_login"           # optional
    mfa = "totp_enabled"                # optional
    [stores.mail.status]                # the store's values for each status
    active = ["active"]
    dormant = ["suspended"]
    cancelled = ["closed"]
    [stores.mail.actions]               # owned by credwatch.plan (remediation); kept opaque here

For ``kind = "passwd-file"`` the ``columns`` table names *extra fields*
(``status = "userdb_state"``) and ``tenant`` is ``"domain"`` (default) or a fixed
tenant name.  For ``kind = "csv"`` the ``columns`` table names header fields.

Example:
    >>> cfg = parse_store_config("t", {"kind": "csv", "path": "a.csv"})
    >>> cfg.kind.value, cfg.columns.email
    ('csv', 'email')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from credwatch.accounts.interface import Status
from credwatch.config import Config
from credwatch.errors import ConfigError

__all__ = [
    "DEFAULT_STATUS_VALUES",
    "ColumnMap",
    "StoreConfig",
    "StoreKind",
    "parse_store_config",
    "store_config",
    "store_names",
    "validate_identifier",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")

#: Status values understood when a store has a status column but no ``[status]`` table.
DEFAULT_STATUS_VALUES: Mapping[str, tuple[str, ...]] = {
    "active": ("active",),
    "dormant": ("dormant",),
    "cancelled": ("cancelled",),
}

_STORE_KEYS = frozenset(
    {
        "kind",
        "url",
        "table",
        "path",
        "tenant",
        "columns",
        "status",
        "actions",
        "batch_size",
        "delimiter",
        "encoding",
    }
)
_COLUMN_KEYS = (
    "id",
    "email",
    "tenant",
    "recovery_email",
    "password_hash",
    "status",
    "last_login",
    "mfa",
)


class StoreKind(StrEnum):
    """The connector kinds."""

    SQL = "sql"
    PASSWD_FILE = "passwd-file"  # noqa: S105 - a kind name, not a secret
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Our field name -> the store's column (or field) name; ``None`` when absent."""

    id: str
    email: str | None
    tenant: str | None = None
    recovery_email: str | None = None
    password_hash: str | None = None
    status: str | None = None
    last_login: str | None = None
    mfa: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """The configured ``(our name, store column)`` pairs, in a fixed order."""
        out = []
        for key in _COLUMN_KEYS:
            value = getattr(self, key)
            if value is not None:
                out.append((key, value))
        return out


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """One parsed ``[stores.NAME]`` table.

    Attributes:
        name: the store's name.
        kind: the connector.
        url: SQLAlchemy URL (``sql``).
        table: table name, optionally ``schema.table`` (``sql``).
        path: file (``passwd-file``, ``csv``).
        tenant: ``"domain"`` (tenant = the address's domain) or a fixed tenant name;
            used when no tenant column is mapped.
        columns: the column mapping.
        status_values: our status -> the store's values for it.
        actions: the raw ``[stores.NAME.actions]`` table (parsed by ``credwatch.plan``).
        batch_size: rows per streamed batch.
        delimiter: CSV delimiter.
        encoding: file encoding (``passwd-file``, ``csv``).
    """

    name: str
    kind: StoreKind
    columns: ColumnMap
    url: str | None = field(default=None, repr=False)
    table: str | None = None
    path: Path | None = None
    tenant: str = "domain"
    status_values: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_STATUS_VALUES)
    )
    actions: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int = 50_000
    delimiter: str = ","
    encoding: str = "utf-8"

    def status_of(self, raw: str | None) -> Status:
        """Map a store's status value to ours (``unknown`` when not in the mapping)."""
        if self.columns.status is None:
            return "active"
        if raw is None:
            return "unknown"
        for status, values in self.status_values.items():
            if raw in values:
                return status  # type: ignore[return-value]
        return "unknown"

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        if self.url is None:
            return ""
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", self.url)


def validate_identifier(value: str, what: str, store: str) -> str:
    """Check an SQL identifier (``name`` or ``schema.name``) and return it.

    Raises:
        ConfigError: when it is not a plain identifier (no quoting, no SQL).
    """
    parts = value.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ConfigError(
            f"[stores.{store}] {what} {value!r} is not a plain SQL identifier",
            hint="use letters, digits, _ and $ (optionally schema.table)",
        )
    return value


def _str(table: Mapping[str, Any], key: str, store: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"[{where}] {key} must be a non-empty string (store {store})")
    return value


def parse_store_config(name: str, table: Mapping[str, Any]) -> StoreConfig:
    """Parse and validate one ``[stores.NAME]`` table.

    Raises:
        ConfigError: on an unknown kind or key, a missing required key, a non-identifier
            SQL name, or a status mapping that is not lists of strings.
    """
    where = f"stores.{name}"
    unknown = set(table) - _STORE_KEYS
    if unknown:
        raise ConfigError(
            f"[{where}] unknown keys: {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(_STORE_KEYS))}",
        )
    raw_kind = table.get("kind")
    try:
        kind = StoreKind(str(raw_kind))
    except ValueError:
        raise ConfigError(
            f"[{where}] kind must be one of sql, passwd-file, csv (got {raw_kind!r})"
        ) from None

    columns_table = table.get("columns", {})
    if not isinstance(columns_table, Mapping):
        raise ConfigError(f"[{where}.columns] must be a table")
    bad_cols = set(columns_table) - set(_COLUMN_KEYS)
    if bad_cols:
        raise ConfigError(
            f"[{where}.columns] unknown keys: {', '.join(sorted(bad_cols))}",
            hint=f"allowed: {', '.join(_COLUMN_KEYS)}",
        )
    cols = {k: _str(columns_table, k, name, f"{where}.columns") for k in _COLUMN_KEYS}

    url = table_name = None
    path: Path | None = None
    if kind is StoreKind.SQL:
        url = _str(table, "url", name, where)
        table_name = _str(table, "table", name, where)
        if url is None or table_name is None:
            raise ConfigError(f"[{where}] an sql store needs url and table")
        validate_identifier(table_name, "table", name)
        if cols["id"] is None or cols["email"] is None:
            raise ConfigError(
                f"[{where}.columns] an sql store must map at least id and email",
                hint='e.g. id = "id", email = "username"',
            )
        for key, value in cols.items():
            if value is not None:
                validate_identifier(value, f"column {key}", name)
        column_map = ColumnMap(**{k: v for k, v in cols.items() if k != "id"}, id=cols["id"])
    else:
        raw_path = _str(table, "path", name, where)
        if raw_path is None:
            raise ConfigError(f"[{where}] a {kind.value} store needs path")
        path = Path(raw_path).expanduser()
        if kind is StoreKind.CSV:
            column_map = ColumnMap(
                id=cols["id"] or "id",
                email=cols["email"] or "email",
                tenant=cols["tenant"],
                recovery_email=cols["recovery_email"],
                password_hash=cols["password_hash"] or "password_hash",
                status=cols["status"],
                last_login=cols["last_login"],
                mfa=cols["mfa"],
            )
        else:
            if cols["id"] is not None or cols["email"] is not None or cols["password_hash"]:
                raise ConfigError(
                    f"[{where}.columns] a passwd-file's user and hash fields are fixed",
                    hint="map only extra fields: tenant, recovery_email, status, last_login, mfa",
                )
            column_map = ColumnMap(
                id="user",
                email="user",
                password_hash="password",  # noqa: S106 - the field's name
                tenant=cols["tenant"],
                recovery_email=cols["recovery_email"],
                status=cols["status"],
                last_login=cols["last_login"],
                mfa=cols["mfa"],
            )

    status_table = table.get("status")
    status_values: dict[str, tuple[str, ...]] = dict(DEFAULT_STATUS_VALUES)
    if status_table is not None:
        if not isinstance(status_table, Mapping):
            raise ConfigError(f"[{where}.status] must be a table")
        bad = set(status_table) - {"active", "dormant", "cancelled"}
        if bad:
            raise ConfigError(
                f"[{where}.status] unknown statuses: {', '.join(sorted(bad))}",
                hint="allowed: active, dormant, cancelled",
            )
        status_values = {}
        seen: dict[str, str] = {}
        for status, values in status_table.items():
            items = [values] if isinstance(values, str | int | bool) else values
            if not isinstance(items, list) or not all(
                isinstance(v, str | int | bool) for v in items
            ):
                raise ConfigError(f"[{where}.status] {status} must be a list of values")
            as_text = tuple(_value_text(v) for v in items)
            for v in as_text:
                if v in seen and seen[v] != status:
                    raise ConfigError(
                        f"[{where}.status] value {v!r} is mapped to both {seen[v]} and {status}"
                    )
                seen[v] = status
            status_values[status] = as_text

    actions = table.get("actions", {})
    if not isinstance(actions, Mapping):
        raise ConfigError(f"[{where}.actions] must be a table")
    tenant = table.get("tenant", "domain")
    if not isinstance(tenant, str) or not tenant:
        raise ConfigError(f'[{where}] tenant must be "domain" or a tenant name')
    batch_size = table.get("batch_size", 50_000)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ConfigError(f"[{where}] batch_size must be a positive integer")
    delimiter = table.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"[{where}] delimiter must be one character")
    encoding = table.get("encoding", "utf-8")
    if not isinstance(encoding, str):
        raise ConfigError(f"[{where}] encoding must be a string")
    return StoreConfig(
        name=name,
        kind=kind,
        columns=column_map,
        url=url,
        table=table_name,
        path=path,
        tenant=tenant,
        status_values=status_values,
        actions=actions,
        batch_size=batch_size,
        delimiter=delimiter,
        encoding=encoding,
    )


def _value_text(value: str | int | bool) -> str:
    """Status values compare as text (an integer status column 0/1 maps as "0"/"1")."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def store_names(config: Config) -> list[str]:
    """The names of the configured stores, sorted."""
    return sorted(config.section("stores"))


def store_config(config: Config, name: str) -> StoreConfig:
    """Parse ``[stores.NAME]`` of a loaded configuration.

    Raises:
        ConfigError: when the store is not configured or its table is invalid.
    """
    stores = config.section("stores")
    table = stores.get(name)
    if table is None:
        known = ", ".join(sorted(stores)) or "none"
        raise ConfigError(
            f"no store named {name!r} in {config.path or 'credwatch.toml'}",
            hint=f"configured stores: {known}; add a [stores.{name}] table",
        )
    if not isinstance(table, Mapping):
        raise ConfigError(f"[stores.{name}] must be a table")
    return parse_store_config(name, table)
