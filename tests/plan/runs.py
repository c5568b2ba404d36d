"""Builders for audit-run folders and account stores, following docs/contracts.md."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from credwatch.workspace import Workspace

RUN_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("tenant", pa.string()),
        ("status", pa.string()),
        ("mfa", pa.bool_()),
        ("email_domain", pa.string()),
        ("recovery_domain", pa.string()),
        ("scheme", pa.string()),
        ("findings", pa.list_(pa.string())),
        ("risk_score", pa.int32()),
        ("priority", pa.int32()),
        ("masked_email", pa.string()),
    ]
)

#: (id, tenant, status, mfa, findings): one account per interesting case.
CASES: list[tuple[str, str, str, bool, list[str]]] = [
    ("1", "nifty", "active", False, ["pair_valid"]),
    ("2", "nifty", "active", False, ["pair_valid", "recovery_exposed"]),
    ("3", "biglobe", "dormant", False, ["email_only"]),
    ("4", "biglobe", "cancelled", False, ["pair_stale"]),
    ("5", "jcom", "active", True, ["weak_scheme"]),
    ("6", "jcom", "active", False, []),
    ("7", "cpi", "dormant", False, ["pair_valid"]),
]


def write_run(
    ws: Workspace,
    run: str,
    store: str,
    store_digest: str,
    cases: list[tuple[str, str, str, bool, list[str]]] = CASES,
) -> Path:
    """Write ``ws.runs_dir/RUN`` with accounts.parquet and summary.json."""
    folder = ws.runs_dir / run
    folder.mkdir(parents=True)
    n = len(cases)
    table = pa.table(
        {
            "id": [c[0] for c in cases],
            "tenant": [c[1] for c in cases],
            "status": [c[2] for c in cases],
            "mfa": [c[3] for c in cases],
            "email_domain": ["nifty.com"] * n,
            "recovery_domain": ["biglobe.ne.jp"] * n,
            "scheme": ["SHA512-CRYPT"] * n,
            "findings": [c[4] for c in cases],
            "risk_score": [10] * n,
            "priority": list(range(n)),
            "masked_email": ["t***@nifty.com"] * n,
        },
        schema=RUN_SCHEMA,
    )
    pq.write_table(table, folder / "accounts.parquet")
    summary: dict[str, Any] = {
        "schema_version": "1.0",
        "run": run,
        "store": store,
        "store_digest": store_digest,
        "index_digest": "sha256:" + "0" * 64,
        "created_at": "2026-06-20T09:00:00+00:00",
        "accounts": n,
    }
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


SQL_ACTIONS = """
[stores.{name}.actions]
force_reset = {{ set = {{ must_reset = true }} }}
lock = {{ set = {{ state = "locked" }} }}
require_mfa = {{ set = {{ mfa_required = true }} }}
revoke_sessions = {{ sql = "DELETE FROM sessions WHERE user_id = :id" }}
purge_credential = {{ set = {{ password = "" }} }}
isolate = {{ table = "isolated_credentials", set = {{ password = "" }} }}
"""


def store_toml(name: str, url: str, table: str = "mailbox", actions: bool = True) -> str:
    """A [stores.NAME] table for the mailbox table of :func:`create_mailbox`."""
    text = f"""
[stores.{name}]
kind = "sql"
url = "{url}"
table = "{table}"
[stores.{name}.columns]
id = "id"
email = "username"
tenant = "isp"
recovery_email = "recovery"
password_hash = "password"
status = "state"
last_login = "last_login"
mfa = "totp"
[stores.{name}.status]
active = ["active"]
dormant = ["suspended"]
cancelled = ["closed"]
"""
    return text + (SQL_ACTIONS.format(name=name) if actions else "")


def configure(ws: Workspace, *tables: str) -> None:
    """Write credwatch.toml with the given store tables."""
    ws.config_path.write_text("\n".join(tables), encoding="utf-8")


STATE = {"active": "active", "dormant": "suspended", "cancelled": "closed"}
#: Last logins relative to :data:`NOW`: dormant accounts a year and more ago.
NOW = datetime(2026, 6, 20, 9, 0, 0)
LOGIN_AGE = {
    "active": NOW - timedelta(days=2),
    "dormant": NOW - timedelta(days=400),
    "cancelled": NOW - timedelta(days=120),
}


def create_mailbox(
    url: str,
    cases: list[tuple[str, str, str, bool, list[str]]] = CASES,
    *,
    extra_rows: int = 0,
    table: str = "mailbox",
) -> sa.Engine:
    """Create the mailbox and sessions tables and fill them (canary addresses/passwords)."""
    engine = sa.create_engine(url)
    md = sa.MetaData()
    mailbox = sa.Table(
        table,
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("username", sa.String(200)),
        sa.Column("isp", sa.String(50)),
        sa.Column("recovery", sa.String(200)),
        sa.Column("password", sa.String(200)),
        sa.Column("state", sa.String(20)),
        sa.Column("last_login", sa.DateTime),
        sa.Column("totp", sa.Boolean, nullable=False, default=False),
        sa.Column("must_reset", sa.Boolean, nullable=False, default=False),
        sa.Column("mfa_required", sa.Boolean, nullable=False, default=False),
    )
    sessions = sa.Table(
        "sessions",
        md,
        sa.Column("sid", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.Integer),
    )
    md.create_all(engine)
    rows = [
        {
            "id": int(c[0]),
            "username": f"canary{c[0]}@nifty.com",
            "isp": c[1],
            "recovery": f"rescue{c[0]}@biglobe.ne.jp",
            "password": f"{{PLAIN}}CanaryPw{c[0]}",
            "state": STATE[c[2]],
            "last_login": LOGIN_AGE[c[2]],
            "totp": c[3],
            "must_reset": False,
            "mfa_required": False,
        }
        for c in cases
    ]
    rows += [
        {
            "id": 1000 + i,
            "username": f"bulk{i}@nifty.com",
            "isp": "nifty",
            "recovery": None,
            "password": "{SHA512-CRYPT}$6$x$y",
            "state": "active",
            "last_login": None,
            "totp": False,
            "must_reset": False,
            "mfa_required": False,
        }
        for i in range(extra_rows)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(mailbox), rows)
        if cases:
            conn.execute(
                sa.insert(sessions),
                [{"sid": i + 1, "user_id": int(c[0])} for i, c in enumerate(cases)],
            )
    return engine
