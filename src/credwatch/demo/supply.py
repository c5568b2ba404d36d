"""Demo stage ``supply``: six ISP tenants on one shared mail backend, and what is exposed.

Writes, under ``OUT/supply/``:

* ``platforms.toml`` — the six tenants of :data:`credwatch.demo.population.TENANTS` on a
  shared mail backend (IMAP, SMTP hosts), a webmail platform shared by four of them and
  one tenant's own portal; account counts per tenant and status from the population
  (or from an accounts census another stage left in ``ctx.artifacts["accounts_census"]``);
  three suppliers with obligation gaps (a 120 h notification deadline, a stale drill,
  a failed drill with no contact, an undescribed in-house team);
* ``inventories/*.cdx.json`` (CycloneDX 1.6, written with cyclonedx-python-lib) and one
  ``smtp-1.status`` (dpkg) — with a vulnerable Dovecot on the IMAP hosts;
* ``osv/*.json`` — a small synthetic OSV advisory set (``DEMO-*`` ids: not real
  advisories), including a USN-style record merged by ``upstream``, a withdrawn record
  and one for an ecosystem credwatch cannot order (both counted, not matched);

then runs :func:`credwatch.supply.scan` on them and saves the JSON document as the
workspace's latest supply result for the report.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component as CdxComponent
from cyclonedx.model.component import ComponentType
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from credwatch.demo.population import TENANTS, Population
from credwatch.demo.runner import DemoContext, StageResult
from credwatch.results import save_result
from credwatch.supply import OsvDirectory, load_platform_map, scan

__all__ = ["run"]

_STATUSES = ("active", "dormant", "cancelled")

#: Hosts and their components: (name, version, purl type, namespace, qualifiers).
_HOSTS: dict[str, list[tuple[str, str, str, str | None, dict[str, str]]]] = {
    "imap-1": [
        ("dovecot-core", "1:2.3.16+dfsg1-3ubuntu2.3", "deb", "ubuntu", {"distro": "jammy"}),
        ("dovecot-imapd", "1:2.3.16+dfsg1-3ubuntu2.3", "deb", "ubuntu", {"distro": "jammy"}),
        ("openssl", "3.0.2-0ubuntu1.15", "deb", "ubuntu", {"distro": "jammy"}),
    ],
    "imap-2": [
        ("dovecot-core", "1:2.3.16+dfsg1-3ubuntu2.3", "deb", "ubuntu", {"distro": "jammy"}),
        ("dovecot-imapd", "1:2.3.16+dfsg1-3ubuntu2.3", "deb", "ubuntu", {"distro": "jammy"}),
        ("openssl", "3.0.2-0ubuntu1.15", "deb", "ubuntu", {"distro": "jammy"}),
    ],
    "web-1": [
        ("roundcube", "1.5.0+dfsg.1-2ubuntu0.1", "deb", "ubuntu", {"distro": "jammy"}),
        ("aiosmtpd", "1.4.4", "pypi", None, {}),
        ("jinja2", "3.1.4", "pypi", None, {}),
    ],
    "portal-1": [
        ("django", "4.2.16", "pypi", None, {}),
        ("lodash", "4.17.21", "npm", None, {}),
    ],
}

_DPKG_SMTP = """\
Package: postfix
Status: install ok installed
Architecture: amd64
Version: 3.6.4-1ubuntu1.3

Package: libsasl2-2
Status: install ok installed
Source: cyrus-sasl2
Architecture: amd64
Version: 2.1.27+dfsg2-3ubuntu1.2

