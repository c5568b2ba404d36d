"""SQL account stores through SQLAlchemy 2: PostgreSQL (psycopg 3), MariaDB/MySQL
(PyMySQL) and SQLite.

Reads stream with server-side cursors (``stream_results``) in batches of
``batch_size`` rows, so memory stays bounded whatever the table's size.  Table and
column names come from ``credwatch.toml``, are validated as plain identifiers and
then quoted by SQLAlchemy; a mapping that names a column the table lacks fails
before any row is read, listing the table's real columns.

Example:
    >>> store = SqlStore(store_config(ws.config(), "mail"))    # doctest: +SKIP
    >>> for batch in store.iter_arrow(100_000):                 # doctest: +SKIP
    ...     print(batch.num_rows)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from credwatch.accounts.arrowconv import accounts_from_batch, build_batch
from credwatch.accounts.config import StoreConfig
from credwatch.accounts.digest import digest_batches
from credwatch.accounts.interface import Account
from credwatch.errors import ConfigError, ExternalServiceError

__all__ = ["SqlStore", "sqlalchemy_url"]

#: Drivers credwatch installs, used when a URL names none (``postgresql://...``).
_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


def sqlalchemy_url(url: str) -> str:
    """``url`` with the installed driver filled in when it names none.

    Example:
        >>> sqlalchemy_url("postgresql://db/mail")
        'postgresql+psycopg://db/mail'
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme in _DEFAULT_DRIVERS:
        return f"{_DEFAULT_DRIVERS[scheme]}://{rest}"
    return url


