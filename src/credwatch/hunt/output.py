"""Where alerts go: JSON Lines files and blocklists (plain, nftables, fail2ban).

Blocklists take the alerts keyed by an address or a subnet; user and site alerts have
no address to block and are left out.

Example:
    >>> print(render_blocklist([], "plain"), end="")
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Literal

from credwatch.errors import InputError, UsageError
from credwatch.hunt.interface import Alert

__all__ = [
    "BLOCKLIST_FORMATS",
    "BlocklistFormat",
    "JsonLinesSink",
    "blocklist_entries",
    "render_blocklist",
    "write_blocklist",
]

BlocklistFormat = Literal["plain", "nft", "fail2ban"]
BLOCKLIST_FORMATS: tuple[str, ...] = ("plain", "nft", "fail2ban")


class JsonLinesSink:
    """Writes each alert as one JSON object per line (``--alerts FILE``).

    Raises:
        InputError: when the file cannot be written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fh: IO[str] = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot write alerts: {exc.strerror}") from None

    def emit(self, alert: Alert) -> None:
        """Append one alert and flush (``--follow`` readers see it at once)."""
        self._fh.write(json.dumps(alert.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def blocklist_entries(alerts: Iterable[Alert]) -> tuple[list[str], list[str]]:
    """Distinct IPv4 and IPv6 entries (addresses, and subnets as CIDR), sorted."""
    v4: set[ipaddress.IPv4Network] = set()
    v6: set[ipaddress.IPv6Network] = set()
    for alert in alerts:
        if alert.key_type not in ("ip", "subnet"):
            continue
        try:
            net = ipaddress.ip_network(alert.key, strict=False)
        except ValueError:
            continue
        (v4 if isinstance(net, ipaddress.IPv4Network) else v6).add(net)  # type: ignore[arg-type]
    # An address inside a listed subnet is redundant (and nft refuses overlaps).
    v4 = set(ipaddress.collapse_addresses(v4))
    v6 = set(ipaddress.collapse_addresses(v6))

    def show(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
        return str(net.network_address) if net.num_addresses == 1 else str(net)

    return [show(n) for n in sorted(v4)], [show(n) for n in sorted(v6)]


def render_blocklist(
    alerts: Sequence[Alert], fmt: str, *, jail: str = "credwatch", table: str = "credwatch"
) -> str:
    """Render a blocklist.

    * ``plain``: one address or CIDR per line.
    * ``nft``: a ``table inet`` with ``blocklist_v4`` / ``blocklist_v6`` interval sets
      (``nft -f FILE``; reference the sets from your own rules).
    * ``fail2ban``: ``fail2ban-client set JAIL banip ...`` commands (addresses only;
      fail2ban bans single addresses).

    Raises:
        UsageError: for an unknown format.
    """
    v4, v6 = blocklist_entries(alerts)
    if fmt == "plain":
        return "".join(f"{e}\n" for e in [*v4, *v6])
    if fmt == "fail2ban":
        singles = [e for e in [*v4, *v6] if "/" not in e]
        return "".join(f"fail2ban-client set {jail} banip {e}\n" for e in singles)
    if fmt == "nft":
        lines = ["#!/usr/sbin/nft -f", "# credwatch hunt blocklist", f"table inet {table} {{"]
        for name, kind, entries in (
            ("blocklist_v4", "ipv4_addr", v4),
            ("blocklist_v6", "ipv6_addr", v6),
        ):
            lines.append(f"\tset {name} {{")
            lines.append(f"\t\ttype {kind}")
            lines.append("\t\tflags interval")
            if entries:
                lines.append("\t\telements = { " + ", ".join(entries) + " }")
            lines.append("\t}")
        lines.append("}")
        return "\n".join(lines) + "\n"
    raise UsageError(
        f"unknown blocklist format {fmt!r}", hint=f"choose one of {', '.join(BLOCKLIST_FORMATS)}"
    )


def write_blocklist(
    alerts: Sequence[Alert], path: Path, fmt: str, *, jail: str = "credwatch"
) -> int:
    """Write the blocklist to ``path``; return the number of entries.

    Raises:
        UsageError: for an unknown format.
        InputError: when the file cannot be written.
    """
    text = render_blocklist(alerts, fmt, jail=jail)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write blocklist: {exc.strerror}") from None
    v4, v6 = blocklist_entries(alerts)
    return len(v4) + len(v6)
