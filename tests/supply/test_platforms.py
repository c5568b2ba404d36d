"""Platform map, blast radius, concentration (HHI, single points of failure), obligations."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from credwatch.cli.main import app
from credwatch.errors import ConfigError
from credwatch.supply import (
    AccountCounts,
    OsvDirectory,
    concentration,
    load_platform_map,
    obligation_gaps,
    scan,
)
from credwatch.supply.census import TenantCensus
from credwatch.supply.platforms import parse_platform_map
from credwatch.workspace import Workspace

TODAY = date(2026, 7, 1)


@pytest.mark.parametrize("name", ["platforms.toml", "platforms.yaml"])
def test_toml_and_yaml_maps_agree(data: Path, name: str) -> None:
    pmap = load_platform_map(data / name)
    assert sorted(pmap.tenants) == ["biglobe", "nifty", "pikara"]
    assert pmap.tenants_of("mail") == ["biglobe", "nifty"]
    assert pmap.tenants["nifty"].accounts == AccountCounts(700, 200, 100)
    assert pmap.tenants["pikara"].accounts == AccountCounts(active=500)
    assert [h.name for h in pmap.platforms["mail"].hosts] == ["imap-1", "imap-2"]
    assert len(pmap.platforms["mail"].hosts[1].inventories) == 2
    assert pmap.platforms["mail"].hosts[0].inventories[0].path == data / "mail.cdx.json"
    assert pmap.suppliers["mailsoft"].last_drill == date(2025, 1, 15)
    assert pmap.policy.max_notification_hours == 72


def test_scan_with_the_map_gives_the_blast_radius(data: Path) -> None:
    report = scan(
        [], OsvDirectory(data / "osv"), load_platform_map(data / "platforms.toml"), today=TODAY
    )
    doc = report.to_json()
    by_component = {(f["component"], tuple(f["hosts"])): f for f in doc["findings"]}
    # one SBOM listed by two hosts: one finding with both hosts
    dovecot = by_component[("dovecot-core", ("mail/imap-1", "mail/imap-2"))]
    assert dovecot["platforms"] == ["mail"]
    assert dovecot["tenants"] == ["biglobe", "nifty"]
    assert dovecot["accounts"] == {"active": 1200, "dormant": 200, "cancelled": 100}
    assert dovecot["severity"] == "critical"
    assert dovecot["cvss_score"] == 9.8
    assert dovecot["fixed"] == "1:2.3.16+dfsg1-3ubuntu2.4"
    assert dovecot["sources"] == [{"path": str(data / "mail.cdx.json"), "format": "cyclonedx-json"}]
    # the dpkg status of imap-2 names the source package: the USN record matches as well
    from_dpkg = by_component[("dovecot-core", ("mail/imap-2",))]
    assert from_dpkg["advisories"] == ["TEST-2026-0001", "TEST-USN-0002"]
    assert from_dpkg["sources"] == [{"path": str(data / "status"), "format": "dpkg-status"}]
    # the SPDX inventory on webmail lists the dovecot *source* package: both records match
    webmail = by_component[("dovecot", ("webmail/web-1",))]
    assert webmail["advisories"] == ["TEST-2026-0001", "TEST-USN-0002"]
    assert webmail["fixed"] == "1:2.3.16+dfsg1-3ubuntu2.5"
    assert webmail["tenants"] == ["biglobe"]
    # every component keeps where it came from
    for c in doc["components"]:
        assert c["source"] and c["format"]
        assert c["status"] in {"vulnerable", "not-affected", "unchecked"}


def test_concentration_and_hhi(data: Path) -> None:
    pmap = load_platform_map(data / "platforms.toml")
    conc = concentration(pmap, {"mail": 2})
    shares = {p.name: p for p in conc.platforms}
    assert conc.total_accounts == 2000
    assert shares["mail"].share == pytest.approx(1500 / 2000)
    assert shares["webmail"].share == pytest.approx(500 / 2000)
    assert shares["portal"].share == pytest.approx(500 / 2000)
    # HHI over platform weights 1500, 500, 500
    expected = sum((100 * w / 2500) ** 2 for w in (1500, 500, 500))
    assert conc.hhi == pytest.approx(expected)
    assert conc.band == "highly concentrated"
    assert conc.single_points_of_failure == ("mail",)
    assert not shares["portal"].shared
    assert shares["mail"].vulnerable_components == 2


def test_obligation_gaps(data: Path) -> None:
    gaps = obligation_gaps(load_platform_map(data / "platforms.toml"), TODAY)
    kinds = {(g.supplier, g.kind) for g in gaps}
    assert kinds == {
        ("mailsoft", "notification-too-long"),  # 96 h > 72 h
        ("mailsoft", "drill-stale"),  # 2025-01-15 is older than 12 months
        ("webops", "drill-failed"),
        ("ghost", "supplier-undescribed"),
    }
    mailsoft = next(g for g in gaps if g.supplier == "mailsoft")
    assert mailsoft.tenants == ("biglobe", "nifty")
    ghost = next(g for g in gaps if g.supplier == "ghost")
    assert ghost.tenants == ("biglobe",)
    # a fresher reference date makes the drill recent enough
    later = obligation_gaps(load_platform_map(data / "platforms.toml"), date(2025, 6, 1))
    assert ("mailsoft", "drill-stale") not in {(g.supplier, g.kind) for g in later}


def test_missing_obligations_and_configurable_drill_age() -> None:
    pmap = parse_platform_map(
        {
            "policy": {"drill_max_age_months": 3},
            "tenants": {"a": {"platforms": ["p"]}},
            "platforms": {"p": {"suppliers": ["s", "t"]}},
            "suppliers": {
                "s": {},
                "t": {"notification_hours": 24, "contact": "x", "last_drill": "2026-02-01"},
            },
        },
        Path(),
    )
    kinds = {(g.supplier, g.kind) for g in obligation_gaps(pmap, TODAY)}
    assert kinds == {
        ("s", "notification-missing"),
        ("s", "contact-missing"),
        ("s", "drill-missing"),
        ("t", "drill-stale"),
        ("t", "drill-result-missing"),
    }
    # tenants without counts are reported as unknown, never as zero
    gap = obligation_gaps(pmap, TODAY)[0]
    assert gap.accounts is None


def test_census_fills_counts_for_store_tenants() -> None:
    pmap = parse_platform_map(
        {
            "tenants": {
                "a": {"platforms": ["p"], "store": "mail"},
                "b": {"platforms": ["p"], "store": "mail", "store_tenant": "bee"},
            },
            "platforms": {"p": {}},
        },
        Path(),
    )
    asked: list[tuple[str, str]] = []

    def census(store: str, tenant: str) -> AccountCounts:
        asked.append((store, tenant))
        return AccountCounts(active=10, dormant=1)

    filled = pmap.with_census(census)
    assert asked == [("mail", "a"), ("mail", "bee")]
    assert concentration(filled, {}).total_accounts == 22


BAD_MAPS = [
    ({"tenant": {}}, "unknown keys tenant"),
    ({"tenants": {"a": {"platforms": ["nope"]}}}, "undefined platform"),
    ({"tenants": {"a": {"accounts": {"active": -1}}}}, "non-negative integer"),
    ({"tenants": {"a": {"accounts": {"activ": 1}}}}, "unknown keys activ"),
    (
        {"platforms": {"p": {"hosts": {"h": {"inventories": [{"path": "x", "format": "rpm"}]}}}}},
        "unknown format",
    ),
    ({"platforms": {"p": {"hosts": {"h": {"inventories": "x"}}}}}, "must be a list"),
    ({"suppliers": {"s": {"last_drill": "last spring"}}}, "must be a date"),
    ({"suppliers": {"s": {"notification_hours": "soon"}}}, "non-negative number"),
    ({"policy": {"spof_share": 3}}, "share between 0 and 1"),
    ({"schema_version": 2}, "unsupported version"),
]


@pytest.mark.parametrize(("data", "message"), BAD_MAPS)
def test_bad_maps_are_config_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_platform_map(data, Path())


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("m.toml", "[tenants\n", "not valid TOML"),
        ("m.yaml", "a: [1\n", "not valid YAML"),
        ("m.yaml", "- 1\n", "must be a table"),
    ],
)
def test_unreadable_maps(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_platform_map(path)
    with pytest.raises(ConfigError, match="not found"):
        load_platform_map(tmp_path / "absent.toml")


@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=8))
def test_hhi_bounds(weights: list[int]) -> None:
    tenants = {
        f"t{i}": {"platforms": [f"p{i}"], "accounts": {"active": w}} for i, w in enumerate(weights)
    }
    platforms: dict[str, dict[str, object]] = {f"p{i}": {} for i in range(len(weights))}
    conc = concentration(
        parse_platform_map({"tenants": tenants, "platforms": platforms}, Path()), {}
    )
    assert conc.hhi is not None
    # between a perfectly spread market (10,000 / n) and a monopoly (10,000)
    assert 10_000 / len(weights) - 1e-6 <= conc.hhi <= 10_000 + 1e-6
    assert sum(p.share or 0 for p in conc.platforms) == pytest.approx(1.0)


def _csv_store(workspace: Workspace) -> None:
    rows = ["id,email,password_hash,isp,state"]
    states = ["active"] * 5 + ["suspended"] * 2 + ["closed", "pending"]
    for i, state in enumerate(states):
        rows.append(f"n{i},user{i}@nifty.com,{{PLAIN}}x,nifty,{state}")
    rows.append("b0,user@biglobe.ne.jp,{PLAIN}x,biglobe,active")
    path = workspace.root / "accounts.csv"
    path.write_text("\n".join(rows) + "\n")
    with workspace.config_path.open("a") as handle:
        handle.write(
            f'\n[stores.csvmail]\nkind = "csv"\npath = "{path}"\n'
            '[stores.csvmail.columns]\ntenant = "isp"\nstatus = "state"\n'
            '[stores.csvmail.status]\nactive = ["active"]\ndormant = ["suspended"]\n'
            'cancelled = ["closed"]\n'
        )


def test_tenant_census_reads_a_real_account_store(workspace: Workspace) -> None:
    _csv_store(workspace)
    census = TenantCensus(workspace)
    assert census("csvmail", "nifty") == AccountCounts(5, 2, 1, unknown=1)
    assert census("csvmail", "biglobe") == AccountCounts(active=1)
    assert census("csvmail", "absent") == AccountCounts()


def test_cli_scan_counts_accounts_from_the_store(workspace: Workspace, data: Path) -> None:
    _csv_store(workspace)
    text = (data / "platforms.toml").read_text()
    text = text.replace(
        "accounts = { active = 700, dormant = 200, cancelled = 100 }", 'store = "csvmail"'
    )
    text = text.replace(
        "accounts = { active = 500, dormant = 0, cancelled = 0 }", 'store = "csvmail"'
    )
    pmap = workspace.root / "platforms.toml"
    pmap.write_text(
        text.replace('"mail.cdx.json"', f'"{data / "mail.cdx.json"}"')
        .replace('path = "status"', f'path = "{data / "status"}"')
        .replace('"mail.spdx.json"', f'"{data / "mail.spdx.json"}"')
    )
    result = CliRunner().invoke(
        app,
        [
            "--workspace",
            str(workspace.root),
            "supply",
            "scan",
            "--platforms",
            str(pmap),
            "--advisories",
            str(data / "osv"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    dovecot = next(f for f in doc["findings"] if f["hosts"] == ["mail/imap-1", "mail/imap-2"])
    assert dovecot["accounts"] == {"active": 6, "dormant": 2, "cancelled": 1, "unknown": 1}
    assert "user0@nifty.com" not in result.stdout + result.stderr
