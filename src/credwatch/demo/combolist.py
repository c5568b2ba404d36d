"""Demo stage ``combolist``: the synthetic dump the attackers published.

From the leaked subscribers of :class:`credwatch.demo.population.Population` (``in_leak``
and their ``leaked_password``), writes to ``OUT/combolist/``:

* ``dump-main.txt.gz`` — UTF-8, ``email:password``, gzip; about nine in ten leaked
  pairs, with realistic dirt: blank lines, lines without a separator, invalid
  addresses, duplicated lines, a few ``;`` and tab lines (copies of pairs present in
  ``:`` form, so nothing real is lost when they are rejected), mixed-case addresses,
  spaces around the address, CRLF line ends;
* ``dump-jp.txt`` — CP932 (Shift_JIS), the remaining leaked pairs plus lines with
  Japanese passwords for addresses outside the subscriber base.

Every leaked pair of the population is in exactly one file, unchanged, so the audit
can later find each ``pair_valid`` account.  The same seed always yields the same bytes
(gzip without a timestamp).  Records in ``ctx.artifacts["combolist"]``: ``files``
(paths), ``sources`` (source names, same order), ``pairs`` (leaked pairs written).
"""

from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.demo.population import TENANTS
from credwatch.demo.runner import DemoContext, StageResult

__all__ = ["JP_SHARE", "run"]

#: Share of leaked pairs that go to the CP932 file.
JP_SHARE = 0.1
_JP_WORDS = ("さくら", "ひまわり", "ねこ", "パスワード", "東京", "富士山", "ドラえもん", "たろう")


def _lines(email: pa.Array, password: pa.Array, sep: str = ":") -> pa.Array:
    return pc.binary_join_element_wise(email, password, sep)


def _dirty_main(rng: np.random.Generator, email: pa.Array, password: pa.Array) -> list[pa.Array]:
    """The main file's lines: every pair once, plus noise, in a shuffled order."""
    n = len(email)
    upper = pa.array(rng.random(n) < 0.05)
    email = pc.if_else(upper, pc.utf8_upper(email), email)
    spaced = pa.array(rng.random(n) < 0.02)
    email = pc.if_else(spaced, pc.binary_join_element_wise(" ", email, " ", ""), email)
    lines = _lines(email, password)
    crlf = pa.array(rng.random(n) < 0.03)
    lines = pc.if_else(crlf, pc.binary_join_element_wise(lines, "\r", ""), lines)
    extra: list[pa.Array] = [lines]
    k = max(n // 100, 1)
    picks = pa.array(rng.integers(0, n, k))
    extra.append(lines.take(picks))  # duplicates
    extra.append(_lines(email.take(picks), password.take(picks), ";"))
    extra.append(_lines(email.take(picks[: k // 2]), password.take(picks[: k // 2]), "\t"))
    extra.append(pa.array([""] * k))  # blank lines
    extra.append(pc.replace_substring(email.take(picks), "@", " at "))  # no separator, no @
    extra.append(  # invalid addresses
        _lines(pc.replace_substring(email.take(picks), "@", "@@"), password.take(picks))
    )
    extra.append(_lines(pc.replace_substring(email.take(picks), ".", "_"), password.take(picks)))
    allof = pa.concat_arrays([a.cast(pa.string()) for a in extra])
    order = rng.permutation(len(allof))
    return [allof.take(pa.array(order))]


def _japanese(rng: np.random.Generator, start: int, count: int) -> pa.Array:
    domains = [t.domains[0] for t in TENANTS]
    words = np.array(_JP_WORDS)
    idx = np.arange(start, start + count)
    email = pa.array([f"jp{i:07d}@{domains[i % len(domains)]}" for i in idx.tolist()], pa.string())
    password = pc.binary_join_element_wise(
        pa.array(words[rng.integers(0, len(words), count)]),
        pa.array(rng.integers(0, 10000, count)).cast(pa.string()),
        "",
    )
    return _lines(email, password)


def run(ctx: DemoContext) -> StageResult:
    """Write the combolist files; record them in ``ctx.artifacts["combolist"]``."""
    out = ctx.out_dir / "combolist"
    out.mkdir(parents=True, exist_ok=True)
    pop = ctx.population
    rng = np.random.default_rng([pop.seed, 3])
    main_path = out / "dump-main.txt.gz"
    jp_path = out / "dump-jp.txt"
    pairs = jp_lines = main_lines = 0
    with (
        main_path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as main,
        jp_path.open("wb") as jp,
    ):
        for start, stop in pop.slices():
            part = pop.slice(start, stop)
            leaked = pa.array(part.in_leak)
            email = part.email.filter(leaked)
            password = part.leaked_password.filter(leaked)
            pairs += len(email)
            to_jp = pa.array(rng.random(len(email)) < JP_SHARE)
            keep = pc.invert(to_jp)
            for array in _dirty_main(rng, email.filter(keep), password.filter(keep)):
                main.write(("\n".join(array.to_pylist()) + "\n").encode("utf-8"))
                main_lines += len(array)
            ascii_jp = _lines(email.filter(to_jp), password.filter(to_jp))
            japanese = _japanese(rng, start, max(len(ascii_jp) // 4, 1))
            both = pa.concat_arrays([ascii_jp, japanese])
            both = both.take(pa.array(rng.permutation(len(both))))
            jp.write(("\r\n".join(both.to_pylist()) + "\r\n").encode("cp932"))
            jp_lines += len(both)
    files = [main_path, jp_path]
    ctx.artifacts["combolist"] = {
        "files": [str(p) for p in files],
        "sources": ["dump-main", "dump-jp"],
        "pairs": pairs,
    }
    return StageResult(
        name="combolist",
        lines=(
            f"wrote {main_path.name} (UTF-8, gzip, {main_lines:,} lines with noise) and "
            f"{jp_path.name} (CP932, {jp_lines:,} lines)",
            f"{pairs:,} leaked pairs of {pop.n:,} subscribers",
        ),
        data={"files": [str(p) for p in files], "leaked_pairs": pairs},
    )
