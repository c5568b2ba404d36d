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

import hashlib
import re
from collections.abc import Sequence

import bcrypt
import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from passlib.hash import ldap_salted_sha512, sha512_crypt

from credwatch.accounts import open_store, run_census
from credwatch.accounts.sql import sqlalchemy_url
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


def _schemes(rng: np.random.Generator, n: int, budget: int) -> list[str]:
    """Draw schemes; slow ones beyond ``budget`` become ``SSHA512``."""
    picks = rng.choice(len(_SCHEMES), size=n, p=_SCHEME_P)
    schemes = [_SCHEMES[i] for i in picks]
    slow = [i for i, s in enumerate(schemes) if s in ("SHA512-CRYPT", "BLF-CRYPT")]
    for i in slow[max(budget, 0) :]:
        schemes[i] = "SSHA512"
    return schemes


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


def _rows(ctx: DemoContext) -> list[dict[str, object]]:
    pop = ctx.population
    rng = np.random.default_rng([pop.seed, 4])
    rows: list[dict[str, object]] = []
    budget = SLOW_HASH_BUDGET
    for start, stop in pop.slices():
        part = pop.slice(start, stop)
        n = len(part)
        schemes = _schemes(rng, n, budget)
        budget -= sum(1 for s in schemes if s in ("SHA512-CRYPT", "BLF-CRYPT"))
        hashes = hash_passwords(list(zip(schemes, part.current_password.to_pylist(), strict=True)))
        statuses = [_STATUS_VALUES[s] for s in part.status.to_pylist()]
        odd = rng.random(n) < 0.002
        statuses = ["pending" if o else s for s, o in zip(statuses, odd, strict=True)]
        # A third of cancelled accounts already had their credential purged: if their
        # address leaked, the audit can only say `email_only`.
        purged = rng.random(n) < 0.33
        stored: list[str | None] = [
            None if p and st == "closed" else h
            for h, st, p in zip(hashes, statuses, purged, strict=True)
        ]
        for i, (tenant, email, rec, h, st, mfa, last) in enumerate(
            zip(
                part.tenant.to_pylist(),
                part.email.to_pylist(),
                part.recovery_email.to_pylist(),
                stored,
                statuses,
                part.mfa.tolist(),
                pa.array(part.last_login).to_pylist(),
                strict=True,
            )
        ):
            rows.append(
                {
                    "id": start + i + 1,
                    "username": email,
                    "isp": tenant,
                    "recovery": rec,
                    "password": h,
                    "state": st,
                    "last_login": last,
                    "totp_enabled": bool(mfa),
                }
            )
    return rows


def build_store(ctx: DemoContext) -> str:
    """Create (or recreate) table ``mailbox``; return the store URL."""
    url = sqlalchemy_url(
        ctx.store_url or f"sqlite:///{(ctx.out_dir / 'accounts.sqlite').resolve()}"
    )
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table(
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
    rows = _rows(ctx)
    try:
        with engine.begin() as conn:
            meta.drop_all(conn)
            meta.create_all(conn)
            for i in range(0, len(rows), 20_000):
                conn.execute(table.insert(), rows[i : i + 20_000])
    finally:
        engine.dispose()
    return url


def run(ctx: DemoContext) -> StageResult:
    """Build the demo store, configure it as ``[stores.demo]`` and take its census."""
    url = build_store(ctx)
    write_store_config(ctx, url)
    census = run_census(open_store(ctx.workspace, STORE_NAME))
    by_tenant_status: dict[str, dict[str, int]] = {}
    store = open_store(ctx.workspace, STORE_NAME)
    for batch in store.iter_arrow(100_000):
        for tenant, status in zip(
            batch.column("tenant").to_pylist(), batch.column("status").to_pylist(), strict=True
        ):
            by_tenant_status.setdefault(tenant, {}).setdefault(status, 0)
            by_tenant_status[tenant][status] += 1
    ctx.artifacts["accounts_census"] = by_tenant_status
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
