"""``credwatch plan``: remediation and retention plans, and their summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.plan import (
    ACTION_ORDER,
    PlanSummary,
    load_plan,
    load_remediation_policy,
    plan_remediation,
    summarize,
    write_plan,
)
from credwatch.retention import load_retention_policy, plan_retention

app = typer.Typer(
    help="""Make and show reviewed plans (remediation from an audit run, retention from a policy).

Example:

    credwatch plan remediate --run RUN -o fix.plan.json && credwatch plan show fix.plan.json
""",
    no_args_is_help=True,
)


def render(summary: PlanSummary) -> None:
    """Print a plan summary as tables (counts only)."""
    out_console.print(
        f"[bold]{summary.kind} plan[/] for store [bold]{escape(summary.store)}[/]: "
        f"{summary.accounts} accounts, {summary.actions} actions"
    )
    out_console.print(f"  digest {summary.digest}")
    for key, value in summary.inputs.items():
        if value is not None:
            out_console.print(f"  {key}: {escape(str(value))}")
    actions = [a for a in ACTION_ORDER if a in summary.by_action]
    for title, rows in (("tenant", summary.by_tenant), ("status", summary.by_status)):
        table = Table(title=f"actions per {title}")
        table.add_column(title)
        for action in actions:
            table.add_column(action, justify="right")
        for name, counts in rows.items():
            table.add_row(escape(name), *(str(counts.get(a, 0)) for a in actions))
        table.add_row("[bold]total[/]", *(f"[bold]{summary.by_action[a]}[/]" for a in actions))
        out_console.print(table)
    rules = Table(title="accounts per rule")
    rules.add_column("rule")
    rules.add_column("accounts", justify="right")
    for rule, count in summary.by_rule.items():
        rules.add_row(escape(rule), str(count))
    out_console.print(rules)


@app.command("remediate")
def remediate(
    ctx: typer.Context,
    run: str = typer.Option(..., "--run", help="The audit run to plan from."),
    policy: Path | None = typer.Option(  # noqa: B008 - typer's declaration style
        None, "--policy", help="Remediation policy TOML (default: the shipped policy)."
    ),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the plan."),  # noqa: B008
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Decide per account what to do about an audit run's findings; write a sealed plan.

    Example:

        credwatch plan remediate --run 20260620-0900-ab12 --policy policy.toml -o fix.plan.json
    """
    ws = workspace(ctx)
    plan = write_plan(plan_remediation(ws, run, load_remediation_policy(policy)), output)
    summary = summarize(plan)
    if json_output:
        emit_json({"plan": str(output), **summary.to_json()})
        return
    render(summary)
    err_console.print(
        f"wrote {escape(str(output))}; review it, then `credwatch apply {escape(str(output))}`"
    )


@app.command("retention")
def retention(
    ctx: typer.Context,
    store: str = typer.Option(..., "--store", help="The store ([stores.NAME]) to review."),
    policy: Path = typer.Option(..., "--policy", help="Retention policy TOML."),  # noqa: B008
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the plan."),  # noqa: B008
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Find credentials kept longer or weaker than the retention policy allows; write a plan.

    Example:

        credwatch plan retention --store mail --policy retention.toml -o retention.plan.json
    """
    ws = workspace(ctx)
    plan = write_plan(plan_retention(ws, store, load_retention_policy(policy)), output)
    summary = summarize(plan)
    if json_output:
        emit_json({"plan": str(output), **summary.to_json()})
        return
    render(summary)
    err_console.print(
        f"wrote {escape(str(output))}; review it, then `credwatch apply {escape(str(output))}`"
    )


@app.command("show")
def show(
    plan_path: Path = typer.Argument(..., metavar="PLAN", help="The plan file."),  # noqa: B008
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Check a plan's seal and print its summary: counts per action, tenant, status, rule.

    Example:

        credwatch plan show fix.plan.json
    """
    summary = summarize(load_plan(plan_path))
    if json_output:
        emit_json(summary.to_json())
        return
    render(summary)
