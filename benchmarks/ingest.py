"""Benchmark ``credwatch leak ingest`` against a naive single-process Python baseline.

Generates (once, cached in ``benchmarks/.data/``) a synthetic combolist of ``--lines``
``email:password`` lines from :class:`credwatch.demo.population.Population`, then

* runs ``credwatch leak ingest`` on it in a fresh workspace as a subprocess, measuring
  wall time and the peak RSS of its process tree (polled with psutil);
* runs the naive baseline in this process on the first ``--baseline-lines`` lines: a
  Python loop that splits each line, normalises the address with
  ``Normalizer.normalize``, derives ``email_key``/``pair_key`` with ``Keyer`` and counts
  passwords, then SHA-1 and NTLM per distinct password.  It writes nothing (no index,
  no vault), which favours it.

Prints a table with lines/s, CPU seconds (user + system, the ingest's whole process
tree) and the speed-up, with the load average before and after: on a shared machine
the wall time depends on the load, the CPU time much less, so CPU / cores is the wall
time the same run would take on idle cores.  Targets (DESIGN.md): 14.22 M lines in
<= 10 s on 2 cores, peak RSS <= 2 GB, >= 5x the baseline.

Usage::

    python benchmarks/ingest.py                      # full size, 14.22 M lines
    python benchmarks/ingest.py --lines 1000000      # quick run
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # via dask[distributed]; no stubs installed
import pyarrow.compute as pc

from credwatch.demo.population import Population
from credwatch.index.passwords import ntlm
from credwatch.keys import Keyer
from credwatch.normalize import Normalizer
from credwatch.workspace import Workspace

FULL_SIZE = 14_220_000
DATA_DIR = Path(__file__).resolve().parent / ".data"


def generate(lines: int, path: Path) -> None:
    """Write ``lines`` synthetic ``email:password`` lines (every subscriber leaked)."""
    pop = Population(lines, seed=20260601, leak_share=1.0)
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as handle:
        for start, stop in pop.slices(1_000_000):
            part = pop.slice(start, stop)
            joined = pc.binary_join_element_wise(part.email, part.leaked_password, ":")
            handle.write(("\n".join(joined.to_pylist()) + "\n").encode())
    tmp.replace(path)


def run_ingest(path: Path, workspace: Path) -> tuple[float, float, int, str]:
    """Run the CLI; return wall and CPU seconds, peak RSS of the process tree, stdout."""
    exe = shutil.which("credwatch")
    if exe is None:
        sys.exit("the credwatch console script is not installed (pip install -e .)")
    Workspace(workspace).init()
    cmd = [exe, "--workspace", str(workspace), "leak", "ingest", str(path), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - started
    out, err = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if proc.returncode != 0:
        sys.exit(f"ingest failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, cpu, peak, out.decode()


def naive_baseline(path: Path, limit: int, pepper: bytes) -> tuple[float, float, int]:
    """The straightforward per-line Python implementation of the same outputs."""
    keyer = Keyer(pepper)
    normalizer = Normalizer()
    counts: Counter[str] = Counter()
    keys: set[bytes] = set()
    done = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    with path.open("rb") as handle:
        for raw in handle:
            if done >= limit:
                break
            done += 1
            line = raw.decode("utf-8").rstrip("\r\n")
            at = line.find("@")
            cut = line.find(":", at + 1)
            if at < 0 or cut < 0:
                continue
            address = normalizer.try_normalize(line[:cut])
            password = line[cut + 1 :]
            if address is None or not password:
                continue
            email_key = keyer.email_key(address)
            keys.add(keyer.pair_key(email_key, password))
            counts[password] += 1
    for password in counts:
        hashlib.sha1(password.encode(), usedforsecurity=False).digest()
        ntlm(password)
    return time.perf_counter() - started, time.process_time() - cpu_started, done


def main() -> None:
    """Parse arguments, generate data, run both, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=FULL_SIZE)
    parser.add_argument("--baseline-lines", type=int, default=1_000_000)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    path = args.data_dir / f"combolist-{args.lines}.txt"
    if not path.exists():
        print(f"generating {args.lines:,} lines into {path} ...", file=sys.stderr)
        generate(args.lines, path)
    size_mb = path.stat().st_size / 1e6
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmp:
        workspace = Path(tmp) / "ws"
        wall, cpu, peak, _ = run_ingest(path, workspace)
        base_wall, base_cpu, base_lines = naive_baseline(
            path, min(args.baseline_lines, args.lines), Workspace(workspace).pepper()
        )
    load_after = os.getloadavg()
    cores = os.cpu_count() or 1
    rate = args.lines / wall
    base_rate = base_lines / base_wall
    cpu_ratio = (base_cpu / base_lines) / (cpu / args.lines)
    print(f"input: {path.name}, {args.lines:,} lines, {size_mb:,.0f} MB; cores: {cores}")
    print(f"load average (1 min): {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(
        f"{'run':<34} {'lines':>12} {'wall s':>8} {'lines/s':>12} {'CPU s':>8} "
        f"{'us CPU/line':>12} {'peak RSS MB':>12}"
    )
    print(
        f"{'credwatch leak ingest':<34} {args.lines:>12,} {wall:>8.2f} {rate:>12,.0f} "
        f"{cpu:>8.2f} {1e6 * cpu / args.lines:>12.2f} {peak / 1e6:>12,.0f}"
    )
    print(
        f"{'naive Python baseline (in-process)':<34} {base_lines:>12,} {base_wall:>8.2f} "
        f"{base_rate:>12,.0f} {base_cpu:>8.2f} {1e6 * base_cpu / base_lines:>12.2f} {'-':>12}"
    )
    print(f"speed-up (wall): {rate / base_rate:.1f}x; CPU per line: {cpu_ratio:.1f}x less")
    full = FULL_SIZE / rate
    idle = cpu / args.lines * FULL_SIZE / cores
    print(
        f"targets: 14.22 M lines <= 10 s (projected {full:.1f} s at this rate; "
        f"{idle:.1f} s of CPU per core), peak RSS <= 2,000 MB ({peak / 1e6:,.0f} MB), "
        f">= 5x baseline ({rate / base_rate:.1f}x)"
    )


if __name__ == "__main__":
    main()
