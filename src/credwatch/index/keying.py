"""The ingest's hot path in polars: split plain lines, and key accepted rows.

Two jobs, both vectorised in Rust (polars releases the GIL while it works):

* :func:`fast_split` splits and validates the lines that are plain
  ``ascii-address SEP password``: nearly every line of a real dump.  It only accepts
  lines the general path (the DuckDB splitters of
  :mod:`credwatch.leaks.formats` plus :meth:`Normalizer.sql`) would accept with the
  same address and password; every other line (blanks around the address, non-ASCII
  text, a separator before the ``@``, no separator, an empty password, rejections)
  is left to the general path.
* :func:`key_rows` derives ``email_key`` and ``pair_key`` with polars-hash's SHA-256
  (Rust ``sha2``, which uses the CPU's SHA extensions), byte for byte
  :class:`credwatch.keys.Keyer` (``sha256-prefix-v1``).

Keys stay as pairs of big-endian ``UInt64`` words here (cheap to hash and compare)
and become ``BINARY(16)`` blobs with :func:`fixed_binary` on their way to DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from polars_hash import CryptographicHashingNameSpace, NonCryptographicHashingNameSpace

from credwatch.keys import KEY_LENGTH, Keyer
from credwatch.normalize import DOMAIN_PATTERN, MAX_ADDRESS_LENGTH

__all__ = [
    "KEY_COLUMNS",
    "PLAINTEXT_ENGINE",
    "PlainSplit",
    "fast_split",
    "fixed_binary",
    "hex_words",
    "key_rows",
    "plain_address_pattern",
    "sha1_hex",
    "sha256_hex",
]

#: The polars engine for plaintext: the streaming engine may spill to disk under
#: memory pressure, the in-memory engine never does.
PLAINTEXT_ENGINE: Literal["in-memory"] = "in-memory"
#: The key columns of :func:`key_rows`: email key words, then pair key words.
KEY_COLUMNS = ("ehi", "elo", "phi", "plo")
# A separator as a character of a regular-expression class.
_SEPARATOR_REGEX = {":": ":", ";": ";", "\t": r"\t", "|": "|"}


def plain_address_pattern(separator: str) -> str:
    """The regular expression (Rust ``regex`` syntax) of a plain address.

    ASCII only, no blanks around it, no separator inside, and a valid address once
    lowercased.  Case-insensitive classes are spelled out: ``(?i)`` would let non-ASCII
    letters (the Kelvin sign) match ``k``.

    Raises:
        KeyError: for a separator that is not one of ``: ; TAB |``.
    """
    sep = _SEPARATOR_REGEX[separator]
    # Local part: ASCII printable minus the characters the address pattern forbids
    # (and the separator).
    local = rf'[^\x00-\x20\x7f-\x{{10FFFF}}@:;,<>()\[\]\\"{sep}]{{1,64}}'
    domain = DOMAIN_PATTERN.replace("a-z", "a-zA-Z").replace("xn--", "[xX][nN]--")
    return rf"^{local}@{domain}$"


@dataclass(frozen=True, slots=True)
class PlainSplit:
    """The plain lines of a block, split, and where the others are.

    Attributes:
        rows: ``norm`` (the normalised address) and ``password`` of each plain line.
        rest: positions in the block of the lines that are neither plain nor null.
    """

    rows: pl.DataFrame
    rest: npt.NDArray[np.int64]


def fast_split(lines: pl.Series, separator: str) -> PlainSplit:
    """Split the plain lines of a block.

    A line is cut at its first separator.  When that leaves a plain address (see
    :func:`plain_address_pattern`: no separator, hence none before the ``@``) and a
    non-empty password, the cut is the general path's (the first separator after the
    ``@``) and the address needs no more normalising than lowercasing.
    """
    address, password = pl.col("field_0"), pl.col("field_1")
    parts = (
        lines.str.splitn(separator, 2)
        .struct.unnest()
        .with_columns(
            plain=(
                address.str.contains(plain_address_pattern(separator))
                & (address.str.len_bytes() <= MAX_ADDRESS_LENGTH)
                & (password.str.len_bytes() > 0)
            ).fill_null(value=False)
        )
    )
    plain = parts["plain"]
    rows = parts.filter(plain).select(norm=address.str.to_lowercase(), password=password)
    rest = np.flatnonzero((~plain & lines.is_not_null()).to_numpy())
    return PlainSplit(rows, rest.astype(np.int64))


def sha256_hex(data: pl.Expr) -> pl.Expr:
    """Lowercase hex SHA-256 of UTF-8 text (polars-hash, Rust ``sha2``)."""
    return CryptographicHashingNameSpace(data).sha2_256()


def sha1_hex(data: pl.Expr) -> pl.Expr:
    """Lowercase hex SHA-1 of UTF-8 text (polars-hash, Rust ``sha1``)."""
    return NonCryptographicHashingNameSpace(data).sha1()


def _hex_word(hex_digest: pl.Expr, word: int) -> pl.Expr:
    return hex_digest.str.slice(16 * word, 16).str.to_integer(base=16, dtype=pl.UInt64)


def key_rows(accepted: pl.DataFrame, keyer: Keyer) -> pl.DataFrame:
    """Key accepted ``(norm, password)`` rows.

    Returns ``ehi, elo`` (the email key), ``phi, plo`` (the pair key), ``domain`` and
    ``password``, one row per input row.  As in :meth:`Keyer.pair_key`, the pair key
    hashes ``lower(hex(email_key))``, which is the first 32 characters of the email
    digest's hex form.
    """
    email_hex = sha256_hex(pl.concat_str([pl.lit(keyer.email_prefix), pl.col("norm")]))
    pair_hex = sha256_hex(
        pl.concat_str(
            [pl.lit(keyer.pair_prefix), pl.col("email_hex"), pl.lit("|"), pl.col("password")]
        )
    )
    return (
        accepted.lazy()
        .with_columns(email_hex=email_hex.str.head(2 * KEY_LENGTH))
        .select(
            ehi=_hex_word(pl.col("email_hex"), 0),
            elo=_hex_word(pl.col("email_hex"), 1),
            phi=_hex_word(pair_hex, 0),
            plo=_hex_word(pair_hex, 1),
            domain=pl.col("norm").str.split_exact("@", 1).struct.field("field_1"),
            password=pl.col("password"),
        )
        .collect(engine=PLAINTEXT_ENGINE)
    )


def hex_words(hex_digest: pl.Expr, length: int) -> list[pl.Expr]:
    """Expressions of the big-endian 64-bit words of a ``length``-byte hex digest.

    A digest whose length is not a multiple of 8 ends with a shorter word; pass
    ``length`` to :func:`fixed_binary` to cut it back.
    """
    return [_hex_word(hex_digest, word).alias(f"w{word}") for word in range((length + 7) // 8)]


def fixed_binary(
    words: list[npt.NDArray[np.uint64]], length: int | None = None
) -> pa.FixedSizeBinaryArray:
    """Join big-endian ``UInt64`` word columns into ``BINARY(length)`` values.

    ``length`` defaults to 8 bytes per word; a shorter one keeps the leading bytes of
    the last word's significant end (see :func:`hex_words`).
    """
    n = len(words[0])
    full = 8 * len(words)
    length = full if length is None else length
    data = np.empty((n, len(words)), dtype=">u8")
    for i, column in enumerate(words):
        data[:, i] = column
    raw = data.view(np.uint8).reshape(n, full)
    if length != full:
        # The last word holds the digest's final (length % 8) bytes in its low end.
        tail = length % 8
        raw = np.concatenate([raw[:, : full - 8], raw[:, full - tail :]], axis=1)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(length), n, [None, pa.py_buffer(np.ascontiguousarray(raw))]
    )
