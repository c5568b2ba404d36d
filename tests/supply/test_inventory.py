"""Inventory readers: each format from committed fixtures, and bad input."""

from __future__ import annotations

import contextlib
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credwatch.errors import InputError, ParseError
from credwatch.supply import (
    Ecosystem,
    InventoryFormat,
    InventoryRef,
    OsvDirectory,
    PythonEnvironmentReader,
    read_inventory,
    scan,
)
from credwatch.supply.purls import InvalidPurlError, purl_package

FORMATS = [
    # file, format, expected (name, version, ecosystem) subset
    (
        "mail.cdx.json",
        "cyclonedx-json",
        {
            ("dovecot-core", "1:2.3.16+dfsg1-3ubuntu2.3", "Ubuntu:22.04"),
            ("aiosmtpd", "1.4.4", "PyPI"),  # nested component
            ("left-pad", "1.3.0", "npm"),
        },
    ),
    (
        "mail.cdx.xml",
        "cyclonedx-xml",
        {
            ("dovecot-core", "1:2.3.16+dfsg1-3ubuntu2.3", "Ubuntu:22.04"),
            ("aiosmtpd", "1.4.6", "PyPI"),
        },
    ),
    (
        "mail.spdx.json",
        "spdx-json",
        {("dovecot", "1:2.3.16+dfsg1-3ubuntu2.3", "Ubuntu:22.04"), ("requests", "2.31.0", "PyPI")},
    ),
    (
        "status",
        "dpkg-status",
        {("dovecot-core", "1:2.3.16+dfsg1-3ubuntu2.3", "Ubuntu"), ("libfoo1", "1.2-3", "Ubuntu")},
    ),
]


@pytest.mark.parametrize(("name", "fmt", "expected"), FORMATS)
def test_each_format(data: Path, name: str, fmt: str, expected: set[tuple[str, str, str]]) -> None:
    inventory = read_inventory(data / name)
    assert inventory.format == fmt
    got = {(c.name, c.version, str(c.ecosystem)) for c in inventory.components}
    assert expected <= got
    for c in inventory.components:
        assert c.source == str(data / name)
        assert c.format == fmt


def test_dpkg_status_details(data: Path) -> None:
    inventory = read_inventory(
        data / "status", InventoryFormat.DPKG_STATUS, Ecosystem.parse("Debian:12")
    )
    by_name = {c.name: c for c in inventory.components}
    assert set(by_name) == {"dovecot-core", "libfoo1"}
    assert by_name["dovecot-core"].source_package == "dovecot"
    # binNMU: the source version is what advisories refer to; the purl keeps the binary's
    assert by_name["libfoo1"].version == "1.2-3"
    assert by_name["libfoo1"].purl == "pkg:deb/debian/libfoo1@1.2-3%2Bb1"
    assert str(by_name["libfoo1"].ecosystem) == "Debian:12"
    assert inventory.rejected == {"not installed": 1, "stanza without Package or Version": 1}


def test_spdx_source_packages(data: Path) -> None:
    inventory = read_inventory(data / "mail.spdx.json")
    dovecot = next(c for c in inventory.components if c.name == "dovecot")
    assert dovecot.source_package == "dovecot"