Package: exim4-base
Status: deinstall ok config-files
Source: exim4
Architecture: amd64
Version: 4.95-4ubuntu2.2
"""


def _osv(ident: str, **fields: Any) -> dict[str, Any]:
    return {"schema_version": "1.6.0", "id": ident, "modified": "2026-06-20T00:00:00Z", **fields}


def _pkg(name: str, ecosystem: str = "Ubuntu:22.04:LTS") -> dict[str, str]:
    return {"ecosystem": ecosystem, "name": name}


def _range(*events: dict[str, str]) -> list[dict[str, Any]]:
    return [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, *events]}]


_DOVECOT_BINARIES = [
    {"binary_name": "dovecot-core", "binary_version": "1:2.3.16+dfsg1-3ubuntu2.5"},
    {"binary_name": "dovecot-imapd", "binary_version": "1:2.3.16+dfsg1-3ubuntu2.5"},
]

_ADVISORIES: list[dict[str, Any]] = [
    _osv(
        "DEMO-2026-0001",
        summary="Synthetic: Dovecot auth-policy bypass lets password spraying skip throttling",
        upstream=["DEMO-CVE-2026-0601"],
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"}],
        affected=[
            {
                "package": _pkg("dovecot"),
                "ranges": _range({"fixed": "1:2.3.16+dfsg1-3ubuntu2.5"}),
                "ecosystem_specific": {"binaries": _DOVECOT_BINARIES},
            }
        ],
    ),
    _osv(
        "DEMO-USN-0001-1",
        summary="Synthetic notice: Dovecot vulnerabilities",
        upstream=["DEMO-2026-0001"],
        affected=[
            {
                "package": _pkg("dovecot"),
                "ranges": _range({"fixed": "1:2.3.16+dfsg1-3ubuntu2.5"}),
                "ecosystem_specific": {"binaries": _DOVECOT_BINARIES},
            }
        ],
    ),
    _osv(
        "DEMO-2026-0002",
        summary="Synthetic: Roundcube stored XSS in HTML message bodies (no fix yet)",
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:N"}],
        affected=[{"package": _pkg("roundcube"), "ranges": _range()}],
    ),
    _osv(
        "DEMO-2026-0003",
        summary="Synthetic: Postfix issue fixed before the installed version",
        severity=[{"type": "Ubuntu", "score": "medium"}],
        affected=[{"package": _pkg("postfix"), "ranges": _range({"fixed": "3.6.4-1ubuntu1.2"})}],
    ),
    _osv(
        "DEMO-2026-0004",
        summary="Synthetic: aiosmtpd STARTTLS command injection",
        aliases=["DEMO-GHSA-0004"],
        severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N"}],
        affected=[{"package": _pkg("aiosmtpd", "PyPI"), "ranges": _range({"fixed": "1.4.6"})}],
    ),
    _osv(
        "DEMO-2026-0005",
        summary="Synthetic: withdrawn record (ignored)",
        withdrawn="2026-06-25T00:00:00Z",
        affected=[{"package": _pkg("openssl"), "ranges": _range()}],
    ),
    _osv(
        "DEMO-2026-0006",
        summary="Synthetic: a record for an ecosystem credwatch cannot order (counted)",
        affected=[{"package": _pkg("mailer", "ExampleEco"), "ranges": _range({"fixed": "2"})}],
    ),
]

#: (platform, display name, tenants, hosts with their inventory files, suppliers).
_PLATFORMS: list[tuple[str, str, list[str], dict[str, str], list[str]]] = [
    (
        "shared-mail",
        "Shared mail backend (IMAP/SMTP)",
        [t.name for t in TENANTS],
        {
            "imap-1": "inventories/imap-1.cdx.json",
            "imap-2": "inventories/imap-2.cdx.json",
            "smtp-1": "inventories/smtp-1.status",
        },
        ["mailsoft"],
    ),
    (
        "shared-webmail",
        "Shared webmail",
        ["nifty", "biglobe", "commufa", "pikara"],
        {"web-1": "inventories/web-1.cdx.json"},
        ["webmail-ops"],
    ),
    (
        "jcom-portal",
        "JCOM member portal",
        ["jcom"],
        {"portal-1": "inventories/portal-1.cdx.json"},
        ["jcom-inhouse"],
    ),
]

_SUPPLIERS = """\
[suppliers.mailsoft]
display_name = "MailSoft K.K. (mail backend vendor)"
notification_hours = 120
contact = "csirt@mailsoft.example"
last_drill = 2024-11-02
drill_result = "passed"

