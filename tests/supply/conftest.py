"""Fixtures of the supply tests: committed small inputs, and the shared real corpus.

The real corpus (SBOMs and OSV records, see its READMEs) lives beside the clone at
``../shared/corpus`` (CI) or ``/work/shared/corpus``; tests using it skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]


def _corpus() -> Path | None:
    candidates = [
        os.environ.get("CREDWATCH_CORPUS"),
        str(REPO.parent / "shared" / "corpus"),
        "/work/shared/corpus",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "osv").is_dir():
            return Path(candidate)
    return None


CORPUS = _corpus()


@pytest.fixture
def corpus() -> Path:
    """The shared real-data corpus (skips when absent)."""
    if CORPUS is None:
        pytest.skip("shared corpus not found beside the clone (../shared/corpus)")
    return CORPUS


@pytest.fixture
def data() -> Path:
    """The committed small fixtures of these tests."""
    return DATA
