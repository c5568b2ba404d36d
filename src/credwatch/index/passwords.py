"""SHA-1 and NTLM of distinct passwords, in bulk.

NTLM is MD4 over the UTF-16LE password.  OpenSSL 3 no longer ships MD4 to hashlib, so
MD4 runs vectorised in NumPy for the common case (an ASCII password of at most 27
characters fits one 64-byte block), and through pycryptodome for the rest.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from Crypto.Hash import MD4

__all__ = ["ntlm", "ntlm_hashes", "sha1"]

_U32 = npt.NDArray[np.uint32]
_MAX_SINGLE_BLOCK = 27  # 2 * 27 + 1 + 8 <= 64


def sha1(password: str) -> bytes:
    """SHA-1 of the UTF-8 password (the Pwned Passwords hash)."""
    return hashlib.sha1(password.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()


def ntlm(password: str) -> bytes:
    """NTLM hash (MD4 of UTF-16LE) of one password.

    Example:
        >>> ntlm("password").hex()
        '8846f7eaee8fb117ad06bdd830b7586c'
    """
    data = password.encode("utf-16-le", "surrogatepass")
    return bytes(MD4.new(data).digest())  # noqa: S303 - NTLM is MD4 by definition


def _rotl(x: _U32, s: int) -> _U32:
    return (x << np.uint32(s)) | (x >> np.uint32(32 - s))


def _md4_blocks(x: list[_U32]) -> npt.NDArray[np.uint8]:
    """MD4 of N single padded blocks given as 16 arrays of little-endian words."""
    a0, b0, c0, d0 = (np.uint32(v) for v in (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476))
    n = len(x[0])
    a = np.full(n, a0, np.uint32)
    b = np.full(n, b0, np.uint32)
    c = np.full(n, c0, np.uint32)
    d = np.full(n, d0, np.uint32)
    with np.errstate(over="ignore"):
        for i in range(16):
            f = (b & c) | (~b & d)
            a, b, c, d = d, _rotl(a + f + x[i], (3, 7, 11, 19)[i % 4]), b, c
        k2 = np.uint32(0x5A827999)
        for i, k in enumerate((0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)):
            g = (b & c) | (b & d) | (c & d)
            a, b, c, d = d, _rotl(a + g + x[k] + k2, (3, 5, 9, 13)[i % 4]), b, c
        k3 = np.uint32(0x6ED9EBA1)
        for i, k in enumerate((0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)):
            h = b ^ c ^ d
            a, b, c, d = d, _rotl(a + h + x[k] + k3, (3, 9, 11, 15)[i % 4]), b, c
        out = np.stack([a + a0, b + b0, c + c0, d + d0], axis=1).astype("<u4")
    return out.view(np.uint8).reshape(n, 16)


def _utf16_words(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lens: npt.NDArray[np.int64]
) -> list[_U32]:
    """The 16 words of MD4's single padded block for short ASCII strings as UTF-16LE."""
    padded = np.concatenate([data, np.zeros(2 * _MAX_SINGLE_BLOCK, np.uint8)])
    zero = np.zeros(len(lens), np.uint32)
    words: list[_U32] = []
    for w in range(14):
        lo, hi = 2 * w, 2 * w + 1
        c_lo = np.where(lens > lo, padded[starts + lo], 0).astype(np.uint32)
        c_hi = np.where(lens > hi, padded[starts + hi], 0).astype(np.uint32)
        words.append(c_lo | (c_hi << np.uint32(16)))
    words += [zero.copy(), zero.copy()]
    # The 0x80 terminator sits at byte 2*len: word len // 2, low or high half.
    pad_word = lens // 2
    pad_value = np.where(lens % 2 == 0, 0x80, 0x80 << 16).astype(np.uint32)
    for w in range(14):
        words[w] |= np.where(pad_word == w, pad_value, 0).astype(np.uint32)
    words[14] = (lens * 16).astype(np.uint32)
    return words


def ntlm_hashes(passwords: pa.Array) -> pa.Array:
    """NTLM hashes of a string array (no nulls), as ``binary(16)``, vectorised.

    Example:
        >>> ntlm_hashes(pa.array(["password"]))[0].as_py().hex()
        '8846f7eaee8fb117ad06bdd830b7586c'
    """
    passwords = passwords.cast(pa.string())
    if isinstance(passwords, pa.ChunkedArray):
        passwords = passwords.combine_chunks()
    n = len(passwords)
    lengths = pc.utf8_length(passwords).to_numpy(zero_copy_only=False).astype(np.int64)
    fast = pc.and_(pc.string_is_ascii(passwords), pc.less_equal(lengths, _MAX_SINGLE_BLOCK))
    fast_np = fast.to_numpy(zero_copy_only=False)
    result = np.zeros((n, 16), dtype=np.uint8)
    rows = np.flatnonzero(fast_np)
    if len(rows):
        subset = passwords.take(pa.array(rows))
        offsets = np.frombuffer(
            subset.buffers()[1], dtype=np.int32, count=len(subset) + 1, offset=subset.offset * 4
        ).astype(np.int64)
        data_buf = subset.buffers()[2]
        data = (
            np.frombuffer(data_buf, dtype=np.uint8)
            if data_buf is not None
            else np.zeros(0, np.uint8)
        )
        words = _utf16_words(data, offsets[:-1], np.diff(offsets))
        result[rows] = _md4_blocks(words)
    slow = np.flatnonzero(~fast_np)
    if len(slow):
        values = passwords.take(pa.array(slow)).to_pylist()
        for row, value in zip(slow.tolist(), values, strict=True):
            result[row] = np.frombuffer(ntlm(value), dtype=np.uint8)
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), n, [None, pa.py_buffer(result.tobytes())]
    )
