"""Exposure look-ups for leak correlation: which attempted user names leaked?

User names are normalised like every address (:class:`credwatch.normalize.Normalizer`)
and turned into keyed ``email_key`` values; only keys reach the index.  Names without
``@`` take the configured ``[hunt] default_domain`` (or are "not checked" when there is
none), so "could not check" never looks like "not exposed".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from credwatch.index import ExposureIndex
from credwatch.keys import Keyer
from credwatch.normalize import Normalizer
from credwatch.workspace import Workspace

__all__ = ["IndexExposure", "user_address"]


def user_address(user: str, default_domain: str | None, normalizer: Normalizer) -> str | None:
    """The normalised address a logged user name stands for, or ``None``."""
    text = user.strip()
    if "@" not in text:
        if not default_domain or not text:
            return None
        text = f"{text}@{default_domain}"
    return normalizer.try_normalize(text)


@dataclass(slots=True)
class IndexExposure:
    """Answers exposure questions from the workspace's exposure index.

    Results are cached per user name for the life of the object (online use).

    Example:
        >>> exp = IndexExposure(ws, default_domain="nifty.com")      # doctest: +SKIP
        >>> exp.exposed_users(["taro", "hanako@nifty.com"])          # doctest: +SKIP
    """

    workspace: Workspace
    default_domain: str | None = None
    _keyer: Keyer | None = field(default=None, repr=False)
    _normalizer: Normalizer | None = None
    _cache: dict[str, bool | None] = field(default_factory=dict, repr=False)

    def _ready(self) -> tuple[Keyer, Normalizer]:
        if self._keyer is None or self._normalizer is None:
            self._keyer = self.workspace.keyer()
            self._normalizer = self.workspace.config().normalizer()
        return self._keyer, self._normalizer

    def checkable(self, user: str) -> bool:
        """Whether the user name maps to an address that can be looked up."""
        _, normalizer = self._ready()
        return user_address(user, self.default_domain, normalizer) is not None

    def exposed_users(self, users: Iterable[str]) -> set[str]:
        """The subset of ``users`` whose address is in the index.

        Raises:
            credwatch.errors.ConfigError: when the workspace has no index.
        """
        keyer, normalizer = self._ready()
        by_key: dict[bytes, list[str]] = {}
        todo = [u for u in set(users) if u not in self._cache]
        for user in todo:
            address = user_address(user, self.default_domain, normalizer)
            if address is None:
                self._cache[user] = None
                continue
            by_key.setdefault(keyer.email_key(address), []).append(user)
            self._cache[user] = False
        if by_key:
            with ExposureIndex.open(self.workspace) as index:
                hits = index.exposed_email_keys(by_key)
            for key in hits:
                for user in by_key[key]:
                    self._cache[user] = True
        return {u for u in users if self._cache.get(u)}

    def status(self, user: str) -> bool | None:
        """``True``/``False`` once looked up, ``None`` when the name is not checkable."""
        if user not in self._cache:
            self.exposed_users([user])
        return self._cache.get(user)
