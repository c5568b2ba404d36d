"""The vectorised parsing engine: whole blocks of lines to events inside DuckDB.

For every rule of the chosen families the engine emits one ``CASE WHEN needles THEN
regexp_extract(line, pattern, groups) END`` column (RE2, evaluated only on the rows
whose cheap substring needles matched), takes the first rule that matched per line,
and derives the timestamp only for matched lines.  JSON lines (ECS documents,
``journalctl -o json``) are unpacked with DuckDB's JSON functions first.  There is no
Python loop per line.

Example:
    >>> engine = Engine.for_format("auto")                     # doctest: +SKIP
    >>> table, stats = engine.parse_file(Path("mail.log.gz"))  # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.errors import UsageError
from credwatch.hunt.dovecot import DOVECOT
from credwatch.hunt.exim import EXIM
from credwatch.hunt.httpauth import APACHE, NGINX
from credwatch.hunt.interface import LineRule, LogParser
from credwatch.hunt.postfix import POSTFIX
from credwatch.hunt.reader import BLOCK_BYTES, Block, Chunk, FileReader
from credwatch.hunt.roundcube import ROUNDCUBE
from credwatch.hunt.sshd import SSHD
from credwatch.hunt.timestamps import BSD_PREFIX, bsd_fast, timestamp_sql

__all__ = [
    "EVENT_SCHEMA",
    "FORMATS",
    "PARSERS",
    "Engine",
    "FileStats",
    "normalize_ips",
]

#: Every log family, in the order their rules are tried.
PARSERS: tuple[LogParser, ...] = (DOVECOT, POSTFIX, ROUNDCUBE, SSHD, EXIM, NGINX, APACHE)
#: The ``--format`` choices.
FORMATS: tuple[str, ...] = ("auto", *(p.name for p in PARSERS), "jsonl")

#: The Arrow schema of parsed events (before exposure flags are added).
EVENT_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us")),
        ("service", pa.string()),
        ("protocol", pa.string()),
        ("user", pa.string()),
        ("src_ip", pa.string()),
        ("outcome", pa.string()),
        ("reason", pa.string()),
        ("attempts", pa.int32()),
        ("subnet", pa.string()),
        ("file_id", pa.int32()),
        ("line_no", pa.int64()),
    ]
)

_GROUPS = ("m", "proto", "user", "ip", "attempts")
_NAMED = re.compile(r"\(\?P<(\w+)>")


@dataclass(frozen=True, slots=True)
class FileStats:
    """What happened to one input file.

    Attributes:
        path: the file as given.
        lines: non-empty lines read.
        parsed: lines that became an event.
        unparsed: lines no rule matched (or matched without a usable timestamp).
        compression: ``none``, ``gzip``, ``xz``, ``bzip2`` or ``zstd``.
        layout: ``text``, ``json`` or ``journal-export``.
        error: why the file was skipped or cut short (binary, truncated), or ``None``.
    """

    path: str
    lines: int
    parsed: int
    unparsed: int
    compression: str = "none"
    layout: str = "text"
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        """The ``files`` entry of ``hunt --json``."""
        out: dict[str, object] = {
            "path": self.path,
            "lines": self.lines,
            "parsed": self.parsed,
            "unparsed": self.unparsed,
        }
        if self.error:
            out["error"] = self.error
        return out


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: Printable ASCII by frequency in real auth logs (fail2ban's test logs), most common
#: first; characters not listed are rarer still.
_BY_FREQUENCY = (
    " eort1as:n.i20dcmlu3ph54f976[]8x-=gvbAS,y/TwXLPkM()N_IEC><\"DRFUO@JHjG;zqBQ'WVZ?KY|#*+"
)


def _probed(needle: str) -> tuple[str, ...]:
    """The substring tests standing for ``needle``: first its suffix from its rarest
    character, then the needle itself.

    DuckDB's ``contains`` looks for the needle's first character with ``memchr``: a
    needle starting with a space or a common letter stops on nearly every byte.  The
    suffix from a rare character is skipped past quickly on most lines, and only lines
    holding it pay for the full test.
    """
    rank = [_BY_FREQUENCY.find(c) % (len(_BY_FREQUENCY) + 1) for c in needle]
    start = max(range(len(needle)), key=lambda i: (rank[i], -i), default=0)
    return (needle,) if start == 0 else (needle[start:], needle)


def _rule_groups(rule: LineRule) -> list[str]:
    """The rule's group names in order, checking every capturing group is named."""
    compiled = re.compile(rule.pattern)
    names = [n for n, _ in sorted(compiled.groupindex.items(), key=lambda kv: kv[1])]
    if compiled.groups != len(names):
        raise ValueError(f"rule {rule.name}: every capturing group must be named")
    unknown = set(names) - set(_GROUPS)
    if unknown:
        raise ValueError(f"rule {rule.name}: unknown groups {sorted(unknown)}")
    return ["m", *names]


