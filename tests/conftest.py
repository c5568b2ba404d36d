"""Shared fixtures: workspaces, real services and real programs.

Real services (PostgreSQL, MariaDB, Redis on 127.0.0.1) and real programs (doveadm,
chromium, ...) are used, never mocked.  When one is missing, its tests skip with the
reason on a developer's machine; under ``CI=true`` they fail instead, so a broken CI
machine cannot pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from credwatch.workspace import Workspace

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("CREDWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("CREDWATCH_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("CREDWATCH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def unavailable(reason: str) -> None:
    """Skip the test locally, fail it under CI=true."""
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def require_program(name: str) -> str:
    """Return the path of a real program, or skip/fail when it is not installed."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (bash .ci/setup-system installs it)")
        raise AssertionError("unreachable")
    return path


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh, initialised workspace."""
    ws = Workspace(root=tmp_path / "ws")
    ws.init()
    return ws


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL to a private schema in the real PostgreSQL, dropped afterwards."""
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL is not reachable on 127.0.0.1:5432")
    schema = f"cw_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A SQLAlchemy URL to a private database in the real MariaDB, dropped afterwards."""
    if not port_open("127.0.0.1", 3306):
        unavailable("MariaDB is not reachable on 127.0.0.1:3306")
    name = f"cw_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(MARIADB_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield MARIADB_URL.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name}"))
        engine.dispose()


@pytest.fixture
def redis_url() -> str:
    """The real Redis on 127.0.0.1:6379 (tests use their own key prefixes)."""
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis is not reachable on 127.0.0.1:6379")
    return REDIS_URL
