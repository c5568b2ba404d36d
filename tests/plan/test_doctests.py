"""The examples in the docstrings of plan, apply, retention and notify run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "credwatch.plan.model",
    "credwatch.plan.policy",
    "credwatch.plan.remediate",
    "credwatch.apply.seal",
    "credwatch.apply.specs",
    "credwatch.apply.passwd_file",
    "credwatch.notify.render",
    "credwatch.retention.policy",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
