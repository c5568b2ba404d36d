"""Supply chain: inventory, advisory matching, blast radius, concentration, obligations.

Read inventories (CycloneDX JSON/XML, SPDX 2.x JSON, dpkg status, Python environments),
match them against OSV advisories (an offline folder or osv.dev zip, or the OSV API)
with each ecosystem's version semantics, and tell which platforms, hosts, tenants and
accounts stand behind every vulnerable component; summarise how concentrated accounts
are on shared platforms and where suppliers' obligations fall short.

Example:
    >>> from credwatch.supply import InventoryRef, OsvDirectory, load_platform_map, scan
    >>> report = scan([], OsvDirectory(Path("osv")),
    ...               load_platform_map(Path("platforms.toml")),
    ...               today=date.today())                        # doctest: +SKIP
"""

from credwatch.supply.analysis import (
    BlastRadius,
    Concentration,
    ObligationGap,
    PlatformShare,
    blast_radius,
    concentration,
    obligation_gaps,
)
from credwatch.supply.cyclonedx import CycloneDxReader
from credwatch.supply.dpkg import DpkgStatusReader
from credwatch.supply.interface import AdvisoryLoad, AdvisorySource, InventoryReader
from credwatch.supply.inventory import InventoryFormat, detect_format, read_inventory
from credwatch.supply.matching import (
    AdvisoryIndex,
    MatchResult,
    NotAffected,
    Vulnerability,
    Vulnerable,
)
from credwatch.supply.model import Component, Ecosystem, Inventory, Unchecked
from credwatch.supply.osv import Advisory, Severity, parse_record
from credwatch.supply.osv_api import OsvApi
from credwatch.supply.osv_offline import OsvDirectory, OsvZip, open_offline
from credwatch.supply.platforms import (
    AccountCounts,
    InventoryRef,
    PlatformMap,
    Policy,
    load_platform_map,
)
from credwatch.supply.pyenv import PythonEnvironmentReader
from credwatch.supply.scan import Finding, ScanReport, scan
from credwatch.supply.spdx import SpdxReader
from credwatch.supply.versions import InvalidVersionError, scheme_for

__all__ = [
    "AccountCounts",
    "Advisory",
    "AdvisoryIndex",
    "AdvisoryLoad",
    "AdvisorySource",
    "BlastRadius",
    "Component",
    "Concentration",
    "CycloneDxReader",
    "DpkgStatusReader",
    "Ecosystem",
    "Finding",
    "InvalidVersionError",
    "Inventory",
    "InventoryFormat",
    "InventoryReader",
    "InventoryRef",
    "MatchResult",
    "NotAffected",
    "ObligationGap",
    "OsvApi",
    "OsvDirectory",
    "OsvZip",
    "PlatformMap",
    "PlatformShare",
    "Policy",
    "PythonEnvironmentReader",
    "ScanReport",
    "Severity",
    "SpdxReader",
    "Unchecked",
    "Vulnerability",
    "Vulnerable",
    "blast_radius",
    "concentration",
    "detect_format",
    "load_platform_map",
    "obligation_gaps",
    "open_offline",
    "parse_record",
    "read_inventory",
    "scan",
    "scheme_for",
]
