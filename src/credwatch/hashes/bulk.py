"""Verify many (stored hash, password, user) rows: unsalted digests in bulk, slow
schemes in batches on an executor.

Rows whose scheme is an unsalted digest (``PLAIN``/``CLEAR``, ``PLAIN-MD5``,
``LDAP-MD5``, ``SHA*``, ``PLAIN-MD4``, ``NTLM``, bare hex) skip per-row recognition and
dispatch: they are grouped by scheme and each group is digested in one tight hashlib
loop.  Slow (iterated) schemes go to an :class:`~credwatch.execute.Executor` in
batches (checkpointed if asked); everything else is verified in this process.

The result is an Arrow table aligned with the input rows: ``outcome`` (one of
:data:`~credwatch.hashes.interface.OUTCOMES`), ``scheme`` and ``reason`` (null unless
unsupported/malformed).  It never contains a password or a hash.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence

import pyarrow as pa

from credwatch.errors import InputError
from credwatch.execute.checkpoint import Checkpoint
from credwatch.execute.interface import Batch, Executor, ProgressCallback
from credwatch.execute.runner import run_batches
from credwatch.hashes._codec import DecodeError, decode, equal
from credwatch.hashes.core import encode_password, identify, verify
from credwatch.hashes.digest import UNSALTED
from credwatch.hashes.interface import VerifyResult

__all__ = ["RESULT_SCHEMA", "Row", "verify_many", "verify_rows"]

RESULT_SCHEMA = pa.schema(
    [("outcome", pa.string()), ("scheme", pa.string()), ("reason", pa.string())]
)
"""Columns of :func:`verify_many` and :func:`verify_rows` results (no secrets)."""

Row = tuple[str | bytes | None, str | bytes | None, str | None]
"""(stored hash, candidate password, user name or None)."""

_PREFIX = re.compile(r"\{([A-Za-z0-9-]{1,20})\}")
_BARE_HEX = {32: "PLAIN-MD5", 40: "SHA1", 64: "SHA256", 128: "SHA512"}
_BARE_LABEL = {32: "PLAIN-MD5", 40: "SHA1.HEX", 64: "SHA256.HEX", 128: "SHA512.HEX"}
_HEXCHARS = frozenset("0123456789abcdefABCDEF")
_PLAIN = frozenset({"PLAIN", "CLEAR", "CLEARTEXT"})


def _result_row(result: VerifyResult) -> tuple[str, str, str | None]:
    return result.outcome, result.scheme, getattr(result, "reason", None)


def verify_rows(rows: Sequence[Row]) -> pa.Table:
    """Verify rows one by one in this process; the function executors run.

    Example:
        >>> verify_rows([("{PLAIN}x", "x", None)]).to_pylist()
        [{'outcome': 'matched', 'scheme': 'PLAIN', 'reason': None}]
    """
    out = [_result_row(verify(pw, stored, user=user)) for stored, pw, user in rows]
    return _table(out)


def _table(out: Sequence[tuple[str, str, str | None]]) -> pa.Table:
    outcomes, schemes, reasons = (
        (list(col) for col in zip(*out, strict=True)) if out else ([], [], [])
    )
    return pa.table([outcomes, schemes, reasons], schema=RESULT_SCHEMA)


_Key = tuple[str, str, str | None]  # (label, unsalted base scheme or PLAIN, forced encoding)


def _fast_group(stored: str | None) -> tuple[_Key, str] | None:
    """The bulk group and payload of a row that needs no per-row recognition."""
    if not stored:
        return None
    if stored[0] == "{":
        match = _PREFIX.match(stored)
        if match is None:
            return None
        name = match.group(1).upper()
        payload = stored[match.end() :]
        if name in _PLAIN:
            return (name, "PLAIN", None), payload
        if name in UNSALTED and not (name == "MD5" and payload.startswith("$1$")):
            return (name, name, None), payload
        return None
    n = len(stored)
    if n in _BARE_HEX and _HEXCHARS.issuperset(stored):
        return (_BARE_LABEL[n], _BARE_HEX[n], "hex"), stored
    return None


def _bulk(
    key: _Key,
    members: list[tuple[int, str, str | bytes | None]],
    results: list[tuple[str, str, str | None] | None],
) -> None:
    """Verify one group of same-scheme unsalted rows with list comprehensions.

    The common case (str passwords, hex digests of the right length) is digested and
    compared as hex text in bulk; other rows fall back to :func:`_one`.  Comparisons are
    not constant-time: this runs offline, with no party to time them.
    """
    label, base, forced = key
    matched, not_matched = ("matched", label, None), ("not_matched", label, None)
    idx = [m[0] for m in members]
    payloads = [m[1] for m in members]
    try:
        raw = [m[2].encode() for m in members]  # type: ignore[union-attr]
    except (AttributeError, UnicodeEncodeError):  # bytes or surrogates somewhere: row by row
        for i, payload, pw in members:
            results[i] = _one(key, payload, pw)
        return
    if base == "PLAIN":
        for i, payload, pw_raw in zip(idx, payloads, raw, strict=True):
            ok = pw_raw == payload.encode("utf-8", "surrogateescape")
            results[i] = matched if ok else not_matched
        return
    spec = UNSALTED[base]
    hex_len = spec.raw_len * 2
    ctor = getattr(hashlib, spec.algorithm, None)
    if ctor is not None:
        hexes = [ctor(r).hexdigest() for r in raw]
    else:
        hexes = [spec.digest(r).hex() for r in raw]
    lowered = [p.lower() for p in payloads]
    for i, h, p, payload, pw_raw in zip(idx, hexes, lowered, payloads, raw, strict=True):
        if h == p:
            results[i] = matched
        elif forced != "base64" and len(p) == hex_len and _HEXCHARS.issuperset(p):
            results[i] = not_matched
        else:
            results[i] = _one(key, payload, pw_raw)


def _one(key: _Key, payload: str, pw: str | bytes | None) -> tuple[str, str, str | None]:
    """One unsalted row the bulk path could not take (bytes, base64, malformed)."""
    label, base, forced = key
    raw_pw = encode_password(pw)
    if raw_pw is None:
        return ("unsupported", label, "the password cannot be encoded as UTF-8")
    if base == "PLAIN":
        ok = equal(raw_pw, payload.encode("utf-8", "surrogateescape"))
        return ("matched" if ok else "not_matched", label, None)
    spec = UNSALTED[base]
    try:
        stored = decode(payload, raw_len=spec.raw_len, default=spec.default_encoding, forced=forced)
    except DecodeError as exc:
        return ("malformed", label, str(exc))
    ok = equal(spec.digest(raw_pw), stored)
    return ("matched" if ok else "not_matched", label, None)


def _as_rows(pairs: pa.Table | Sequence[Row]) -> Sequence[Row]:
    if isinstance(pairs, pa.Table):
        missing = {"stored", "password"} - set(pairs.column_names)
        if missing:
            raise InputError(
                f"verify_many needs columns 'stored' and 'password' (missing {sorted(missing)})"
            )
        stored = pairs.column("stored").to_pylist()
        passwords = pairs.column("password").to_pylist()
        users = (
            pairs.column("user").to_pylist()
            if "user" in pairs.column_names
            else [None] * len(stored)
        )
        return list(zip(stored, passwords, users, strict=True))
    return pairs


def verify_many(
    pairs: pa.Table | Sequence[Row],
    *,
    executor: Executor | None = None,
    batch_size: int = 64,
    checkpoint: Checkpoint | None = None,
    progress: ProgressCallback | None = None,
    job: str = "verify",
) -> pa.Table:
    """Verify many candidate passwords against stored hashes.

    Args:
        pairs: an Arrow table with ``stored``, ``password`` and optional ``user``
            columns, or a sequence of ``(stored, password, user)`` tuples.
        executor: where slow schemes run; ``None`` verifies them in this process.
        batch_size: rows per executor batch (each batch is one task).
        checkpoint: finished slow batches are saved there and skipped on a resumed run;
            the batches are deterministic for the same input rows in the same order.
        progress: called after every slow batch.
        job: prefix of batch ids (letters, digits, ``-``).

    Returns:
        A table aligned with the input rows: ``outcome``, ``scheme``, ``reason``.

    Raises:
        InputError: a table without the needed columns.
        BatchFailedError: a slow batch failed in its worker.

    Example:
        >>> t = verify_many([("5f4dcc3b5aa765d61d8327deb882cf99", "password", None),
        ...                  ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "nope", None)])
        >>> t.column("outcome").to_pylist()
        ['matched', 'not_matched']
    """
    rows = _as_rows(pairs)
    results: list[tuple[str, str, str | None] | None] = [None] * len(rows)
    groups: dict[_Key, list[tuple[int, str, str | bytes | None]]] = defaultdict(list)
    slow: list[int] = []
    other: list[int] = []
    for i, (stored, pw, _user) in enumerate(rows):
        fast = _fast_group(stored) if isinstance(stored, str) and pw is not None else None
        if fast is not None:
            groups[fast[0]].append((i, fast[1], pw))
        elif identify(stored).slow:
            slow.append(i)
        else:
            other.append(i)
    for key, members in groups.items():
        _bulk(key, members, results)
    for i in other:
        stored, pw, user = rows[i]
        results[i] = _result_row(verify(pw, stored, user=user))
    if slow:
        batches = (
            Batch(
                f"{job}-{k:06d}",
                [rows[i] for i in slow[start : start + batch_size]],
                len(slow[start : start + batch_size]),
            )
            for k, start in enumerate(range(0, len(slow), batch_size))
        )
        if executor is None:
            for k, batch in enumerate(batches):
                _place(slow, k, batch_size, verify_rows(batch.items), results)
        else:
            for res in run_batches(
                executor,
                verify_rows,
                batches,
                checkpoint=checkpoint,
                progress=progress,
                total_items=len(slow),
            ):
                _place(slow, int(res.batch_id.rsplit("-", 1)[1]), batch_size, res.table, results)
    return _table(
        [r if r is not None else ("unsupported", "UNKNOWN", "not verified") for r in results]
    )


def _place(
    slow: list[int],
    k: int,
    batch_size: int,
    table: pa.Table,
    results: list[tuple[str, str, str | None] | None],
) -> None:
    """Copy batch ``k``'s results to the rows it came from."""
    cols = table.to_pydict()
    for j, i in enumerate(slow[k * batch_size : (k + 1) * batch_size]):
        results[i] = (cols["outcome"][j], cols["scheme"][j], cols["reason"][j])
