"""Benchmark of ``credwatch serve`` and ``credwatch passwords import``.

What it does (everything on 127.0.0.1, bounded, stopped at the end):

1. import: generates a HIBP-format file of ``--import-lines`` random SHA-1 hashes and
   times ``import_files`` (the issue's target is 100 M hashes in <= 2 min; the rate
   measured here is extrapolated linearly and said so);
2. corpus: a corpus where ``--prefixes`` prefixes are populated at the public corpus's
   density (``--density`` suffixes each, ~1,000 like api.pwnedpasswords.com), plus an
   exposure index from a small synthetic leak for ``/v1/check``;
3. load: starts ``credwatch serve`` with ``--workers`` uvicorn workers and drives it with
   ``wrk`` (Debian's package; installed with apt-get when missing and run as root) for
   ``--seconds`` per scenario: ``/range`` on random populated prefixes, from the
   pre-rendered text layer and, for comparison, rendered per request (no text layer,
   cache off), ``/v1/check`` with a bearer token; and the baseline, a
   bare ASGI app returning a static body of the same size through the same number of
   uvicorn workers (the ceiling on this machine).  Round 1 meets freshly started
   workers (cold); later rounds are warm.  Besides wrk's req/s and latency, the servers'
   CPU time per answered request (all workers, from /proc) is reported: on a shared,
   loaded machine it is steadier than req/s.

Usage::

    python3 benchmarks/serve.py                      # defaults: 10 M import, 4096 x 1000
    python3 benchmarks/serve.py --import-lines 2000000 --seconds 5   # quick
"""

from __future__ import annotations

import argparse
import binascii
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
import numpy as np

from credwatch.corpus import import_files, open_corpus
from credwatch.index import ingest_files
from credwatch.serve import refresh_index_snapshot
from credwatch.workspace import Workspace

TOKEN = "bench-token-0123456789abcdef"
STATIC_APP = textwrap.dedent(
    """
    import os
    BODY = os.urandom(int(os.environ["STATIC_BYTES"]) // 2).hex().upper().encode()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": BODY})
    """
)


def write_hibp_file(path: Path, hashes: np.ndarray, counts: np.ndarray) -> None:
    """Append ``HASH:COUNT`` CRLF lines (vectorised in blocks)."""
    with path.open("ab") as out:
        for start in range(0, hashes.shape[0], 1_000_000):
            stop = start + 1_000_000
            out.write(hibp_lines(hashes[start:stop], counts[start:stop]))


def hibp_lines(hashes: np.ndarray, counts: np.ndarray) -> bytes:
    """``HASH:COUNT\\r\\n`` lines of 20-byte hashes, counts without leading zeros."""
    n = hashes.shape[0]
    hexed = np.frombuffer(binascii.hexlify(hashes.tobytes()).upper(), dtype=np.uint8)
    counts = counts.astype(np.int64)
    powers = 10 ** np.arange(9, -1, -1, dtype=np.int64)
    rows = np.empty((n, 53), dtype=np.uint8)
    rows[:, :40] = hexed.reshape(n, 40)
    rows[:, 40] = ord(":")
    rows[:, 41:51] = counts[:, None] // powers[None, :] % 10 + ord("0")
    rows[:, 51:] = np.frombuffer(b"\r\n", dtype=np.uint8)
    width = np.searchsorted(powers[::-1], counts, side="right")
    keep = np.ones((n, 53), dtype=bool)
    keep[:, 41:51] = np.arange(10)[None, :] >= (10 - width)[:, None]
    return bytes(rows[keep].tobytes())


def bench_import(tmp: Path, lines: int) -> tuple[float, float, int]:
    """Time ``import_files`` on a generated file of ``lines`` random SHA-1 hashes.

    Returns wall seconds, CPU seconds (all threads) and the records imported.
    """
    rng = np.random.default_rng(7)
    path = tmp / "import.txt"
    for start in range(0, lines, 1_000_000):
        size = min(1_000_000, lines - start)
        hashes = rng.integers(0, 256, (size, 20), dtype=np.uint8)
        write_hibp_file(path, hashes, rng.integers(1, 5000, size))
    root = tmp / "import-corpus"
    started = time.perf_counter()
    cpu_started = time.process_time()
    report = import_files(root, [path], mode="sha1", index=None)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    path.unlink()
    shutil.rmtree(root)
    return seconds, cpu, report.records


