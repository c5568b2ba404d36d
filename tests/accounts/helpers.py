"""Builders for account tables in real databases and store configurations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from credwatch.workspace import Workspace

COLUMNS = {
    "id": "id",
    "email": "username",
    "tenant": "isp",
    "recovery_email": "recovery",
    "password_hash": "password",
    "status": "state",
    "last_login": "last_login",
    "mfa": "totp_enabled",
}
STATUS = {"active": ["active"], "dormant": ["suspended"], "cancelled": ["closed"]}


def mailbox_table(meta: sa.MetaData) -> sa.Table:
    """The test store's table."""
    return sa.Table(
        "mailbox",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("username", sa.String(255)),
        sa.Column("isp", sa.String(32)),
        sa.Column("recovery", sa.String(255)),
        sa.Column("password", sa.String(255)),
        sa.Column("state", sa.String(16)),
        sa.Column("last_login", sa.DateTime),
        sa.Column("totp_enabled", sa.Boolean),
    )


def make_row(
    i: int,
    email: str,
    password_hash: str | None = "{PLAIN}secret",
    *,
    tenant: str = "nifty",
    state: str = "active",
    recovery: str | None = None,
    mfa: bool = False,
) -> dict[str, Any]:
    """One row of ``mailbox``."""
    return {
        "id": i,
        "username": email,
        "isp": tenant,
        "recovery": recovery,
        "password": password_hash,
        "state": state,
        "last_login": datetime(2026, 6, 1, 12, 0, 0),
        "totp_enabled": mfa,
    }


def create_mailbox(url: str, rows: list[dict[str, Any]]) -> None:
    """Create ``mailbox`` at ``url`` and insert ``rows``."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = mailbox_table(meta)
    try:
        with engine.begin() as conn:
            meta.drop_all(conn)
            meta.create_all(conn)
            if rows:
                conn.execute(table.insert(), rows)
    finally:
        engine.dispose()


def sql_store_toml(name: str, url: str, columns: dict[str, str] | None = None) -> str:
    """A ``[stores.NAME]`` section for an SQL store."""
    cols = "\n".join(f'{k} = "{v}"' for k, v in (columns or COLUMNS).items())
    status = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in STATUS.items())
    return (
        f'[stores.{name}]\nkind = "sql"\nurl = "{url}"\ntable = "mailbox"\n'
        f"[stores.{name}.columns]\n{cols}\n[stores.{name}.status]\n{status}\n"
    )


def add_config(ws: Workspace, text: str) -> None:
    """Append a section to the workspace configuration."""
    path: Path = ws.config_path
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
