"""Timestamps of log lines, as one DuckDB expression over the ``line`` column.

Recognised prefixes: RFC 3164 syslog (``Jun 24 10:00:00``, with or without ``<PRI>``),
RFC 5424 (``<PRI>1 2026-06-24T10:00:00.123+09:00``), ISO 8601 (``2026-06-24 10:00:00``,
optional fraction and offset), nginx (``2026/06/24 10:00:00``), Apache
(``[Wed Jun 24 10:00:00.123 2026]``), Roundcube (``[24-Jun-2026 10:00:00 +0900]``) and
daemontools TAI64N (``@4000000067...``).  Times with an offset are converted to UTC;
times without one are taken as UTC.

RFC 3164 carries no year.  It is inferred from a reference time (the file's mtime, or
now): the year of the reference, minus one when that puts the line more than two days
after the reference.  So a file written in early January keeps its December lines in
the previous year (the December to January rollover).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["BSD_PREFIX", "bsd_fast", "infer_year", "rollover_sql", "timestamp_sql"]

#: Length of the ``Mmm dd HH:MM:SS`` prefix :func:`bsd_fast` reads.
BSD_PREFIX = 15

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"


def _q(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def timestamp_sql(line: str = "line", ref_year: str = "$ref_year") -> tuple[str, str]:
    """DuckDB expressions for the line's UTC ``TIMESTAMP`` (NULL when none is found).

    Returns ``(raw, is_bsd)``: ``raw`` parses the timestamp (RFC 3164 lines get the
    reference year), ``is_bsd`` tells whether the line was RFC 3164; apply
    :func:`rollover_sql` to both to get the final time.  Split in two so the costly
    parse runs once per line.

    Args:
        line: the column holding the line.
        ref_year: SQL for the reference year (an integer), for RFC 3164.
    """
    bsd_re = "^(?:<[0-9]{1,3}>)?(" + _MON + r" +[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2})"
    bsd = (
        f"try_strptime({ref_year}::VARCHAR || ' ' || regexp_extract({line}, {_q(bsd_re)}, 1), "
        f"'%Y %b %d %H:%M:%S')"
    )
    iso_re = (
        r"^(?:<[0-9]{1,3}>1 )?([0-9]{4}-[0-9]{2}-[0-9]{2})[T "
        r"]([0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)"
        r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
    )
    iso_m = f"regexp_extract({line}, {_q(iso_re)}, ['d', 't', 'z'])"
    iso = (
        f"CASE WHEN {iso_m}.d = '' THEN NULL "
        f"WHEN {iso_m}.z = '' THEN try_cast({iso_m}.d || ' ' || {iso_m}.t AS TIMESTAMP) "
        f"ELSE try_cast(try_cast({iso_m}.d || ' ' || {iso_m}.t || replace({iso_m}.z, 'Z', "
        f"'+00:00') "
        "AS TIMESTAMPTZ) AS TIMESTAMP) END"
    )
    nginx = f"try_strptime(substr({line}, 1, 19), '%Y/%m/%d %H:%M:%S')"
    apache_re = (
        r"^\[(?:[A-Z][a-z]{2} )?("
        + _MON
        + r" [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.[0-9]+)? ([0-9]{4})\]"
    )
    ap_m = f"regexp_extract({line}, {_q(apache_re)}, ['t', 'y'])"
    apache = f"try_strptime({ap_m}.y || ' ' || {ap_m}.t, '%Y %b %d %H:%M:%S')"
    rc_re = r"^\[([0-9]{2}-" + _MON + r"-[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2})(?: ([+-][0-9]{4}))?\]"
    rc_m = f"regexp_extract({line}, {_q(rc_re)}, ['t', 'z'])"
    roundcube = (
        f"CASE WHEN {rc_m}.t = '' THEN NULL WHEN {rc_m}.z = '' THEN try_strptime({rc_m}.t, "
        f"'%d-%b-%Y %H:%M:%S') "
        f"ELSE try_cast(try_strptime({rc_m}.t || ' ' || {rc_m}.z, '%d-%b-%Y %H:%M:%S %z') AS "
        f"TIMESTAMP) END"
    )
    tai = (
        f"CASE WHEN regexp_matches({line}, '^@4000000[0-9a-f]{{9}}') THEN "
        f"make_timestamp(('0x' || substr({line}, 9, 9))::BIGINT * 1000000) END"
    )
    first = f"substr({line}, 1, 1)"
    raw = (
        f"CASE WHEN {first} BETWEEN 'A' AND 'Z' THEN {bsd} "
        f"WHEN {first} BETWEEN '0' AND '9' THEN coalesce({iso}, {nginx}) "
        f"WHEN {first} = '<' THEN coalesce({iso}, {bsd}) "
        f"WHEN {first} = '[' THEN coalesce({apache}, {roundcube}) "
        f"WHEN {first} = '@' THEN {tai} END"
    )
    is_bsd = (
        f"({first} BETWEEN 'A' AND 'Z' OR ({first} = '<' AND NOT regexp_matches({line}, "
        f"'^<[0-9]{{1,3}}>1 ')))"
    )
    return raw, is_bsd


def rollover_sql(raw: str, is_bsd: str, ref: str = "$ref") -> str:
    """Final timestamp: RFC 3164 times more than two days after ``ref`` go back a year."""
    return (
        f"CASE WHEN {is_bsd} AND {raw} > {ref} + INTERVAL 2 DAY THEN {raw} - INTERVAL 1 YEAR "
        f"ELSE {raw} END"
    )


def infer_year(month: int, day: int, reference: datetime) -> int:
    """The year of an RFC 3164 ``month day`` seen in a file written at ``reference``.

    Same rule as :func:`timestamp_sql` (used by the online path and in tests).

    Example:
        >>> infer_year(12, 31, datetime(2027, 1, 2))
        2026
    """
    year = reference.year
    try:
        candidate = reference.replace(year=year, month=month, day=day)
    except ValueError:  # 29 February in a common year: it must be a leap year before
        return year - 1
    return year - 1 if (candidate - reference).days >= 2 else year


_MONTH_KEYS = np.array(
    [
        int.from_bytes(m.encode(), "big")
        for m in (
            "Jan",
            "Feb",
            "Mar",
            "Apr",
            "May",
            "Jun",
            "Jul",
            "Aug",
            "Sep",
            "Oct",
            "Nov",
            "Dec",
        )
    ]
)
_MONTH_ORDER = np.argsort(_MONTH_KEYS)
_DIGIT_COLS = [5, 7, 8, 10, 11, 13, 14]


def bsd_fast(lines: pa.Array, reference: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised RFC 3164 times for lines starting with ``Mmm dd HH:MM:SS``.

    Returns ``(ok, micros)``: which lines had that exact prefix, and their time in
    epoch microseconds (UTC) with the year inferred as in :func:`timestamp_sql`.  Lines
    that do not fit (other formats, ``<PRI>``, a one-digit day without padding) are left
    for the SQL path.
    """
    n = len(lines)
    ok = np.zeros(n, dtype=bool)
    micros = np.zeros(n, dtype=np.int64)
    if n == 0:
        return ok, micros
    head = pc.binary_slice(lines.cast(pa.binary()), 0, BSD_PREFIX)
    full = pc.equal(pc.binary_length(head), BSD_PREFIX).to_numpy(zero_copy_only=False)
    if not full.any():
        return ok, micros
    sel = head.filter(pa.array(full))
    offsets = np.frombuffer(sel.buffers()[1], dtype=np.int32)[
        sel.offset : sel.offset + len(sel) + 1
    ]
    start = int(offsets[0])
    end = start + BSD_PREFIX * len(sel)
    raw = np.frombuffer(sel.buffers()[2], dtype=np.uint8)[start:end].reshape(len(sel), BSD_PREFIX)
    key = (raw[:, 0].astype(np.int64) << 16) | (raw[:, 1].astype(np.int64) << 8) | raw[:, 2]
    pos = np.searchsorted(_MONTH_KEYS[_MONTH_ORDER], key)
    pos = np.clip(pos, 0, 11)
    month = _MONTH_ORDER[pos]
    good = _MONTH_KEYS[month] == key
    good &= (raw[:, 3] == 32) & (raw[:, 6] == 32) & (raw[:, 9] == 58) & (raw[:, 12] == 58)
    digits = raw[:, _DIGIT_COLS].astype(np.int64) - 48
    good &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    d_tens = np.where(raw[:, 4] == 32, 0, raw[:, 4].astype(np.int64) - 48)
    good &= (d_tens >= 0) & (d_tens <= 3)
    day = d_tens * 10 + digits[:, 0]
    hour = digits[:, 1] * 10 + digits[:, 2]
    minute = digits[:, 3] * 10 + digits[:, 4]
    second = digits[:, 5] * 10 + digits[:, 6]
    good &= (day >= 1) & (day <= 31) & (hour < 24) & (minute < 60) & (second < 61)
    year = reference.year
    months = np.datetime64(f"{year}-01", "M") + month.astype("timedelta64[M]")
    stamp = months.astype("datetime64[D]").astype("datetime64[us]") + (
        (day - 1) * 86400 + hour * 3600 + minute * 60 + second
    ).astype("timedelta64[s]")
    limit = np.datetime64(reference.replace(tzinfo=None), "us") + np.timedelta64(2, "D")
    late = stamp > limit
    if late.any():
        prev = np.datetime64(f"{year - 1}-01", "M") + month[late].astype("timedelta64[M]")
        stamp[late] = prev.astype("datetime64[D]").astype("datetime64[us]") + (
            (day[late] - 1) * 86400 + hour[late] * 3600 + minute[late] * 60 + second[late]
        ).astype("timedelta64[s]")
    idx = np.flatnonzero(full)
    ok[idx] = good
    micros[idx] = stamp.astype(np.int64)
    return ok, micros
