"""Demo stage: hunt the generated auth logs and score the result against the ground truth.

Reports, per campaign, the recall of its source addresses (an address counts as
flagged when an alert names it or a subnet containing it) and the share of benign
addresses flagged.  Targets: recall >= 0.95 on the distributed stuffing with <= 1 %
of benign addresses flagged, and every campaign found.

Example:
    >>> score_alerts(result.alerts, truth, all_ips)      # doctest: +SKIP
    {'stuffing': {'recall': 0.96, ...}, 'benign_flagged_share': 0.006, ...}
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from credwatch.demo.runner import DemoContext, StageResult
from credwatch.hunt import HuntConfig, JsonLinesSink, hunt_files, write_blocklist
from credwatch.hunt.interface import Alert
from credwatch.results import save_result

__all__ = ["flagged_addresses", "run", "score_alerts"]


def flagged_addresses(alerts: Iterable[Alert], candidates: Iterable[str]) -> set[str]:
    """The ``candidates`` an alert names directly or through a subnet alert."""
    direct = {a.key for a in alerts if a.key_type == "ip"}
    nets = [ipaddress.ip_network(a.key, strict=False) for a in alerts if a.key_type == "subnet"]
    out = set()
    for ip in candidates:
        if ip in direct:
            out.add(ip)
            continue
        if nets:
            addr = ipaddress.ip_address(ip)
            if any(addr.version == n.version and addr in n for n in nets):
                out.add(ip)
    return out


def score_alerts(
    alerts: Sequence[Alert], truth: Mapping[str, Any], all_ips: Iterable[str]
) -> dict[str, Any]:
    """Recall per campaign and the share of benign addresses flagged."""
    seen = set(all_ips)
    campaign_ips: set[str] = set()
    out: dict[str, Any] = {}
    for name, camp in truth["campaigns"].items():
        ips = set(camp["ips"])
        campaign_ips |= ips
        hit = flagged_addresses(alerts, ips)
        out[name] = {
            "ips": len(ips),
            "flagged": len(hit),
            "recall": round(len(hit) / len(ips), 4) if ips else None,
            "found": bool(hit),
        }
    benign = seen - campaign_ips
    benign_hit = flagged_addresses(alerts, benign)
    out["benign_ips"] = len(benign)
    out["benign_flagged"] = len(benign_hit)
    out["benign_flagged_share"] = round(len(benign_hit) / len(benign), 4) if benign else 0.0
    return out


def run(ctx: DemoContext) -> StageResult:
    """Hunt the demo auth logs written by the ``authlogs`` stage."""
    art = ctx.artifacts.get("authlogs")
    if not art:
        return StageResult(
            name="hunt", lines=("skipped: no auth logs (the authlogs stage did not run)",)
        )
    ws = ctx.workspace
    config = HuntConfig.from_section(ws.config().section("hunt"), str(ws.config_path))
    paths = [Path(p) for p in art["paths"]]
    result = hunt_files(paths, config=config, workspace=ws, keep_events=True)
    out_dir = paths[0].parent
    sink = JsonLinesSink(out_dir / "alerts.jsonl")
    try:
        for alert in result.alerts:
            sink.emit(alert)
    finally:
        sink.close()
    blocked = write_blocklist(list(result.alerts), out_dir / "blocklist.nft", "nft")
    save_result(ws, "hunt", result.to_json())
    table = result.table
    all_ips = (
        pc.unique(pc.drop_null(table.column("src_ip"))).to_pylist() if table is not None else []
    )
    score = score_alerts(result.alerts, art["truth"], all_ips)
    by_rule: dict[str, int] = {}
    for alert in result.alerts:
        by_rule[alert.rule] = by_rule.get(alert.rule, 0) + 1
    ctx.artifacts["hunt"] = {
        "alerts_path": str(out_dir / "alerts.jsonl"),
        "blocklist_path": str(out_dir / "blocklist.nft"),
        "score": score,
        "by_rule": by_rule,
        "alerts": [a.to_json() for a in result.alerts if a.key_type in ("site", "user")][:200],
    }
    lines = [
        f"{result.events:,} auth events, {len(result.alerts):,} alerts "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(by_rule.items()))})",
    ]
    for name in ("stuffing", "spraying", "brute_force"):
        s = score.get(name)
        if s:
            lines.append(
                f"{name}: {s['flagged']:,}/{s['ips']:,} source addresses flagged (recall "
                f"{s['recall']})"
            )
    lines.append(
        f"benign addresses flagged: {score['benign_flagged']:,}/{score['benign_ips']:,} "
        f"({score['benign_flagged_share']:.2%}); blocklist of {blocked:,} entries"
    )
    lines.extend(f"not checked: {note}" for note in result.skipped)
    return StageResult(
        name="hunt",
        lines=tuple(lines),
        data={"score": score, "by_rule": by_rule, "skipped": list(result.skipped)},
    )
