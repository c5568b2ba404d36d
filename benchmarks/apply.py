"""Benchmark ``credwatch apply`` on PostgreSQL against a naive one-statement-per-action loop.

Sets up, in a private schema of the PostgreSQL on 127.0.0.1 (dropped at the end):

* a ``mailbox`` table of ``--accounts`` rows (default 1,000,000) filled server-side;
* a workspace whose ``[stores.mail]`` points at it with
  ``force_reset = { set = { must_reset = true } }``;
* an audit run in which every account has the ``weak_scheme`` finding, so the default
  policy plans one ``force_reset`` per account (``--accounts`` actions).

Then it times ``plan_remediation`` + ``write_plan`` and ``apply_plan(yes=True)`` -- the
whole apply: loading and checking the sealed plan, the store snapshot digest before and
after, one transaction per ``--batch-size`` actions (SELECT of current values, bulk
UPDATE, checkpoint rows) and every action appended to the hash-chained journal with an
fsync per batch.  A second apply of the same plan is timed too (everything is skipped).

The naive baseline, on ``--baseline-sample`` fresh accounts: one ``UPDATE ... WHERE id =
:id`` round trip per action, a commit per 1,000, one journal line (hash-chained, fsync
per 1,000) per action.  Its rate is extrapolated to the full size.

Target (issue 5): 1 M actions with the journal in <= 60 s.

Usage::

    python benchmarks/apply.py                        # 1 M actions
    python benchmarks/apply.py --accounts 100000      # quick run
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from credwatch.apply import Journal, apply_plan, store_digest, verify_journal
from credwatch.plan import load_plan, plan_remediation, write_plan
from credwatch.workspace import Workspace

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

CONFIG = """
[stores.mail]
kind = "sql"
url = "{url}"
table = "mailbox"
[stores.mail.columns]
id = "id"
email = "username"
tenant = "isp"
password_hash = "password"
status = "state"
[stores.mail.actions]
force_reset = {{ set = {{ must_reset = true }} }}
"""


def create_table(engine: sa.Engine, accounts: int, offset: int = 0) -> None:
    """Fill mailbox server-side (ids offset+1 .. offset+accounts)."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE IF NOT EXISTS mailbox (id integer PRIMARY KEY, username text, "
                "isp text, password text, state text, must_reset boolean NOT NULL DEFAULT false)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO mailbox SELECT g, 'user' || g || '@nifty.com', "
                "(ARRAY['nifty','biglobe','jcom','commufa','cpi','pikara'])[1 + g % 6], "
                "'{PLAIN-MD5}' || md5(g::text), 'active', false "
                "FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) g"
            ),
            {"a": offset + 1, "b": offset + accounts},
        )
        conn.execute(sa.text("ANALYZE mailbox"))


def write_run(ws: Workspace, accounts: int, digest: str) -> None:
    """An audit run with weak_scheme for every account (the accounts contract)."""
    folder = ws.runs_dir / "bench"
    folder.mkdir(parents=True)
    n = accounts
    ids = pa.array([str(i) for i in range(1, n + 1)])
    table = pa.table(
        {
            "id": ids,
            "tenant": pa.array(["nifty"] * n),
            "status": pa.array(["active"] * n),
            "mfa": pa.array([False] * n),
            "email_domain": pa.array(["nifty.com"] * n),
            "recovery_domain": pa.array([None] * n, pa.string()),
            "scheme": pa.array(["PLAIN-MD5"] * n),
            "findings": pa.array([["weak_scheme"]] * n, pa.list_(pa.string())),
            "risk_score": pa.array([1] * n, pa.int32()),
            "priority": pa.array(range(n), pa.int32()),
            "masked_email": pa.array(["u***@nifty.com"] * n),
        }
    )
    pq.write_table(table, folder / "accounts.parquet")
    (folder / "summary.json").write_text(
        '{"schema_version": "1.0", "run": "bench", "store": "mail", '
        f'"store_digest": "{digest}", "index_digest": "none", "created_at": "2026-06-20"}}'
    )


