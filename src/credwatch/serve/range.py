"""The Pwned Passwords range API: validation, rendering, caching, padding, validators.

``GET /range/{prefix}`` answers like api.pwnedpasswords.com: ``text/plain``, one
``SUFFIX:COUNT`` line per hash with the 35 (SHA-1) or 27 (NTLM) remaining uppercase hex
characters, lines separated by CRLF and the last one unterminated (as the real service
writes its files); an empty body for a valid prefix without hashes.  Rendered bodies are
kept in a per-worker LRU cache bounded in bytes.

``Add-Padding: true`` appends rows with count 0 and random suffixes, as the real service
does, so that the size of a response does not tell the prefix: every padded response has
at least ``padding_rows`` rows, plus 10 to 209 more at random.

Example:
    >>> parse_prefix("21bd1")
    1162961
    >>> parse_prefix("\uff121BD1") is None     # a fullwidth digit two
    True
"""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import format_datetime

import numpy as np

from credwatch.corpus.layout import WIDTH, Layer, render_range
from credwatch.corpus.store import Corpus

__all__ = ["RangeAnswer", "RangeBody", "RangeService", "parse_prefix"]

# A str pattern's ranges are code-point ranges: only ASCII hex digits match.
_PREFIX = re.compile("[0-9A-Fa-f]{5}")
PAD_EXTRA_MIN = 10
PAD_EXTRA_SPAN = 200
RANGE_CACHE_CONTROL = "public, max-age=2678400"
_TEXT = (b"content-type", b"text/plain")
_CACHEABLE = (b"cache-control", RANGE_CACHE_CONTROL.encode())
_NO_STORE = (b"cache-control", b"no-store")


def parse_prefix(text: str) -> int | None:
    """The 20-bit value of a 5-character ASCII hex prefix, else ``None``.

    Only ASCII ``0-9A-Fa-f`` count: fullwidth digits, other scripts' digits and
    look-alike letters are refused (``int(..., 16)`` alone would accept some of them).
    """
    if _PREFIX.fullmatch(text) is None:
        return None
    return int(text, 16)


@dataclass(frozen=True, slots=True)
class RangeBody:
    """A rendered response body with its validators.

    Attributes:
        body: the bytes to send.
        rows: real rows in it.
        etag: strong ETag (quoted), for the unpadded body.
        last_modified: HTTP date of the generation.
    """

    body: bytes
    rows: int
    etag: str
    last_modified: str


