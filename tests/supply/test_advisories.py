"""Advisory sources: OSV folder, osv.dev zip, OSV API (MockTransport), matching and merging."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import httpx
import pytest

from credwatch.errors import ExternalServiceError, InputError
from credwatch.supply import (
    AdvisoryIndex,
    Component,
    Ecosystem,
    NotAffected,
    OsvApi,
    OsvDirectory,
    OsvZip,
    Unchecked,
    Vulnerable,
    open_offline,
)


def _component(name: str, version: str | None, ecosystem: str | None) -> Component:
    eco = Ecosystem.parse(ecosystem) if ecosystem else None
    return Component(name, version, None, eco, "test", "test")


def test_folder_counts_withdrawn_unknown_and_broken(data: Path) -> None:
    load = OsvDirectory(data / "osv").load([])
    assert load.records == 6
    assert sorted(a.id for a in load.advisories) == [
        "GHSA-test-0003",
        "TEST-2026-0001",
        "TEST-2026-0005",
        "TEST-USN-0002",
    ]
    assert load.withdrawn == 1
    assert load.rejected.by_reason == {"not valid JSON": 1}
    assert load.skipped_entries == {"unknown ecosystem": 1}


def test_zip_reads_like_the_folder(data: Path, tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in sorted((data / "osv").glob("*.json")):
            z.write(f, f.name)
        z.writestr("README.txt", "not a record")
    load = open_offline(archive).load([])
    assert isinstance(open_offline(archive), OsvZip)
    assert load.records == 6
    assert len(load.advisories) == 4


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_bad_zip_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "all.zip"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not a readable zip"):
        OsvZip(path).load([])


def test_missing_or_empty_database(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        open_offline(tmp_path / "nope")
    with pytest.raises(InputError, match="no OSV records"):
        OsvDirectory(tmp_path).load([])


def test_matching_merges_aliases_and_picks_the_latest_fix(data: Path) -> None:
    index = AdvisoryIndex(OsvDirectory(data / "osv").load([]).advisories)
    # dovecot-core is found through the binaries list of the source package's record
    binary = index.match_one(
        _component("dovecot-core", "1:2.3.16+dfsg1-3ubuntu2.3", "Ubuntu:22.04")
    )
    assert isinstance(binary, Vulnerable)
    assert binary.vulnerabilities[0].ids == ("TEST-2026-0001",)
    # with its source package known, the USN record (keyed by source only) matches too
    component = Component(
        "dovecot-core",
        "1:2.3.16+dfsg1-3ubuntu2.3",
        None,
        Ecosystem.parse("Ubuntu:22.04:LTS"),
        "test",
        "test",
        source_package="dovecot",
    )
    result = index.match_one(component)
    assert isinstance(result, Vulnerable)
    (vuln,) = result.vulnerabilities
    assert vuln.ids == ("TEST-2026-0001", "TEST-USN-0002")
    assert "CVE-2026-0001" in vuln.aliases
    assert vuln.fixed == "1:2.3.16+dfsg1-3ubuntu2.5"  # the re-fix wins
    assert vuln.severity is not None
    assert vuln.severity.score == 9.8
    assert vuln.severity.rating == "critical"


def test_matching_respects_release_and_names(data: Path) -> None:
    index = AdvisoryIndex(OsvDirectory(data / "osv").load([]).advisories)
    fixed = index.match_one(_component("dovecot", "1:2.3.16+dfsg1-3ubuntu2.5", "Ubuntu:22.04"))
    assert isinstance(fixed, NotAffected)
    other_release = index.match_one(
        _component("dovecot", "1:2.3.16+dfsg1-3ubuntu2.3", "Ubuntu:24.04")
    )
    assert isinstance(other_release, NotAffected)
    any_release = index.match_one(_component("dovecot", "1:2.3.16+dfsg1-3ubuntu2.3", "Ubuntu"))
    assert isinstance(any_release, Vulnerable)
    # PyPI names are normalised (the record says AioSMTPD)
    pypi = index.match_one(_component("aiosmtpd", "1.4.4", "PyPI"))
    assert isinstance(pypi, Vulnerable)
    assert pypi.vulnerabilities[0].severity is not None
    assert pypi.vulnerabilities[0].severity.rating == "medium"  # MODERATE
    # the withdrawn record listed 1.4.6 explicitly: it must not match
    assert isinstance(index.match_one(_component("aiosmtpd", "1.4.6", "PyPI")), NotAffected)


@pytest.mark.parametrize(
    ("component", "reason"),
    [
        (_component("x", "1.0", None), "no ecosystem"),
        (_component("x", None, "PyPI"), "no version"),
        (_component("x", "not a version!", "PyPI"), "not valid in PyPI"),
        (_component("x", "1.0", "ExampleEco"), "no version semantics"),
    ],
)
def test_could_not_check_is_never_no_match(component: Component, reason: str) -> None:
    result = AdvisoryIndex([]).match_one(component)
    assert isinstance(result, Unchecked)
    assert reason in result.reason


# -- the OSV API, through httpx.MockTransport -----------------------------------------------


def _api(data: Path, calls: list[str]) -> httpx.MockTransport:
    record = json.loads((data / "osv" / "GHSA-test.json").read_text())

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/v1/querybatch":
            body = json.loads(request.content)
            results = []
            for q in body["queries"]:
                if q["package"]["name"] == "aiosmtpd" and "page_token" not in q:
                    results.append({"vulns": [{"id": "GHSA-test-0003"}], "next_page_token": "p2"})
                elif q["package"]["name"] == "aiosmtpd":
                    results.append({"vulns": [{"id": "GHSA-test-0003"}]})
                else:
                    results.append({})
            return httpx.Response(200, json={"results": results})
        if request.url.path == "/v1/vulns/GHSA-test-0003":
            return httpx.Response(200, json=record)
        return httpx.Response(404)

    return httpx.MockTransport(handler)


def test_osv_api_queries_pages_and_fetches_each_id_once(data: Path) -> None:
    calls: list[str] = []
    components = [
        _component("aiosmtpd", "1.4.4", "PyPI"),
        _component("aiosmtpd", "1.4.4", "PyPI"),
        _component("requests", "2.31.0", "PyPI"),
        _component("nover", None, "PyPI"),
    ]
    with httpx.Client(transport=_api(data, calls)) as client:
        load = OsvApi(client, "https://osv.test").load(components)
    assert [a.id for a in load.advisories] == ["GHSA-test-0003"]
    assert calls == ["POST /v1/querybatch", "POST /v1/querybatch", "GET /v1/vulns/GHSA-test-0003"]
    assert isinstance(AdvisoryIndex(load.advisories).match_one(components[0]), Vulnerable)


def test_osv_api_failure_is_an_external_service_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503))
    with httpx.Client(transport=transport) as client, pytest.raises(ExternalServiceError):
        OsvApi(client).load([_component("aiosmtpd", "1.4.4", "PyPI")])


@pytest.mark.parametrize(
    "text",
    [
        "Ubuntu:22.04:LTS",
        "Ubuntu:Pro:18.04:LTS",
        "Ubuntu:24.10",
        "Debian:12",
        "PyPI",
        "Alpine:v3.18",
    ],
)
def test_ecosystem_osv_spelling_round_trips(text: str) -> None:
    assert Ecosystem.parse(text).osv_name() == text
