"""Shared conversions between raw store values and :data:`ACCOUNT_SCHEMA` batches.

Every connector yields raw column lists; these helpers turn them into typed Arrow
batches (statuses mapped, MFA flags and timestamps parsed) and back into
:class:`Account` objects, so the three connectors agree on every rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from credwatch.accounts.config import StoreConfig
from credwatch.accounts.interface import ACCOUNT_SCHEMA, Account

__all__ = ["accounts_from_batch", "build_batch", "parse_bool", "parse_timestamp"]

_TRUE = frozenset({"1", "t", "true", "y", "yes", "on"})


def parse_bool(value: Any) -> bool:
    """Interpret a store's MFA flag: bools, numbers, and ``1/t/true/y/yes/on`` text."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip().lower() in _TRUE


def parse_timestamp(value: Any) -> datetime | None:
    """Interpret a last-login value: datetimes (naive = UTC), ISO text or Unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(values: Sequence[Any] | pa.Array) -> pa.Array:
    """A string column from raw values (bytes decoded, numbers as text)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.cast(pa.string())
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(
            [
                None
                if v is None
                else v.decode("utf-8", "replace")
                if isinstance(v, bytes)
                else ("1" if v else "0")
                if isinstance(v, bool)
                else str(v)
                for v in values
            ],
            type=pa.string(),
        )


_TS = pa.timestamp("us", tz="UTC")


def _bools(values: Sequence[Any] | pa.Array) -> pa.Array:
    """MFA flags, vectorised when the driver returns bools, integers or text."""
    try:
        arr = values if isinstance(values, pa.Array) else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([parse_bool(v) for v in values], type=pa.bool_())
    if pa.types.is_boolean(arr.type):
        return pc.fill_null(arr, False)
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        return pc.fill_null(pc.not_equal(arr, 0), False)
    if pa.types.is_string(arr.type):
        text = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
        return pc.fill_null(pc.is_in(text, value_set=pa.array(sorted(_TRUE))), False)
    if pa.types.is_null(arr.type):
        return pa.array([False] * len(arr), type=pa.bool_())
    return pa.array([parse_bool(v) for v in values], type=pa.bool_())


def _timestamps(values: Sequence[Any] | pa.Array) -> pa.Array:
    """Last logins, vectorised when the driver returns datetimes (naive ones are UTC)."""
    try:
        arr = values if isinstance(values, pa.Array) else pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = None
    if arr is not None and pa.types.is_string(arr.type):
        try:
            return arr.cast(pa.timestamp("us")).cast(_TS)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = arr.to_pylist()
            arr = None
    if arr is not None and pa.types.is_timestamp(arr.type):
        if arr.type.tz is None:
            return arr.cast(pa.timestamp("us")).cast(_TS)
        return arr.cast(_TS)
    if arr is not None and pa.types.is_null(arr.type):
        return pa.nulls(len(arr), _TS)
    return pa.array([parse_timestamp(v) for v in values], type=_TS)


def _domain_of(email: pa.Array) -> pa.Array:
    domain = pc.utf8_lower(pc.utf8_trim_whitespace(pc.replace_substring_regex(email, "^.*@", "")))
    has_at = pc.match_substring(email, "@")
    return pc.if_else(pc.fill_null(has_at, False), domain, pa.scalar("(none)"))


def map_status(config: StoreConfig, raw: pa.Array) -> pa.Array:
    """Vectorised :meth:`StoreConfig.status_of`."""
    if config.columns.status is None:
        return pa.array(["active"] * len(raw), type=pa.string())
    values: list[str] = []
    names: list[str] = []
    for status, store_values in config.status_values.items():
        for v in store_values:
            values.append(v)
            names.append(status)
    if not values:
        return pa.array(["unknown"] * len(raw), type=pa.string())
    index = pc.index_in(raw, value_set=pa.array(values, type=pa.string()))
    mapped = pa.array(names, type=pa.string()).take(index)
    return pc.fill_null(mapped, "unknown")


def build_batch(
    config: StoreConfig, columns: Mapping[str, Sequence[Any] | pa.Array], size: int
) -> pa.RecordBatch:
    """Build one :data:`ACCOUNT_SCHEMA` batch from raw column lists.

    ``columns`` holds our field names (``id``, ``email``, ...) for the mapped fields;
    missing ones are filled (status ``active``, MFA false, tenant from the domain or
    the configured fixed tenant).
    """

    def col(name: str) -> pa.Array:
        raw = columns.get(name)
        return _text(raw) if raw is not None else pa.nulls(size, pa.string())

    email = col("email")
    if "tenant" in columns:
        tenant = pc.fill_null(col("tenant"), "(none)")
    elif config.tenant == "domain":
        tenant = _domain_of(email)
    else:
        tenant = pa.array([config.tenant] * size, type=pa.string())
    raw_status = col("status")
    status = map_status(config, raw_status)
    mfa = _bools(columns["mfa"]) if "mfa" in columns else pa.array([False] * size)
    if "last_login" in columns:
        last_login = _timestamps(columns["last_login"])
    else:
        last_login = pa.nulls(size, _TS)
    return pa.RecordBatch.from_arrays(
        [
            col("id"),
            tenant,
            email,
            col("recovery_email"),
            col("password_hash"),
            status,
            raw_status,
            last_login,
            mfa,
        ],
        schema=ACCOUNT_SCHEMA,
    )


def accounts_from_batch(
    batch: pa.RecordBatch, extras: Sequence[dict[str, str]] | None = None
) -> list[Account]:
    """Turn an :data:`ACCOUNT_SCHEMA` batch into :class:`Account` objects."""
    rows = batch.to_pylist()
    out = []
    for i, row in enumerate(rows):
        out.append(
            Account(
                id=row["id"],
                tenant=row["tenant"],
                email=row["email"],
                recovery_email=row["recovery_email"],
                password_hash=row["password_hash"],
                status=row["status"],
                last_login=row["last_login"],
                mfa=bool(row["mfa"]),
                extra=extras[i] if extras is not None else {},
                raw_status=row["raw_status"],
            )
        )
    return out