class Engine:
    """Compiles the rules of the chosen log families into one DuckDB query.

    Args:
        parsers: the families whose rules run.
        force_json: treat every file as JSON Lines (``--format jsonl``).
    """

    def __init__(self, parsers: Sequence[LogParser], *, force_json: bool = False) -> None:
        self.parsers = tuple(parsers)
        self.force_json = force_json
        self.rules: tuple[LineRule, ...] = tuple(r for p in self.parsers for r in p.rules)
        self._build_sql()
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone = 'UTC'")
        self._workers = os.cpu_count() or 1
        self._local = threading.local()

    @classmethod
    def for_format(cls, fmt: str) -> Engine:
        """Build the engine for a ``--format`` choice.

        Raises:
            UsageError: for an unknown format.
        """
        if fmt in ("auto", "jsonl"):
            return cls(PARSERS, force_json=fmt == "jsonl")
        for parser in PARSERS:
            if parser.name == fmt:
                return cls((parser,))
        raise UsageError(f"unknown log format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")

    def set_threads(self, threads: int) -> None:
        """Limit DuckDB's threads and the blocks parsed at once (default: all cores)."""
        self._con.execute(f"SET threads = {int(threads)}")
        self._workers = max(int(threads), 1)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's connection (blocks are parsed in several threads at once)."""
        con: duckdb.DuckDBPyConnection | None = getattr(self._local, "con", None)
        if con is None:
            con = self._con.cursor()
            con.execute("SET TimeZone = 'UTC'")
            self._local.con = con
        return con

    def _build_sql(self) -> None:
        """Prepare the stages (classify, fast-shape check, extract, timestamps) as SQL.

        Every stage is its own query materialised to Arrow: DuckDB would otherwise
        inline a shared expression (a regex) into each column that uses it.
        """
        whens = []
        fasts = []
        self._extract: list[str] = []
        for i, rule in enumerate(self.rules):
            groups = _rule_groups(rule)
            needles = " AND ".join(
                f"contains(line, {_sql_str(p)})" for n in rule.needles for p in _probed(n)
            )
            whens.append(f"WHEN {i} > after AND {needles} THEN {i}")
            pattern = _sql_str("(?P<m>" + rule.pattern + ")")
            names = "[" + ", ".join(_sql_str(g) for g in groups) + "]"
            if rule.fast is None:
                picks = ", ".join(
                    f"nullif(r.{g}, '') AS {g}" if g in groups else f"NULL::VARCHAR AS {g}"
                    for g in _GROUPS[1:]
                )
                self._extract.append(
                    f"SELECT idx, {i} AS rid, r.m <> '' AS ok, {picks} "
                    f"FROM (SELECT idx, regexp_extract(line, {pattern}, "
                    f"{names}) AS r "
                    f"FROM staged WHERE rid = {i})"
                )
                continue
            fasts.append(f"WHEN {i} THEN regexp_matches(line, {_sql_str(rule.fast.pattern)})")
            fast = dict(rule.fast.fields)
            if set(fast) != set(groups[1:]):
                raise ValueError(
                    f"rule {rule.name}: fast fields must be exactly the pattern's groups"
                )
            cols = []
            for g in _GROUPS[1:]:
                if g not in groups:
                    cols.append(f"NULL::VARCHAR AS {g}")
                    continue
                slow = f"regexp_extract(line, {pattern}, {groups.index(g) + 1})"
                cols.append(
                    f"nullif(CASE WHEN f THEN {fast[g].format(L='line')} ELSE {slow} END, '') AS "
                    f"{g}"
                )
            self._extract.append(
                f"SELECT idx, {i} AS rid, "
                f"CASE WHEN f THEN true ELSE regexp_matches(line, {pattern}) END AS ok, "
                f"{', '.join(cols)} FROM staged WHERE rid = {i}"
            )
        # Classify by cheap substring needles only; CASE stops at the first rule that fits.
        self._classify = (
            f"SELECT idx, rid FROM (SELECT idx, CASE {' '.join(whens)} END AS rid FROM src) "
            "WHERE rid IS NOT NULL"
            if whens
            else "SELECT idx, NULL::INTEGER AS rid FROM src WHERE false"
        )
        fast_case = f"CASE rid {' '.join(fasts)} ELSE false END" if fasts else "false"
        self._fast = f"SELECT coalesce({fast_case}, false) AS f FROM staged"
        raw, is_bsd = timestamp_sql("line")
        self._stamp = (
            f"SELECT CASE WHEN ts_hint IS NULL THEN {raw} END AS ts_raw, "
            f"ts_hint IS NULL AND {is_bsd} AS bsd FROM rest"
        )
        self._services = pa.array([r.service for r in self.rules], pa.string())
        self._protocols = pa.array([r.protocol or "" for r in self.rules], pa.string())
        self._outcomes = pa.array([r.outcome for r in self.rules], pa.string())
        self._reasons = pa.array([r.reason for r in self.rules], pa.string())

    def _run_rules(self, src: pa.Table, reference: datetime) -> pa.Table:
        """Classify, extract (retrying a line with later rules when a pattern fails), finish.

        Only row positions and extracted fields travel between DuckDB and Arrow; the
        lines themselves are taken with Arrow (a C++ copy) where a stage needs them.
        """
        con = self._cursor()
        lines = src.column("line").combine_chunks()
        hints = src.column("ts_hint").combine_chunks().cast(pa.timestamp("us"))
        line_nos = src.column("line_no").combine_chunks()
        n = src.num_rows
        rows = pa.table(
            {
                "idx": pa.array(np.arange(n, dtype=np.int32)),
                "line": lines,
                "after": pa.array(np.full(n, -1, dtype=np.int32)),
            }
        )
        parts: list[pa.Table] = []
        while rows.num_rows and self.rules:
            src = rows
            classified = con.sql(self._classify).to_arrow_table()
            if classified.num_rows == 0:
                break
            staged = pa.table(
                {
                    "idx": classified.column("idx"),
                    "rid": classified.column("rid"),
                    "line": lines.take(classified.column("idx")),
                }
            )
            staged = staged.append_column("f", con.sql(self._fast).to_arrow_table().column("f"))
            active = sorted(pc.unique(staged.column("rid")).to_pylist())
            got = con.sql(" UNION ALL ".join(self._extract[i] for i in active)).to_arrow_table()
            ok = got.column("ok")
            parts.append(got.filter(ok))
            failed = got.filter(pc.invert(ok))
            rows = pa.table(
                {
                    "idx": failed.column("idx"),
                    "line": lines.take(failed.column("idx")),
                    "after": failed.column("rid"),
                }
            )
        if not parts:
            return _empty_events()
        extracted = pa.concat_tables(parts)
        idx = extracted.column("idx").combine_chunks()
        ts = self._timestamps(lines, hints, idx, reference)
        rid = extracted.column("rid")
        protocol = pc.coalesce(extracted.column("proto"), self._protocols.take(rid))
        attempts = pc.fill_null(_to_int(extracted.column("attempts")), 1)
        return pa.table(
            {
                "ts": ts,
                "service": self._services.take(rid),
                "protocol": protocol,
                "user": extracted.column("user"),
                "src_ip": extracted.column("ip"),
                "outcome": self._outcomes.take(rid),
                "reason": self._reasons.take(rid),
                "attempts": attempts,
                "line_no": line_nos.take(idx),
            }
        )

    def _timestamps(
        self, lines: pa.Array, hints: pa.Array, idx: pa.Array, reference: datetime
    ) -> pa.Array:
        """Times of the extracted rows ``idx``: hints, the NumPy RFC 3164 path, then SQL."""
        hint = hints.take(idx)
        # Only a line's first bytes hold an RFC 3164 time: take those, not whole lines.
        heads = pc.binary_slice(lines.cast(pa.binary()), 0, BSD_PREFIX).take(idx)
        ok, micros = bsd_fast(heads, reference)
        ok &= ~hint.is_valid().to_numpy(zero_copy_only=False)
        fast = pa.array(micros, pa.int64()).cast(pa.timestamp("us"))
        rest_mask = pc.and_(pc.is_null(hint), pa.array(~ok))
        ts = pc.coalesce(hint, pc.if_else(pa.array(ok), fast, pa.scalar(None, pa.timestamp("us"))))
        if not pc.any(rest_mask).as_py():
            return ts
        rest = pa.table(  # noqa: F841 - DuckDB scans it
            {"line": lines.take(idx.filter(rest_mask)), "ts_hint": hint.filter(rest_mask)}
        )
        query = self._cursor().sql(self._stamp, params={"ref_year": reference.year})
        stamps = query.to_arrow_table()
        raw = stamps.column("ts_raw").combine_chunks().cast(pa.timestamp("us"))
        limit = pa.scalar(reference + timedelta(days=2), pa.timestamp("us"))
        back = pc.and_(
            pc.fill_null(stamps.column("bsd").combine_chunks(), False),
            pc.fill_null(pc.greater(raw, limit), False),
        )
        slow = pc.if_else(back, _minus_year(raw), raw)
        positions = np.flatnonzero(rest_mask.to_numpy(zero_copy_only=False))
        filled = ts.to_numpy(zero_copy_only=False).astype("datetime64[us]")
        filled[positions] = slow.to_numpy(zero_copy_only=False).astype("datetime64[us]")
        return pa.array(filled, pa.timestamp("us"))

    # -- JSON -------------------------------------------------------------------
    _JSON_SQL = """
        SELECT line_no,
            CASE WHEN j IS NULL THEN line
                 WHEN json_extract_string(j, '$.MESSAGE') IS NOT NULL THEN
                    coalesce(json_extract_string(j, '$.SYSLOG_IDENTIFIER')
                             || coalesce('[' || json_extract_string(j, '$._PID') || ']', '')
                             || ': ', '') || json_extract_string(j, '$.MESSAGE')
                 ELSE coalesce(json_extract_string(j, '$.message'), '') END AS line,
            coalesce(
                make_timestamp(try_cast(json_extract_string(j, '$.__REALTIME_TIMESTAMP') AS
                    BIGINT)),
                try_cast(try_cast(json_extract_string(j, '$."@timestamp"') AS TIMESTAMPTZ) AS
                    TIMESTAMP)
            ) AS ts_hint,
            lower(coalesce(json_extract_string(j, '$.event.outcome'),
                           json_extract_string(j, '$."event.outcome"'))) AS ecs_outcome,
            coalesce(json_extract_string(j, '$.source.ip'), json_extract_string(j, '$."source.ip"'),
                     json_extract_string(j, '$.client.ip'), json_extract_string(j,
                         '$."client.ip"')) AS ecs_ip,
            coalesce(json_extract_string(j, '$.user.name'), json_extract_string(j,
                '$."user.name"')) AS ecs_user,
            coalesce(json_extract_string(j, '$.service.type'), json_extract_string(j,
                '$."service.type"'),
                     json_extract_string(j, '$.service.name'), json_extract_string(j,
                         '$."service.name"'),
                     'ecs') AS ecs_service,
            coalesce(json_extract_string(j, '$.network.protocol'),
                     json_extract_string(j, '$."network.protocol"'), '') AS ecs_protocol,
            coalesce(json_extract_string(j, '$.event.reason'), json_extract_string(j,
                '$."event.reason"'),
                     'auth_failed') AS ecs_reason
        FROM (SELECT line_no, line, try_cast(line AS JSON) AS j FROM raw)
    """

    def parse_block(self, block: Block, *, json_layout: bool, reference: datetime) -> pa.Table:
        """Parse one block; return events (``EVENT_SCHEMA`` minus subnet/file_id)."""
        n = len(block.lines)
        line_no = pa.array(np.arange(block.first_line, block.first_line + n, dtype=np.int64))
        ts_hint = block.ts if block.ts is not None else pa.nulls(n, pa.timestamp("us"))
        con = self._cursor()
        if json_layout or self.force_json:
            raw = pa.table({"line_no": line_no, "line": block.lines})  # noqa: F841 - DuckDB scans it
            unpacked = con.sql(self._JSON_SQL).to_arrow_table()  # noqa: F841 - DuckDB scans it
            ecs = con.sql(
                """
                SELECT ts_hint AS ts, ecs_service AS service, ecs_protocol AS protocol,
                       ecs_user AS "user", ecs_ip AS src_ip, ecs_outcome AS outcome,
                       CASE WHEN ecs_outcome = 'success' THEN 'ok' ELSE ecs_reason END AS reason,
                       1 AS attempts, line_no
                FROM unpacked
                WHERE ecs_outcome IN ('success', 'failure') AND (ecs_ip IS NOT NULL OR ecs_user
                    IS NOT NULL)
                  AND ts_hint IS NOT NULL
                """
            ).to_arrow_table()
            src = con.sql(
                "SELECT line_no, line, ts_hint FROM unpacked "
                "WHERE ecs_outcome IS NULL OR ecs_outcome NOT IN ('success', 'failure')"
            ).to_arrow_table()
            rest = self._run_rules(src, reference)
            return pa.concat_tables([_conform(ecs), _conform(rest)])
        src = pa.table({"line_no": line_no, "line": block.lines, "ts_hint": ts_hint})
        return _conform(self._run_rules(src, reference))

    def parse_file(
        self,
        path: Path,
        file_id: int = 0,
        *,
        now: datetime | None = None,
        block_bytes: int = BLOCK_BYTES,
    ) -> tuple[pa.Table, FileStats]:
        """Parse a whole file, ``block_bytes`` of lines at a time (blocks run in parallel).

        Never raises for bad content: binary, truncated or unreadable files are reported
        in :attr:`FileStats.error`, unmatched lines are counted.

        Raises:
            credwatch.errors.InputError: when the file does not exist.
        """
        reader = FileReader(path, block_bytes=block_bytes)
        reference = reader.mtime
        if now is not None and now < reference:
            reference = now
        tables: list[pa.Table] = []
        lines = 0

        seen = 0  # lines of the chunks collected so far, to number the next chunk's

        def work(chunk: Chunk, json_layout: bool) -> tuple[pa.Table, int, int]:
            block = chunk.split()
            nonempty = pc.sum(pc.greater(pc.binary_length(block.lines), 0)).as_py() or 0
            table = self.parse_block(block, json_layout=json_layout, reference=reference)
            return table, len(block.lines), nonempty

        def collect(future: Future[tuple[pa.Table, int, int]]) -> None:
            nonlocal lines, seen
            table, count, nonempty = future.result()
            at = table.schema.get_field_index("line_no")
            tables.append(table.set_column(at, "line_no", pc.add(table.column(at), seen)))
            seen += count
            lines += nonempty

        # Chunks are split and parsed in parallel (Arrow and DuckDB release the GIL), in
        # order, with at most one chunk per worker waiting: memory stays bounded.
        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            pending: deque[Future[tuple[pa.Table, int, int]]] = deque()
            for chunk in reader.chunks():
                pending.append(pool.submit(work, chunk, reader.layout == "json"))
                while len(pending) > self._workers:
                    collect(pending.popleft())
            for future in pending:
                collect(future)
        events = finalize(tables, file_id)
        parsed = events.num_rows
        layout = "json" if self.force_json and reader.layout == "text" else reader.layout
        return events, FileStats(
            path=str(path),
            lines=lines,
            parsed=parsed,
            unparsed=max(lines - parsed, 0),
            compression=reader.compression,
            layout=layout,
            error=reader.error,
        )

    def parse_lines(
        self, lines: Sequence[str], *, reference: datetime | None = None, file_id: int = 0
    ) -> pa.Table:
        """Parse in-memory lines (``--follow`` feeds new lines through here)."""
        ref = reference or datetime.now(UTC).replace(tzinfo=None)
        block = Block(first_line=1, lines=pa.array(list(lines), pa.string()))
        json_layout = bool(lines) and lines[0].lstrip().startswith("{")
        return finalize([self.parse_block(block, json_layout=json_layout, reference=ref)], file_id)


