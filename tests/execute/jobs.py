"""Module-level (picklable) job functions for the executor tests."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa


def square(items: list[int]) -> pa.Table:
    """Square each item."""
    return pa.table({"x": items, "sq": [i * i for i in items]})


def square_and_count(args: tuple[Path, list[int]]) -> pa.Table:
    """Square, and leave one file per call in a folder so tests can count calls."""
    folder, items = args
    (folder / f"call-{os.getpid()}-{items[0]}").touch()
    return square(items)


def fail_on_13(items: list[int]) -> pa.Table:
    """Raise when the batch holds 13 (message quotes a 'secret' to prove it is withheld)."""
    if 13 in items:
        raise ValueError("secret-Kanary-13")
    return square(items)


def leak_plaintext(items: list[int]) -> pa.Table:
    """A job returning a column that looks like plaintext (the checkpoint refuses it)."""
    return pa.table({"password": [str(i) for i in items]})
