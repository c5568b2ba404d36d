"""Against the real public corpus (../shared/corpus): SBOMs and OSV records as published."""

from __future__ import annotations

from pathlib import Path

import pytest

from credwatch.supply import (
    AdvisoryIndex,
    Component,
    Ecosystem,
    NotAffected,
    OsvDirectory,
    Vulnerable,
    read_inventory,
)
from credwatch.supply.matching import MatchResult


@pytest.fixture
def index(corpus: Path) -> AdvisoryIndex:
    load = OsvDirectory(corpus / "osv").load([])
    assert load.rejected.total == 0
    # PSF records only have GIT ranges: kept, their entries counted as unmatchable
    assert load.skipped_entries == {"no package (GIT ranges only)": 3}
    return AdvisoryIndex(load.advisories)


def _match(index: AdvisoryIndex, ecosystem: str, name: str, version: str) -> MatchResult:
    return index.match_one(Component(name, version, None, Ecosystem.parse(ecosystem), "t", "t"))


# (ecosystem, package, version, expected advisory ids or () for not affected)
CASES = [
    # dovecot on jammy: fixed in 1:2.3.16+dfsg1-3ubuntu2.4 (UBUNTU-CVE-2024-23184/23185)
    (
        "Ubuntu:22.04:LTS",
        "dovecot",
        "1:2.3.16+dfsg1-3ubuntu2.3",
        {"UBUNTU-CVE-2024-23184", "UBUNTU-CVE-2024-23185"},
    ),
    ("Ubuntu:22.04:LTS", "dovecot", "1:2.3.16+dfsg1-3ubuntu2.4", set()),
    # noble: USN-6982-1 and both CVE records
    (
        "Ubuntu:24.04:LTS",
        "dovecot",
        "1:2.3.21+dfsg1-2ubuntu5",
        {"USN-6982-1", "UBUNTU-CVE-2024-23184", "UBUNTU-CVE-2024-23185"},
    ),
    # binary package name, found through ecosystem_specific.binaries
    (
        "Ubuntu:22.04:LTS",
        "dovecot-imapd",
        "1:2.3.16+dfsg1-3ubuntu2.3",
        {"UBUNTU-CVE-2024-23184", "UBUNTU-CVE-2024-23185"},
    ),
    # postfix ESM: USN-6591-1 fixed +esm2, USN-6591-2 re-fixed +esm3 (UBUNTU-CVE record)
    (
        "Ubuntu:Pro:18.04:LTS",
        "postfix",
        "3.3.0-1ubuntu0.4+esm1",
        {"USN-6591-1", "UBUNTU-CVE-2023-51764"},
    ),
    ("Ubuntu:Pro:18.04:LTS", "postfix", "3.3.0-1ubuntu0.4+esm2", {"UBUNTU-CVE-2023-51764"}),
    ("Ubuntu:Pro:18.04:LTS", "postfix", "3.3.0-1ubuntu0.4+esm3", set()),
    # exim4 on jammy: fixed 4.95-4ubuntu2.3
    ("Ubuntu:22.04:LTS", "exim4", "4.95-4ubuntu2.2", {"UBUNTU-CVE-2023-42115", "USN-6411-1"}),
    ("Ubuntu:22.04:LTS", "exim4", "4.95-4ubuntu2.3", set()),
    # roundcube focal: no fix in the standard release at all
    (
        "Ubuntu:20.04:LTS",
        "roundcube",
        "1.4.3+dfsg.1-1ubuntu0.1",
        {"UBUNTU-CVE-2023-5631", "UBUNTU-CVE-2024-42009"},
    ),
    # a tilde ESM version sorts below the plain one it precedes
    (
        "Ubuntu:Pro:18.04:LTS",
        "roundcube",
        "1.3.6+dfsg.1-1ubuntu0.1~esm4",
        {"UBUNTU-CVE-2024-42009"},
    ),
    # Debian DSA with a +wheezy suffix
    ("Debian:7", "nginx", "1.2.1-2.2+wheezy2", {"DSA-3029-1"}),
    ("Debian:7", "nginx", "1.2.1-2.2+wheezy3", set()),
    ("Debian:8", "nginx", "1.2.1-2.2+wheezy2", set()),
    # PyPI
    ("PyPI", "aiosmtpd", "1.4.4", {"GHSA-pr2m-px7j-xg65", "GHSA-wgjv-9j3q-jhg8"}),
    ("PyPI", "aiosmtpd", "1.4.5", {"GHSA-wgjv-9j3q-jhg8"}),
    ("PyPI", "aiosmtpd", "1.4.6", set()),
    ("PyPI", "Django_Anymail", "1.3", {"GHSA-qh9x-mc42-vg4g"}),
    ("PyPI", "django-anymail", "0.1", set()),
    ("PyPI", "requests", "2.30.0", {"PYSEC-2023-74"}),
    ("PyPI", "requests", "2.31.0", set()),
]


