"""Inline SVG charts for the HTML report, drawn with matplotlib (no pyplot, no display).

Rules: text stays text (``svg.fonttype = 'none'``: small, selectable, printable); the
palette is Okabe-Ito (distinguishable with the common colour-vision deficiencies)
and meaning never rides on colour alone (weak schemes are also hatched and labelled);
each chart carries a ``<title>`` and ``role="img"`` with a text alternative; ids inside
each SVG get a per-chart salt so several charts can share one HTML page.  Output is
deterministic (no dates in metadata, fixed hash salt).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from html import escape
from typing import Any, cast

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import Figure

from credwatch.report.model import (
    BlastRadius,
    Exposure,
    HuntTimeline,
    IncidentSummary,
    Progress,
    SchemeCensus,
)

__all__ = [
    "PALETTE",
    "blast_graph_chart",
    "domain_chart",
    "exposure_chart",
    "hunt_chart",
    "progress_chart",
    "scheme_chart",
]

#: Okabe-Ito colour-blind-safe palette.
PALETTE = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
    "black": "#000000",
}
FINDING_COLOURS = {
    "pair_valid": PALETTE["vermillion"],
    "pair_unverified": PALETTE["yellow"],
    "pair_stale": PALETTE["orange"],
    "email_only": PALETTE["sky"],
    "recovery_exposed": PALETTE["purple"],
    "weak_scheme": PALETTE["blue"],
}
#: Tenants drawn in the exposure chart at most.
MAX_TENANTS = 20
_CYCLE = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "grey")]
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "credwatch",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=_CYCLE),
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    with mpl.rc_context():
        mpl.rcParams.update(cast("Any", _RC))
        # A bare Figure (no pyplot): no global figure registry, no GUI backend.
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Figure, name: str, title: str, description: str) -> str:
    """Serialise ``fig`` as an inline ``<svg>`` with a title and unique ids."""
    buffer = io.StringIO()
    with mpl.rc_context():
        mpl.rcParams.update(cast("Any", {**_RC, "svg.hashsalt": f"credwatch-{name}"}))
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # Matplotlib's element ids are shared between figures ("patch_1", "axes_1"): prefix.
    text = re.sub(r'id="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r'(xlink:href|href)="#([^"]+)"', rf'\1="#{name}-\2"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", text)
    head = (
        f'<svg role="img" aria-labelledby="{name}-title {name}-desc" class="chart"'
        f' data-chart="{name}"'
    )
    text = text.replace("<svg", head, 1)
    close = text.index(">", len(head)) + 1
    return (
        text[:close]
        + f'<title id="{name}-title">{escape(title)}</title>'
        + f'<desc id="{name}-desc">{escape(description)}</desc>'
        + text[close:]
    )


def _height(rows: int, per_row: float = 0.28, minimum: float = 1.8) -> float:
    return max(minimum, 0.9 + per_row * rows)


def _barh_labels(ax: object, bars: object, values: Sequence[float], fmt: str = "{:,.0f}") -> None:
    ax.bar_label(bars, labels=[fmt.format(v) for v in values], padding=3, fontsize=8)  # type: ignore[attr-defined]


def domain_chart(summary: IncidentSummary) -> str:
    """Exposed addresses per domain (horizontal bars, largest on top)."""
    rows = list(summary.domains[:15])[::-1]
    with _figure(7.0, _height(len(rows))) as fig:
        ax = fig.subplots()
        values = [r.addresses for r in rows]
        bars = ax.barh([r.domain for r in rows], values, color=PALETTE["blue"])
        _barh_labels(ax, bars, values)
        ax.set_xlabel("exposed addresses")
        ax.set_title("Exposed addresses per domain")
        ax.margins(x=0.15)
        description = "; ".join(f"{r.domain}: {r.addresses:,}" for r in rows[::-1])
        return _svg(fig, "domains", "Exposed addresses per domain", description)


def exposure_chart(exposure: Exposure) -> str:
    """Accounts per tenant, stacked by finding (an account may carry several findings)."""
    totals: dict[str, int] = {}
    for cell in exposure.cells:
        totals[cell.tenant] = totals.get(cell.tenant, 0) + cell.accounts
    # The 20 most exposed tenants keep the chart readable; the table lists them all.
    tenants = sorted(sorted(totals, key=lambda t: -totals[t])[:MAX_TENANTS])
    findings = list(exposure.matrix()[0])
    with _figure(7.0, _height(len(tenants), 0.4)) as fig:
        ax = fig.subplots()
        left = [0] * len(tenants)
        for finding in findings:
            values = [
                sum(c.accounts for c in exposure.cells if c.tenant == t and c.finding == finding)
                for t in tenants
            ]
            ax.barh(
                tenants,
                values,
                left=left,
                label=finding,
                color=FINDING_COLOURS.get(finding, PALETTE["grey"]),
                edgecolor="white",
                linewidth=0.5,
            )
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.invert_yaxis()
        ax.set_xlabel("findings (accounts; one account can carry several)")
        ax.set_title(
            "Findings per tenant"
            + (f" (the {MAX_TENANTS} most exposed)" if len(totals) > MAX_TENANTS else "")
        )
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
        description = "; ".join(
            f"{c.tenant} {c.status} {c.finding}: {c.accounts:,}" for c in exposure.cells
        )
        return _svg(fig, "exposure", "Findings per tenant", description)


def scheme_chart(census: SchemeCensus) -> str:
    """Accounts per hash scheme; weak schemes vermillion, hatched and marked ``(weak)``."""
    rows = list(census.rows[:20])[::-1]
    with _figure(7.0, _height(len(rows))) as fig:
        ax = fig.subplots()
        labels = [f"{r.scheme} (weak)" if r.weak else r.scheme for r in rows]
        values = [r.accounts for r in rows]
        bars = ax.barh(
            labels,
            values,
            color=[PALETTE["vermillion"] if r.weak else PALETTE["blue"] for r in rows],
            hatch=None,
        )
        for bar, row in zip(bars, rows, strict=True):
            if row.weak:
                bar.set_hatch("//")
                bar.set_edgecolor("white")
        _barh_labels(ax, bars, values)
        ax.set_xlabel("accounts")
        ax.set_title("Hash schemes (weak schemes hatched)")
        ax.margins(x=0.15)
        description = "; ".join(
            f"{r.scheme}: {r.accounts:,}{' (weak)' if r.weak else ''}" for r in rows[::-1]
        )
        return _svg(fig, "schemes", "Hash schemes", description)


_SEVERITY_COLOURS = {
    "critical": PALETTE["vermillion"],
    "high": PALETTE["orange"],
    "medium": PALETTE["blue"],
    "low": PALETTE["grey"],
}


def _bucket_index(starts: Sequence[datetime | None], stamp: str | None) -> float | None:
    """Position of ``stamp`` on the bucket axis (index of the bucket it falls in)."""
    if stamp is None:
        return None
    try:
        when = _naive(datetime.fromisoformat(stamp))
    except ValueError:
        return None
    known = [(k, t) for k, t in enumerate(starts) if t is not None]
    if not known or when < known[0][1]:
        return None
    return float(max(k for k, t in known if t <= when))


def _naive(value: datetime) -> datetime:
    return (
        value.replace(tzinfo=None)
        if value.tzinfo is None
        else value.astimezone(UTC).replace(tzinfo=None)
    )


def _parse(start: str) -> datetime | None:
    try:
        return _naive(datetime.fromisoformat(start))
    except ValueError:
        return None


def hunt_chart(hunt: HuntTimeline) -> str:
    """Logins (attempts, failures) over time, with each detection rule's span below.

    Without a saved series, alert events per hour are drawn instead.  The lower strip
    shows, per rule (severest first), when its alerts started and ended: the campaigns.
    """
    buckets = hunt.timeline
    starts = [_parse(b.start) for b in buckets]
    rules = [r for r in hunt.rules if r.first_seen][:8]
    strip = bool(rules) and any(s is not None for s in starts)
    with _figure(7.0, 2.6 + (0.22 * len(rules) + 0.3 if strip else 0)) as fig:
        if strip:
            ax, lanes = fig.subplots(
                2, 1, sharex=True, height_ratios=[3, max(1.0, 0.3 * len(rules))]
            )
        else:
            ax, lanes = fig.subplots(), None
        xs = list(range(len(buckets)))
        if hunt.timeline_from_alerts:
            ax.bar(
                xs,
                [b.attempts for b in buckets],
                color=PALETTE["sky"],
                edgecolor=PALETTE["blue"],
                label="events counted by alerts starting in the hour",
            )
        else:
            ax.fill_between(
                xs,
                [b.attempts for b in buckets],
                step="mid",
                color=PALETTE["sky"],
                alpha=0.6,
                label="attempts",
            )
            ax.plot(
                xs,
                [b.failures for b in buckets],
                drawstyle="steps-mid",
                color=PALETTE["vermillion"],
                linewidth=1.4,
                label="failures",
            )
        ax.set_ylabel("per bucket")
        title = "Alert activity over time" if hunt.timeline_from_alerts else "Logins over time"
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        bottom = lanes if lanes is not None else ax
        if lanes is not None:
            for row, rule in enumerate(rules):
                first = _bucket_index(starts, rule.first_seen)
                last = _bucket_index(starts, rule.last_seen)
                if first is None:
                    continue
                end = last if last is not None else first
                lanes.plot(
                    [first - 0.4, end + 0.4],
                    [row, row],
                    color=_SEVERITY_COLOURS.get(rule.severity, PALETTE["grey"]),
                    linewidth=5,
                    solid_capstyle="butt",
                )
            lanes.set_yticks(
                range(len(rules)), [f"{r.rule} ({r.severity})" for r in rules], fontsize=7
            )
            lanes.set_ylim(len(rules) - 0.5, -0.5)
            lanes.spines["left"].set_visible(False)
            lanes.tick_params(axis="y", length=0)
        step = max(1, math.ceil(len(buckets) / 8))
        bottom.set_xticks(xs[::step], [b.start.replace("T", " ")[:16] for b in buckets][::step])
        bottom.tick_params(axis="x", labelrotation=20, labelsize=7)
        description = "; ".join(f"{b.start}: {b.attempts} / {b.failures}" for b in buckets[:50])
        description += "; " + "; ".join(
            f"{r.rule} {r.severity} {r.first_seen} to {r.last_seen}" for r in rules
        )
        return _svg(fig, "hunt", title, description)


_LAYERS = ("tenant", "platform", "host", "component")


def _layered_positions(blast: BlastRadius) -> dict[str, tuple[float, float]]:
    """Columns by layer (tenants left, components right), top to bottom in each.

    Tenants are alphabetical; every later column is ordered by the mean row of its
    neighbours in the column before (the barycentre heuristic), which keeps most
    edges from crossing.
    """
    neighbours: dict[str, list[str]] = {}
    for edge in blast.edges:
        neighbours.setdefault(edge.target, []).append(edge.source)
    rows: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    for column, layer in enumerate(_LAYERS):
        ids = sorted(n.id for n in blast.nodes if n.layer == layer)

        def barycentre(node_id: str) -> tuple[float, str]:
            placed = [rows[n] for n in neighbours.get(node_id, []) if n in rows]
            return (sum(placed) / len(placed) if placed else float("inf"), node_id)

        if column:
            ids.sort(key=barycentre)
        for row, node_id in enumerate(ids):
            rows[node_id] = float(row)
            positions[node_id] = (float(column), 1.0 - (row + 0.5) / len(ids))
    return positions


def blast_graph_chart(blast: BlastRadius) -> str:
    """Node-link diagram: tenants -> shared platforms -> hosts -> vulnerable components.

    Node colour and shape both encode the layer (circles, squares, triangles, diamonds);
    vulnerable components are larger and outlined.
    """
    positions = _layered_positions(blast)
    per_layer = max((sum(1 for n in blast.nodes if n.layer == la) for la in _LAYERS), default=1)
    style = {
        "tenant": (PALETTE["sky"], "o"),
        "platform": (PALETTE["orange"], "s"),
        "host": (PALETTE["grey"], "^"),
        "component": (PALETTE["vermillion"], "D"),
    }
    with _figure(7.5, max(2.6, 0.45 * per_layer + 1.0)) as fig:
        ax = fig.subplots()
        ax.set_axis_off()
        for edge in blast.edges:
            (x0, y0), (x1, y1) = positions[edge.source], positions[edge.target]
            ax.plot([x0, x1], [y0, y1], color="#777777", linewidth=0.8, zorder=1)
        for layer in _LAYERS:
            nodes = [n for n in blast.nodes if n.layer == layer]
            if not nodes:
                continue
            colour, marker = style[layer]
            ax.scatter(
                [positions[n.id][0] for n in nodes],
                [positions[n.id][1] for n in nodes],
                s=[150 if n.vulnerable else 90 for n in nodes],
                c=colour,
                marker=marker,
                edgecolors="black",
                linewidths=[1.4 if n.vulnerable else 0.6 for n in nodes],
                label=f"{layer}s",
                zorder=2,
            )
            for node in nodes:
                x, y = positions[node.id]
                ax.annotate(
                    node.label,
                    (x, y),
                    xytext=(0, -10),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    fontsize=7,
                    zorder=3,
                )
        ax.set_xlim(-0.5, len(_LAYERS) - 0.5)
        ax.set_ylim(-0.08, 1.05)
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, 1.12), ncols=4, fontsize=8, frameon=False
        )
        description = "; ".join(f"{e.source} -> {e.target}" for e in blast.edges[:60])
        return _svg(fig, "blast", "Blast-radius graph", description)


def progress_chart(progress: Progress) -> str:
    """Journaled actions per kind and action, stacked by result."""
    groups = sorted({(c.kind, c.action) for c in progress.counts})
    results = sorted({c.result for c in progress.counts})
    result_colours = {
        r: {"applied": PALETTE["green"], "already": PALETTE["sky"]}.get(
            r, PALETTE["vermillion"] if r in {"not_found", "failed"} else PALETTE["grey"]
        )
        for r in results
    }
    with _figure(7.0, _height(len(groups), 0.35)) as fig:
        ax = fig.subplots()
        labels = [f"{kind}: {action}" for kind, action in groups]
        left = [0] * len(groups)
        for result in results:
            values = [
                sum(
                    c.count
                    for c in progress.counts
                    if (c.kind, c.action) == g and c.result == result
                )
                for g in groups
            ]
            ax.barh(labels, values, left=left, label=result, color=result_colours[result])
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.invert_yaxis()
        ax.set_xlabel("journaled actions")
        ax.set_title("Remediation and retention actions by result")
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
        description = "; ".join(
            f"{c.kind} {c.action} {c.result}: {c.count:,}" for c in progress.counts
        )
        return _svg(fig, "progress", "Journaled actions by result", description)