def test_python_environment(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    for name, version in [("AioSMTPD", "1.4.4"), ("requests", "2.31.0")]:
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    broken = site / "broken-1.0.dist-info"
    broken.mkdir()
    (broken / "METADATA").write_text("Metadata-Version: 2.1\n")
    inventory = read_inventory(site)
    assert inventory.format == "python-env"
    assert [(c.name, c.version, c.purl) for c in inventory.components] == [
        ("AioSMTPD", "1.4.4", "pkg:pypi/aiosmtpd@1.4.4"),
        ("requests", "2.31.0", "pkg:pypi/requests@2.31.0"),
    ]
    assert inventory.rejected == {"distribution without name or version": 1}


def test_running_python_environment() -> None:
    inventory = PythonEnvironmentReader().read()
    assert any(c.name.lower() == "packaging" for c in inventory.components)


# -- bad input: clear messages, counted, never a crash ---------------------------------------

BAD_FILES = [
    ("bad.cdx.json", b'{"bomFormat": "CycloneDX", "components": [', "not valid JSON"),
    ("bad.xml", b"<bom xmlns='http://cyclonedx.org/schema/bom/1.5'><components>", "not valid XML"),
    ("other.xml", b"<html></html>", "not a CycloneDX XML document"),
    ("other.json", b'{"hello": "world"}', "not a CycloneDX document"),
    ("array.json", b"[1, 2]", "unknown inventory format"),
    ("bad.spdx.json", b'{"spdxVersion": "SPDX-2.3"}', "invalid SPDX document"),
    ("spdx3.json", b'{"spdxVersion": "SPDX-3.0"}', "not an SPDX 2.x document"),
    (
        "bad-type.cdx.json",
        b'{"bomFormat": "CycloneDX", "specVersion": "1.5", '
        b'"components": [{"type": "zzz", "name": "x"}]}',
        "invalid CycloneDX JSON",
    ),
    ("text.txt", b"hello\n", "unknown inventory format"),
    ("binary.bin", b"\xff\xfe\x00garbage", "unknown inventory format"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_inventory_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ParseError, match=message) as info:
        read_inventory(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_inventory(tmp_path / "nope.json", InventoryFormat.CYCLONEDX)


def test_dpkg_without_stanzas(tmp_path: Path) -> None:
    path = tmp_path / "status"
    path.write_text("\n\n")
    with pytest.raises(ParseError, match="no dpkg stanza"):
        read_inventory(path, InventoryFormat.DPKG_STATUS)


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_bad_purl_is_counted_and_component_kept(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bom.{suffix}"
    if suffix == "json":
        doc = {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "components": [
                {"type": "library", "name": "bad", "version": "1", "purl": "not a purl"},
                {"type": "library", "name": "ok", "version": "1", "purl": "pkg:pypi/ok@1"},
            ],
        }
        path.write_text(json.dumps(doc))
    else:
        path.write_text(
            "<bom xmlns='http://cyclonedx.org/schema/bom/1.4'><components>"
            "<component type='library'><name>bad</name><version>1</version>"
            "<purl>:::</purl></component>"
            "<component type='library'><name>ok</name><version>1</version>"
            "<purl>pkg:pypi/ok@1</purl></component>"
            "</components></bom>"
        )
    inventory = read_inventory(path)
    assert inventory.rejected == {"purl does not parse": 1}
    assert [(c.name, c.purl) for c in inventory.components] == [
        ("bad", None),
        ("ok", "pkg:pypi/ok@1"),
    ]


def test_bad_purl_in_spdx_is_counted(tmp_path: Path, data: Path) -> None:
    doc = json.loads((data / "mail.spdx.json").read_text())
    doc["packages"][1]["externalRefs"][0]["referenceLocator"] = "pkg:"
    path = tmp_path / "x.spdx.json"
    path.write_text(json.dumps(doc))
    inventory = read_inventory(path)
    assert inventory.rejected == {"purl does not parse": 1}
    assert len(inventory.components) == 2


def test_scan_of_empty_inventories_is_an_input_error(tmp_path: Path, data: Path) -> None:
    path = tmp_path / "empty.cdx.json"
    path.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}')
    with pytest.raises(InputError, match="no components found in 1 inventory"):
        scan([InventoryRef(path)], OsvDirectory(data / "osv"), today=date(2026, 7, 1))
    with pytest.raises(InputError, match="no inventory to scan"):
        scan([], OsvDirectory(data / "osv"), today=date(2026, 7, 1))


def test_scan_goes_on_past_a_bad_inventory(tmp_path: Path, data: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    report = scan(
        [InventoryRef(bad), InventoryRef(data / "mail.cdx.json")],
        OsvDirectory(data / "osv"),
        today=date(2026, 7, 1),
    )
    summary = report.summary()
    assert summary["inventories_failed"] == 1
    errors = {i.path: i.error for i in report.inventories}
    assert errors[str(bad)] is not None
    assert "not valid JSON" in (errors[str(bad)] or "")
    assert summary["vulnerable"] == 2  # dovecot-core and aiosmtpd 1.4.4


# -- purls ----------------------------------------------------------------------------------

PURLS = [
    ("pkg:deb/ubuntu/postfix?arch=src?distro=focal", "Ubuntu:20.04", "postfix"),
    ("pkg:deb/ubuntu/exim4@4.82?arch=source&distro=trusty/esm", "Ubuntu:pro:14.04", "exim4"),
    ("pkg:deb/ubuntu/x@1?distro=esm-apps/focal", "Ubuntu:pro:20.04", "x"),
    ("pkg:deb/debian/buildah@1.28.2%2Bds1-3?arch=amd64&distro=bookworm", "Debian:12", "buildah"),
    ("pkg:deb/debian/buildah@1.28.2?arch=amd64", "Debian", "buildah"),
    ("pkg:pypi/Django_Anymail@1.3", "PyPI", "django-anymail"),
    ("pkg:npm/%40angular/core@1.0.0", "npm", "@angular/core"),
    (
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0",
        "Maven",
        "com.fasterxml.jackson.core:jackson-databind",
    ),
    ("pkg:composer/asm89/stack-cors@1.3.0", "Packagist", "asm89/stack-cors"),
    ("pkg:golang/github.com/x/net@v0.1.0", "Go", "github.com/x/net"),
    ("pkg:cargo/hyper@0.14", "crates.io", "hyper"),
]


@pytest.mark.parametrize(("purl", "ecosystem", "name"), PURLS)
def test_purls(purl: str, ecosystem: str, name: str) -> None:
    eco, got = purl_package(purl)
    assert str(eco) == ecosystem
    assert got == name


def test_unknown_purl_type_has_no_ecosystem() -> None:
    assert purl_package("pkg:generic/openssl@3.0") == (None, "openssl")


@given(st.text(max_size=40))
def test_purl_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(InvalidPurlError):
        purl_package(text)


def test_an_empty_inventory_beside_a_good_one_is_counted(tmp_path: Path, data: Path) -> None:
    empty = tmp_path / "vex.json"
    empty.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.4", "vulnerabilities": []}')
    report = scan(
        [InventoryRef(empty), InventoryRef(data / "mail.cdx.xml")],
        OsvDirectory(data / "osv"),
        today=date(2026, 7, 1),
    )
    summary = report.summary()
    assert summary["inventories_empty"] == 1
    assert summary["inventories_failed"] == 0
    assert summary["components"] == 2