@pytest.mark.parametrize(("ecosystem", "name", "version", "expected"), CASES)
def test_corpus_matching(
    index: AdvisoryIndex, ecosystem: str, name: str, version: str, expected: set[str]
) -> None:
    result = _match(index, ecosystem, name, version)
    if not expected:
        assert isinstance(result, NotAffected)
        return
    assert isinstance(result, Vulnerable)
    assert {i for v in result.vulnerabilities for i in v.ids} == expected


def test_postfix_fix_is_the_refix(index: AdvisoryIndex) -> None:
    result = _match(index, "Ubuntu:Pro:18.04:LTS", "postfix", "3.3.0-1ubuntu0.4+esm1")
    assert isinstance(result, Vulnerable)
    (vuln,) = result.vulnerabilities  # USN-6591-1 and UBUNTU-CVE-2023-51764 merged
    assert vuln.fixed == "3.3.0-1ubuntu0.4+esm3"
    assert "CVE-2023-51764" in vuln.aliases


def test_exim_usn_merges_its_cves(index: AdvisoryIndex) -> None:
    result = _match(index, "Ubuntu:Pro:16.04:LTS", "exim4", "4.86.2-2ubuntu2.6+esm3")
    assert isinstance(result, Vulnerable)
    ids = [v.ids for v in result.vulnerabilities]
    assert ("USN-6411-1",) in ids or any("USN-6411-1" in i for i in ids)


def test_cvss_scores_from_real_vectors(index: AdvisoryIndex) -> None:
    result = _match(index, "Ubuntu:Pro:16.04:LTS", "opensmtpd", "5.7.3p2-1")
    assert isinstance(result, Vulnerable)
    top = result.vulnerabilities[0]
    assert top.severity is not None
    assert top.severity.score == 9.8
    assert top.severity.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


SBOMS = [
    ("sbom/debsbom/tests/data/merge-full.cdx.json", "cyclonedx-json", 89),
    ("sbom/debsbom/tests/data/merge-full.spdx.json", "spdx-json", 90),
    ("sbom/cyclonedx-bom-examples/SBOM/laravel-7.12.0/bom.1.4.json", "cyclonedx-json", 62),
    ("sbom/cyclonedx-bom-examples/SBOM/laravel-7.12.0/bom.1.4.xml", "cyclonedx-xml", 62),
    ("sbom/cyclonedx-bom-examples/OBOM/Example-1-Decoupled/obom.json", "cyclonedx-json", 1),
    ("sbom/cyclonedx-bom-examples/VEX/vex.json", "cyclonedx-json", 0),
    ("sbom/spdx-examples/software/example11/spdx2.3/sbom.spdx.json", "spdx-json", 4),
    (
        "sbom/spdx-examples/presentations/OSS-NA-2023/SPDXVersion2.3/04-SBOMwSecurity.json",
        "spdx-json",
        2,
    ),
]


@pytest.mark.parametrize(("relative", "fmt", "count"), SBOMS)
def test_real_sboms(corpus: Path, relative: str, fmt: str, count: int) -> None:
    inventory = read_inventory(corpus / relative)
    assert inventory.format == fmt
    assert len(inventory.components) == count
    assert inventory.rejected == {}
    for c in inventory.components:
        assert c.source == str(corpus / relative)
        assert c.format == fmt


def test_debsbom_components_keep_debian_versions(corpus: Path) -> None:
    inventory = read_inventory(corpus / "sbom/debsbom/tests/data/merge-full.cdx.json")
    by_purl = {c.purl: c for c in inventory.components}
    buildah = next(
        c for c in inventory.components if c.name == "buildah" and c.source_package is None
    )
    assert buildah.version == "1.28.2+ds1-3+deb12u1+b1"
    assert buildah.ecosystem == Ecosystem("Debian")
    sources = [c for c in by_purl.values() if c.source_package is not None]
    assert sources
    assert all("arch=source" in (c.purl or "") for c in sources)


def test_laravel_json_and_xml_agree(corpus: Path) -> None:
    base = corpus / "sbom/cyclonedx-bom-examples/SBOM/laravel-7.12.0"
    as_json = read_inventory(base / "bom.1.4.json")
    as_xml = read_inventory(base / "bom.1.4.xml")

    def key(c: Component) -> tuple[str | None, str | None]:
        return c.purl, c.version

    assert sorted(map(key, as_json.components)) == sorted(map(key, as_xml.components))
    assert {str(c.ecosystem) for c in as_json.components} == {"Packagist"}
