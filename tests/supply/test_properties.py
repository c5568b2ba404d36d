"""Hypothesis: parsers of untrusted input either succeed or fail with our error, never crash."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credwatch.errors import ParseError
from credwatch.supply import Ecosystem, InventoryFormat, read_inventory
from credwatch.supply.interface import AdvisoryLoad
from credwatch.supply.osv import RecordError, parse_record
from credwatch.supply.osv_offline import accept_record

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
events = st.lists(
    st.dictionaries(
        st.sampled_from(["introduced", "fixed", "last_affected", "limit", "bogus"]),
        st.sampled_from(["0", "1.0", "2.0.1", "1:2.3-1", "~", "*", "x!"]) | st.integers(),
        min_size=1,
        max_size=2,
    ),
    max_size=5,
)
records = st.fixed_dictionaries(
    {"id": st.text(max_size=10) | st.integers()},
    optional={
        "aliases": st.lists(st.text(max_size=10), max_size=3) | json_values,
        "upstream": st.lists(st.text(max_size=10), max_size=3),
        "withdrawn": st.text(max_size=5),
        "severity": st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["CVSS_V3", "CVSS_V4", "CVSS_V2", "Ubuntu", "x"]),
                    "score": st.sampled_from(
                        [
                            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                            "CVSS:3.1/AV:Q",
                            "high",
                            "",
                        ]
                    ),
                }
            ),
            max_size=2,
        ),
        "affected": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "package": st.fixed_dictionaries(
                        {},
                        optional={
                            "ecosystem": st.sampled_from(
                                ["PyPI", "Debian:12", "Ubuntu:Pro:20.04:LTS", "npm", "Nope", ""]
                            ),
                            "name": st.text(max_size=8),
                        },
                    )
                    | json_values,
                    "ranges": st.lists(
                        st.fixed_dictionaries(
                            {"type": st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT", "X"])},
                            optional={"events": events},
                        ),
                        max_size=2,
                    ),
                    "versions": st.lists(st.text(max_size=6), max_size=3) | json_values,
                },
            ),
            max_size=3,
        )
        | json_values,
    },
)


@given(records | json_values)
def test_parse_record_never_crashes(record: Any) -> None:
    try:
        adv = parse_record(record)
    except RecordError:
        return
    for entry in adv.affected:
        for version in ("0.1", "1.0", "1:2.3-1", "garbage!"):
            # InvalidVersionError (a ValueError) is reported by the matcher as unchecked
            with contextlib.suppress(ValueError):
                entry.contains(version)


@given(st.binary(max_size=200) | records.map(lambda r: json.dumps(r).encode()))
def test_accept_record_counts_everything(raw: bytes) -> None:
    load = AdvisoryLoad()
    accept_record(load, raw, "prop")
    assert load.records == 1
    assert len(load.advisories) + load.withdrawn + load.rejected.total == 1


@given(st.text(max_size=30))
def test_ecosystem_parse_total(text: str) -> None:
    eco = Ecosystem.parse(text)
    assert eco.covers(Ecosystem(eco.family))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            [
                "Package: a",
                "Version: 1.0",
                "Status: install ok installed",
                "Source: b (2)",
                "",
                "Source: ???",
                "Version:",
                "Description: x",
                " continuation",
                "garbage line",
            ]
        ),
        max_size=12,
    )
)
def test_dpkg_reader_total(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "status"
        path.write_text("\n".join(lines))
        try:
            inventory = read_inventory(path, InventoryFormat.DPKG_STATUS)
        except ParseError:
            return
        for c in inventory.components:
            assert c.format == "dpkg-status"


@settings(max_examples=60)
@given(json_values)
def test_cyclonedx_reader_total(components: Any) -> None:
    doc = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bom.json"
        path.write_text(json.dumps(doc))
        try:
            read_inventory(path)
        except ParseError:
            return
