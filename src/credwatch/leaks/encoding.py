"""Per-file text encoding detection: UTF-8, CP932 (Shift_JIS), EUC-JP, else Latin-1.

Detection runs on a sample from the start of the file: strict UTF-8 first (a BOM is
fine); otherwise CP932 and EUC-JP are tried with strict decoding and the one whose
non-ASCII characters are most plausibly Japanese (kana, kanji, full-width forms) wins;
if neither is plausible the file is Latin-1, which decodes any byte.
"""

from __future__ import annotations

import codecs

from credwatch.errors import UsageError

__all__ = ["SUPPORTED_ENCODINGS", "UTF8_BOM", "detect_encoding", "normalize_encoding_name"]

UTF8_BOM = codecs.BOM_UTF8
#: Encodings ``--encoding`` accepts (canonical names).
SUPPORTED_ENCODINGS = ("utf-8", "cp932", "euc-jp", "latin-1")
_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "cp932": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "euc-jp": "euc-jp",
    "eucjp": "euc-jp",
    "euc_jp": "euc-jp",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
}
_MIN_PLAUSIBLE = 0.6


def normalize_encoding_name(name: str) -> str:
    """Map an ``--encoding`` value to its canonical name.

    Shift_JIS is read as CP932, its Windows superset that real dumps use.

    Raises:
        UsageError: for an encoding credwatch does not read.
    """
    canonical = _ALIASES.get(name.strip().lower())
    if canonical is None:
        raise UsageError(
            f"unsupported encoding {name!r}",
            hint=f"use auto or one of: {', '.join(SUPPORTED_ENCODINGS)}",
        )
    return canonical


def _japanese_share(text: str) -> float:
    """Share of non-ASCII characters that are kana, kanji or full-width forms."""
    total = japanese = 0
    for ch in text:
        code = ord(ch)
        if code < 0x80:
            continue
        total += 1
        if (
            0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
            or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
            or 0xFF00 <= code <= 0xFFEF  # full-width and half-width forms
        ):
            japanese += 1
    return japanese / total if total else 0.0


def detect_encoding(sample: bytes) -> str:
    """Guess the encoding of a file from its first bytes.

    Example:
        >>> detect_encoding("taro@nifty.com:さくら".encode("cp932"))
        'cp932'
        >>> detect_encoding(b"jose@example.es:contrase\\xf1a")
        'latin-1'
    """
    if sample.startswith(UTF8_BOM):
        sample = sample[len(UTF8_BOM) :]
    cut = sample.rfind(b"\n")
    if 0 <= cut < len(sample) - 1:
        sample = sample[: cut + 1]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample without a newline may end inside a character.
        if exc.reason != "unexpected end of data":
            return _detect_legacy(sample)
    return "utf-8"


def _detect_legacy(sample: bytes) -> str:
    scores: dict[str, float] = {}
    for candidate in ("cp932", "euc-jp"):
        try:
            text = sample.decode(candidate)
        except UnicodeDecodeError:
            continue
        scores[candidate] = _japanese_share(text)
    plausible = {name: score for name, score in scores.items() if score >= _MIN_PLAUSIBLE}
    if not plausible:
        return "latin-1"
    return max(sorted(plausible), key=lambda name: plausible[name])