def naive(engine: sa.Engine, journal_path: Path, offset: int, sample: int) -> None:
    """One UPDATE round trip per action, a journal line per action."""
    with Journal(journal_path) as journal, engine.connect() as conn:
        pending = []
        for i in range(offset + 1, offset + sample + 1):
            conn.execute(sa.text("UPDATE mailbox SET must_reset = true WHERE id = :id"), {"id": i})
            pending.append(
                {
                    "event": "action",
                    "plan": "naive",
                    "account": str(i),
                    "action": "force_reset",
                    "result": "applied",
                }
            )
            if len(pending) == 1000:
                conn.commit()
                journal.append(pending)
                pending = []
        conn.commit()
        journal.append(pending)


def timed(step: Callable[[], object]) -> tuple[float, float]:
    """Run ``step``; return (wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--baseline-sample", type=int, default=20_000)
    args = parser.parse_args()

    schema = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = f"{PG}?options=-csearch_path%3D{schema}"
    engine = sa.create_engine(url)
    root = Path(tempfile.mkdtemp(prefix="cw-bench-apply-"))
    try:
        ws = Workspace(root=root / "ws")
        ws.init()
        ws.config_path.write_text(CONFIG.format(url=url))
        t_load = timed(lambda: create_table(engine, args.accounts))
        digest = ""

        def take_digest() -> None:
            nonlocal digest
            digest = store_digest(ws, "mail")

        t_digest = timed(take_digest)
        write_run(ws, args.accounts, digest)
        path = root / "bench.plan.json"
        t_plan = timed(lambda: write_plan(plan_remediation(ws, "bench"), path))
        plan = load_plan(path)
        assert plan.action_count() == args.accounts

        def apply(expected: int) -> None:
            report = apply_plan(ws, path, yes=True, batch_size=args.batch_size)
            assert report.total("applied") == expected

        t_apply = timed(lambda: apply(args.accounts))
        t_again = timed(lambda: apply(0))
        t_verify = timed(lambda: verify_journal(ws.journal_path))
        check = verify_journal(ws.journal_path)
        assert check.ok

        with engine.connect() as conn:
            changed = conn.execute(
                sa.text("SELECT count(*) FROM mailbox WHERE must_reset")
            ).scalar()
        assert changed == args.accounts

        create_table(engine, args.baseline_sample, offset=args.accounts)
        t_naive = timed(
            lambda: naive(engine, root / "naive.jsonl", args.accounts, args.baseline_sample)
        )
        naive_rate = args.baseline_sample / t_naive[0]

        rows = [
            ("fill mailbox (server-side, setup)", args.accounts, t_load),
            ("store snapshot digest (once)", args.accounts, t_digest),
            ("plan remediate + write plan", args.accounts, t_plan),
            ("apply --yes (with journal)", args.accounts, t_apply),
            ("apply --yes again (all skipped)", args.accounts, t_again),
            ("journal verify", check.lines, t_verify),
            ("naive: UPDATE per action + journal", args.baseline_sample, t_naive),
        ]
        print(
            f"\nPostgreSQL apply benchmark: {args.accounts:,} force_reset actions, "
            f"batch size {args.batch_size:,}, plan {plan.digest[:19]}"
        )
        print(
            f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
            f"({os.cpu_count()} cores; other work on the machine slows every figure)"
        )
        print(f"{'step':<40} {'items':>10} {'seconds':>9} {'cpu s':>7} {'items/s':>11}")
        for name, items, (wall, cpu) in rows:
            print(f"{name:<40} {items:>10,} {wall:>9.2f} {cpu:>7.2f} {items / wall:>11,.0f}")
        naive_full = args.accounts / naive_rate
        apply_wall = t_apply[0]
        print(f"{'naive extrapolated to full size':<40} {args.accounts:>10,} {naive_full:>9.1f}")
        print(
            f"\nspeed-up of apply over naive: {naive_full / apply_wall:.1f}x; "
            f"target <= 60 s for 1 M actions: {'met' if apply_wall <= 60 else 'NOT met'} "
            f"({apply_wall:.1f} s for {args.accounts:,})"
        )
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
