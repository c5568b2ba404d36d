"""Line formats: detection from a sample, and the splitters that cut lines into fields.

Every splitter turns a block of lines into the same relation
``(n BIGINT, address VARCHAR, password VARCHAR, reason VARCHAR)``: ``reason`` is
NULL for a line that yielded an address and a password (still to be validated), or
the rejection reason.  Delimited formats and JSON Lines are split inside DuckDB;
CSV/TSV (quoting rules) in Python, which is not the hot path.

Splitting rule for delimited lines: the address runs up to the first separator
*after* the first ``@``, so passwords may contain the separator.  A line whose first
separator comes before any ``@`` is ``user:pass`` and gets ``--default-domain``.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass

import pyarrow as pa

from credwatch.leaks.interface import LeakFormat, RejectReason

__all__ = [
    "ADDRESS_HEADERS",
    "PASSWORD_HEADERS",
    "CsvLayout",
    "FormatChoice",
    "delimited_split_sql",
    "detect_format",
    "jsonl_split_sql",
    "split_csv",
]

#: Header names (lowercase) taken as the address column of CSV/TSV and keys of JSON Lines.
ADDRESS_HEADERS = (
    "email",
    "e-mail",
    "mail",
    "email_address",
    "address",
    "login",
    "username",
    "user",
    "account",
)
#: Header names (lowercase) taken as the password column / key.
PASSWORD_HEADERS = ("password", "pass", "passwd", "pwd", "pw")
_CANDIDATE_SEPARATORS = (":", ";", "\t", "|", ",")


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """Where the fields are in a CSV/TSV file.

    Attributes:
        delimiter: ``,`` or a tab.
        has_header: the first line names the columns.
        address_column: index of the address field.
        password_column: index of the password field.
    """

    delimiter: str
    has_header: bool
    address_column: int = 0
    password_column: int = 1


@dataclass(frozen=True, slots=True)
class FormatChoice:
    """The format used for one file, plus the CSV layout when it is CSV/TSV."""

    format: LeakFormat
    csv: CsvLayout | None = None


def _header_layout(first: str, delimiter: str) -> CsvLayout | None:
    if "@" in first:
        return None
    names = [f.strip().strip('"').lower() for f in next(csv.reader([first], delimiter=delimiter))]
    address = next((names.index(h) for h in ADDRESS_HEADERS if h in names), None)
    password = next((names.index(h) for h in PASSWORD_HEADERS if h in names), None)
    if address is None or password is None:
        return None
    return CsvLayout(delimiter, True, address, password)


def _csv_layout(sample: list[str], delimiter: str) -> CsvLayout:
    if sample:
        layout = _header_layout(sample[0], delimiter)
        if layout is not None:
            return layout
    return CsvLayout(delimiter, has_header=False)


def detect_format(sample: list[str], requested: LeakFormat = LeakFormat.AUTO) -> FormatChoice:
    """Choose the format of a file from its first lines (or take the requested one).

    Auto-detection: mostly ``{``-lines are JSON Lines; a first line naming an address
    and a password column is a CSV/TSV header; otherwise the separator found first
    after the ``@`` on most lines wins (``,`` meaning CSV without header).

    Example:
        >>> detect_format(["taro@nifty.com;pa:ss", "hanako@cpi.ad.jp;x"]).format
        <LeakFormat.SEMICOLON: 'semicolon'>
    """
    if requested is LeakFormat.CSV:
        return FormatChoice(LeakFormat.CSV, _csv_layout(sample, ","))
    if requested is LeakFormat.TSV:
        return FormatChoice(LeakFormat.TSV, _csv_layout(sample, "\t"))
    if requested is not LeakFormat.AUTO:
        return FormatChoice(requested)
    lines = [s for s in sample if s.strip()]
    if not lines:
        return FormatChoice(LeakFormat.COLON)
    if sum(s.lstrip().startswith("{") for s in lines) >= 0.6 * len(lines):
        return FormatChoice(LeakFormat.JSONL)
    for delimiter, fmt in ((",", LeakFormat.CSV), ("\t", LeakFormat.TSV)):
        if delimiter in lines[0]:
            layout = _header_layout(lines[0], delimiter)
            if layout is not None:
                return FormatChoice(fmt, layout)
    votes: Counter[str] = Counter()
    for line in lines:
        at = line.find("@")
        rest = line[at + 1 :] if at >= 0 else line
        positions = [(rest.find(s), s) for s in _CANDIDATE_SEPARATORS if s in rest]
        if positions:
            votes[min(positions)[1]] += 1
    if not votes:
        return FormatChoice(LeakFormat.COLON)
    best = votes.most_common(1)[0][0]
    if best == ",":
        return FormatChoice(LeakFormat.CSV, CsvLayout(",", has_header=False))
    by_sep = {":": LeakFormat.COLON, ";": LeakFormat.SEMICOLON, "\t": LeakFormat.TAB}
    return FormatChoice(by_sep.get(best, LeakFormat.PIPE))


def delimited_split_sql(table: str, sep_param: str, domain_param: str) -> str:
    """DuckDB query splitting ``table(n, line)`` at a one-character separator."""
    blank = RejectReason.BLANK.value
    no_sep = RejectReason.NO_SEPARATOR.value
    return f"""
    WITH p AS (
        SELECT n, line, strpos(line, '@') AS at_pos, strpos(line, {sep_param}) AS first_sep
        FROM {table} WHERE line IS NOT NULL
    ), q AS (
        SELECT n, line,
            CASE WHEN at_pos > 0 AND first_sep > at_pos THEN first_sep  -- the common case
                 WHEN at_pos > 0 AND NOT (first_sep > 0 AND {domain_param} IS NOT NULL)
                 THEN CASE WHEN strpos(substr(line, at_pos + 1), {sep_param}) > 0
                           THEN at_pos + strpos(substr(line, at_pos + 1), {sep_param})
                           ELSE 0 END
                 ELSE first_sep END AS cut
        FROM p
    )
    SELECT n,
        CASE WHEN cut > 0 THEN left(line, cut - 1) END AS address,
        CASE WHEN cut > 0 THEN substr(line, cut + 1) END AS password,
        CASE WHEN trim(line) = '' THEN '{blank}'
             WHEN cut = 0 THEN '{no_sep}' END AS reason
    FROM q
    """


def jsonl_split_sql(table: str) -> str:
    """DuckDB query taking address and password keys from JSON objects, one per line."""
    address = ", ".join(f"json_extract_string(doc, '$.\"{k}\"')" for k in ADDRESS_HEADERS)
    password = ", ".join(f"json_extract_string(doc, '$.\"{k}\"')" for k in PASSWORD_HEADERS)
    return f"""
    WITH v AS (
        SELECT n, line, trim(line) = '' AS is_blank,
            CASE WHEN json_valid(line) THEN line END AS valid
        FROM {table} WHERE line IS NOT NULL
    ), w AS (
        SELECT n, is_blank,
            CASE WHEN json_type(valid) = 'OBJECT' THEN valid END AS doc
        FROM v
    )
    SELECT n,
        {_coalesce(address)} AS address,
        {_coalesce(password)} AS password,
        CASE WHEN is_blank THEN '{RejectReason.BLANK.value}'
             WHEN doc IS NULL THEN '{RejectReason.MALFORMED_RECORD.value}' END AS reason
    FROM w
    """


def _coalesce(items: str) -> str:
    return f"coalesce({items})"


def split_csv(lines: pa.Array, first_line: int, layout: CsvLayout) -> pa.Table:
    """Split CSV/TSV lines in Python (quoting rules); null lines are left out.

    The header line (line 1 when ``layout.has_header``) gets the reason ``header``,
    which the ingest does not count as a line.
    """
    ns: list[int] = []
    addresses: list[str | None] = []
    passwords: list[str | None] = []
    reasons: list[str | None] = []
    need = max(layout.address_column, layout.password_column) + 1
    for i, line in enumerate(lines.to_pylist()):
        if line is None:
            continue
        n = first_line + i
        ns.append(n)
        address = password = reason = None
        if layout.has_header and n == 1:
            reason = "header"
        elif not line.strip():
            reason = RejectReason.BLANK.value
        else:
            try:
                fields = next(csv.reader([line], delimiter=layout.delimiter, strict=True))
            except csv.Error:
                fields = []
            if len(fields) < need:
                reason = (
                    RejectReason.NO_SEPARATOR.value
                    if layout.delimiter not in line
                    else RejectReason.MALFORMED_RECORD.value
                )
            else:
                address = fields[layout.address_column]
                password = fields[layout.password_column]
        addresses.append(address)
        passwords.append(password)
        reasons.append(reason)
    return pa.table(
        {
            "n": pa.array(ns, pa.int64()),
            "address": pa.array(addresses, pa.string()),
            "password": pa.array(passwords, pa.string()),
            "reason": pa.array(reasons, pa.string()),
        }
    )
