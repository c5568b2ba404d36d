"""``accounts census``: counts by tenant, status, hash scheme, MFA and recovery domain.

Hash schemes are recognised by :func:`credwatch.hashes.identify`, but not once per
account: a vectorised *scheme key* (the ``{SCHEME}`` prefix plus a crypt ``$id$``, or
the length and alphabet of bare text) groups the accounts in DuckDB and one sample of
each group is identified.  Every account of a group shares the prefix that decides
the scheme, so a store of millions costs a few dozen ``identify`` calls.

Example:
    >>> result = run_census(open_store(ws, "mail"))     # doctest: +SKIP
    >>> result.schemes["SHA512-CRYPT"]                 # doctest: +SKIP
    812345
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from credwatch.accounts.interface import AccountStore
from credwatch.hashes import identify

__all__ = [
    "SCHEME_KEY_SQL",
    "StoreCensus",
    "run_census",
    "scheme_table",
    "secret_safe_connection",
]


def SCHEME_KEY_SQL(column: str) -> str:  # noqa: N802 - reads as the SQL expression it builds
    """DuckDB expression grouping stored hashes by what decides their scheme.

    ``{SCHEME}`` plus a following crypt ``$id$``, a bare crypt ``$id$``, a locked
    marker, or the length and alphabet of bare text.  String functions, not regular
    expressions, on the common forms: this runs over every account.
    """
    after = f"substr({column}, strpos({column}, '}}') + 1)"
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN 'empty' "
        f"WHEN {column}[1] = '{{' AND strpos({column}, '}}') > 0 THEN "
        f"left({column}, strpos({column}, '}}')) || CASE WHEN {after}[1] = '$' "
        f"THEN '$' || left(split_part({after}, '$', 2), 12) || '$' ELSE '' END "
        f"WHEN {column}[1] = '$' THEN '$' || left(split_part({column}, '$', 2), 12) || '$' "
        f"WHEN {column}[1] IN ('!', '*') THEN 'locked' "
        f"WHEN regexp_full_match({column}, '[0-9a-fA-F]+') THEN 'hex:' || length({column}) "
        f"ELSE 'text:' || length({column}) END"
    )


def secret_safe_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never spills to disk (it may hold stored hashes).

    Its progress bar is off: DuckDB draws it on stdout, where ``--json`` documents go.
    """
    con = duckdb.connect()
    con.execute("SET temp_directory = ''")
    con.execute("SET enable_progress_bar = false")
    return con


@dataclass(frozen=True, slots=True)
class SchemeFacts:
    """What the audit and census need of one scheme key."""

    scheme: str
    weak: bool
    slow: bool
    supported: bool


def scheme_table(samples: Iterable[tuple[str, str | None]]) -> pa.Table:
    """Identify one sample per scheme key: ``key, scheme, weak, slow, supported, needs_user``."""
    names = ("key", "scheme", "weak", "slow", "supported", "needs_user")
    rows: dict[str, list[Any]] = {k: [] for k in names}
    for key, sample in samples:
        info = identify(sample)
        rows["key"].append(key)
        rows["scheme"].append(info.scheme)
        rows["weak"].append(bool(info.weak))
        rows["slow"].append(bool(info.slow))
        rows["supported"].append(bool(info.supported))
        rows["needs_user"].append(bool(info.needs_user))
    return pa.table(
        rows,
        schema=pa.schema(
            [
                ("key", pa.string()),
                ("scheme", pa.string()),
                ("weak", pa.bool_()),
                ("slow", pa.bool_()),
                ("supported", pa.bool_()),
                ("needs_user", pa.bool_()),
            ]
        ),
    )


