"""The general path of the ingest: DuckDB splits and normalises any line, any format.

Lines that are not plain ``address:password`` (see :mod:`credwatch.index.keying`),
and every CSV/TSV/JSON Lines file, go through the SQL splitters of
:mod:`credwatch.leaks.formats` and :meth:`Normalizer.sql` on an **in-memory** DuckDB
connection that cannot spill to disk; the (rare) non-ASCII addresses through
:meth:`Normalizer.normalize`.  Rejected lines are counted by reason with a sample of
their numbers.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.index.blocks import SAMPLE_PER_REASON, Tally
from credwatch.leaks.formats import (
    FormatChoice,
    delimited_split_sql,
    jsonl_split_sql,
    split_csv,
)
from credwatch.leaks.interface import LeakFormat, RejectReason
from credwatch.normalize import Normalizer

__all__ = ["GeneralSplitter", "unregister"]

_HEADER = "header"


class GeneralSplitter:
    """Splits and normalises lines in DuckDB (every format, every case).

    Attributes:
        mem: the in-memory (plaintext) DuckDB connection.
        normalizer: the workspace's address normaliser.
        default_domain: appended to ``user:pass`` lines, or ``None``.
    """

    def __init__(
        self, mem: duckdb.DuckDBPyConnection, normalizer: Normalizer, default_domain: str | None
    ) -> None:
        self.mem = mem
        self.normalizer = normalizer
        self.default_domain = default_domain
        self._cursors = threading.local()

    def split(
        self,
        lines: pa.Array,
        positions: npt.NDArray[np.int64],
        first_line: int,
        choice: FormatChoice,
        tally: Tally,
    ) -> pl.DataFrame:
        """Accepted ``(norm, password)`` rows of ``lines``; rejections go to ``tally``.

        ``positions`` are the lines' offsets in the block that starts at line
        ``first_line`` (for their line numbers).  Safe to call from several threads:
        each has its own cursor on the in-memory database.
        """
        mem = self._cursor()
        numbers = pa.array(positions.astype(np.int64) + first_line, pa.int64())
        params: dict[str, Any] = {"dom": self.default_domain}
        if choice.format in (LeakFormat.CSV, LeakFormat.TSV):
            assert choice.csv is not None
            split = split_csv(lines, first_line, choice.csv)
            headers = split.filter(pc.equal(split["reason"], _HEADER)).num_rows
            tally.lines -= headers
            mem.register("cw_in", split)
            subset: str | None = "cw_in"

            def split_sql(table: str) -> str:
                return f"SELECT * FROM {table} WHERE reason IS DISTINCT FROM '{_HEADER}'"
        else:
            if choice.format is LeakFormat.JSONL:

                def split_sql(table: str) -> str:
                    return jsonl_split_sql(table)
            else:
                params["sep"] = choice.format.separator

                def split_sql(table: str) -> str:
                    return delimited_split_sql(table, "$sep", "$dom")

            block = pa.table({"n": numbers, "line": lines.cast(pa.string())})
            mem.register("cw_in", block)
            # Only lines with non-ASCII text can hold an address the SQL twin cannot
            # normalise; they are few, so split them separately first.
            non_ascii = pc.fill_null(pc.invert(pc.string_is_ascii(block["line"])), False)
            subset = None
            if pc.any(non_ascii).as_py():
                mem.register("cw_na", block.filter(non_ascii))
                subset = "cw_na"

        def parsed_sql(table: str) -> str:
            return f"""SELECT n, reason, password,
                CASE WHEN reason IS NULL AND $dom IS NOT NULL AND strpos(address, '@') = 0
                     THEN trim(address) || '@' || $dom ELSE address END AS address
            FROM ({split_sql(table)})"""

        fix_join, fix_value = (
            self._non_ascii_fixes(mem, parsed_sql(subset), params) if subset else ("", "NULL")
        )
        norm_sql = self.normalizer.sql("p.address")
        mem.execute(
            f"""CREATE OR REPLACE TEMP TABLE cw_parsed AS
            WITH p AS ({parsed_sql("cw_in")}), a AS (
                SELECT p.n, p.password, p.reason,
                    CASE WHEN p.reason IS NOT NULL THEN NULL
                         WHEN strlen(p.address) = length(p.address) THEN {norm_sql}
                         ELSE {fix_value} END AS norm
                FROM p {fix_join}
            )
            SELECT n, password, norm,
                coalesce(reason,
                    CASE WHEN norm IS NULL THEN '{RejectReason.INVALID_ADDRESS.value}'
                         WHEN password IS NULL OR password = ''
                         THEN '{RejectReason.EMPTY_PASSWORD.value}' END) AS reason
            FROM a""",
            params,
        )
        try:
            for reason, count, sample in mem.execute(
                "SELECT reason, count(*), "
                f"list_slice(list(n ORDER BY n), 1, {SAMPLE_PER_REASON}) "
                "FROM cw_parsed WHERE reason IS NOT NULL GROUP BY reason"
            ).fetchall():
                tally.reject(str(reason), int(count), [int(x) for x in sample])
            accepted = mem.sql(
                "SELECT norm, password FROM cw_parsed WHERE reason IS NULL"
            ).to_arrow_table()
        finally:
            unregister(mem, "cw_in", "cw_na", "cw_fix")
            mem.execute("DROP TABLE IF EXISTS cw_parsed")
        frame = pl.from_arrow(accepted)
        assert isinstance(frame, pl.DataFrame)
        return frame.cast({"norm": pl.String, "password": pl.String})

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the in-memory (plaintext) database."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._cursors, "mem", None)
        if cursor is None:
            cursor = self.mem.cursor()
            self._cursors.mem = cursor
        return cursor

    def _non_ascii_fixes(
        self, mem: duckdb.DuckDBPyConnection, parsed_sql: str, params: dict[str, Any]
    ) -> tuple[str, str]:
        """Normalise the (rare) non-ASCII addresses in Python; return SQL join pieces."""
        raw = mem.sql(
            f"SELECT DISTINCT address FROM ({parsed_sql}) "
            "WHERE reason IS NULL AND strlen(address) <> length(address)",
            params=params,
        ).to_arrow_table()
        if raw.num_rows == 0:
            return "", "NULL"
        values = raw.column(0).to_pylist()
        fixes = pa.table(
            {
                "raw": pa.array(values, pa.string()),
                "norm": pa.array([self.normalizer.try_normalize(v) for v in values], pa.string()),
            }
        )
        mem.register("cw_fix", fixes)
        return "LEFT JOIN cw_fix f ON p.address = f.raw", "f.norm"


def unregister(conn: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop the connection's references to registered Arrow data, where there are any."""
    registered = {
        str(r[0]) for r in conn.execute("SELECT view_name FROM duckdb_views()").fetchall()
    }
    for name in names:
        if name in registered:
            conn.unregister(name)
