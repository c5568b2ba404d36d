"""Committed vectors from the real tools (``make_vectors.py``), checked without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from credwatch.hashes import identify, verify, verify_many
from credwatch.hashes.unixcrypt import system_supports

VECTORS = json.loads((Path(__file__).parent / "data" / "vectors.json").read_text("utf-8"))
NEEDS_LIBXCRYPT = {"yescrypt", "gost-yescrypt", "scrypt"}


def _available(stored: str) -> bool:
    info = identify(stored)
    return info.algorithm not in NEEDS_LIBXCRYPT or system_supports(info.algorithm)


@pytest.mark.parametrize("tool", sorted({v["tool"] for v in VECTORS}))
def test_tool_vectors(tool: str) -> None:
    cases = [v for v in VECTORS if v["tool"] == tool]
    if not _available(cases[0]["stored"]):
        pytest.skip(
            f"{tool}: this system's crypt(3) lacks {identify(cases[0]['stored']).algorithm}"
        )
    wrong = [
        (len(v["password"].encode()), v["matched"])
        for v in cases
        if (verify(v["password"], v["stored"], user=v["user"]).outcome == "matched") != v["matched"]
    ]
    assert wrong == []


def test_vectors_cover_every_family() -> None:
    schemes = {identify(v["stored"]).algorithm for v in VECTORS}
    assert {
        "bcrypt",
        "sha512crypt",
        "yescrypt",
        "argon2id",
        "scram-sha256",
        "otp",
        "hmac-md5-context",
        "digest-md5",
        "pbkdf2-sha1",
        "descrypt",
        "nt",
    } <= schemes


def test_verify_many_agrees_with_verify_on_vectors() -> None:
    cases = [v for v in VECTORS if _available(v["stored"])][::5]
    table = verify_many([(v["stored"], v["password"], v["user"]) for v in cases])
    assert table.column("outcome").to_pylist() == [
        "matched" if v["matched"] else "not_matched" for v in cases
    ]
