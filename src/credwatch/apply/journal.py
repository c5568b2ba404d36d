"""The hash-chained action journal, ``journal.jsonl`` in the workspace.

One JSON object per line.  Every line carries ``prev`` (the ``hash`` of the line before;
64 zeros for the first) and ``hash`` = SHA-256 of ``prev`` and the line's other keys in
canonical form, so removing, reordering or editing a line breaks the chain from there
on.  Lines are appended under an exclusive lock and fsynced batch by batch.

Record kinds (``event``):

* ``begin``: an apply of a plan starts (``plan``, ``store``, ``store_digest``);
* ``action``: one action on one account: ``plan``, ``store``, ``account`` (the plan's id:
  a store id, or a keyed id for stores whose ids are addresses), ``action`` and
  ``result`` (``applied``, ``already`` -- in effect before, nothing changed -- or
  ``not_found``); ``recovered: true`` when the store's own checkpoint proved an action
  done by an apply that crashed before journaling it;
* ``intent``: written before a passwd-file rewrite is renamed into place (digests of
  the file before and after, the (account, action) pairs it changes);
* ``end``: the apply finished (``store_digest`` after it);
* ``repair``: an incomplete last line (a process killed while appending) was cut off
  (``truncated_bytes``) before appending again.

Example:
    >>> verify_journal(Path("ws/journal.jsonl")).ok          # doctest: +SKIP
    True
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import orjson

from credwatch.errors import InputError

__all__ = [
    "GENESIS",
    "Journal",
    "JournalError",
    "JournalVerification",
    "PlanHistory",
    "plan_ended",
    "plan_history",
    "verify_journal",
]

GENESIS = "0" * 64


class JournalError(InputError):
    """The journal is unreadable or its chain is broken (exit 3)."""


def _line(body: dict[str, Any], prev: str) -> tuple[bytes, str]:
    """The line of ``body`` (which gets its ``prev``) and its hash."""
    body["prev"] = prev
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical).hexdigest()
    return canonical[:-1] + b',"hash":"' + digest.encode() + b'"}\n', digest


class Journal:
    """Append access to the journal, holding an exclusive lock while open.

    Example:
        >>> with Journal(ws.journal_path) as journal:             # doctest: +SKIP
        ...     journal.append([{"event": "begin", "plan": digest}])
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None
        self._last = GENESIS
        #: The file's size when the lock was taken.
        self.size = 0

    def __enter__(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        fh = os.fdopen(fd, "rb+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise InputError(
                f"{self.path} is locked by another credwatch apply",
                hint="wait for it to finish; two applies never write at the same time",
            ) from None
        try:
            torn = _torn_tail(fh)
            if torn:
                # A process killed in the middle of an append leaves a line without its
                # newline; it was never a record.  Cut it off and say so in the chain
                # (what it would have recorded is recovered from the store's checkpoint).
                os.ftruncate(fh.fileno(), os.fstat(fh.fileno()).st_size - torn)
            self._last = _last_hash(self.path)
        except JournalError:
            fh.close()
            raise
        self._fh = fh
        self.size = os.fstat(fh.fileno()).st_size
        if torn:
            self.append([{"event": "repair", "truncated_bytes": torn}])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fh is not None:
            self._fh.close()  # closing releases the lock
            self._fh = None

    def append(self, records: Sequence[Mapping[str, Any]], *, time: str | None = None) -> None:
        """Append records (each gets ``time`` and its chain hashes), then fsync."""
        if self._fh is None:
            raise RuntimeError("Journal.append outside its context")
        if not records:
            return
        stamp = time or datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = []
        prev = self._last
        for record in records:
            line, prev = _line({"time": stamp, **record}, prev)
            lines.append(line)
        self._write(lines, prev)

    def append_actions(
        self,
        plan: str,
        store: str,
        outcomes: Sequence[tuple[str, str, str, bool]],
        *,
        time: str | None = None,
    ) -> None:
        """Append one ``action`` record per ``(account, action, result, recovered)``.

        The same records as :meth:`append` would write, built directly (a million of
        them per large apply).
        """
        if self._fh is None:
            raise RuntimeError("Journal.append_actions outside its context")
        if not outcomes:
            return
        stamp = time or datetime.now(UTC).isoformat(timespec="milliseconds")
        # The canonical form (sorted keys, orjson escaping) assembled from pre-encoded
        # parts: byte for byte what _line would produce, checked by the tests.
        dumps = orjson.dumps
        head = b'{"account":'
        tail = (
            b',"store":' + dumps(store) + b',"time":' + dumps(stamp) + b"}",
            b',"event":"action","plan":' + dumps(plan) + b',"prev":"',
        )
        encoded: dict[str, bytes] = {}
        lines = []
        prev = self._last.encode()
        for account, action, result, recovered in outcomes:
            act = encoded.get(action) or encoded.setdefault(action, dumps(action))
            res = encoded.get(result) or encoded.setdefault(result, dumps(result))
            canonical = b"".join(
                (
                    head,
                    dumps(account),
                    b',"action":',
                    act,
                    tail[1],
                    prev,
                    b'","recovered":true,"result":' if recovered else b'","result":',
                    res,
                    tail[0],
                )
            )
            prev = hashlib.sha256(canonical).hexdigest().encode()
            lines.append(canonical[:-1] + b',"hash":"' + prev + b'"}\n')
        self._write(lines, prev.decode())

    def _write(self, lines: list[bytes], prev: str) -> None:
        assert self._fh is not None
        self._fh.write(b"".join(lines))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._last = prev


def _torn_tail(fh: IO[bytes]) -> int:
    """Bytes after the last newline (0 when the file ends with a complete line)."""
    size = os.fstat(fh.fileno()).st_size
    chunk = 4096
    while True:
        start = max(0, size - chunk)
        fh.seek(start)
        tail = fh.read(size - start)
        at = tail.rfind(b"\n")
        if at >= 0:
            return len(tail) - at - 1
        if start == 0:
            return size
        chunk *= 4


def _last_hash(path: Path) -> str:
    """The hash of the last complete line (reading only the file's tail)."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return GENESIS
        chunk = 4096
        while True:
            start = max(0, size - chunk)
            fh.seek(start)
            tail = fh.read(size - start)
            lines = tail.rstrip(b"\n").split(b"\n")
            if len(lines) > 1 or start == 0:
                break
            chunk *= 4
    if not tail.endswith(b"\n"):
        raise JournalError(
            f"{path}: the last line is incomplete (a crash while writing it?)",
            hint="run `credwatch journal verify`; move the damaged journal aside to start anew",
        )
    try:
        value = orjson.loads(lines[-1])["hash"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise JournalError(f"{path}: the last line is not a journal record") from None
    return str(value)


@dataclass(frozen=True, slots=True)
class JournalVerification:
    """The outcome of :func:`verify_journal`.

    Attributes:
        path: the journal.
        lines: lines read.
        ok: the whole chain holds.
        first_broken_line: 1-based number of the first bad line, or ``None``.
        problem: what is wrong with it.
        plans: distinct plan digests seen.
        actions: action records seen.
    """

    path: Path
    lines: int
    ok: bool
    first_broken_line: int | None = None
    problem: str | None = None
    plans: int = 0
    actions: int = 0


def verify_journal(path: Path) -> JournalVerification:
    """Check every line's hash and link; report the first broken line.

    A missing journal verifies (nothing was ever applied).

    Raises:
        JournalError: when the file exists but cannot be read.
    """
    if not path.exists():
        return JournalVerification(path=path, lines=0, ok=True)
    prev = GENESIS
    count = actions = 0
    plans: set[str] = set()
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise JournalError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        for count, raw in enumerate(fh, start=1):
            problem = _check_line(raw, prev)
            if isinstance(problem, str):
                return JournalVerification(
                    path=path,
                    lines=count,
                    ok=False,
                    first_broken_line=count,
                    problem=problem,
                    plans=len(plans),
                    actions=actions,
                )
            prev = problem["hash"]
            if problem.get("event") == "action":
                actions += 1
            if "plan" in problem:
                plans.add(str(problem["plan"]))
    return JournalVerification(path=path, lines=count, ok=True, plans=len(plans), actions=actions)


def _check_line(raw: bytes, prev: str) -> dict[str, Any] | str:
    if not raw.endswith(b"\n"):
        return "incomplete last line"
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "not JSON"
    if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
        return "not a journal record"
    claimed = record.pop("hash")
    if record.get("prev") != prev:
        return "does not link to the line before (a line was removed, inserted or reordered)"
    canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    if hashlib.sha256(canonical).hexdigest() != claimed:
        return "content does not match its hash (the line was edited)"
    record["hash"] = claimed
    return record


@dataclass(slots=True)
class PlanHistory:
    """What the journal says about one plan.

    Attributes:
        begun: an apply of the plan started.
        ended: the last ``end`` record's store digest, if an apply finished.
        begin_records: every ``begin`` record of the plan.
        intents: every ``intent`` record (written before a change is committed).
        size: the journal's size in bytes when it was read.
        done: (account, action) -> result of every journaled action.
    """

    begun: bool = False
    ended: str | None = None
    begin_records: list[dict[str, Any]] = field(default_factory=list)
    intents: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    done: dict[tuple[str, str], str] = field(default_factory=dict)


def plan_history(path: Path, plan_digest: str) -> PlanHistory:
    """Collect the journal's records of one plan (without verifying the chain).

    Raises:
        JournalError: when a line is not JSON.
    """
    history = PlanHistory(size=path.stat().st_size if path.exists() else 0)
    for record in _records(path, plan_digest):
        if record.get("plan") != plan_digest:
            continue
        event = record.get("event")
        if event == "action":
            history.done[(str(record["account"]), str(record["action"]))] = str(record["result"])
        elif event == "begin":
            history.begun = True
            history.begin_records.append(record)
        elif event == "intent":
            history.intents.append(record)
        elif event == "end":
            history.ended = str(record.get("store_digest"))
    return history


def plan_ended(path: Path, plan_digest: str) -> str | None:
    """The store digest of the plan's last ``end`` record, or ``None`` (never finished).

    Parses only the plan's ``end`` lines, so it costs a byte scan of the journal even
    when the plan journaled millions of actions (:func:`plan_history` parses them all).

    Raises:
        JournalError: when a line is not JSON.
    """
    ended = None
    for record in _records(path, plan_digest, b'"end"'):
        if record.get("plan") == plan_digest and record.get("event") == "end":
            ended = str(record.get("store_digest"))
    return ended


def _records(path: Path, plan_digest: str, marker: bytes = b"") -> Iterator[dict[str, Any]]:
    """The journal's records whose line holds the plan's digest (and ``marker``)."""
    if not path.exists():
        return
    needle = plan_digest.encode()
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if needle not in raw or marker not in raw:
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise JournalError(
                    f"{path}:{number}: not a journal record",
                    hint="run `credwatch journal verify`",
                ) from None
            if isinstance(record, dict):
                yield record
