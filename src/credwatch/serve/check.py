"""The login-time check: is this address, this pair, this password exposed?

Answers from the corpus's ``emails``/``pairs`` layers (sorted keyed hashes of the
exposure index, memory-mapped) and ``index-sha1`` (the index's password counts), so a
check is three binary searches and no database query.  The layers are a snapshot of the
index taken by ``credwatch passwords import`` (``credwatch serve`` refreshes it at start
when the index is newer).  The password and address exist only in memory during the
call.

Example:
    >>> service = CheckService(keyer, normalizer)                     # doctest: +SKIP
    >>> service.check(corpus, email="taro@nifty.com", password="hunter2")  # doctest: +SKIP
    CheckAnswer(email_exposed=True, pair_exposed=False, password_count=12)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from credwatch.corpus.store import Corpus
from credwatch.keys import Keyer
from credwatch.normalize import Normalizer

__all__ = ["CheckAnswer", "CheckService", "CheckUnavailableError", "InvalidEmailError"]


class CheckUnavailableError(Exception):
    """The corpus has no index snapshot (or one made under another pepper)."""


class InvalidEmailError(ValueError):
    """The address given is not a valid email address."""


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """The answer; ``None`` means "not asked" (no address given)."""

    email_exposed: bool | None
    pair_exposed: bool | None
    password_count: int

    def to_json(self) -> dict[str, bool | int | None]:
        """The JSON body of ``/v1/check``."""
        return {
            "email_exposed": self.email_exposed,
            "pair_exposed": self.pair_exposed,
            "password_count": self.password_count,
        }


class CheckService:
    """Look-ups in the index snapshot of a corpus.

    Args:
        keyer: the workspace's keyer (its pepper must be the snapshot's).
        normalizer: the workspace's address normaliser.
    """

    def __init__(self, keyer: Keyer, normalizer: Normalizer) -> None:
        self._keyer = keyer
        self._normalizer = normalizer

    def email_key(self, email: str) -> bytes | None:
        """The keyed hash of a login name, ``None`` when it is not an address."""
        normalized = self._normalizer.try_normalize(email)
        return None if normalized is None else self._keyer.email_key(normalized)

    def exposed(self, corpus: Corpus | None, email: str) -> bool | None:
        """Whether an address is exposed; ``None`` when unknown (no snapshot, no address)."""
        if corpus is None:
            return None
        layer = corpus.layer("emails")
        key = self.email_key(email)
        if layer is None or key is None or corpus.key_fingerprint != self._keyer.fingerprint:
            return None
        return layer.lookup(key) > 0

    def check(self, corpus: Corpus | None, *, email: str | None, password: str) -> CheckAnswer:
        """Answer one check.

        Raises:
            CheckUnavailableError: no corpus, no index snapshot, or another pepper.
            InvalidEmailError: ``email`` is not a valid address.
        """
        if corpus is None:
            raise CheckUnavailableError("no corpus has been built")
        counts = corpus.layer("index-sha1")
        emails = corpus.layer("emails")
        pairs = corpus.layer("pairs")
        if counts is None or emails is None or pairs is None:
            raise CheckUnavailableError("the corpus holds no snapshot of the exposure index")
        if corpus.key_fingerprint != self._keyer.fingerprint:
            raise CheckUnavailableError("the index snapshot was made under another pepper")
        digest = hashlib.sha1(password.encode("utf-8", "surrogatepass")).digest()  # noqa: S324 - HIBP's hash
        count = counts.lookup(digest)
        if email is None:
            return CheckAnswer(None, None, count)
        key = self.email_key(email)
        if key is None:
            raise InvalidEmailError("not a valid email address")
        email_exposed = emails.lookup(key) > 0
        pair_exposed = email_exposed and pairs.lookup(self._keyer.pair_key(key, password)) > 0
        return CheckAnswer(email_exposed, pair_exposed, count)
