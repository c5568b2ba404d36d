"""Demo stage ``accounts``: the six tenants' account store, and its census.

Builds table ``mailbox`` from :class:`credwatch.demo.population.Population` (each
subscriber's *current* password, status, MFA, recovery address and last login) in
SQLite (``OUT/accounts.sqlite``) or at ``ctx.store_url`` (e.g. PostgreSQL), writes the
``[stores.demo]`` section into the workspace's ``credwatch.toml`` and leaves the
census in ``ctx.artifacts["accounts_census"]`` (tenant -> status -> accounts).

Hash schemes, as on a real legacy mail platform: SHA512-CRYPT and BLF-CRYPT for most,
``{SSHA512}``, legacy ``PLAIN-MD5`` and ``PLAIN``, and a few hashes of a scheme
credwatch does not know (``{LEGACY-NTHASH}``) to show how they are reported.

Demo-only cost parameters: slow hashes use the lowest valid cost (SHA512-CRYPT
``rounds=1000``, bcrypt cost 4); at most :data:`SLOW_HASH_BUDGET` accounts get a
slow hash (about 2 ms each to make, and again to verify in the audit) so the default
demo stays well under a minute; beyond that budget the accounts meant for a slow
scheme get ``{SSHA512}``.
A few store status values (``pending``) are outside the mapping, to show they are
reported, never guessed; a third of cancelled accounts have no hash any more
(credential purged), which gives the ``email_only`` finding when they leaked.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor

import bcrypt
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from adbc_driver_manager.dbapi import Connection as AdbcConnection
from passlib.hash import ldap_salted_sha512, sha512_crypt

from credwatch.accounts import open_store, run_census
from credwatch.accounts.sql import sqlalchemy_url
from credwatch.demo.population import PopulationSlice
from credwatch.demo.runner import DemoContext, StageResult

__all__ = ["SLOW_HASH_BUDGET", "STORE_NAME", "hash_passwords", "run"]

STORE_NAME = "demo"
#: At most this many accounts get a slow (SHA512-CRYPT / BLF-CRYPT) hash.
SLOW_HASH_BUDGET = 8_000
_SCHEMES = ("SHA512-CRYPT", "BLF-CRYPT", "PLAIN-MD5", "PLAIN", "LEGACY-NTHASH")
_SCHEME_P = (0.46, 0.34, 0.13, 0.05, 0.02)
_STATUS_VALUES = {"active": "active", "dormant": "suspended", "cancelled": "closed"}
_BEGIN = "# >>> credwatch demo store (rewritten by `credwatch demo`)"
_END = "# <<< credwatch demo store"


def hash_passwords(items: Sequence[tuple[str, str]]) -> list[str]:
    """Hash ``(scheme, password)`` items the way the platform stores them (demo costs).

    Module-level so the executor's worker processes can run it.
    """
    out = []
    for scheme, password in items:
        raw = password.encode("utf-8")
        if scheme == "SHA512-CRYPT":
            out.append("{SHA512-CRYPT}" + sha512_crypt.using(rounds=1000).hash(password))
        elif scheme == "BLF-CRYPT":
            out.append("{BLF-CRYPT}" + bcrypt.hashpw(raw, bcrypt.gensalt(4)).decode())
        elif scheme == "SSHA512":
            out.append(ldap_salted_sha512.hash(password))
        elif scheme == "PLAIN-MD5":
            out.append("{PLAIN-MD5}" + hashlib.md5(raw).hexdigest())  # noqa: S324 - legacy scheme on purpose
        elif scheme == "PLAIN":
            out.append("{PLAIN}" + password)
        else:
            out.append("{LEGACY-NTHASH}" + hashlib.sha256(b"nt" + raw).hexdigest()[:32])
    return out


_SLOW = ("SHA512-CRYPT", "BLF-CRYPT")


def _schemes(rng: np.random.Generator, n: int, budget: int) -> npt.NDArray[np.str_]:
    """Draw schemes; slow ones beyond ``budget`` become ``SSHA512``."""
    schemes = np.array(_SCHEMES, dtype="<U13")[rng.choice(len(_SCHEMES), size=n, p=_SCHEME_P)]
    slow = np.flatnonzero(np.isin(schemes, _SLOW))
    schemes[slow[max(budget, 0) :]] = "SSHA512"
    return schemes


def _fast_hash(scheme: str, password: str, salt: bytes) -> str:
    """The fast schemes on hashlib directly (passlib's per-call overhead is 10x this)."""
    raw = password.encode("utf-8")
    if scheme == "SSHA512":
        digest = hashlib.sha512(raw + salt).digest()
        return "{SSHA512}" + base64.b64encode(digest + salt).decode("ascii")
    if scheme == "PLAIN-MD5":
        return "{PLAIN-MD5}" + hashlib.md5(raw).hexdigest()  # noqa: S324 - legacy scheme on purpose
    if scheme == "PLAIN":
        return "{PLAIN}" + password
    return "{LEGACY-NTHASH}" + hashlib.sha256(b"nt" + raw).hexdigest()[:32]


def _hashes(
    schemes: npt.NDArray[np.str_], passwords: list[str], salts: bytes, pool: Executor
) -> list[str]:
    """Every account's stored hash; the slow ones on ``pool``'s worker processes."""
    out = [
        _fast_hash(s, p, salts[8 * i : 8 * i + 8]) if s not in _SLOW else ""
        for i, (s, p) in enumerate(zip(schemes.tolist(), passwords, strict=True))
    ]
    slow = np.flatnonzero(np.isin(schemes, _SLOW)).tolist()
    if slow:
        items = [(str(schemes[i]), passwords[i]) for i in slow]
        chunk = max(len(items) // 16, 1)
        parts = pool.map(
            hash_passwords, [items[k : k + chunk] for k in range(0, len(items), chunk)]
        )
        for i, h in zip(slow, (h for part in parts for h in part), strict=True):
            out[i] = h
    return out


def _slice_table(
    part: PopulationSlice, rng: np.random.Generator, budget: int, seed: int, pool: Executor
) -> tuple[pa.Table, int]:
    """One slice of subscribers as rows of ``mailbox``; returns the slow hashes it used."""
    n = len(part)
    schemes = _schemes(rng, n, budget)
    salts = np.random.default_rng([seed, 5, part.start]).bytes(8 * n)
    hashes = _hashes(schemes, part.current_password.to_pylist(), salts, pool)
    status = part.status.to_numpy(zero_copy_only=False).astype("<U9")
    for ours, theirs in _STATUS_VALUES.items():
        status[status == ours] = theirs
    status[rng.random(n) < 0.002] = "pending"
    # A third of cancelled accounts already had their credential purged: if their
    # address leaked, the audit can only say `email_only`.
    purged = (rng.random(n) < 0.33) & (status == "closed")
    table = pa.table(
        {
            "id": pa.array(np.arange(part.start + 1, part.start + n + 1, dtype=np.int64)),
            "username": part.email,
            "isp": part.tenant,
            "recovery": part.recovery_email,
            "password": pa.array(hashes, pa.string(), mask=purged),
            "state": pa.array(status),
            "last_login": pa.array(part.last_login),
            "totp_enabled": pa.array(part.mfa),
        }
    )
    return table, int(np.isin(schemes, _SLOW).sum())


def _config_block(url: str) -> str:
    statuses = "\n".join(f'{ours} = ["{theirs}"]' for ours, theirs in _STATUS_VALUES.items())
    return f"""{_BEGIN}
[stores.{STORE_NAME}]
kind = "sql"
url = "{url}"
table = "mailbox"
[stores.{STORE_NAME}.columns]
id = "id"
email = "username"
tenant = "isp"
recovery_email = "recovery"
password_hash = "password"
status = "state"
last_login = "last_login"
mfa = "totp_enabled"
[stores.{STORE_NAME}.status]
{statuses}
{_END}
"""


def write_store_config(ctx: DemoContext, url: str) -> None:
    """Put (or replace) the ``[stores.demo]`` section in the workspace configuration."""
    path = ctx.workspace.config_path
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    text = re.sub(re.escape(_BEGIN) + r".*?" + re.escape(_END) + r"\n?", "", text, flags=re.S)
    path.write_text(text.rstrip("\n") + "\n\n" + _config_block(url), encoding="utf-8")


def _mailbox(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "mailbox",
        meta,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("isp", sa.String(32), nullable=False),
        sa.Column("recovery", sa.String(255)),
        sa.Column("password", sa.String(255)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_login", sa.DateTime),
        sa.Column("totp_enabled", sa.Boolean, nullable=False),
    )


def _adbc_connect(url: sa.URL) -> AdbcConnection:
    """An ADBC connection to the SQLite or PostgreSQL database at ``url``."""
    if url.get_backend_name() == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc_sqlite  # noqa: PLC0415 - only this dialect

        return adbc_sqlite.connect(url.database or ":memory:")
    import adbc_driver_postgresql.dbapi as adbc_pg  # noqa: PLC0415 - only this dialect

    uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn: AdbcConnection = adbc_pg.connect(uri)
    return conn


def _insert(engine: sa.Engine, table: sa.Table, rows: pa.Table) -> None:
    """Append ``rows``: ADBC bulk ingest for SQLite and PostgreSQL, executemany elsewhere."""
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        with engine.begin() as sa_conn:
            for chunk in rows.to_batches(20_000):
                sa_conn.execute(table.insert(), chunk.to_pylist())
        return
    if dialect == "sqlite":
        # SQLAlchemy's text form of DateTime on SQLite, so the store reads the same.
        stamp = pc.strftime(rows.column("last_login"), format="%Y-%m-%d %H:%M:%S.000000")
        rows = rows.set_column(rows.schema.get_field_index("last_login"), "last_login", stamp)
    conn = _adbc_connect(engine.url)
    try:
        with conn.cursor() as cursor:
            cursor.adbc_ingest("mailbox", rows, mode="append")
        conn.commit()
    finally:
        conn.close()


def build_store(ctx: DemoContext) -> str:
    """Create (or recreate) table ``mailbox``, one population slice at a time; return its URL.

    Memory stays at one slice (a million subscribers) whatever the size: each slice is
    hashed and appended (ADBC bulk ingest on SQLite and PostgreSQL) before the next.
    """
    url = sqlalchemy_url(
        ctx.store_url or f"sqlite:///{(ctx.out_dir / 'accounts.sqlite').resolve()}"
    )
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = _mailbox(meta)
    pop = ctx.population
    rng = np.random.default_rng([pop.seed, 4])
    budget = SLOW_HASH_BUDGET
    try:
        with engine.begin() as conn:
            meta.drop_all(conn)
            meta.create_all(conn)
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for start, stop in pop.slices():
                rows, slow = _slice_table(pop.slice(start, stop), rng, budget, pop.seed, pool)
                budget -= slow
                _insert(engine, table, rows)
    finally:
        engine.dispose()
    return url


def _by_tenant_status(ctx: DemoContext) -> dict[str, dict[str, int]]:
    """tenant -> status -> accounts, counted in Arrow batch by batch."""
    out: dict[str, dict[str, int]] = {}
    for batch in open_store(ctx.workspace, STORE_NAME).iter_arrow(1_000_000):
        counts = pa.table({"t": batch.column("tenant"), "s": batch.column("status")})
        for row in counts.group_by(["t", "s"]).aggregate([([], "count_all")]).to_pylist():
            per = out.setdefault(str(row["t"]), {})
            per[str(row["s"])] = per.get(str(row["s"]), 0) + int(row["count_all"])
    return out


def run(ctx: DemoContext) -> StageResult:
    """Build the demo store, configure it as ``[stores.demo]`` and take its census."""
    url = build_store(ctx)
    write_store_config(ctx, url)
    census = run_census(open_store(ctx.workspace, STORE_NAME))
    ctx.artifacts["accounts_census"] = _by_tenant_status(ctx)
    ctx.artifacts["store"] = STORE_NAME
    schemes = ", ".join(f"{k} {v:,}" for k, v in census.schemes.items())
    lines = (
        f"store {STORE_NAME!r}: {census.accounts:,} accounts in {len(census.by_tenant)} "
        f"tenants ({sa.engine.make_url(url).get_backend_name()})",
        "statuses: " + ", ".join(f"{k} {v:,}" for k, v in census.by_status.items()),
        f"hash schemes: {schemes}",
        "status values outside the mapping: "
        + (", ".join(f"{k} {v:,}" for k, v in census.unknown_statuses.items()) or "none"),
        f"MFA enrolled: {census.mfa['enabled']:,}",
    )
    return StageResult(name="accounts", lines=lines, data={"census": census.to_json()})
