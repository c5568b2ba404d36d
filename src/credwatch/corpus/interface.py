"""Where the corpus gets the exposure index's data from.

:class:`IndexSource` is what a corpus build reads from the exposure index: its
password counts (HIBP-style, never linked to an address) and the keyed hashes of
exposed addresses and pairs for the login-time check.  The implementation over
``credwatch.index.ExposureIndex`` is :mod:`credwatch.corpus.index_source`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["IndexSource", "KeyKind"]

KeyKind = Literal["email", "pair"]


class IndexSource(Protocol):
    """The exposure index, as the corpus build sees it."""

    @property
    def pepper_fingerprint(self) -> str:
        """The fingerprint of the pepper the keys were made under."""
        ...

    def password_counts(
        self, mode: Literal["sha1", "ntlm"]
    ) -> Iterator[tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint32]]]:
        """Yield ``((n, width) hashes, n counts)`` batches, any order."""
        ...

    def exposure_keys(self, kind: KeyKind) -> Iterator[npt.NDArray[np.uint8]]:
        """Yield ``(n, 16)`` batches of exposed ``email_key`` or ``pair_key`` values."""
        ...
