"""Bare hexadecimal digests, as legacy stores keep them (no ``{SCHEME}`` prefix).

The length decides and is ambiguous: 32 digits are MD5 here, but could be MD4, NTLM or
a truncated digest; 40 are SHA-1 (or RIPEMD-160); 64 SHA-256 (or SHA3-256, BLAKE2s);
128 SHA-512 (or SHA3-512, BLAKE2b).  We name them as Dovecot would read them with an
explicit hex suffix (``PLAIN-MD5``, ``SHA1.HEX``, ``SHA256.HEX``, ``SHA512.HEX``) and list
the alternatives in :attr:`SchemeInfo.alternatives`; a NotMatched on such a hash means
"not the MD5/SHA of this password", nothing more.
"""

from __future__ import annotations

import re

from credwatch.hashes.digest import UNSALTED, verify_unsalted
from credwatch.hashes.interface import SchemeInfo, VerifyResult

__all__ = ["RawHexFamily"]

_HEX = re.compile(r"[0-9A-Fa-f]+")
# digits -> (census name, base digest scheme, alternatives)
_LENGTHS: dict[int, tuple[str, str, tuple[str, ...]]] = {
    32: ("PLAIN-MD5", "PLAIN-MD5", ("PLAIN-MD4", "NTLM")),
    40: ("SHA1.HEX", "SHA1", ("RIPEMD-160",)),
    64: ("SHA256.HEX", "SHA256", ("SHA3-256", "BLAKE2S")),
    128: ("SHA512.HEX", "SHA512", ("SHA3-512", "BLAKE2B")),
}


class RawHexFamily:
    """Unprefixed hex digests of the four common lengths."""

    def identify(self, name: str | None, payload: str) -> SchemeInfo | None:
        """Own bare hex strings of 32, 40, 64 or 128 digits."""
        if name is not None or len(payload) not in _LENGTHS or not _HEX.fullmatch(payload):
            return None
        scheme, base, alternatives = _LENGTHS[len(payload)]
        return SchemeInfo(
            scheme=scheme,
            algorithm=UNSALTED[base].algorithm,
            salted=False,
            slow=False,
            weak=True,
            supported=True,
            encoding="hex",
            alternatives=alternatives,
        )

    def verify(
        self, info: SchemeInfo, password: bytes, payload: str, user: str | None
    ) -> VerifyResult:
        """Compare with the digest of the password (see the ambiguity note above)."""
        base = _LENGTHS[len(payload)][1]
        return verify_unsalted(info.scheme, base, password, payload, "hex")
