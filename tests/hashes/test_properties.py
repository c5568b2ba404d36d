"""Hypothesis properties: hashes the libraries make verify; nothing raises on junk."""

from __future__ import annotations

import base64
import hashlib

import bcrypt
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st
from passlib import hash as ph

from credwatch.hashes import OUTCOMES, Malformed, Unsupported, identify, verify, verify_many

passwords = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"),
    min_size=1,
    max_size=40,
)
FAST_ARGON2 = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _makers(pw: str) -> list[str]:
    raw = pw.encode()
    salt = b"NaCl"
    return [
        "{PLAIN}" + pw,
        "{PLAIN-MD5}" + hashlib.md5(raw).hexdigest(),
        "{SHA256}" + base64.b64encode(hashlib.sha256(raw).digest()).decode(),
        "{SSHA512}" + base64.b64encode(hashlib.sha512(raw + salt).digest() + salt).decode(),
        "{SMD5}" + base64.b64encode(hashlib.md5(raw + salt).digest() + salt).decode(),
        hashlib.sha1(raw).hexdigest(),
        ph.sha512_crypt.using(rounds=1000).hash(raw),
        ph.md5_crypt.hash(raw),
        ph.pbkdf2_sha256.using(rounds=1000).hash(raw),
        bcrypt.hashpw(raw[:72], bcrypt.gensalt(4)).decode(),
        FAST_ARGON2.hash(raw),
    ]


@settings(max_examples=25, deadline=None)
@given(pw=passwords, other=passwords)
def test_library_hashes_verify(pw: str, other: str) -> None:
    for stored in _makers(pw):
        assert verify(pw, stored).outcome == "matched", identify(stored)
        expect = (
            "matched"
            if (
                other == pw or (stored.startswith("$2") and other.encode()[:72] == pw.encode()[:72])
            )
            else "not_matched"
        )
        assert verify(other, stored).outcome == expect, identify(stored)


@settings(max_examples=15, deadline=None)
@given(pw=passwords)
def test_verify_many_equals_verify(pw: str) -> None:
    rows = [(s, p, None) for s in _makers(pw) for p in (pw, pw + "x")]
    table = verify_many(rows)
    assert table.column("outcome").to_pylist() == [verify(p, s).outcome for s, p, _ in rows]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_identify_and_verify_never_raise(text: str) -> None:
    info = identify(text)
    assert info.scheme
    result = verify("password", text, user="u@example.com")
    assert result.outcome in OUTCOMES


prefixes = st.sampled_from(
    [
        "{SHA}",
        "{SSHA}",
        "{PLAIN-MD5}",
        "{CRYPT}",
        "{BLF-CRYPT}",
        "{SCRAM-SHA-256}",
        "{OTP}",
        "{PBKDF2}",
        "{ARGON2ID}",
        "{CRAM-MD5}",
        "{DIGEST-MD5}",
        "{PLAIN-TRUNC}",
        "{SHA.HEX}",
        "{PLAIN.B64}",
        "$2y$05$",
        "$6$",
        "$y$",
        "$argon2id$",
        "$pbkdf2-sha256$",
        "_",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(prefixes, st.text(alphabet="0123456789abcdefABCDEF$./=+,-_ rounds", max_size=120))
def test_plausible_junk_is_malformed_or_unsupported_or_checked(prefix: str, body: str) -> None:
    result = verify("Kanary-7781", prefix + body, user="u@example.com")
    assert result.outcome in OUTCOMES
    if isinstance(result, Malformed | Unsupported):
        assert "Kanary" not in result.reason


STORED = [
    "{PLAIN}x",
    "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
    "{CRAM-MD5}4a60bd37924fc5d45b4c92ce695bac86cb234bc3028aab2a71a225cb0dedfbb9",
    "{DIGEST-MD5}3d3fc13b4531166e3f3ba4c9aed2e519",
    "$1$XsWSHl71$j5inRiU.jLwcuzEcPmxXM0",
    "$2y$04$1vh.P/83Qpep0dBCKVj.cOAp6k14BzHQowajHjkF0jHm0Hztffho2",
    "McnV8vVElg/j.",
    "$3$$bba7e76a87f61ff6aa300ea899a0540b",
    "{SCRAM-SHA-1}1,AA==,AA==,AA==",
    "{OTP}md4 1 seed 0000000000000000",
]


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=30), st.binary(max_size=30)))
def test_any_password_gets_an_outcome(pw: str | bytes) -> None:
    for stored in STORED:
        assert verify(pw, stored, user="u@example.com").outcome in OUTCOMES
    assert verify_many([(s, pw, None) for s in STORED]).num_rows == len(STORED)
