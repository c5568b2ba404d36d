"""Benchmark ``credwatch hunt`` against fail2ban and a naive Python baseline.

Generates (once, cached in ``benchmarks/.data/hunt-N/``) the demo auth logs of
``--accounts`` subscribers (Dovecot + Postfix, >= 1 M lines at the default size) with
the three embedded campaigns and their ground truth, and an exposure index of the
leaked pairs (the combolist is deleted right after ingest).  Then it measures, on the
same file:

* ``credwatch hunt LOG --json`` as a subprocess (wall time, all detectors, with the
  exposure index);
* ``fail2ban-regex`` with the stock ``dovecot`` and ``postfix[mode=auth]`` filters
  (Debian's package; installed with apt-get when missing), whose matches are turned
  into bans with the stock jail settings (``maxretry = 5`` within ``findtime = 10m``);
* a naive baseline: a Python loop with ``re`` per line counting failures per address
  (the same ban rule).

For each it reports wall seconds, CPU seconds (user + system, all threads and child
processes), the load average right after it (the machine may be shared), lines/s and,
against the ground truth, recall per campaign (source addresses flagged, and campaign
users tried by a flagged address) and false positives (benign addresses flagged).
Targets (issue 6): >= 1 M lines/s on 2 cores; ahead of fail2ban in speed and in recall
of the distributed stuffing.

Usage::

    python benchmarks/hunt.py                    # ~1.1 M lines
    python benchmarks/hunt.py --accounts 5000    # quick run
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from credwatch.demo.authlogs import write_auth_logs
from credwatch.demo.hunt import flagged_addresses
from credwatch.demo.population import Population
from credwatch.hunt import hunt_files
from credwatch.hunt.interface import Alert
from credwatch.index.ingest import ingest_files
from credwatch.normalize import Normalizer
from credwatch.workspace import Workspace

Row = tuple[str, float, float, float, set[str]]

DATA_DIR = Path(__file__).resolve().parent / ".data"
FINDTIME = 600
MAXRETRY = 5


def prepare(accounts: int) -> tuple[Path, Path, dict[str, Any]]:
    """The cached log, workspace and ground truth for ``accounts`` subscribers."""
    root = DATA_DIR / f"hunt-{accounts}"
    ws = Workspace(root / "ws")
    log = root / "logs" / "mail.log"
    truth_path = root / "logs" / "authlogs-truth.json"
    if not (log.exists() and truth_path.exists() and ws.index_path.exists()):
        shutil.rmtree(root, ignore_errors=True)
        ws.init()
        pop = Population(accounts)
        print(f"generating auth logs for {accounts:,} subscribers ...", file=sys.stderr)
        write_auth_logs(pop, log.parent, ws.keyer())
        subs = pop.slice(0, pop.n)
        combo = root / "combo.txt"
        pairs = pc.binary_join_element_wise(subs.email, subs.leaked_password, ":").filter(
            subs.in_leak
        )
        combo.write_text("\n".join(pairs.to_pylist()) + "\n", encoding="utf-8")
        try:
            ingest_files(ws, [combo])
        finally:
            combo.unlink()
    return log, ws.root, json.loads(truth_path.read_text(encoding="utf-8"))


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))


def jail(matches: Iterable[tuple[str, float]]) -> set[str]:
    """Addresses banned by a fail2ban jail: MAXRETRY failures within FINDTIME seconds."""
    per_ip: dict[str, deque[float]] = defaultdict(deque)
    banned: set[str] = set()
    for ip, ts in sorted(matches, key=lambda m: m[1]):
        if ip in banned:
            continue
        window = per_ip[ip]
        window.append(ts)
        while window and window[0] <= ts - FINDTIME:
            window.popleft()
        if len(window) >= MAXRETRY:
            banned.add(ip)
    return banned


def ensure_fail2ban() -> str:
    exe = shutil.which("fail2ban-regex")
    if exe:
        return exe
    print("installing fail2ban (Debian package) ...", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "fail2ban"],
        check=True,
        env=env,
    )
    exe = shutil.which("fail2ban-regex")
    if not exe:
        raise SystemExit("fail2ban-regex is still missing after apt-get install fail2ban")
    return exe


def measured(label: str, run: Callable[[], tuple[float, set[str]]]) -> Row:
    """Run one tool: its label, wall seconds, CPU seconds, load after it, flagged addresses."""
    cpu_before = cpu_seconds()
    seconds, flagged = run()
    return label, seconds, cpu_seconds() - cpu_before, os.getloadavg()[0], flagged


def run_fail2ban(exe: str, log: Path) -> tuple[float, set[str], dict[str, set[str]]]:
    """Run both stock filters; return seconds, banned IPs and users matched per IP."""
    matches: list[tuple[str, float]] = []
    users: dict[str, set[str]] = defaultdict(set)
    started = time.perf_counter()
    for flt in ("/etc/fail2ban/filter.d/dovecot.conf", "postfix[mode=auth]"):
        proc = subprocess.run(
            [exe, "-r", "-o", "row", str(log), flt], capture_output=True, text=True, check=False
        )
        for line in proc.stdout.splitlines():
            if not line.startswith("["):
                continue
            try:
                ip, ts, info = ast.literal_eval(line.rstrip(","))
            except (ValueError, SyntaxError):
                continue
            matches.append((ip, float(ts)))
            if isinstance(info, dict) and info.get("user"):
                users[ip].add(info["user"])
    seconds = time.perf_counter() - started
    return seconds, jail(matches), users


_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_NAIVE = re.compile(
    r"^(\w{3}) +(\d+) (\d+):(\d+):(\d+) .*?(?:"
    r"auth failed.*?user=<([^>]*)>.*?rip=([0-9a-fA-F:.]+)|"
    r"\[([0-9a-fA-F:.]+)\]: SASL \S+ authentication failed)"
)


def run_naive(log: Path) -> tuple[float, set[str], dict[str, set[str]]]:
    """A Python loop per line: regex, failures per address, the jail rule."""
    started = time.perf_counter()
    matches: list[tuple[str, float]] = []
    users: dict[str, set[str]] = defaultdict(set)
    with log.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _NAIVE.match(line)
            if not m:
                continue
            mon, day, hh, mm, ss, user, ip1, ip2 = m.groups()
            ip = ip1 or ip2
            ts = (
                ((_MONTHS.get(mon, 1) * 31 + int(day)) * 24 + int(hh)) * 3600
                + int(mm) * 60
                + int(ss)
            )
            matches.append((ip, float(ts)))
            if user:
                users[ip].add(user)
    banned = jail(matches)
    return time.perf_counter() - started, banned, users


def run_credwatch(log: Path, ws_root: Path) -> tuple[float, list[Alert], dict[str, Any]]:
    """``credwatch hunt LOG --json`` as a subprocess; return seconds, alerts, document."""
    exe = shutil.which("credwatch") or sys.executable
    cmd = [exe] if exe.endswith("credwatch") else [exe, "-m", "credwatch.cli.main"]
    started = time.perf_counter()
    proc = subprocess.run(
        [*cmd, "--workspace", str(ws_root), "hunt", str(log), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"credwatch hunt failed ({proc.returncode}): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    alerts = [
        Alert(
            rule=a["rule"],
            key_type=a["key_type"],
            key=a["key"],
            severity=a["severity"],
            first_seen=datetime.fromisoformat(a["first_seen"]),
            last_seen=datetime.fromisoformat(a["last_seen"]),
            count=a["count"],
        )
        for a in doc["alerts"]
    ]
    return seconds, alerts, doc


def all_addresses(log: Path) -> set[str]:
    text = log.read_text(encoding="utf-8", errors="replace")
    return set(re.findall(r"rip=([0-9a-fA-F:.]+)", text)) | set(
        re.findall(r"unknown\[([0-9a-fA-F:.]+)\]", text)
    )


def user_keys_of(ips: set[str], users_by_ip: dict[str, set[str]], ws: Workspace) -> set[str]:
    keyer, normalizer = ws.keyer(), Normalizer()
    out = set()
    for ip in ips:
        for user in users_by_ip.get(ip, ()):
            norm = normalizer.try_normalize(user)
            if norm:
                out.add(keyer.email_key(norm).hex())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--accounts", type=int, default=70_000, help="demo subscribers (70,000 ~ 1.1 M lines)"
    )
    parser.add_argument("--skip-fail2ban", action="store_true", help="leave fail2ban out")
    args = parser.parse_args()

    log, ws_root, truth = prepare(args.accounts)
    ws = Workspace(ws_root)
    lines = count_lines(log)
    addresses = all_addresses(log)
    benign = addresses - {ip for c in truth["campaigns"].values() for ip in c["ips"]}
    print(
        f"log: {log} ({lines:,} lines, {log.stat().st_size / 1e6:.0f} MB); cores: {os.cpu_count()}",
        file=sys.stderr,
    )

    # Users tried by each address, for "which campaign users does a tool flag".
    users_by_ip: dict[str, set[str]] = defaultdict(set)
    pattern = r"user=<([^>]*)>, method=\w+, rip=([0-9a-fA-F:.]+)"
    for user, ip in re.findall(pattern, log.read_text(encoding="utf-8")):
        users_by_ip[ip].add(user)

    # Each row: tool, wall seconds, CPU seconds, load average after it, what it flagged.
    doc: dict[str, Any] = {}

    def cli() -> tuple[float, set[str]]:
        secs, alerts, doc_ = run_credwatch(log, ws_root)
        doc.update(doc_)
        return secs, flagged_addresses(alerts, addresses)

    def library() -> tuple[float, set[str]]:
        started = time.perf_counter()
        result = hunt_files([log], workspace=ws)
        return time.perf_counter() - started, flagged_addresses(result.alerts, addresses)

    rows = [
        measured("credwatch hunt (CLI, incl. start-up)", cli),
        measured("credwatch.hunt.hunt_files (library)", library),
    ]
    if not args.skip_fail2ban:
        exe = ensure_fail2ban()
        rows.append(
            measured("fail2ban-regex (dovecot + postfix)", lambda: run_fail2ban(exe, log)[:2])
        )
    rows.append(measured("naive Python loop", lambda: run_naive(log)[:2]))

    header = f"{'tool':<36} {'seconds':>8} {'cpu s':>6} {'load':>5} {'lines/s':>11} "
    names = list(truth["campaigns"])
    header += " ".join(f"{n + ' ip/user':>20}" for n in names) + f" {'benign flagged':>16}"
    print(header)
    print("-" * len(header))
    for name, secs_, cpu_, load, hit in rows:
        cells = []
        for camp in names:
            ips = set(truth["campaigns"][camp]["ips"])
            ukeys = set(truth["campaigns"][camp]["user_keys"])
            ip_recall = len(ips & hit) / len(ips) if ips else 0.0
            got_users = user_keys_of(ips & hit, users_by_ip, ws) & ukeys
            u = f"{len(got_users) / len(ukeys):.2f}" if ukeys else "-"
            cells.append(f"{ip_recall:>13.3f}/{u:>6}")
        fp = len(hit & benign)
        print(
            f"{name:<36} {secs_:>8.2f} {cpu_:>6.2f} {load:>5.1f} {lines / secs_:>11,.0f} "
            + " ".join(cells)
            + f" {fp:>7,} ({fp / len(benign):.2%})"
        )
    print(
        f"\n{lines:,} lines; {len(benign):,} benign addresses; credwatch alerts: "
        f"{len(doc['alerts']):,}; "
        f"leak correlation: {doc.get('leak_correlation')}"
    )


if __name__ == "__main__":
    main()
