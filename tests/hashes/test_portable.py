"""The portable path: with no crypt(3) (as on macOS or 3.13 without crypt-r), libpass
verifies the crypt forms it implements, with the same verdicts as the real tools, and
the libxcrypt-only ones are reported Unsupported, never NotMatched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credwatch.hashes import bcrypt_scheme, identify, unixcrypt, verify

VECTORS = json.loads((Path(__file__).parent / "data" / "vectors.json").read_text("utf-8"))
CRYPT_ONLY = {"yescrypt", "gost-yescrypt", "scrypt"}


@pytest.fixture
def no_system_crypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unixcrypt, "system_crypt", lambda: None)
    monkeypatch.setattr(unixcrypt, "system_supports", lambda algorithm: False)
    monkeypatch.setattr(bcrypt_scheme, "system_crypt", lambda: None)


@pytest.mark.usefixtures("no_system_crypt")
def test_libpass_agrees_with_the_tools_where_it_can() -> None:
    wrong, unsupported = [], set()
    cases = [v for v in VECTORS if v["tool"].startswith("mkpasswd") and "sunmd5" not in v["tool"]]
    # libpass's SunMD5 is pure Python (about 2 s a hash here): two vectors are enough.
    cases += [v for v in VECTORS if v["tool"] == "mkpasswd -m sunmd5"][:2]
    for v in cases:
        result = verify(v["password"], v["stored"], user=v["user"])
        algorithm = identify(v["stored"]).algorithm
        if algorithm in CRYPT_ONLY:
            assert result.outcome == "unsupported", v["tool"]
            unsupported.add(algorithm)
        elif (result.outcome == "matched") != v["matched"]:
            wrong.append((v["tool"], len(v["password"].encode())))
    assert wrong == []
    assert unsupported == CRYPT_ONLY


@pytest.mark.usefixtures("no_system_crypt")
def test_identify_says_why_it_is_unsupported() -> None:
    info = identify("$y$j9T$U0VGZWdhfcy0QAwnp1DXF/$dkWxmgOE/3up1SksCicL8ZQ4HGsIveDWj9BKHnwF1KD")
    assert not info.supported
    assert info.reason == "yescrypt needs libxcrypt's crypt(3)"