[suppliers.webmail-ops]
display_name = "Webmail operations contractor"
notification_hours = 48
last_drill = 2026-02-10
drill_result = "failed"
"""


def _counts_from_population(population: Population) -> dict[str, dict[str, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for start, stop in population.slices():
        part = population.slice(start, stop)
        pairs = pc.binary_join_element_wise(part.tenant, part.status, "\t")
        for item in pc.value_counts(pairs).to_pylist():
            tenant, status = str(item["values"]).split("\t")
            counts[(tenant, status)] += int(item["counts"])
    return {t.name: {s: counts[(t.name, s)] for s in _STATUSES} for t in TENANTS}


def _counts(ctx: DemoContext) -> tuple[dict[str, dict[str, int]], str]:
    census = ctx.artifacts.get("accounts_census")
    if isinstance(census, Mapping) and all(t.name in census for t in TENANTS):
        return (
            {
                t.name: {s: int(census[t.name].get(s, 0)) for s in (*_STATUSES, "unknown")}
                for t in TENANTS
            },
            "the accounts stage's census",
        )
    return _counts_from_population(ctx.population), "population statuses"


def _write_sbom(path: Path, host: str, now: datetime) -> None:
    bom = Bom(serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"credwatch-demo:{host}"))
    bom.metadata.timestamp = now
    root = CdxComponent(name=host, type=ComponentType.OPERATING_SYSTEM, bom_ref=f"host:{host}")
    bom.metadata.component = root
    parts = []
    for name, version, kind, namespace, qualifiers in _HOSTS[host]:
        purl = PackageURL(kind, namespace, name, version, qualifiers or None)
        comp = CdxComponent(
            name=name,
            version=version,
            type=ComponentType.LIBRARY,
            purl=purl,
            bom_ref=purl.to_string(),
        )
        bom.components.add(comp)
        parts.append(comp)
    bom.register_dependency(root, parts)
    path.write_text(JsonV1Dot6(bom).output_as_string(indent=2), encoding="utf-8")


def _platform_map(counts: Mapping[str, Mapping[str, int]]) -> str:
    lines = [
        "# Demo platform map: six ISP tenants on one shared mail backend.",
        "[policy]",
        "max_notification_hours = 72",
        "drill_max_age_months = 12",
        "spof_share = 0.5",
        "",
    ]
    for tenant in TENANTS:
        uses = [p for p, _, tenants, _, _ in _PLATFORMS if tenant.name in tenants]
        c = counts[tenant.name]
        lines += [
            f"[tenants.{tenant.name}]",
            f'display_name = "{tenant.operator}"',
            f"platforms = {json.dumps(uses)}",
            f"accounts = {{ active = {c['active']}, dormant = {c['dormant']}, "
            f"cancelled = {c['cancelled']}"
            + (f", unknown = {c['unknown']}" if c.get("unknown") else "")
            + " }",
            "",
        ]
    for name, display, _, hosts, suppliers in _PLATFORMS:
        lines += [
            f"[platforms.{name}]",
            f'display_name = "{display}"',
            f"suppliers = {json.dumps(suppliers)}",
        ]
        for host, inventory in hosts.items():
            lines += [f"[platforms.{name}.hosts.{host}]"]
            if inventory.endswith(".status"):
                lines += [
                    f'inventories = [{{ path = "{inventory}", format = "dpkg-status", '
                    'ecosystem = "Ubuntu:22.04:LTS" }]'
                ]
            else:
                lines += [f'inventories = ["{inventory}"]']
        lines.append("")
    return "\n".join(lines) + "\n" + _SUPPLIERS


def run(ctx: DemoContext) -> StageResult:
    """Write the platform map, inventories and advisories, then scan them."""
    base = ctx.out_dir / "supply"
    (base / "inventories").mkdir(parents=True, exist_ok=True)
    (base / "osv").mkdir(parents=True, exist_ok=True)
    now = ctx.population.now.astimezone(UTC)
    for host in _HOSTS:
        _write_sbom(base / "inventories" / f"{host}.cdx.json", host, now)
    (base / "inventories" / "smtp-1.status").write_text(_DPKG_SMTP, encoding="utf-8")
    for record in _ADVISORIES:
        (base / "osv" / f"{record['id']}.json").write_text(
            json.dumps(record, indent=2) + "\n", encoding="utf-8"
        )
    counts, counted_from = _counts(ctx)
    map_path = base / "platforms.toml"
    map_path.write_text(_platform_map(counts), encoding="utf-8")

    report = scan([], OsvDirectory(base / "osv"), load_platform_map(map_path), today=now.date())
    doc = report.to_json()
    save_result(ctx.workspace, "supply", doc)
    ctx.artifacts["supply"] = {"platforms": str(map_path), "advisories": str(base / "osv")}

    summary = doc["summary"]
    lines = [
        f"{summary['components']} components on {len(_HOSTS) + 1} hosts, "
        f"{summary['vulnerable']} vulnerable, {summary['unchecked']} could not be checked "
        f"(accounts from {counted_from})",
    ]
    for f in doc["findings"]:
        acc = f["accounts"] or {}
        lines.append(
            f"{f['component']} {f['version']}: {', '.join(f['advisories'])} "
            f"({f['severity'] or 'unknown'}), fix {f['fixed'] or 'none'}; "
            f"{len(f['tenants'])} tenants, {sum(acc.values()):,} accounts"
        )
    conc = doc["concentration"] or {}
    lines.append(
        f"concentration: HHI {conc.get('hhi')} ({conc.get('hhi_band')}); single points of "
        f"failure: {', '.join(conc.get('single_points_of_failure', [])) or 'none'}"
    )
    lines.append(f"{len(doc['obligations'] or [])} supplier obligation gaps")
    lines.append(f"credwatch supply scan --platforms {map_path} --advisories {base / 'osv'}")
    return StageResult(
        name="supply",
        lines=tuple(lines),
        data={
            "platforms": str(map_path),
            "advisories": str(base / "osv"),
            "summary": summary,
            "findings": len(doc["findings"]),
            "hhi": conc.get("hhi"),
            "single_points_of_failure": conc.get("single_points_of_failure", []),
            "obligation_gaps": len(doc["obligations"] or []),
        },
    )