def _minus_year(ts: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Subtract one calendar year (RFC 3164 rollover); 29 February becomes 28."""
    values = ts.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    years = values.astype("datetime64[Y]")
    offset = values - years
    prev = years - np.timedelta64(1, "Y")
    shifted = prev + offset
    # Days past the end of a shorter year (29 February) fall back to 28 February.
    too_far = shifted >= years
    shifted[too_far] = shifted[too_far] - np.timedelta64(1, "D")
    return pa.array(shifted, pa.timestamp("us"))


def _to_int(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Strings of digits to int32 (NULL for anything else)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    digits = pc.fill_null(pc.match_substring_regex(arr, r"^[0-9]{1,6}$"), False)
    return pc.cast(pc.if_else(digits, arr, pa.scalar(None, pa.string())), pa.int32())


def _empty_events() -> pa.Table:
    return EVENT_SCHEMA.empty_table().drop_columns(["subnet", "file_id"])


def _conform(table: pa.Table) -> pa.Table:
    names = [
        "ts",
        "service",
        "protocol",
        "user",
        "src_ip",
        "outcome",
        "reason",
        "attempts",
        "line_no",
    ]
    arrays = [table.column(n).cast(EVENT_SCHEMA.field(n).type) for n in names]
    return pa.table(arrays, names=names)


def finalize(tables: list[pa.Table], file_id: int) -> pa.Table:
    """Concatenate parsed blocks, drop events without a time, normalise IPs, add subnets."""
    table = pa.concat_tables(tables) if tables else _empty_events()
    if table.column("ts").null_count:
        table = table.filter(pc.is_valid(table.column("ts")))
    ips, subnets = normalize_ips(table.column("src_ip"))
    table = table.set_column(table.schema.get_field_index("src_ip"), "src_ip", ips)
    table = table.append_column("subnet", subnets)
    table = table.append_column("file_id", pa.array(np.full(table.num_rows, file_id, np.int32)))
    return table.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])"
_V4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"


def normalize_ips(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """Validate addresses and compute their /24 (IPv4) or /64 (IPv6) subnet.

    Works on the distinct values only (a log repeats its addresses): IPv4 is checked
    vectorised, IPv6 through :mod:`ipaddress` (IPv4-mapped addresses become IPv4).
    Invalid values become NULL.
    """
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if len(arr) == 0:
        return pa.array([], pa.string()), pa.array([], pa.string())
    encoded = pc.dictionary_encode(arr)
    values, indices = encoded.dictionary, encoded.indices
    ips, nets = _normalize_distinct(values)
    return ips.take(indices), nets.take(indices)


def _normalize_distinct(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    is_v4 = pc.fill_null(pc.match_substring_regex(values, _V4), False)
    v4 = pc.if_else(is_v4, values, pa.scalar(None, pa.string()))
    v4_subnet = pc.binary_join_element_wise(
        pc.replace_substring_regex(v4, r"\.[0-9]+$", ""), ".0/24", ""
    )
    maybe_v6 = pc.and_(pc.invert(is_v4), pc.fill_null(pc.match_substring(values, ":"), False))
    if not pc.any(maybe_v6).as_py():
        return v4, v4_subnet
    fixed_ip: list[str | None] = []
    fixed_net: list[str | None] = []
    for text in values.filter(maybe_v6).to_pylist():
        ip, net = _normalize_v6(text)
        fixed_ip.append(ip)
        fixed_net.append(net)
    ips = pc.replace_with_mask(v4, maybe_v6, pa.array(fixed_ip, pa.string()))
    nets = pc.replace_with_mask(v4_subnet, maybe_v6, pa.array(fixed_net, pa.string()))
    return ips, nets


_ZERO12 = bytes(12)
_MAPPED = bytes(10) + b"\xff\xff"


def _normalize_v6(text: str) -> tuple[str | None, str | None]:
    """Canonical text and subnet of one IPv6 address (``None`` when invalid).

    The C resolver functions do the common case; addresses whose first 96 bits are zero
    (which the resolver prints in dotted form) and scoped ones go through
    :mod:`ipaddress`, so the result is always what :mod:`ipaddress` prints.
    """
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        packed = b""
    if packed.startswith(_MAPPED):
        v4 = packed[12:]
        return socket.inet_ntop(socket.AF_INET, v4), (
            f"{socket.inet_ntop(socket.AF_INET, v4[:3] + bytes(1))}/24"
        )
    if packed and not packed.startswith(_ZERO12):
        net = socket.inet_ntop(socket.AF_INET6, packed[:8] + bytes(8))
        return socket.inet_ntop(socket.AF_INET6, packed), f"{net}/64"
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None, None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        mapped = addr.ipv4_mapped
        return str(mapped), f"{ipaddress.IPv4Address(int(mapped) >> 8 << 8)}/24"
    return str(addr), f"{ipaddress.IPv6Address(int(addr) >> 64 << 64)}/64"
