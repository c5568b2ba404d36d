"""RE2 building blocks shared by the log families' rules (no capturing groups here)."""

from __future__ import annotations

__all__ = ["IP", "IPV4", "IPV6"]

IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
IPV6 = r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*[0-9A-Fa-f]"
#: An IPv4 or IPv6 address, as the named group ``ip``.
IP = rf"(?P<ip>{IPV4}|{IPV6})"
