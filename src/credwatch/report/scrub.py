"""The report's last privacy guard: mask anything shaped like an address.

Inputs of the report are already privacy-safe by contract (keyed hashes, masked user
keys), but account ids of some stores *are* addresses (a Dovecot passwd-file's user
field) and free-text evidence could carry one.  Every string the report takes from an
input passes through :func:`scrub`.  Masking is idempotent (``t***@x.jp`` stays as is),
so already-masked values are unchanged.
"""

from __future__ import annotations

import re

from credwatch.normalize import mask_email

__all__ = ["scrub"]

_PART = r"[^\s@<>\"'(),;:\[\]{}]+"
_ADDRESS_RE = re.compile(rf"{_PART}@{_PART}")


def scrub(value: object) -> str:
    """Return ``value`` as text with every address-shaped token masked.

    Example:
        >>> scrub("login taro@nifty.com from 192.0.2.7")
        'login t***@nifty.com from 192.0.2.7'
    """
    return _ADDRESS_RE.sub(lambda m: mask_email(m.group(0)), str(value))
