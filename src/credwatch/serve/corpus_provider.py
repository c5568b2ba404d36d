"""The corpus a worker serves, switched to a new generation when ``CURRENT`` moves.

Each worker maps the generation ``CURRENT`` names.  At most once per ``interval``
seconds (checked on a request, no thread) it looks whether ``CURRENT`` changed; if so
it opens and validates the new generation and switches to it, or keeps serving the
one it has when the new one does not validate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from credwatch.corpus.layout import CorruptCorpusError
from credwatch.corpus.store import Corpus, current_name, open_corpus, open_generation
from credwatch.errors import ConfigError

__all__ = ["CorpusProvider"]

log = logging.getLogger("credwatch.serve")


class CorpusProvider:
    """Holds the served :class:`~credwatch.corpus.store.Corpus` and reloads it.

    Args:
        root: the corpus folder (``ws.corpus_dir``).
        interval: seconds between two looks at ``CURRENT``.
        clock: monotonic clock (injected for tests).

    Example:
        >>> provider = CorpusProvider(ws.corpus_dir)     # doctest: +SKIP
        >>> provider.get()                               # doctest: +SKIP
    """

    def __init__(
        self,
        root: Path,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = root
        self._interval = interval
        self._clock = clock
        opened = open_corpus(root)
        self.refused: list[tuple[str, str]] = list(opened.refused)
        for name, reason in opened.refused:
            log.warning("refused corpus generation %s: %s", name, reason)
        self._corpus: Corpus | None = opened.corpus
        self._seen = self._pointer()
        self._next_check = clock() + interval

    def _pointer(self) -> str | None:
        try:
            return current_name(self.root)
        except ConfigError:
            return None

    def get(self) -> Corpus | None:
        """The corpus to serve now (``None``: none was ever built, or all are corrupt)."""
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + self._interval
            self._maybe_reload()
        return self._corpus

    def _maybe_reload(self) -> None:
        pointer = self._pointer()
        if pointer is None or pointer == self._seen:
            return
        self._seen = pointer
        if self._corpus is not None and self._corpus.name == pointer:
            return
        try:
            self._corpus = open_generation(self.root / "generations" / pointer)
        except CorruptCorpusError as exc:
            self.refused.append((pointer, exc.message))
            log.warning("refused corpus generation %s: %s", pointer, exc.message)
