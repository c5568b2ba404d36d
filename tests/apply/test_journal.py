"""The hash-chained journal: append, verify, and every way of breaking it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.apply.journal import (
    GENESIS,
    Journal,
    JournalError,
    plan_ended,
    plan_history,
    verify_journal,
)
from credwatch.errors import InputError


def _fill(path: Path, n: int = 5) -> None:
    with Journal(path) as journal:
        journal.append([{"event": "begin", "plan": "p1", "store": "s"}])
        journal.append(
            [
                {
                    "event": "action",
                    "plan": "p1",
                    "store": "s",
                    "account": str(i),
                    "action": "lock",
                    "result": "applied",
                }
                for i in range(n)
            ]
        )
    with Journal(path) as journal:  # a second session continues the chain
        journal.append([{"event": "end", "plan": "p1", "store": "s", "store_digest": "d"}])


def test_chain_verifies_and_links(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _fill(path)
    result = verify_journal(path)
    assert result.ok and result.lines == 7 and result.actions == 5 and result.plans == 1
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(lines))
    assert path.stat().st_mode & 0o077 == 0


def test_missing_journal_verifies_empty(tmp_path: Path) -> None:
    assert verify_journal(tmp_path / "none.jsonl").ok


@pytest.mark.parametrize(
    ("damage", "line", "problem"),
    [
        (lambda ls: [*ls[:2], ls[2].replace('"applied"', '"already"'), *ls[3:]], 3, "edited"),
        (lambda ls: ls[:3] + ls[4:], 4, "link"),
        (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], 2, "link"),
        (lambda ls: [*ls[:4], "{not json", *ls[4:]], 5, "not JSON"),
        (lambda ls: [*ls[:5], '{"a": 1}', *ls[5:]], 6, "not a journal record"),
    ],
)
def test_first_broken_line_is_reported(tmp_path: Path, damage, line: int, problem: str) -> None:
    path = tmp_path / "journal.jsonl"
    _fill(path)
    path.write_text("\n".join(damage(path.read_text().splitlines())) + "\n")
    result = verify_journal(path)
    assert not result.ok
    assert result.first_broken_line == line
    assert problem in (result.problem or "")


def test_torn_last_line_is_reported_then_cut_off_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _fill(path)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    assert verify_journal(path).first_broken_line == 7
    with Journal(path) as journal:
        journal.append([{"event": "begin", "plan": "p2"}])
    result = verify_journal(path)
    assert result.ok and result.lines == 8
    repair = json.loads(path.read_text().splitlines()[6])
    assert (
        repair["event"] == "repair" and repair["truncated_bytes"] == len(data.splitlines()[-1]) - 9
    )


def test_garbage_last_line_blocks_appending(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _fill(path)
    with path.open("ab") as fh:
        fh.write(b"not a record\n")
    with pytest.raises(JournalError, match="not a journal record"), Journal(path):
        pass


def test_second_writer_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path), pytest.raises(InputError, match="locked"), Journal(path):
        pass


def test_plan_history_collects_one_plan(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    _fill(path, 3)
    history = plan_history(path, "p1")
    assert history.begun and history.ended == "d"
    assert history.done == {(str(i), "lock"): "applied" for i in range(3)}
    assert not plan_history(path, "p2").begun


def test_plan_ended_reads_only_the_end_record(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    assert plan_ended(path, "p1") is None  # no journal yet
    with Journal(path) as journal:
        journal.append([{"event": "begin", "plan": "p1", "store": "s"}])
    assert plan_ended(path, "p1") is None  # begun, not finished
    _fill(path, 2)
    with Journal(path) as journal:  # a later apply of the same plan ends with another digest
        journal.append([{"event": "end", "plan": "p1", "store": "s", "store_digest": "d2"}])
    assert plan_ended(path, "p1") == "d2" == plan_history(path, "p1").ended
    assert plan_ended(path, "p2") is None


@settings(max_examples=30, deadline=None)
@given(
    records=st.lists(
        st.dictionaries(
            st.sampled_from(["account", "action", "result", "note"]),
            st.text(max_size=12),
            min_size=1,
        ),
        min_size=1,
        max_size=8,
    ),
    victim=st.integers(min_value=0),
)
def test_any_record_round_trips_and_any_edit_is_caught(tmp_path_factory, records, victim) -> None:
    path = tmp_path_factory.mktemp("j") / "journal.jsonl"
    with Journal(path) as journal:
        journal.append([{"event": "action", "plan": "p", **r} for r in records])
    assert verify_journal(path).ok
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]
    at = victim % len(lines)
    record = json.loads(lines[at])
    record["event"] = "tampered"
    lines[at] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert verify_journal(path).first_broken_line == at + 1


@settings(max_examples=50, deadline=None)
@given(
    outcomes=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=16),
            st.sampled_from(["lock", "force_reset"]),
            st.sampled_from(["applied", "already", "not_found"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    ),
    store=st.text(min_size=1, max_size=8),
)
def test_append_actions_writes_exactly_what_append_writes(tmp_path_factory, outcomes, store):
    folder = tmp_path_factory.mktemp("j")
    stamp = "2026-06-20T09:00:00.000+00:00"
    with Journal(folder / "a.jsonl") as journal:
        records = []
        for account, action, result, recovered in outcomes:
            record = {
                "event": "action",
                "plan": "sha256:p",
                "store": store,
                "account": account,
                "action": action,
                "result": result,
            }
            if recovered:
                record["recovered"] = True
            records.append(record)
        journal.append(records, time=stamp)
    with Journal(folder / "b.jsonl") as journal:
        journal.append_actions("sha256:p", store, outcomes, time=stamp)
    assert (folder / "a.jsonl").read_bytes() == (folder / "b.jsonl").read_bytes()
    assert verify_journal(folder / "b.jsonl").ok
