"""The OSV range evaluator: tables and a property against the schema's reference algorithm."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credwatch.supply.osv import RecordError, parse_record


def _affected(events: list[dict[str, str]], ecosystem: str = "PyPI", **extra: Any) -> Any:
    record = {
        "id": "T-1",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": "pkg"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                **extra,
            }
        ],
    }
    adv = parse_record(record)
    assert adv.affected, adv.skipped
    return adv.affected[0]


CASES = [
    # events, version, affected?
    ([{"introduced": "0"}, {"fixed": "1.4.5"}], "1.4.4", True),
    ([{"introduced": "0"}, {"fixed": "1.4.5"}], "1.4.5", False),
    ([{"introduced": "0"}, {"fixed": "1.4.5"}], "1.4.5rc1", True),
    ([{"introduced": "0.2"}, {"fixed": "1.4"}], "0.1", False),
    ([{"introduced": "0.2"}, {"fixed": "1.4"}], "0.2", True),
    ([{"introduced": "1.0"}, {"last_affected": "1.2"}], "1.2", True),
    ([{"introduced": "1.0"}, {"last_affected": "1.2"}], "1.2.1", False),
    ([{"introduced": "0"}], "99", True),  # no fix: every version affected
    # two affected windows, out of order in the record
    (
        [{"introduced": "2.0"}, {"fixed": "2.3"}, {"introduced": "0"}, {"fixed": "1.5"}],
        "1.7",
        False,
    ),
    ([{"introduced": "2.0"}, {"fixed": "2.3"}, {"introduced": "0"}, {"fixed": "1.5"}], "2.1", True),
    ([{"introduced": "2.0"}, {"fixed": "2.3"}, {"introduced": "0"}, {"fixed": "1.5"}], "1.0", True),
    ([{"introduced": "0"}, {"limit": "2.0"}], "1.9", True),
    ([{"introduced": "0"}, {"limit": "2.0"}], "2.0", False),
    ([{"introduced": "0"}, {"limit": "*"}], "5.0", True),
]


@pytest.mark.parametrize(("events", "version", "expected"), CASES)
def test_range_table(events: list[dict[str, str]], version: str, expected: bool) -> None:
    assert _affected(events).contains(version) is expected


def test_debian_range_with_epochs_and_tildes() -> None:
    entry = _affected(
        [{"introduced": "0"}, {"fixed": "1:1.3.6+dfsg.1-1ubuntu0.1~esm4"}], "Ubuntu:Pro:18.04:LTS"
    )
    assert entry.contains("1:1.3.6+dfsg.1-1ubuntu0.1~esm3")
    assert not entry.contains("1:1.3.6+dfsg.1-1ubuntu0.1")
    assert entry.contains("1.9")  # no epoch sorts before epoch 1


def test_versions_list_matches_without_ranges() -> None:
    adv = parse_record(
        {
            "id": "T",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1.0"]}],
        }
    )
    assert adv.affected[0].contains("1.0")
    assert not adv.affected[0].contains("1.1")


def test_semver_range_in_npm() -> None:
    adv = parse_record(
        {
            "id": "T",
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": "x"},
                    "ranges": [
                        {"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.0"}]}
                    ],
                }
            ],
        }
    )
    assert adv.affected[0].contains("1.1.9")
    assert not adv.affected[0].contains("1.2.0")


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([{"introduced": "0"}, {"fixed": "not-a-version!"}], "invalid version in a range"),
        ([{"introduced": "0", "fixed": "1"}], "malformed affected entry"),
        ([{"bogus": "1"}], "malformed affected entry"),
    ],
)
def test_bad_events_are_counted(events: list[dict[str, str]], reason: str) -> None:
    adv = parse_record(
        {
            "id": "T",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "x"},
                    "ranges": [{"type": "ECOSYSTEM", "events": events}],
                }
            ],
        }
    )
    assert adv.affected == ()
    assert adv.skipped[0][0].startswith(reason)


@pytest.mark.parametrize(
    "record", [[], "x", {"affected": []}, {"id": ""}, {"id": "X", "affected": 3}]
)
def test_unusable_records_raise(record: object) -> None:
    with pytest.raises(RecordError):
        parse_record(record)


# -- property: the interval evaluator agrees with the schema's pseudo-code -----------------


def _reference(events: list[tuple[str, int]], v: int) -> bool:
    """OSV schema, "Evaluation": walk the events sorted by version."""

    def key(e: tuple[str, int]) -> tuple[int, int]:
        return (e[1], 0 if e[0] == "introduced" else 1)

    affected = False
    for kind, at in sorted(events, key=key):
        if kind == "introduced" and v >= at:
            affected = True
        elif (kind == "fixed" and v >= at) or (kind == "last_affected" and v > at):
            affected = False
    return affected


@st.composite
def event_lists(draw: st.DrawFn) -> list[tuple[str, int]]:
    # A well-formed range: alternating introduced / (fixed | last_affected) at rising versions.
    points = sorted(draw(st.sets(st.integers(1, 40), min_size=1, max_size=8)))
    events: list[tuple[str, int]] = []
    start_at_zero = draw(st.booleans())
    for i, at in enumerate(points):
        if i % 2 == 0:
            events.append(("introduced", 0 if (i == 0 and start_at_zero) else at))
        else:
            events.append((draw(st.sampled_from(["fixed", "last_affected"])), at))
    return draw(st.permutations(events))


@given(event_lists(), st.integers(0, 45))
def test_evaluator_matches_reference(events: list[tuple[str, int]], v: int) -> None:
    osv_events = [{kind: ("0" if at == 0 else f"{at}.0")} for kind, at in events]
    entry = _affected(osv_events)
    assert entry.contains(f"{v}.0") is _reference(events, v)
