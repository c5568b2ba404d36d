"""The public surface of credwatch.hashes and credwatch.execute is what __all__ says,
and every exported object is documented."""

from __future__ import annotations

import inspect

import pytest

import credwatch.execute
import credwatch.hashes


@pytest.mark.parametrize("module", [credwatch.hashes, credwatch.execute])
def test_all_is_honest_and_documented(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
