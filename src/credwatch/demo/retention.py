"""Demo stage ``retention``: plan and apply the example retention policy on the demo store.

Uses ``credwatch/retention/example_policy.toml`` (cancelled > 90 days: purge the
credential; dormant > 365 days: lock and force a reset; weak schemes: force a reset),
written to ``OUT/retention.toml`` for the reader, then applies it and applies it again.
"""

from __future__ import annotations

from importlib import resources

from credwatch.apply import apply_plan
from credwatch.demo.accounts import STORE_NAME
from credwatch.demo.remediate import prepare_store, summary_line
from credwatch.demo.runner import DemoContext, StageResult
from credwatch.plan import summarize, write_plan
from credwatch.retention import load_retention_policy, plan_retention

__all__ = ["run"]


def run(ctx: DemoContext) -> StageResult:
    """Plan retention, apply it twice; report what changed."""
    store = str(ctx.artifacts.get("store", STORE_NAME))
    if "remediation_plan" not in ctx.artifacts:
        prepare_store(ctx, store)
    policy_path = ctx.out_dir / "retention.toml"
    policy_path.write_text(
        resources.files("credwatch.retention").joinpath("example_policy.toml").read_text("utf-8"),
        encoding="utf-8",
    )
    path = ctx.out_dir / "retention.plan.json"
    plan = write_plan(
        plan_retention(ctx.workspace, store, load_retention_policy(policy_path)), path
    )
    summary = summarize(plan)
    done = apply_plan(ctx.workspace, path, yes=True)
    again = apply_plan(ctx.workspace, path, yes=True)
    lines = (
        f"plan {path.name} ({plan.digest[:19]}) from {policy_path.name}: "
        f"{summary.accounts:,} accounts; by rule: "
        + ", ".join(f"{r} {n:,}" for r, n in summary.by_rule.items()),
        f"applied: {summary_line(done)}",
        f"second apply changed {again.total('applied'):,} (idempotent)",
    )
    return StageResult(
        name="retention",
        lines=lines,
        data={
            "plan": str(path),
            "digest": plan.digest,
            "by_rule": summary.by_rule,
            "applied": done.to_json()["counts"],
            "second_apply_changed": again.total("applied"),
        },
    )
