"""Carrying out plan actions on SQL stores (PostgreSQL, MariaDB/MySQL, SQLite).

Per batch of accounts, in one transaction:

1. for each action (in execution order) read the affected columns of the batch's
   accounts with one ``SELECT ... WHERE id IN (...)``; accounts whose columns already
   hold the configured values are ``already``, absent ones ``not_found``;
2. change the others with one ``UPDATE ... WHERE id IN (...)`` per action (and, for
   ``sql`` actions, one executemany of the configured statement);
3. insert one row into the checkpoint table: the batch's (account, action, result)
   triples as JSON.

The checkpoint row commits with the change, so after a crash the next apply knows
exactly which actions are done even when the journal missed them.  Everything is bulk:
no round trip per account except for ``sql`` statements, which the drivers pipeline.

Example:
    >>> actuator = SqlActuator(cfg, parse_sql_specs(cfg.name, cfg.actions))   # doctest: +SKIP
    >>> actuator.validate(("force_reset",))                                   # doctest: +SKIP
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql

from credwatch.accounts.config import StoreConfig
from credwatch.accounts.sql import SqlStore
from credwatch.apply.interface import BatchCallback, IntentCallback, Outcome, WorkItem
from credwatch.apply.journal import PlanHistory
from credwatch.apply.seal import Sealer
from credwatch.apply.specs import Scalar, SqlActionSpec, SqlSpecs
from credwatch.errors import ConfigError, ExternalServiceError
from credwatch.normalize import mask_email
from credwatch.plan.model import ACTION_ORDER, Action

__all__ = ["DEFAULT_BATCH_SIZE", "SqlActuator"]

DEFAULT_BATCH_SIZE = 10_000


_ADDRESS = re.compile(r"[^\s<>\"'(),;:=]+@[^\s<>\"'(),;:=]+")
_SEP = "\x1f"  # ASCII unit separator: never in an account id we pack (checked)


def _packed(values: list[str]) -> str | None:
    """Join values with :data:`_SEP`, or ``None`` when one contains it (or is empty)."""
    joined = _SEP.join(values)
    if joined.count(_SEP) != len(values) - 1 or not all(values):
        return None
    return joined


def _batches(items: Sequence[WorkItem], size: int) -> Iterator[Sequence[WorkItem]]:
    """Split items into batches without separating one account's actions."""
    start = 0
    while start < len(items):
        end = min(start + size, len(items))
        while end < len(items) and items[end][0] == items[end - 1][0]:
            end += 1
        yield items[start:end]
        start = end


