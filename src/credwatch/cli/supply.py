"""``credwatch supply scan``: inventory, advisories, blast radius, concentration, obligations."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.errors import FindingsPresentError, UsageError
from credwatch.results import save_result

if TYPE_CHECKING:  # the supply stack (SBOM and dpkg readers) loads only for `supply scan`
    import httpx

    from credwatch.supply import ScanReport
    from credwatch.supply.interface import AdvisorySource

app = typer.Typer(
    help="Supply chain: third-party components, advisories and their blast radius.",
    no_args_is_help=True,
)


def _source(spec: str, client: httpx.Client | None, api_url: str) -> AdvisorySource:
    from credwatch.supply import OsvApi, open_offline

    if spec == "osv-api":
        if client is None:  # pragma: no cover - created by the caller
            raise UsageError("osv-api needs an HTTP client")
        return OsvApi(client, api_url)
    return open_offline(Path(spec))


def _render(report: ScanReport) -> None:
    doc = report.to_json()
    summary = doc["summary"]
    for inv in report.inventories:
        if inv.error:
            err_console.print(f"[yellow]warning:[/] {escape(inv.path)}: {escape(inv.error)}")
        elif not inv.components:
            err_console.print(f"[yellow]warning:[/] {escape(inv.path)}: no components")
        for reason, count in inv.rejected.items():
            err_console.print(f"[yellow]warning:[/] {escape(inv.path)}: {count} x {escape(reason)}")
    adv = doc["advisories"]
    out_console.print(
        f"{summary['components']} components from {summary['inventories']} inventories; "
        f"{adv['usable']} advisories ({adv['withdrawn']} withdrawn ignored, "
        f"{adv['rejected']['total']} rejected) from {escape(report.source)}"
    )
    out_console.print(
        f"vulnerable {summary['vulnerable']}, not affected {summary['not_affected']}, "
        f"could not check {summary['unchecked']}"
    )
    for reason, count in summary["unchecked_by_reason"].items():
        out_console.print(f"  unchecked: {count} x {escape(reason)}")
    if doc["findings"]:
        table = Table(title="Vulnerable components")
        for col in ("component", "severity", "advisories", "fixed", "tenants", "accounts"):
            table.add_column(col, overflow="fold")
        for f in doc["findings"]:
            sev = f["severity"] or "unknown"
            if f["cvss_score"] is not None:
                sev = f"{sev} {f['cvss_score']:.1f}"
            ids = f["advisories"]
            shown = ", ".join(ids[:2]) + (f" +{len(ids) - 2}" if len(ids) > 2 else "")
            acc = f["accounts"]
            table.add_row(
                escape(f"{f['component']} {f['version'] or ''}"),
                sev,
                escape(shown),
                escape(f["fixed"] or "no fix"),
                str(len(f["tenants"])),
                f"{sum(acc.values()):,}" if acc else "-",
            )
        out_console.print(table)
    conc = doc["concentration"]
    if conc is not None:
        table = Table(title=f"Concentration (HHI {conc['hhi']}, {conc['hhi_band']})")
        for col in ("platform", "tenants", "hosts", "accounts", "share", "SPOF", "vulnerable"):
            table.add_column(col)
        for p in conc["platforms"]:
            acc = p["accounts"]
            table.add_row(
                escape(p["name"]),
                str(len(p["tenants"])),
                str(p["hosts"]),
                str(sum(acc.values())) if acc else "unknown",
                "-" if p["share"] is None else f"{100 * p['share']:.1f}%",
                "yes" if p["single_point_of_failure"] else "",
                str(p["vulnerable_components"]),
            )
        out_console.print(table)
    if doc["obligations"]:
        table = Table(title="Supplier obligation gaps")
        for col in ("supplier", "gap", "tenants exposed"):
            table.add_column(col)
        for g in doc["obligations"]:
            table.add_row(
                escape(g["supplier"]), escape(g["detail"]), escape(", ".join(g["tenants"]))
            )
        out_console.print(table)


@app.command("scan")
def scan_cmd(
    ctx: typer.Context,
    sbom: list[Path] = typer.Option(  # noqa: B008 - typer's declaration style
        [], "--sbom", help="CycloneDX (JSON/XML, 1.4-1.6) or SPDX 2.x JSON SBOM; repeatable."
    ),
    dpkg_status: list[Path] = typer.Option(  # noqa: B008
        [], "--dpkg-status", help="A dpkg status file (/var/lib/dpkg/status); repeatable."
    ),
    distro: str | None = typer.Option(
        None,
        "--distro",
        help="OSV ecosystem of the dpkg status files, e.g. Debian:12 or Ubuntu:22.04 "
        "(default: guessed, all releases).",
    ),
    python_env: list[Path] = typer.Option(  # noqa: B008
        [], "--python-env", help="A site-packages folder to inventory; repeatable."
    ),
    advisories: str = typer.Option(
        ..., "--advisories", help="Folder of OSV JSON records, an osv.dev zip, or 'osv-api'."
    ),
    platforms: Path | None = typer.Option(  # noqa: B008
        None,
        "--platforms",
        help="Platform map (TOML or YAML): tenants, platforms, hosts, suppliers.",
    ),
    today: str | None = typer.Option(
        None, "--today", help="Reference date for drill ages (YYYY-MM-DD; default today)."
    ),
    api_url: str = typer.Option(
        "https://api.osv.dev", "--osv-url", help="OSV API root (with --advisories osv-api)."
    ),
    fail_on: str | None = typer.Option(
        None,
        "--fail-on",
        help="Exit 10 when a finding is at least this severe (low, medium, high, critical, any).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document on stdout."),
) -> None:
    """Match inventories against advisories and show each vulnerable component's blast radius.

    Reads every inventory given and every host inventory the platform map lists,
    matches components against OSV advisories with each ecosystem's version rules,
    and reports the platforms, hosts, tenants and accounts (active, dormant,
    cancelled) behind each vulnerable component, how concentrated accounts are on
    shared platforms, and the suppliers' obligation gaps.  The JSON document is also
    saved in the workspace (results/supply.json) for `credwatch report` when the
    workspace exists.

    Example:

    \b
        credwatch supply scan --platforms platforms.toml --advisories osv/ --json
        credwatch supply scan --sbom bom.cdx.json --advisories all.zip --fail-on high
        credwatch supply scan --dpkg-status /var/lib/dpkg/status --distro Debian:12 \\
            --advisories Debian-all.zip
    """
    import httpx

    from credwatch.supply import (
        Ecosystem,
        InventoryFormat,
        InventoryRef,
        load_platform_map,
        scan,
    )
    from credwatch.supply.census import TenantCensus
    from credwatch.supply.osv import RATINGS

    try:
        ref_day = date.fromisoformat(today) if today else date.today()
    except ValueError:
        raise UsageError(f"--today {today!r} is not a date (YYYY-MM-DD)") from None
    threshold: int | None = None
    if fail_on is not None:
        if fail_on != "any" and fail_on not in RATINGS:
            raise UsageError(f"--fail-on {fail_on!r}: choose any, {', '.join(RATINGS[1:])}")
        threshold = 0 if fail_on == "any" else RATINGS.index(fail_on)
    eco = Ecosystem.parse(distro) if distro else None
    refs = [InventoryRef(p) for p in sbom]
    refs += [InventoryRef(p, InventoryFormat.DPKG_STATUS, eco) for p in dpkg_status]
    refs += [InventoryRef(p, InventoryFormat.PYTHON_ENV) for p in python_env]
    pmap = load_platform_map(platforms) if platforms is not None else None
    ws = workspace(ctx, require=False)
    census = TenantCensus(ws) if pmap and any(t.store for t in pmap.tenants.values()) else None
    with httpx.Client(timeout=30.0) as client:
        report = scan(
            refs, _source(advisories, client, api_url), pmap, today=ref_day, census=census
        )
    doc: dict[str, Any] = report.to_json()
    if ws.config_path.exists():
        save_result(ws, "supply", doc)
    if json_output:
        emit_json(doc)
    else:
        _render(report)
    if threshold is not None:
        worst = [
            RATINGS.index(f["severity"]) if f["severity"] in RATINGS else 0 for f in doc["findings"]
        ]
        if any(w >= threshold for w in worst):
            raise FindingsPresentError(
                f"{len(worst)} vulnerable component(s); --fail-on {fail_on} asked to fail"
            )
