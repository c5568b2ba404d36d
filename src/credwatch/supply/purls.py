"""Package URLs to OSV ecosystems and package names.

Example:
    >>> eco, name = purl_package("pkg:deb/ubuntu/dovecot-core@1:2.3.16?distro=jammy")
    >>> str(eco), name
    ('Ubuntu:22.04', 'dovecot-core')
    >>> purl_package("pkg:pypi/Django_Anymail@1.3")[1]
    'django-anymail'
"""

from __future__ import annotations

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from credwatch.supply.model import Ecosystem

__all__ = ["InvalidPurlError", "normalise_name", "parse_purl", "purl_package"]

#: purl type -> OSV ecosystem family (deb and apk depend on the namespace).
_TYPES = {
    "pypi": "PyPI",
    "npm": "npm",
    "cargo": "crates.io",
    "golang": "Go",
    "maven": "Maven",
    "composer": "Packagist",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "hex": "Hex",
    "pub": "Pub",
}


class InvalidPurlError(ValueError):
    """A string is not a valid package URL."""


def normalise_name(family: str, name: str) -> str:
    """The name advisories are indexed by: PEP 503 for PyPI, lower case where names fold."""
    if family == "PyPI":
        return canonicalize_name(name)
    if family in {"Maven", "Go", "NuGet"}:
        return name.strip() if family != "NuGet" else name.strip().lower()
    return name.strip().lower()


def parse_purl(text: str) -> PackageURL:
    """Parse a package URL.

    Raises:
        InvalidPurlError: the string is not a package URL.
    """
    try:
        return PackageURL.from_string(text.strip())
    except ValueError as exc:
        raise InvalidPurlError(f"not a package URL ({exc})") from exc


def purl_package(text: str) -> tuple[Ecosystem | None, str]:
    """The OSV ecosystem (``None`` when unknown) and normalised name of a purl.

    Raises:
        InvalidPurlError: the string is not a package URL.
    """
    purl = parse_purl(text)
    kind = purl.type.lower()
    namespace = purl.namespace or ""
    qualifiers = dict(purl.qualifiers) if isinstance(purl.qualifiers, dict) else {}
    for key, value in list(qualifiers.items()):
        # Ubuntu's older records write "?arch=src?distro=focal" (a second "?").
        if "?" in value:
            qualifiers[key], _, extra = value.partition("?")
            name, _, val = extra.partition("=")
            qualifiers.setdefault(name, val)
    if kind == "deb":
        family = {"debian": "Debian", "ubuntu": "Ubuntu"}.get(namespace.lower())
        if family is None:
            return None, purl.name
        return Ecosystem.from_distro(family, qualifiers.get("distro")), normalise_name(
            family, purl.name
        )
    if kind == "apk" and namespace.lower() == "alpine":
        return Ecosystem("Alpine"), purl.name
    family = _TYPES.get(kind)
    if family is None:
        return None, purl.name
    if family == "Maven":
        name = f"{namespace}:{purl.name}" if namespace else purl.name
    elif family in {"npm", "Packagist", "Go"} and namespace:
        name = f"{namespace}/{purl.name}"
    else:
        name = purl.name
    return Ecosystem(family), normalise_name(family, name)
