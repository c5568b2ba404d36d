"""Account-store URLs for every SQL backend apply supports."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests on SQLite, the real PostgreSQL and the real MariaDB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("pg_url"))
    request.applymarker(pytest.mark.mariadb)
    return str(request.getfixturevalue("mariadb_url"))
