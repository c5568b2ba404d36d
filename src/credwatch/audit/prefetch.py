"""Read ahead in a thread, and keep a connector's own error across a DuckDB scan."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

from credwatch.errors import CredwatchError

__all__ = ["Recording", "prefetch"]

T = TypeVar("T")


class Recording(Iterator[T]):
    """Wraps a stream so the connector's own error survives DuckDB's scan.

    An error raised inside a stream DuckDB is reading reaches us as a DuckDB error;
    :meth:`reraise` raises the original (e.g. ``ExternalServiceError``, exit 4) instead.
    ``kinds`` are the exception types recorded (default: credwatch's own).
    """

    def __init__(
        self,
        items: Iterator[T],
        kinds: tuple[type[BaseException], ...] = (CredwatchError,),
    ) -> None:
        self._items = items
        self._kinds = kinds
        self.error: BaseException | None = None

    def __next__(self) -> T:
        try:
            return next(self._items)
        except StopIteration:
            raise
        except self._kinds as exc:
            self.error = exc
            raise

    def reraise(self) -> None:
        """Raise the connector's error, if it failed."""
        if self.error is not None:
            raise self.error


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Produce ``items`` in a background thread, ``depth`` ahead of the consumer.

    Fetching from a database driver or decrypting the vault releases the GIL, so the
    next batch is read while DuckDB works on the current one.  Errors are re-raised in
    the consumer.
    """
    done = object()
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
            box.put(exc)

    worker = threading.Thread(target=produce, name="credwatch-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
