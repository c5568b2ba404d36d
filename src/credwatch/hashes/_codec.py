"""Byte encodings of stored hashes, decoded the way Dovecot decodes them."""

from __future__ import annotations

import base64
import binascii
import hmac
import re

__all__ = ["DecodeError", "decode", "decode_b64", "decode_hex", "equal"]

_HEX = re.compile(r"[0-9A-Fa-f]*")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class DecodeError(ValueError):
    """The stored text is not valid in the encoding its scheme uses (message is safe)."""


def decode_hex(text: str) -> bytes:
    """Decode hexadecimal digits (either case)."""
    if len(text) % 2 or not _HEX.fullmatch(text):
        raise DecodeError("not valid hexadecimal")
    return bytes.fromhex(text)


def decode_b64(text: str) -> bytes:
    """Decode standard base64; padding may be missing, as Dovecot also accepts."""
    stripped = text.strip()
    if not _B64.fullmatch(stripped) or len(stripped.rstrip("=")) % 4 == 1:
        raise DecodeError("not valid base64")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecodeError("not valid base64") from exc


def decode(text: str, *, raw_len: int, default: str, forced: str | None) -> bytes:
    """Decode a digest as Dovecot's ``password_decode`` does.

    A ``.HEX``/``.B64`` suffix (``forced``) decides.  Otherwise, for fixed-length
    digests (``raw_len`` > 0), text exactly twice the digest length is hex, anything
    else base64 (hex that fails to decode falls back to base64); for variable-length
    payloads the scheme's ``default`` encoding is used.

    Raises:
        DecodeError: the text is not valid in the chosen encoding or has the wrong length.
    """
    if forced is not None:
        raw = decode_hex(text) if forced == "hex" else decode_b64(text)
    elif raw_len and len(text) == raw_len * 2:
        try:
            raw = decode_hex(text)
        except DecodeError:
            raw = decode_b64(text)
    elif raw_len or default == "base64":
        raw = decode_b64(text)
    else:
        raw = decode_hex(text)
    if raw_len and len(raw) != raw_len:
        raise DecodeError(f"decoded length {len(raw)} instead of {raw_len}")
    return raw


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a, b)