def _reason(exc: BaseException) -> str:
    """The driver's first message line (names host/port, never a password)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return f"{type(orig).__name__}: {first[:200]}"


class SqlStore:
    """An account table in an SQL database.

    Args:
        config: the parsed ``[stores.NAME]`` (``kind = "sql"``).
        engine: an existing SQLAlchemy engine (tests, connection reuse); by default one
            is created from ``config.url``.

    Raises (from the reading methods):
        ExternalServiceError: the database is unreachable or a query fails (exit 4).
        ConfigError: the table or a mapped column does not exist (exit 2).
    """

    kind = "sql"

    def __init__(self, config: StoreConfig, engine: sa.Engine | None = None) -> None:
        if config.url is None or config.table is None:
            raise ConfigError(f"[stores.{config.name}] is not an sql store")
        self.config = config
        self._engine = engine
        self._checked = False
        self._text_columns: set[str] = set()

    @property
    def name(self) -> str:
        """The store's name."""
        return self.config.name

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (created on first use).

        Raises:
            ConfigError: when the URL is malformed or names a driver that is not installed.
        """
        if self._engine is None:
            try:
                # NullPool: each read opens and closes its own connection, none linger.
                self._engine = sa.create_engine(
                    sqlalchemy_url(str(self.config.url)), poolclass=sa.pool.NullPool
                )
            except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
                raise ConfigError(
                    f"[stores.{self.name}] url {self.config.safe_url!r} is not usable: "
                    f"{type(exc).__name__}",
                    hint="e.g. postgresql+psycopg://HOST/DB, mysql+pymysql://USER@HOST/DB, "
                    "sqlite:///PATH",
                ) from None
            except ImportError as exc:
                raise ConfigError(
                    f"[stores.{self.name}] the database driver is not installed: {exc.name}"
                ) from None
        return self._engine

    def _table_parts(self) -> tuple[str | None, str]:
        assert self.config.table is not None
        schema, _, table = self.config.table.rpartition(".")
        return (schema or None), table

    def real_columns(self) -> list[str]:
        """The table's actual column names.

        Raises:
            ExternalServiceError: the database is unreachable.
            ConfigError: the table does not exist.
        """
        schema, table = self._table_parts()
        try:
            inspector = sa.inspect(self.engine)
            if not inspector.has_table(table, schema=schema):
                raise ConfigError(
                    f"[stores.{self.name}] table {self.config.table!r} does not exist in "
                    f"{self.config.safe_url}",
                    hint="check `table` (and the schema/search_path) in credwatch.toml",
                )
            columns = inspector.get_columns(table, schema=schema)
        except sa_exc.SQLAlchemyError as exc:
            raise self._unreachable(exc) from None
        self._text_columns = {
            str(c["name"]).lower()
            for c in columns
            if any(t in str(c["type"]).upper() for t in ("CHAR", "CLOB", "TEXT"))
        }
        return [str(c["name"]) for c in columns]

    def check(self) -> None:
        """Check the table and every mapped column exist (once per store object).

        Raises:
            ConfigError: naming the missing column(s) and listing the real ones.
            ExternalServiceError: the database is unreachable.
        """
        if self._checked:
            return
        real = self.real_columns()
        lowered = {c.lower() for c in real}
        missing = [
            f"{ours} -> {theirs}"
            for ours, theirs in self.config.columns.items()
            if theirs.lower() not in lowered
        ]
        if missing:
            raise ConfigError(
                f"[stores.{self.name}.columns] maps columns that table {self.config.table!r} "
                f"does not have: {', '.join(missing)}",
                hint=f"the table's columns are: {', '.join(real)}",
            )
        self._checked = True

    def _unreachable(self, exc: BaseException) -> ExternalServiceError:
        return ExternalServiceError(
            f"[stores.{self.name}] database {self.config.safe_url} failed: {_reason(exc)}",
            hint="check the server is running and the url, user and permissions are right",
        )

    def select(self) -> sa.Select[Any]:
        """The SELECT of the mapped columns, labelled with our field names."""
        schema, table = self._table_parts()
        pairs = self.config.columns.items()
        tbl = sa.table(table, *(sa.column(theirs) for _, theirs in pairs), schema=schema)
        return sa.select(*(tbl.c[theirs].label(ours) for ours, theirs in pairs))

    def iter_rows(self, batch_size: int) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
        """Yield ``(field names, rows)`` partitions from a server-side cursor.

        Raises:
            ExternalServiceError: the database is unreachable or the query fails.
            ConfigError: the table or a mapped column does not exist.
        """
        self.check()
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(
                    stream_results=True, max_row_buffer=batch_size
                ).execute(self.select())
                keys = list(result.keys())
                for part in result.partitions(batch_size):
                    yield keys, [tuple(r) for r in part]
        except sa_exc.SQLAlchemyError as exc:
            raise self._unreachable(exc) from None

    def iter_arrow(self, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield the accounts as :data:`ACCOUNT_SCHEMA` batches (streaming).

        PostgreSQL and SQLite are read through their ADBC drivers (binary COPY /
        sqlite3 straight into Arrow, several times faster than row objects); MariaDB
        and MySQL through SQLAlchemy's server-side cursor.
        """
        dialect = self.engine.dialect.name
        if dialect in ("postgresql", "sqlite"):
            self.check()
            yield from self._iter_adbc(dialect, batch_size)
            return
        for keys, rows in self.iter_rows(batch_size):
            columns = dict(zip(keys, (list(c) for c in zip(*rows, strict=True)), strict=True))
            yield build_batch(self.config, columns, len(rows))

    def _adbc_sql(self, dialect: str) -> str:
        """The SELECT for ADBC: identifiers quoted by SQLAlchemy, text columns cast."""
        preparer = self.engine.dialect.identifier_preparer
        schema, table = self._table_parts()
        source = preparer.quote(table)
        if schema is not None:
            source = f"{preparer.quote_schema(schema)}.{source}"
        native = {"mfa", "last_login"} if dialect == "postgresql" else set()
        parts = []
        for ours, theirs in self.config.columns.items():
            column = preparer.quote(theirs)
            # SQLite stores only text in TEXT-affinity columns: no cast needed there.
            # Elsewhere ADBC would infer a type from the first rows, so make it text.
            keep = ours in native or (dialect == "sqlite" and theirs.lower() in self._text_columns)
            expr = column if keep else f"CAST({column} AS TEXT)"
            parts.append(f"{expr} AS {preparer.quote(ours)}")
        return f"SELECT {', '.join(parts)} FROM {source}"

    def _adbc_connect(self, dialect: str) -> Any:
        url = sa.engine.make_url(sqlalchemy_url(str(self.config.url)))
        if dialect == "sqlite":
            import adbc_driver_sqlite.dbapi as adbc_sqlite  # noqa: PLC0415 - optional speed-up

            return adbc_sqlite.connect(url.database or ":memory:")
        import adbc_driver_postgresql.dbapi as adbc_pg  # noqa: PLC0415 - optional speed-up

        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return adbc_pg.connect(uri)

    def _iter_adbc(self, dialect: str, batch_size: int) -> Iterator[pa.RecordBatch]:
        import adbc_driver_manager  # noqa: PLC0415 - optional speed-up

        try:
            conn = self._adbc_connect(dialect)
        except adbc_driver_manager.Error as exc:
            raise self._unreachable(exc) from None
        try:
            cursor = conn.cursor()
            if dialect == "sqlite":
                cursor.adbc_statement.set_options(
                    **{"adbc.sqlite.query.batch_rows": str(batch_size)}
                )
            else:
                cursor.adbc_statement.set_options(
                    **{"adbc.postgresql.batch_size_hint_bytes": str(batch_size * 200)}
                )
            cursor.execute(self._adbc_sql(dialect))
            reader = cursor.fetch_record_batch()
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                columns = {name: batch.column(name) for name in batch.schema.names}
                yield build_batch(self.config, columns, batch.num_rows)
            cursor.close()
        except adbc_driver_manager.Error as exc:
            raise self._unreachable(exc) from None
        finally:
            conn.close()

    def iter_batches(self, batch_size: int = 10_000) -> Iterator[list[Account]]:
        """Yield the accounts as :class:`Account` lists (streaming)."""
        for batch in self.iter_arrow(batch_size):
            yield accounts_from_batch(batch)

    def snapshot_digest(self) -> str:
        """A digest of the mapped content, independent of row order."""
        return digest_batches(self.iter_arrow(self.config.batch_size))
