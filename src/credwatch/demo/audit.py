"""Demo stage ``audit``: audit the demo store against the ingested dump.

Slow hashes are verified on the local executor.  Leaves the run id in
``ctx.artifacts["audit_run"]`` for the remediation stage.
"""

from __future__ import annotations

from credwatch.audit import FINDINGS, run_audit
from credwatch.demo.accounts import STORE_NAME
from credwatch.demo.runner import DemoContext, StageResult
from credwatch.execute import executor_from_spec

__all__ = ["run"]


def run(ctx: DemoContext) -> StageResult:
    """Run the audit; report the totals and each tenant's critical accounts."""
    store = str(ctx.artifacts.get("store", STORE_NAME))
    with executor_from_spec("local") as executor:
        result = run_audit(ctx.workspace, store, executor=executor)
    s = result.summary
    ctx.artifacts["audit_run"] = result.run
    lines = [
        f"run {result.run}: {s['accounts']:,} accounts, {s['exposed']:,} exposed",
        "findings: " + ", ".join(f"{f} {s[f]:,}" for f in FINDINGS),
        "pair_valid by tenant: "
        + ", ".join(f"{t} {v['pair_valid']:,}" for t, v in s["by_tenant"].items()),
        "unknown schemes: "
        + (", ".join(f"{k} {v:,}" for k, v in s["unknown_schemes"].items()) or "none"),
    ]
    return StageResult(
        name="audit",
        lines=tuple(lines),
        data={"run": result.run, "summary": {k: s[k] for k in ("accounts", "exposed", *FINDINGS)}},
    )
