"""Demo stage ``remediation``: plan and apply the audit's remediation, notify the users.

Adds what the demo store needs to carry out actions (columns ``must_reset``,
``mfa_required``, ``locked``, a ``sessions`` table with one session per active
account) and the ``[stores.demo.actions]`` mapping, then: ``plan remediate`` from the
audit run with the default policy, a dry run, ``apply --yes``, a second apply (which
changes nothing), ``journal verify`` and ``notify --out`` (Japanese ``.eml`` files).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from credwatch.accounts.config import store_config
from credwatch.apply import ApplyReport, apply_plan, verify_journal
from credwatch.demo.accounts import STORE_NAME
from credwatch.demo.runner import DemoContext, StageResult
from credwatch.notify import EmlDirectory, notify_plan
from credwatch.plan import plan_remediation, summarize, write_plan

__all__ = ["ACTIONS_BLOCK", "prepare_store", "run", "summary_line"]

_BEGIN = "# >>> credwatch demo store actions (rewritten by `credwatch demo`)"
_END = "# <<< credwatch demo store actions"

#: How the demo store carries out each action (see docs/remediation.md).
ACTIONS_BLOCK = f"""{_BEGIN}
[stores.{STORE_NAME}.actions]
require_mfa = {{ set = {{ mfa_required = true }} }}
lock = {{ set = {{ locked = true }} }}
revoke_sessions = {{ sql = "DELETE FROM sessions WHERE user_id = :id" }}
force_reset = {{ set = {{ must_reset = true }} }}
purge_credential = {{ set = {{ password = "" }} }}
isolate = {{ table = "isolated_credentials", set = {{ password = "" }} }}
{_END}
"""


def prepare_store(ctx: DemoContext, store: str) -> None:
    """Add the action columns, the sessions table and the actions mapping (idempotent)."""
    cfg = store_config(ctx.workspace.config(), store)
    engine = sa.create_engine(str(cfg.url))
    try:
        with engine.begin() as conn:
            have = {c["name"] for c in sa.inspect(conn).get_columns("mailbox")}
            for column in ("must_reset", "mfa_required", "locked"):
                if column not in have:
                    conn.execute(
                        sa.text(
                            f"ALTER TABLE mailbox ADD COLUMN {column} "
                            "BOOLEAN NOT NULL DEFAULT FALSE"
                        )
                    )
            conn.execute(sa.text("DROP TABLE IF EXISTS sessions"))
            conn.execute(sa.text("CREATE TABLE sessions (user_id BIGINT NOT NULL)"))
            conn.execute(
                sa.text(
                    "INSERT INTO sessions (user_id) SELECT id FROM mailbox WHERE state = 'active'"
                )
            )
            # revoke_sessions deletes by user_id: without an index every delete scans the
            # table, which is quadratic at full size (millions of pair_valid accounts).
            conn.execute(sa.text("CREATE INDEX sessions_user_id ON sessions (user_id)"))
    finally:
        engine.dispose()
    path = ctx.workspace.config_path
    text = re.sub(
        re.escape(_BEGIN) + r".*?" + re.escape(_END) + r"\n?", "", path.read_text(), flags=re.S
    )
    path.write_text(text.rstrip("\n") + "\n\n" + ACTIONS_BLOCK, encoding="utf-8")


def summary_line(report: ApplyReport) -> str:
    """``action: N applied, M already`` for each action."""
    parts = []
    for action, counts in report.counts.items():
        done = ", ".join(f"{n:,} {r.replace('_', ' ')}" for r, n in counts.items())
        parts.append(f"{action} ({done})")
    return "; ".join(parts) or "nothing to do"


#: Notices the demo writes per tenant (a full-size incident would otherwise write millions).
NOTICE_SAMPLE = 500


def run(ctx: DemoContext) -> StageResult:
    """Plan, dry-run, apply, re-apply, verify and notify; report what changed."""
    store = str(ctx.artifacts.get("store", STORE_NAME))
    run_id = str(ctx.artifacts["audit_run"])
    prepare_store(ctx, store)
    path = ctx.out_dir / "remediation.plan.json"
    plan = write_plan(plan_remediation(ctx.workspace, run_id), path)
    summary = summarize(plan)
    dry = apply_plan(ctx.workspace, path)
    done = apply_plan(ctx.workspace, path, yes=True)
    again = apply_plan(ctx.workspace, path, yes=True)
    journal = verify_journal(ctx.workspace.journal_path)
    notices = ctx.out_dir / "notices"
    # A sample per tenant: the demo shows the messages; `credwatch notify` sends them all.
    sent = notify_plan(
        ctx.workspace, path, EmlDirectory(notices), lang="ja", limit_per_tenant=NOTICE_SAMPLE
    )
    written = sum(1 for r in sent.results if r.result == "written")
    ctx.artifacts["remediation_plan"] = str(path)
    lines = (
        f"plan {path.name} ({plan.digest[:19]}): {summary.accounts:,} accounts, "
        + ", ".join(f"{a} {n:,}" for a, n in summary.by_action.items()),
        f"dry run: {dry.total('applied'):,} actions would change the store",
        f"applied: {summary_line(done)}",
        f"second apply changed {again.total('applied'):,} (idempotent)",
        f"journal {'verified' if journal.ok else 'BROKEN'}: {journal.lines:,} lines",
        f"notifications: {written:,} .eml files (ja, a sample of up to {NOTICE_SAMPLE:,} per "
        f"tenant) in {notices} - they hold addresses",
    )
    data: dict[str, Any] = {
        "plan": str(path),
        "digest": plan.digest,
        "by_action": summary.by_action,
        "applied": done.to_json()["counts"],
        "second_apply_changed": again.total("applied"),
        "journal_ok": journal.ok,
        "notifications": written,
    }
    return StageResult(name="remediation", lines=lines, data=data)
