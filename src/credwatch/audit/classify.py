"""Classify, score and rank every account; summarise; write ``accounts.parquet``.

Runs in the public database over ``accts`` (one compact row per account), the scheme
facts and the verdicts -- no address, hash or password is involved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from credwatch.audit.model import FINDINGS, MFA_FACTOR, RISK_WEIGHTS, STATUS_FACTORS

__all__ = ["classify", "summarise", "write_accounts"]

#: The SQL condition of each finding over the joined account row.
_FINDING_SQL = {
    "pair_valid": "verdict = 'matched'",
    "pair_unverified": "exposed AND verdict = 'unverified'",
    "recovery_exposed": "rec_exposed",
    "pair_stale": "verdict = 'not_matched'",
    "email_only": "exposed AND verdict IS NULL",
    "weak_scheme": "weak",
}


def classify(
    pub: duckdb.DuckDBPyConnection, schemes: pa.Table, verdict: pa.Table, affected: list[str]
) -> None:
    """Table ``result``: findings bit mask and risk score per account, riskiest first.

    The risk score is the highest weight of the account's findings plus 5 per further
    finding, times the status factor, times :data:`MFA_FACTOR` with MFA, capped at 100.
    Rows are stored in priority order (risk score descending, then id), so an
    account's priority is its row number: no window over millions of rows.
    """
    pub.register("cw_schemes", schemes.select(["scheme_id", "weak"]))
    pub.register("cw_verdict", verdict)
    pub.register("affected", pa.table({"domain": pa.array(affected, pa.string())}))
    flags = ",\n".join(
        f"coalesce({cond}, false) AS f_{name}" for name, cond in _FINDING_SQL.items()
    )
    top = (
        "greatest("
        + ", ".join(f"CASE WHEN f_{f} THEN {w} ELSE 0 END" for f, w in RISK_WEIGHTS.items())
        + ")"
    )
    count = " + ".join(f"f_{f}::INTEGER" for f in FINDINGS)
    mask = " | ".join(f"(f_{f}::INTEGER << {i})" for i, f in enumerate(FINDINGS))
    factors = " ".join(f"WHEN '{s}' THEN {f}" for s, f in STATUS_FACTORS.items())
    # Row order is what gives priorities; this one statement must keep it.
    pub.execute("SET preserve_insertion_order = true")
    try:
        pub.execute(
            f"""
            CREATE TABLE result AS
            WITH found AS (
                SELECT a.* EXCLUDE (row_no), {flags}
                FROM (
                    SELECT a.*, s.weak, v.verdict,
                           a.recovery_domain IN (SELECT domain FROM affected) AS rec_exposed
                    FROM accts a
                    JOIN cw_schemes s ON s.scheme_id = a.scheme_id
                    LEFT JOIN cw_verdict v ON v.row_no = a.row_no
                ) a
            )
            SELECT * EXCLUDE (weak, verdict, rec_exposed, {", ".join(f"f_{f}" for f in FINDINGS)}),
                   CAST({mask} AS UTINYINT) AS finding_mask,
                   least(CAST(round(({top} + 5 * greatest({count} - 1, 0))
                       * (CASE status {factors} ELSE 1.0 END)
                       * (CASE WHEN mfa THEN {MFA_FACTOR} ELSE 1.0 END)) AS INTEGER), 100)
                       AS risk_score
            FROM found
            ORDER BY risk_score DESC, id
            """
        )
    finally:
        pub.execute("SET preserve_insertion_order = false")
        for name in ("cw_schemes", "cw_verdict", "affected"):
            pub.unregister(name)
    pub.execute("DROP TABLE accts")


def _findings_lists() -> pa.Table:
    """``finding_mask -> findings`` (most severe first) for every combination."""
    masks = range(1 << len(FINDINGS))
    return pa.table(
        {
            "finding_mask": pa.array(masks, pa.uint8()),
            "findings": pa.array(
                [[f for i, f in enumerate(FINDINGS) if m >> i & 1] for m in masks],
                pa.list_(pa.string()),
            ),
        }
    )


def write_accounts(pub: duckdb.DuckDBPyConnection, schemes: pa.Table, path: Path) -> None:
    """Write ``accounts.parquet`` from ``result`` (``priority`` 1 is the riskiest)."""
    pub.register("cw_findings", _findings_lists())
    pub.register("cw_schemes", schemes.select(["scheme_id", "scheme"]))
    try:
        pub.execute(
            f"""
            COPY (
                SELECT r.id, r.tenant, r.status, r.mfa, r.email_domain, r.recovery_domain,
                       s.scheme, f.findings, r.risk_score,
                       CAST(r.rowid + 1 AS INTEGER) AS priority,
                       coalesce(r.mask_head || '***@' || r.email_domain, '***') AS masked_email
                FROM result r
                JOIN cw_schemes s ON s.scheme_id = r.scheme_id
                JOIN cw_findings f ON f.finding_mask = r.finding_mask
            ) TO {_sql_str(str(path))} (FORMAT parquet)
            """
        )
    finally:
        pub.unregister("cw_findings")
        pub.unregister("cw_schemes")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def summarise(pub: duckdb.DuckDBPyConnection, schemes: pa.Table) -> dict[str, Any]:
    """Totals, per tenant x status x finding, per status and MFA, schemes, unknown statuses.

    Small GROUP BYs over ``result``; the findings are counted from the bit mask.
    """
    groups = pub.execute(
        "SELECT tenant, status, mfa, exposed, finding_mask, count(*) FROM result "
        "GROUP BY ALL ORDER BY tenant, status, mfa"
    ).fetchall()
    keys = ("accounts", "exposed", *FINDINGS)

    def empty() -> dict[str, int]:
        return dict.fromkeys(keys, 0)

    def add(into: dict[str, int], values: tuple[int, ...]) -> None:
        for key, value in zip(keys, values, strict=True):
            into[key] += value

    summary: dict[str, Any] = empty()
    by_tenant: dict[str, Any] = {}
    by_status: dict[str, dict[str, int]] = {}
    by_mfa = {"enabled": empty(), "disabled": empty()}
    statuses = sorted({str(g[1]) for g in groups})
    for tenant, status, mfa, exposed, mask, n in groups:
        values = (
            n,
            n if exposed else 0,
            *(n if mask >> i & 1 else 0 for i in range(len(FINDINGS))),
        )
        add(summary, values)
        entry = by_tenant.setdefault(tenant, {**empty(), "by_status": {}})
        add(entry, values)
        add(entry["by_status"].setdefault(status, empty()), values)
        add(by_status.setdefault(status, empty()), values)
        add(by_mfa["enabled" if mfa else "disabled"], values)
    for entry in by_tenant.values():
        for status in statuses:
            entry["by_status"].setdefault(status, empty())
    summary["by_tenant"] = by_tenant
    summary["by_status"] = by_status
    summary["by_mfa"] = by_mfa
    summary["unknown_statuses"] = _ranked(
        pub.execute(
            "SELECT coalesce(raw_status, '(null)'), count(*) FROM result "
            "WHERE status = 'unknown' GROUP BY 1"
        ).fetchall()
    )
    facts = schemes.to_pydict()
    per_id = pub.execute("SELECT scheme_id, count(*) FROM result GROUP BY 1").fetchall()
    names: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for scheme_id, n in per_id:
        name = facts["scheme"][scheme_id]
        names[name] += n
        if not facts["supported"][scheme_id] and name not in ("EMPTY", "LOCKED"):
            unknown[name] += n
    summary["schemes"] = _ranked(names.items())
    summary["unknown_schemes"] = _ranked(unknown.items())
    return summary


def _ranked(counts: Iterable[tuple[Any, int]]) -> dict[str, int]:
    """Counts by name, largest first, then by name."""
    return {str(k): int(v) for k, v in sorted(counts, key=lambda kv: (-kv[1], str(kv[0])))}
