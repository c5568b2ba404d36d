"""Batch hunting over log files: parse vectorised, flag exposure, run every detector.

Example:
    >>> result = hunt_files([Path("/var/log/mail.log")], workspace=ws)   # doctest: +SKIP
    >>> [a.rule for a in result.alerts]                                   # doctest: +SKIP
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.errors import ConfigError, InputError
from credwatch.hunt.compose import AnyOf
from credwatch.hunt.config import HuntConfig
from credwatch.hunt.detectors import (
    FailuresPerIp,
    FailuresPerSubnet,
    IpsPerUser,
    Spraying,
    SuccessAfterFailures,
    UsersPerIp,
    UserTokenizer,
)
from credwatch.hunt.engine import EVENT_SCHEMA, Engine, FileStats
from credwatch.hunt.interface import Alert, Detector
from credwatch.hunt.sitewide import LeakStuffing, SiteShift
from credwatch.index import ExposureIndex
from credwatch.workspace import Workspace

__all__ = [
    "HuntResult",
    "build_detectors",
    "expand_paths",
    "flag_exposure",
    "hunt_events",
    "hunt_files",
]

_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True, slots=True)
class HuntResult:
    """What a batch hunt found.

    Attributes:
        files: per-file line counts (parsed, unparsed) and errors.
        events: number of authentication events parsed.
        alerts: every alert, most severe first.
        skipped: rules that could not run and why (e.g. no exposure index); a skipped
            rule is "not checked", never "nothing found".
        exposure_checked: users whose exposure was looked up (0 when skipped).
    """

    files: tuple[FileStats, ...]
    events: int
    alerts: tuple[Alert, ...]
    skipped: tuple[str, ...] = ()
    exposure_checked: int = 0
    timeline: tuple[tuple[str, int, int], ...] = ()
    table: pa.Table | None = field(default=None, repr=False, compare=False)

    @property
    def leak_correlation(self) -> dict[str, float] | None:
        """Exposed share of cold attempts in flagged periods and its base rate, if any."""
        for alert in self.alerts:
            if alert.rule == "leak_stuffing" and alert.key_type == "site":
                rate = alert.evidence.get("cold_exposed_share")
                base = alert.evidence.get("base_rate")
                if rate is not None and base is not None:
                    return {"rate": float(rate), "base_rate": float(base)}
        return None

    def to_json(self) -> dict[str, Any]:
        """The ``hunt --json`` document (also saved for ``credwatch report``)."""
        doc: dict[str, Any] = {
            "files": [f.to_json() for f in self.files],
            "events": self.events,
            "alerts": [a.to_json() for a in self.alerts],
            "skipped": list(self.skipped),
            "timeline": [{"start": s, "attempts": a, "failures": f} for s, a, f in self.timeline],
        }
        if self.leak_correlation is not None:
            doc["leak_correlation"] = self.leak_correlation
        return doc


def build_detectors(
    config: HuntConfig, tokenizer: UserTokenizer | None = None, *, leak: bool = True
) -> list[Detector]:
    """The enabled detectors of ``config``, in a fixed order.

    ``leak=False`` leaves out ``leak_stuffing`` (no exposure index to consult).
    """
    out: list[Detector] = []
    if config.failures_per_ip.enabled:
        out.append(FailuresPerIp(config.failures_per_ip, tokenizer))
    if config.failures_per_subnet.enabled:
        out.append(FailuresPerSubnet(config.failures_per_subnet, tokenizer))
    if config.users_per_ip.enabled:
        out.append(UsersPerIp(config.users_per_ip, tokenizer))
    if config.ips_per_user.enabled:
        out.append(IpsPerUser(config.ips_per_user, tokenizer))
    if config.success_after_failures.enabled:
        out.append(SuccessAfterFailures(config.success_after_failures, tokenizer))
    if config.spraying.enabled:
        out.append(Spraying(config.spraying, tokenizer))
    if config.site_shift.enabled:
        out.append(SiteShift(config.site_shift))
    if leak and config.leak_stuffing.enabled:
        out.append(LeakStuffing(config.leak_stuffing, tokenizer))
    return out


def expand_paths(patterns: Sequence[str]) -> list[Path]:
    """Expand files and globs, keeping the order given and dropping duplicates.

    Raises:
        InputError: when a name matches nothing.
    """
    out: list[Path] = []
    for pattern in patterns:
        # glob.glob, not Path.glob: patterns may be absolute (/var/log/mail.log*).
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]  # noqa: PTH207
        if not matches or (not glob.has_magic(pattern) and not Path(pattern).exists()):
            raise InputError(f"{pattern}: no such file", hint="give log files or quoted globs")
        for m in matches:
            p = Path(m)
            if p.is_dir():
                raise InputError(
                    f"{m}: is a directory", hint="give log files or a glob such as 'DIR/*.log*'"
                )
            if p not in out:
                out.append(p)
    return out


def flag_exposure(
    con: duckdb.DuckDBPyConnection,
    users: pa.Array,
    workspace: Workspace,
    default_domain: str | None,
) -> pa.Array:
    """Exposure flag per distinct user (``True``/``False``; NULL when not checkable).

    Normalisation and keying run inside DuckDB for ASCII names (the Python normaliser
    handles the rest); only 16-byte keys are looked up in the index.

    Raises:
        ConfigError: when the workspace has no usable index.
    """
    keyer = workspace.keyer()
    normalizer = workspace.config().normalizer()
    user_table = pa.table({"u": users})  # noqa: F841 - DuckDB scans it
    addr = (
        "CASE WHEN contains(u, '@') THEN u WHEN $dd IS NULL OR trim(u) = '' THEN NULL ELSE "
        "trim(u) || '@' || $dd END"
    )
    rows = con.sql(
        f"""
        SELECT u, a, regexp_matches(a, '^[\\x00-\\x7f]*$') AS ascii FROM (SELECT u, {addr} AS a
            FROM user_table)
        """,
        params={"dd": default_domain},
    ).to_arrow_table()
    ascii_rows = rows.filter(pc.fill_null(rows.column("ascii"), False))  # noqa: F841
    keyed = con.sql(
        f"SELECT u, {keyer.sql_email_key('$prefix', normalizer.sql('a'))} AS k FROM ascii_rows",
        params={"prefix": keyer.email_prefix},
    ).to_arrow_table()
    others = rows.filter(pc.invert(pc.fill_null(rows.column("ascii"), True)))
    extra_u: list[str] = []
    extra_k: list[bytes | None] = []
    for u, a in zip(others.column("u").to_pylist(), others.column("a").to_pylist(), strict=True):
        norm = normalizer.try_normalize(a) if a else None
        extra_u.append(u)
        extra_k.append(keyer.email_key(norm) if norm else None)
    all_u = pa.concat_arrays([keyed.column("u").combine_chunks(), pa.array(extra_u, pa.string())])
    all_k = pa.concat_arrays(
        [keyed.column("k").combine_chunks().cast(pa.binary()), pa.array(extra_k, pa.binary())]
    )
    wanted = [k for k in all_k.to_pylist() if k is not None]
    with ExposureIndex.open(workspace) as index:
        hits = index.exposed_email_keys(wanted)
    flags = pc.if_else(
        pc.is_valid(all_k),
        pc.is_in(all_k, value_set=pa.array(list(hits), pa.binary())),
        pa.scalar(None, pa.bool_()),
    )
    lookup = pa.table({"u": all_u, "exposed": flags})
    idx = pc.index_in(users, value_set=lookup.column("u"))
    return lookup.column("exposed").take(idx)


#: Columns with a handful of distinct values: dictionary-encoded, every detector's scan
#: and filter on them reads small integers instead of strings.
_LOW_CARDINALITY = ("service", "protocol", "outcome", "reason")


def _compact(events: pa.Table) -> pa.Table:
    """``events`` ready for the detectors: low-cardinality string columns
    dictionary-encoded, and ``user_id``/``ip_id`` (dense integer codes of ``user`` and
    ``src_ip``, NULL where they are) added for joins on integers."""
    for name in _LOW_CARDINALITY:
        i = events.schema.get_field_index(name)
        if i >= 0 and pa.types.is_string(events.schema.field(i).type):
            events = events.set_column(i, name, pc.dictionary_encode(events.column(name)))
    for name, code in (("user", "user_id"), ("src_ip", "ip_id")):
        if events.schema.get_field_index(code) < 0:
            events = events.append_column(code, _dictionary_codes(events.column(name))[1])
    return events


def _dictionary_codes(column: pa.ChunkedArray) -> tuple[pa.Array, pa.ChunkedArray]:
    """The distinct non-null values of ``column`` and each row's index into them (NULL
    for NULL): one hash pass, and the strings are not copied."""
    encoded = pc.dictionary_encode(column)
    if encoded.num_chunks == 0:
        return pa.array([], column.type), pa.chunked_array([], pa.int32())
    # Arrow encodes every chunk against one dictionary, the last chunk's holding them all.
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary
    return dictionary, pa.chunked_array([c.indices for c in encoded.chunks], pa.int32())


def hunt_events(
    events: pa.Table,
    detectors: Sequence[Detector],
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[Alert]:
    """Run detectors over an events table (``EVENT_SCHEMA`` plus ``exposed``)."""
    con = con or duckdb.connect()
    table = _compact(events)

    def run(detector: Detector) -> list[Alert]:
        # Detectors run side by side, each on its own cursor (DuckDB releases the GIL).
        cur = con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            cur.register("events", table)
            return AnyOf("all", [detector]).detect_batch(cur, "events")
        finally:
            cur.close()

    threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
    workers = max(min(len(detectors), int(threads)), 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        alerts = [a for found in pool.map(run, detectors) for a in found]
    return sorted(alerts, key=lambda a: (_SEVERITY[a.severity], a.rule, a.key_type, a.key))


def hunt_files(
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    config: HuntConfig | None = None,
    workspace: Workspace | None = None,
    now: datetime | None = None,
    threads: int | None = None,
    keep_events: bool = False,
) -> HuntResult:
    """Parse ``paths`` and run every enabled detector over all their events together.

    Args:
        paths: log files (plain or compressed).
        fmt: ``auto`` or one log family (see :data:`credwatch.hunt.engine.FORMATS`).
        config: detector thresholds (default: :data:`credwatch.hunt.config.DEFAULTS`).
        workspace: where the exposure index is; without one (or without an index)
            ``leak_stuffing`` is reported in :attr:`HuntResult.skipped`.
        now: the reference time for year inference (default: each file's mtime).
        threads: DuckDB threads (default: all cores).
        keep_events: keep the events table in :attr:`HuntResult.table` (for scoring).

    Raises:
        InputError: when a file does not exist.
        UsageError: for an unknown format.
    """
    cfg = config or HuntConfig()
    engine = Engine.for_format(fmt)
    if threads:
        engine.set_threads(threads)
    tables: list[pa.Table] = []
    stats: list[FileStats] = []
    for file_id, path in enumerate(paths):
        table, stat = engine.parse_file(path, file_id, now=now)
        tables.append(table)
        stats.append(stat)
    events = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    skipped: list[str] = []
    exposed = pa.nulls(events.num_rows, pa.bool_())
    user_ids: pa.ChunkedArray | None = None
    checked = 0
    leak = cfg.leak_stuffing.enabled
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if leak:
        if workspace is None:
            skipped.append("leak_stuffing: no workspace given, exposure not checked")
            leak = False
        else:
            try:
                # One hash pass gives the distinct users and each event's user code.
                users, user_ids = _dictionary_codes(events.column("user"))
                flags = flag_exposure(con, users, workspace, cfg.default_domain)
                checked = int(pc.sum(pc.is_valid(flags)).as_py() or 0)
                exposed = pc.take(flags, user_ids)
            except ConfigError as exc:
                skipped.append(f"leak_stuffing: exposure not checked ({exc.message})")
                leak = False
    events = events.append_column("exposed", exposed)
    tokenizer = UserTokenizer(
        workspace.keyer().pepper if workspace is not None and leak else b"credwatch-batch"
    )
    detectors = build_detectors(cfg, tokenizer, leak=leak)
    compact = _compact(events if user_ids is None else events.append_column("user_id", user_ids))
    alerts = hunt_events(compact, detectors, con=con)
    con.register("tl_events", compact)
    timeline = tuple(
        (start.isoformat(), int(attempts), int(failures or 0))
        for start, attempts, failures in con.sql(
            "SELECT date_trunc('hour', ts) AS h, sum(attempts), sum(attempts) FILTER (WHERE "
            "outcome = 'failure') "
            "FROM tl_events GROUP BY h ORDER BY h"
        ).fetchall()
    )
    con.unregister("tl_events")
    return HuntResult(
        files=tuple(stats),
        events=events.num_rows,
        alerts=tuple(alerts),
        skipped=tuple(skipped),
        exposure_checked=checked,
        timeline=timeline,
        table=events if keep_events else None,
    )