def build_dense_corpus(ws: Workspace, tmp: Path, prefixes: int, density: int) -> list[str]:
    rng = np.random.default_rng(11)
    chosen = np.sort(rng.choice(1 << 20, size=prefixes, replace=False))
    n = prefixes * density
    hashes = rng.integers(0, 256, (n, 20), dtype=np.uint8)
    buckets = np.repeat(chosen, density)
    hashes[:, 0] = buckets >> 12
    hashes[:, 1] = (buckets >> 4) & 0xFF
    hashes[:, 2] = ((buckets & 0xF) << 4) | (hashes[:, 2] & 0xF)
    path = tmp / "dense.txt"
    write_hibp_file(path, hashes, rng.integers(1, 100_000, n))
    import_files(ws.corpus_dir, [path], mode="sha1", index=None)
    path.unlink()
    combo = tmp / "leak.txt"
    combo.write_text(
        "".join(f"user{i}@nifty.com:pass{i % 5000}\n" for i in range(20_000)), encoding="utf-8"
    )
    ingest_files(ws, [combo])
    refresh_index_snapshot(ws)
    return [f"{b:05X}" for b in chosen.tolist()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not become ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if os.geteuid() != 0:
        sys.exit("wrk is not installed and this is not root: apt-get install wrk")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or sys.exit("wrk install failed")


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants so far (Linux /proc)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending += [int(child) for child in children]
    return total


def run_wrk(
    wrk: str, url: str, script: Path, seconds: int, conns: int, server: int
) -> dict[str, float]:
    """One wrk run; also the server's CPU time per answered request (robust to load)."""
    cpu_before = tree_cpu_seconds(server)
    out = subprocess.run(
        [wrk, "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    cpu = tree_cpu_seconds(server) - cpu_before
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    answered = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    result["cpu_us"] = 1e6 * cpu / max(answered, 1.0)
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out, re.M)
        result[f"p{pct}"] = float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(errors.group(1)) if errors else 0.0
    return result


def range_script(tmp: Path, prefixes: list[str], name: str) -> Path:
    path = tmp / name
    listing = ",".join(f'"{p}"' for p in prefixes)
    path.write_text(
        f"local p = {{{listing}}}\n"
        "math.randomseed(os.time())\n"
        'request = function() return wrk.format("GET", "/range/" .. p[math.random(#p)]) end\n',
        encoding="utf-8",
    )
    return path


def check_script(tmp: Path) -> Path:
    path = tmp / "check.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f'wrk.headers["Authorization"] = "Bearer {TOKEN}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local body = string.format("
        '\'{"email":"user%d@nifty.com","password":"pass%d"}\', n % 40000, n % 7000)\n'
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n",
        encoding="utf-8",
    )
    return path


def start_server(ws: Workspace, port: int, workers: int, cache_mb: int) -> subprocess.Popen[bytes]:
    ws.config_path.write_text(
        f'[serve]\ntoken = "{TOKEN}"\ncache_mb = {cache_mb}\n', encoding="utf-8"
    )
    env = dict(os.environ, CREDWATCH_HOME=str(ws.root))
    proc = subprocess.Popen(
        ["credwatch", "serve", "--no-refresh", "--port", str(port), "--workers", str(workers)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz")
    return proc


def strip_text_layers(ws: Workspace) -> Workspace:
    """A copy of the workspace whose corpus has no pre-rendered text (render per request)."""
    copy = Workspace(root=ws.root.parent / "ws-render")
    shutil.copytree(ws.root, copy.root)
    corpus = open_corpus(copy.corpus_dir).corpus
    assert corpus is not None
    manifest = json.loads((corpus.path / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["layers"].values():
        entry.pop("text_bytes", None)
        entry.pop("text_offsets_sha256", None)
    (corpus.path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return copy


def check_histogram(url: str) -> str:
    """Server-side share of /v1/check answers within 1 ms and 2 ms (Prometheus buckets)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    buckets = {}
    for le, value in re.findall(
        r'credwatch_request_duration_seconds_bucket\{endpoint="check",le="([^"]+)"\} ([\d.e+]+)',
        text,
    ):
        buckets[le] = float(value)
    total = buckets.get("+Inf", 0.0)
    if not total:
        return "no samples"
    return (
        f"server-side: {buckets.get('0.001', 0) / total:.1%} <= 1 ms, "
        f"{buckets.get('0.002', 0) / total:.2%} <= 2 ms of {total:,.0f}"
    )


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per-metric median over rounds."""
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def start_static(tmp: Path, body_bytes: int, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """The baseline: a bare ASGI app returning a static body, same uvicorn workers."""
    app_dir = tmp / "static"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "static_app.py").write_text(STATIC_APP, encoding="utf-8")
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "static_app:app", "--port", str(port),
        "--workers", str(workers), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        cwd=app_dir,
        env=dict(os.environ, STATIC_BYTES=str(body_bytes)),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, port


def row(label: str, r: dict[str, float]) -> tuple[str, ...]:
    return (
        label,
        f"{r['rps']:,.0f}",
        f"{r['p50']:.2f}",
        f"{r['p99']:.2f}",
        f"{r['cpu_us']:.0f}",
        f"{r['non2xx']:.0f}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--import-lines", type=int, default=10_000_000)
    parser.add_argument("--prefixes", type=int, default=4096)
    parser.add_argument("--density", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    wrk = ensure_wrk()
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="cw-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if args.import_lines:
            load = os.getloadavg()[0]
            seconds, cpu, records = bench_import(tmp, args.import_lines)
            rate = records / seconds
            notes.append(
                f"import: {records:,} hashes in {seconds:.1f} s wall = {rate:,.0f}/s, "
                f"{cpu:.1f} CPU s (load average {load:.1f} -> {os.getloadavg()[0]:.1f}); "
                f"100 M extrapolated linearly: {1e8 / rate:.0f} s wall, "
                f"{cpu * 1e8 / records:.0f} CPU s (target <= 120 s)"
            )
            print(notes[-1], flush=True)
        ws = Workspace(root=tmp / "ws")
        ws.init()
        started = time.perf_counter()
        prefixes = build_dense_corpus(ws, tmp, args.prefixes, args.density)
        corpus = open_corpus(ws.corpus_dir).corpus
        assert corpus is not None
        sha1 = corpus.layer("sha1")
        assert sha1 is not None
        notes.append(
            f"corpus: {sha1.records:,} hashes; {args.prefixes} prefixes populated at "
            f"{args.density}/prefix (full public-corpus density, the rest empty; "
            f"built in {time.perf_counter() - started:.1f} s)"
        )
        print(notes[-1], flush=True)
        rscript = range_script(tmp, prefixes, "range.lua")
        cscript = check_script(tmp)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            urls = {}
            pids = {}
            for label, target in (
                ("/range (pre-rendered text)", ws),
                ("/range (render per request)", strip_text_layers(ws)),
            ):
                port = free_port()
                procs.append(start_server(target, port, args.workers, cache_mb=0))
                urls[label] = f"http://127.0.0.1:{port}"
                pids[label] = procs[-1].pid
            first = urls["/range (pre-rendered text)"]
            body_bytes = len(httpx.get(f"{first}/range/{prefixes[0]}").content)
            static_proc, static_port = start_static(tmp, body_bytes, args.workers)
            procs.append(static_proc)
            static = f"baseline: static {body_bytes:,} B body"
            urls[static] = f"http://127.0.0.1:{static_port}"
            pids[static] = static_proc.pid
            wait_ready(f"{urls[static]}/")
            results: dict[str, list[dict[str, float]]] = {label: [] for label in urls}
            results["/v1/check"] = []
            ratios = []
            # Rounds alternate the scenarios so that all see the same (shared) machine.
            for _ in range(args.rounds):
                for label, url in urls.items():
                    results[label].append(
                        run_wrk(wrk, url, rscript, args.seconds, args.connections, pids[label])
                    )
                ratios.append(
                    results["/range (pre-rendered text)"][-1]["rps"] / results[static][-1]["rps"]
                )
                results["/v1/check"].append(
                    run_wrk(
                        wrk,
                        f"{first}/v1/check",
                        cscript,
                        args.seconds,
                        args.workers,
                        pids["/range (pre-rendered text)"],
                    )
                )
            notes.append(f"/v1/check {check_histogram(first)}")
            notes.append(
                "pre-rendered /range vs static baseline per round: "
                + ", ".join(f"{r:.0%}" for r in ratios)
            )
        finally:
            for proc in procs:
                stop(proc)
        for label, runs in results.items():
            # The first round meets freshly started workers (cold); later ones are warm.
            rows.append(row(f"{label}, cold (round 1)", runs[0]))
            if len(runs) > 1:
                rows.append(row(f"{label}, warm (median of {len(runs) - 1})", median_run(runs[1:])))
    print(
        f"\n{args.workers} uvicorn workers, wrk -t1 -c{args.connections} -d{args.seconds}s "
        f"(/v1/check: -c{args.workers}) x {args.rounds} rounds "
        f"on the same {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'scenario':58} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu us/req':>10} "
        f"{'non-2xx':>7}"
    )
    for cells in rows:
        print(
            f"{cells[0]:58} {cells[1]:>8} {cells[2]:>7} {cells[3]:>7} {cells[4]:>10} {cells[5]:>7}"
        )
    for note in notes:
        print(note)
    print("targets: /range >= 10,000 req/s with p99 <= 10 ms; /v1/check p99 <= 2 ms")


if __name__ == "__main__":
    main()