class SqlActuator:
    """Applies actions to one SQL store (see the module docstring).

    Args:
        config: the store's ``[stores.NAME]``.
        specs: its parsed ``[stores.NAME.actions]``.
        batch_size: (account, action) pairs per transaction.
        engine: an existing engine (tests), else one from the config's URL.
        public_key: the key ``isolate`` seals hashes with.
    """

    def __init__(
        self,
        config: StoreConfig,
        specs: SqlSpecs,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        engine: sa.Engine | None = None,
        public_key: X25519PublicKey | None = None,
    ) -> None:
        self.config = config
        self.specs = specs
        self.batch_size = batch_size
        self._store = SqlStore(config, engine)
        self._public_key = public_key
        assert config.table is not None
        schema, _, name = config.table.rpartition(".")
        self._schema = schema or None
        self._name = name
        self._columns: dict[str, str] = {}
        self._convert: Callable[[str], Any] = str
        self._id_type: Any = sa.String()
        self._checkpoint = sa.Table(
            specs.checkpoint_table,
            sa.MetaData(),
            sa.Column("plan_digest", sa.String(80), primary_key=True),
            sa.Column("batch", sa.String(36), primary_key=True),
            sa.Column("outcomes", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")),
            sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
            schema=self._schema,
        )
        self._isolated: sa.Table | None = None

    @property
    def engine(self) -> sa.Engine:
        """The store's engine."""
        return self._store.engine

    def _failed(self, exc: sa_exc.SQLAlchemyError) -> ExternalServiceError:
        orig = getattr(exc, "orig", None) or exc
        first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
        # Database messages can quote row values ("Key (username)=(...)"): mask addresses.
        first = _ADDRESS.sub(lambda m: mask_email(m.group(0)), first)
        return ExternalServiceError(
            f"store {self.config.name!r} ({self.config.safe_url}) failed: "
            f"{type(orig).__name__}: {first[:200]}",
            hint="the failing batch was rolled back; fix the cause and run apply again "
            "(it resumes where it stopped)",
        )

    def snapshot_digest(self) -> str:
        """The store's snapshot digest, read through the accounts connector on our engine."""
        return self._store.snapshot_digest()

    def _col(self, name: str) -> str:
        return self._columns.get(name.lower(), name)

    def validate(self, actions: Sequence[Action]) -> None:
        """Check the actions are configured and the table has every named column.

        Raises:
            ConfigError: an action is missing, or a column (id, a ``set`` column, the hash
                column for ``isolate``) is not in the table.
            ExternalServiceError: the database is unreachable.
        """
        self.specs.require(tuple(actions))
        real = self._store.real_columns()
        self._columns = {c.lower(): c for c in real}
        needed = [("id", self.config.columns.id)]
        for action in actions:
            spec = self.specs.actions[action]
            needed += [(f"{action}.set", column) for column in spec.set]
            if action == "isolate":
                if self.config.columns.password_hash is None:
                    raise ConfigError(
                        f"[stores.{self.config.name}.columns] isolate needs password_hash"
                    )
                needed.append(("password_hash", self.config.columns.password_hash))
                if self._public_key is None:
                    raise ConfigError("isolate needs the workspace vault public key")
        missing = [
            f"{what} -> {column}" for what, column in needed if column.lower() not in self._columns
        ]
        if missing:
            raise ConfigError(
                f"table {self.config.table!r} of store {self.config.name!r} lacks the configured "
                f"column(s): {', '.join(missing)}",
                hint=f"the table's columns are: {', '.join(real)}; "
                f"fix [stores.{self.config.name}.actions]",
            )
        try:
            inspector = sa.inspect(self.engine)
            info = inspector.get_columns(self._name, schema=self._schema)
        except sa_exc.SQLAlchemyError as exc:
            raise self._failed(exc) from None
        id_type = next(
            c["type"] for c in info if c["name"].lower() == self.config.columns.id.lower()
        )
        try:
            python_type = id_type.python_type
        except NotImplementedError:
            python_type = str
        self._convert = int if python_type is int else str
        self._id_type = id_type
        if "isolate" in actions:
            spec = self.specs.actions["isolate"]
            assert spec.table is not None
            self._isolated = sa.Table(
                spec.table,
                sa.MetaData(),
                sa.Column("account_id", sa.String(255), primary_key=True),
                sa.Column("sealed", sa.LargeBinary, nullable=False),
                sa.Column("isolated_at", sa.DateTime(timezone=True), nullable=False),
                schema=self._schema,
            )

    # -- reading ---------------------------------------------------------------------
    def _in(self, column: sa.ColumnClause[Any], keys: list[Any]) -> sa.ColumnElement[bool]:
        """``column IN keys``; on PostgreSQL one text parameter split server-side.

        Ten thousand bind markers (or an array parameter) cost the driver a Python call
        per element; one joined string costs one.
        """
        if self.engine.dialect.name != "postgresql":
            return column.in_(keys)
        packed = _packed([str(k) for k in keys])
        if packed is None:
            array = sa.bindparam("ids", keys, type_=postgresql.ARRAY(self._id_type), unique=True)
            return column == sa.any_(array)
        split = sa.func.string_to_array(
            sa.bindparam("ids", packed, type_=sa.Text, unique=True), sa.func.chr(31)
        )
        return column == sa.any_(sa.cast(split, postgresql.ARRAY(self._id_type)))

    def _table(self, *columns: str) -> sa.TableClause:
        return sa.table(self._name, *(sa.column(c) for c in columns), schema=self._schema)

    def _keys(self, ids: Sequence[str]) -> dict[Any, str]:
        keys: dict[Any, str] = {}
        for account in ids:
            try:
                keys[self._convert(account)] = account
            except ValueError:
                continue  # an id that cannot exist in an integer column: not_found
        return keys

    def recovered(self, plan_digest: str, history: PlanHistory) -> list[Outcome]:
        """Checkpointed outcomes of this plan that the journal lacks (a crash after commit)."""
        cp = self._checkpoint
        try:
            with self.engine.connect() as conn:
                if not sa.inspect(conn).has_table(cp.name, schema=self._schema):
                    return []
                payloads = conn.execute(
                    sa.select(cp.c.outcomes).where(cp.c.plan_digest == plan_digest)
                ).scalars()
                rows = [row for payload in payloads for row in orjson.loads(payload)]
        except sa_exc.SQLAlchemyError as exc:
            raise self._failed(exc) from None
        return [
            Outcome(str(account), action, result, recovered=True)
            for account, action, result in rows
            if (str(account), action) not in history.done
        ]

    # -- doing -----------------------------------------------------------------------
    def _action(
        self, conn: sa.Connection, spec: SqlActionSpec, ids: Sequence[str], *, write: bool
    ) -> list[Outcome]:
        keys = self._keys(ids)
        id_col = self._col(self.config.columns.id)
        set_cols = {self._col(c): v for c, v in spec.set.items()}
        read = list(set_cols)
        hash_col = None
        if spec.action == "isolate":
            assert self.config.columns.password_hash is not None
            hash_col = self._col(self.config.columns.password_hash)
            read.append(hash_col)
        table = self._table(id_col, *read)
        found: dict[str, tuple[Any, ...]] = {}
        if keys:
            rows = conn.execute(
                sa.select(table.c[id_col], *(table.c[c] for c in read)).where(
                    self._in(table.c[id_col], list(keys))
                )
            ).all()
            for row in rows:
                found[keys.get(row[0], str(row[0]))] = tuple(row[1:])
        isolated: set[str] = set()
        if self._isolated is not None and spec.action == "isolate" and found:
            iso = self._isolated
            isolated = {
                str(r[0])
                for r in conn.execute(
                    sa.select(iso.c.account_id).where(iso.c.account_id.in_(list(found)))
                )
            }
        outcomes: list[Outcome] = []
        todo: list[str] = []
        # In effect = every set column already holds its value.  Plain equality is right
        # for booleans too: drivers return True or 1, and True == 1 in Python.
        wanted = tuple(set_cols.values())
        width = len(wanted)
        for account in ids:
            current = found.get(account)
            if current is None:
                outcomes.append(Outcome(account, spec.action, "not_found"))
                continue
            in_effect = width > 0 and current[:width] == wanted
            if spec.action == "isolate":
                in_effect = account in isolated and (in_effect or not set_cols)
            if in_effect:
                outcomes.append(Outcome(account, spec.action, "already"))
            else:
                todo.append(account)
                outcomes.append(Outcome(account, spec.action, "applied"))
        if write and todo:
            self._write(conn, spec, todo, found, isolated, set_cols, hash_col)
        return outcomes

    def _write(
        self,
        conn: sa.Connection,
        spec: SqlActionSpec,
        todo: list[str],
        found: dict[str, tuple[Any, ...]],
        isolated: set[str],
        set_cols: dict[str, Scalar],
        hash_col: str | None,
    ) -> None:
        id_col = self._col(self.config.columns.id)
        keys = [self._convert(a) for a in todo]
        if spec.action == "isolate" and self._isolated is not None:
            assert self._public_key is not None and hash_col is not None
            sealer = Sealer(self._public_key)
            now = datetime.now(UTC)
            rows = [
                {"account_id": a, "sealed": sealer.seal(a, str(found[a][-1])), "isolated_at": now}
                for a in todo
                if a not in isolated and found[a][-1] not in (None, "")
            ]
            if rows:
                conn.execute(sa.insert(self._isolated), rows)
        if set_cols:
            table = self._table(id_col, *set_cols)
            conn.execute(sa.update(table).where(self._in(table.c[id_col], keys)).values(**set_cols))
        if spec.sql is not None:
            conn.execute(sa.text(spec.sql), [{"id": k} for k in keys])

    def _run(self, items: Sequence[WorkItem], conn: sa.Connection, *, write: bool) -> list[Outcome]:
        by_action: dict[str, list[str]] = defaultdict(list)
        for account, action in items:
            by_action[action].append(account)
        outcomes: list[Outcome] = []
        for action in ACTION_ORDER:
            if action in by_action:
                spec = self.specs.actions[action]
                outcomes += self._action(conn, spec, by_action[action], write=write)
        return outcomes

    def preview(self, items: Sequence[WorkItem]) -> list[Outcome]:
        """What the items would do; runs only SELECTs, in a transaction rolled back."""
        outcomes: list[Outcome] = []
        try:
            with self.engine.connect() as conn:
                for batch in _batches(items, self.batch_size):
                    outcomes += self._run(batch, conn, write=False)
                conn.rollback()
        except sa_exc.SQLAlchemyError as exc:
            raise self._failed(exc) from None
        return outcomes

    def execute(
        self,
        items: Sequence[WorkItem],
        plan_digest: str,
        on_batch: BatchCallback,
        on_intent: IntentCallback | None = None,
    ) -> None:
        """Carry out the items, one transaction (with its checkpoint rows) per batch.

        ``on_intent`` is not used: the checkpoint table commits with each batch.

        Raises:
            ExternalServiceError: a statement failed; that batch was rolled back, earlier
                batches stay committed and journaled.
        """
        try:
            self._checkpoint.create(self.engine, checkfirst=True)
            if self._isolated is not None:
                self._isolated.create(self.engine, checkfirst=True)
            with self.engine.connect() as conn:
                for batch in _batches(items, self.batch_size):
                    with conn.begin():
                        outcomes = self._run(batch, conn, write=True)
                        self._checkpoint_rows(conn, plan_digest, outcomes)
                    on_batch(outcomes)
        except sa_exc.SQLAlchemyError as exc:
            raise self._failed(exc) from None

    def _checkpoint_rows(
        self, conn: sa.Connection, plan_digest: str, outcomes: list[Outcome]
    ) -> None:
        """One row per batch: the batch's outcomes as JSON, committed with its changes."""
        conn.execute(
            sa.insert(self._checkpoint).values(
                plan_digest=plan_digest,
                batch=str(uuid.uuid4()),
                outcomes=orjson.dumps([o[:3] for o in outcomes]).decode(),
                applied_at=datetime.now(UTC),
            )
        )

    def close(self) -> None:
        """Dispose of the engine's connections."""
        self.engine.dispose()