@dataclass(frozen=True, slots=True)
class StoreCensus:
    """What a store holds, in counts (no address, no hash).

    Attributes:
        store: the store's name.
        kind: its connector.
        accounts: number of accounts read.
        by_tenant: accounts per tenant.
        by_status: accounts per status (``unknown`` included).
        unknown_statuses: the store's status values outside the mapping, with counts.
        schemes: accounts per hash scheme (unknown ones by their prefix).
        unknown_schemes: the subset of ``schemes`` credwatch cannot verify.
        weak_schemes: the subset of ``schemes`` that earn the ``weak_scheme`` finding.
        mfa: ``{"enabled": n, "disabled": m}``.
        recovery_domains: accounts per recovery-address domain (``(none)`` when absent).
        rejected: malformed lines of a file store, by reason.
        rejected_lines: their first line numbers.
    """

    store: str
    kind: str
    accounts: int
    by_tenant: dict[str, int]
    by_status: dict[str, int]
    unknown_statuses: dict[str, int]
    schemes: dict[str, int]
    unknown_schemes: dict[str, int]
    weak_schemes: dict[str, int]
    mfa: dict[str, int]
    recovery_domains: dict[str, int]
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_lines: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``accounts census --json`` document."""
        return {
            "store": self.store,
            "kind": self.kind,
            "accounts": self.accounts,
            "by_tenant": self.by_tenant,
            "by_status": self.by_status,
            "unknown_statuses": self.unknown_statuses,
            "schemes": self.schemes,
            "unknown_schemes": self.unknown_schemes,
            "weak_schemes": self.weak_schemes,
            "mfa": self.mfa,
            "recovery_domains": self.recovery_domains,
            "rejected": self.rejected,
            "rejected_lines": list(self.rejected_lines),
        }


_RECOVERY_DOMAIN = (
    "CASE WHEN recovery_email IS NULL OR recovery_email = '' THEN '(none)' "
    "ELSE lower(trim(regexp_extract(recovery_email, '@([^@]*)$', 1))) END"
)


def _counts(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in con.execute(sql).fetchall()}


def run_census(store: AccountStore, *, batch_size: int = 100_000) -> StoreCensus:
    """Count a store's accounts by tenant, status, scheme, MFA and recovery domain.

    Raises:
        ExternalServiceError: the store's database is unreachable (exit 4).
        ConfigError: the mapping names a column the store lacks (exit 2).
        InputError: a file store cannot be read (exit 3).
    """
    con = secret_safe_connection()
    con.execute(
        "CREATE TABLE agg (tenant VARCHAR, status VARCHAR, raw_status VARCHAR, "
        "skey VARCHAR, sample VARCHAR, mfa BOOLEAN, recovery_domain VARCHAR, n BIGINT)"
    )
    for batch in store.iter_arrow(batch_size):
        con.register("cw_batch", batch)
        con.execute(
            f"INSERT INTO agg SELECT tenant, status, "
            f"CASE WHEN status = 'unknown' THEN coalesce(raw_status, '(null)') END, "
            f"{SCHEME_KEY_SQL('password_hash')} AS skey, any_value(password_hash), mfa, "
            f"{_RECOVERY_DOMAIN}, count(*) FROM cw_batch GROUP BY ALL"
        )
        con.unregister("cw_batch")
    samples = con.execute("SELECT skey, any_value(sample) FROM agg GROUP BY skey").fetchall()
    con.register("schemes", scheme_table((str(k), s) for k, s in samples))
    con.execute(
        "CREATE TABLE facts AS SELECT agg.*, s.scheme, s.weak, s.supported "
        "FROM agg JOIN schemes s ON s.key = agg.skey"
    )
    con.execute("ALTER TABLE facts DROP COLUMN sample")
    con.execute("DROP TABLE agg")
    (total,) = con.execute("SELECT coalesce(sum(n), 0) FROM facts").fetchall()
    order = "ORDER BY 2 DESC, 1"
    mfa = _counts(
        con,
        "SELECT CASE WHEN mfa THEN 'enabled' ELSE 'disabled' END, sum(n) FROM facts "
        "GROUP BY 1 ORDER BY 1",
    )
    rejected = getattr(store, "rejected", None)
    result = StoreCensus(
        store=store.name,
        kind=store.kind,
        accounts=int(total[0]),
        by_tenant=_counts(con, f"SELECT tenant, sum(n) FROM facts GROUP BY 1 {order}"),
        by_status=_counts(con, f"SELECT status, sum(n) FROM facts GROUP BY 1 {order}"),
        unknown_statuses=_counts(
            con,
            f"SELECT raw_status, sum(n) FROM facts WHERE raw_status IS NOT NULL GROUP BY 1 {order}",
        ),
        schemes=_counts(con, f"SELECT scheme, sum(n) FROM facts GROUP BY 1 {order}"),
        unknown_schemes=_counts(
            con,
            f"SELECT scheme, sum(n) FROM facts WHERE NOT supported AND scheme <> 'EMPTY' "
            f"GROUP BY 1 {order}",
        ),
        weak_schemes=_counts(
            con, f"SELECT scheme, sum(n) FROM facts WHERE weak GROUP BY 1 {order}"
        ),
        mfa={"enabled": mfa.get("enabled", 0), "disabled": mfa.get("disabled", 0)},
        recovery_domains=_counts(
            con, f"SELECT recovery_domain, sum(n) FROM facts GROUP BY 1 {order}"
        ),
        rejected=dict(rejected.by_reason) if rejected is not None else {},
        rejected_lines=tuple(rejected.line_numbers) if rejected is not None else (),
    )
    con.close()
    return result