@dataclass(frozen=True, slots=True)
class RangeAnswer:
    """A complete answer: status, raw headers and body (ASGI-ready)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True, slots=True)
class _Served:
    """One layer of one generation as served: what every answer from it shares."""

    layer: Layer
    etag_prefix: str
    last_modified: str
    last_modified_header: tuple[bytes, bytes]

    def etag(self, bucket: int) -> str:
        return f'{self.etag_prefix}{bucket:05X}"'


def _text(status: int, message: str) -> RangeAnswer:
    return RangeAnswer(status, [_TEXT], message.encode())


def _matches(etag: str, if_none_match: str) -> bool:
    return etag in {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}


class RangeService:
    """Renders range responses from a corpus, with a byte-bounded LRU cache.

    Layers with pre-rendered text (every layer an import writes) are answered with a
    copy of the mapped body; the cache only serves layers without text.

    Args:
        cache_bytes: cache budget in bytes (0 disables caching).
        padding_rows: minimum rows of a padded response.
    """

    def __init__(self, *, cache_bytes: int, padding_rows: int) -> None:
        self._cache: OrderedDict[tuple[str, str, int], RangeBody] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._used = 0
        self._served: dict[tuple[str, str], _Served | None] = {}
        self.padding_rows = padding_rows

    def _serve(self, corpus: Corpus, mode: str) -> _Served | None:
        """The served form of a corpus layer, built once per generation and mode."""
        key = (corpus.name, mode)
        try:
            return self._served[key]
        except KeyError:
            pass
        if any(name != corpus.name for name, _ in self._served):
            self._served.clear()  # a new generation: forget the old one's
        layer = corpus.layer(mode)
        served = None
        if layer is not None:
            last_modified = format_datetime(corpus.created_at, usegmt=True)
            served = _Served(
                layer=layer,
                etag_prefix=f'"{corpus.name}-{mode}-',
                last_modified=last_modified,
                last_modified_header=(b"last-modified", last_modified.encode()),
            )
        self._served[key] = served
        return served

    def body(self, corpus: Corpus, mode: str, bucket: int) -> RangeBody | None:
        """The body of one prefix, or ``None`` when the corpus has no layer for ``mode``."""
        served = self._serve(corpus, mode)
        if served is None:
            return None
        return self._body(served, corpus.name, mode, bucket)

    def _body(self, served: _Served, name: str, mode: str, bucket: int) -> RangeBody:
        layer = served.layer
        etag = served.etag(bucket)
        text = layer.body(bucket)
        if text is not None:
            # Pre-rendered at import: a slice of the mapped text, nothing to cache.
            return RangeBody(text, layer.rows(bucket), etag, served.last_modified)
        key = (name, mode, bucket)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        rendered = RangeBody(
            render_range(*layer.slice(bucket)), layer.rows(bucket), etag, served.last_modified
        )
        if self._cache_bytes > 0:
            self._cache[key] = rendered
            self._used += len(rendered.body) + 200
            while self._used > self._cache_bytes and self._cache:
                _, old = self._cache.popitem(last=False)
                self._used -= len(old.body) + 200
        return rendered

    def padded(self, rendered: RangeBody, mode: str) -> bytes:
        """The body with count-0 rows of random suffixes appended (``Add-Padding``)."""
        extra = max(0, self.padding_rows - rendered.rows)
        extra += PAD_EXTRA_MIN + secrets.randbelow(PAD_EXTRA_SPAN)
        width = WIDTH[mode]
        fake = np.frombuffer(secrets.token_bytes(extra * width), dtype=np.uint8)
        padding = render_range(fake.reshape(extra, width), np.zeros(extra, dtype=np.uint32))
        if not rendered.body:
            return padding
        return rendered.body + b"\r\n" + padding

    def respond(
        self,
        corpus: Corpus | None,
        prefix: str,
        mode: str | None,
        add_padding: str | None,
        if_none_match: str | None,
    ) -> RangeAnswer:
        """The whole answer to ``GET /range/{prefix}`` (shared by both HTTP paths).

        Statuses: 200, 304 (``If-None-Match`` matches), 400 (malformed prefix or mode),
        503 (no corpus, or none for this mode: "could not check" is never "no match").
        """
        bucket = parse_prefix(prefix)
        if bucket is None:
            if len(prefix) != 5:
                return _text(400, "The hash prefix was not in a valid format")
            return _text(400, "The hash prefix was not valid hexadecimal")
        if mode is None:
            mode = "sha1"
        elif mode not in WIDTH:
            return _text(400, "The mode must be sha1 or ntlm")
        served = self._serve(corpus, mode) if corpus is not None else None
        if served is None or corpus is None:
            return _text(503, "The breached-password corpus is not available")
        if add_padding is not None and add_padding.strip().lower() == "true":
            rendered = self._body(served, corpus.name, mode, bucket)
            headers = [_TEXT, _NO_STORE, served.last_modified_header]
            return RangeAnswer(200, headers, self.padded(rendered, mode))
        etag = served.etag(bucket)
        validators = [(b"etag", etag.encode()), served.last_modified_header, _CACHEABLE]
        if if_none_match is not None and _matches(etag, if_none_match):
            return RangeAnswer(304, validators, b"")
        body = served.layer.body(bucket)
        if body is None:
            body = self._body(served, corpus.name, mode, bucket).body
        return RangeAnswer(200, [_TEXT, *validators], body)
