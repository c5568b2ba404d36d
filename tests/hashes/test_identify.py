"""identify(), census() and verify() on hand-written table rows, including bad input."""

from __future__ import annotations

import pytest

from credwatch.hashes import (
    Malformed,
    Matched,
    NotMatched,
    Unsupported,
    census,
    identify,
    verify,
)
from credwatch.hashes.bcrypt_scheme import countermeasure_applies
from credwatch.hashes.dovecot import otp_hash

SHA512 = (
    "$6$N9OwjengOLjjp6zm$a9iTIomCL1TJA0Cgz7BoDJnZTK6wp.6g5ywa5QK14oTd0M25LjA4fXs4LQ7aN7y31UOEfT"
    "Mhn/z8FP0YdjMPw1"
)


@pytest.mark.parametrize(
    ("stored", "scheme", "algorithm", "weak", "slow", "salted"),
    [
        ("{SHA512-CRYPT}" + SHA512, "SHA512-CRYPT", "sha512crypt", False, True, True),
        (SHA512, "SHA512-CRYPT", "sha512crypt", False, True, True),
        ("{CRYPT}" + SHA512, "CRYPT", "sha512crypt", False, True, True),
        ("{crypt}" + SHA512, "CRYPT", "sha512crypt", False, True, True),
        (
            "$2y$05$WbgqOz6zrSMf2Ty5BFSE4uoVsVrpWyvWH7hAklctfXLsVLV.XkCsS",
            "BLF-CRYPT",
            "bcrypt",
            False,
            True,
            True,
        ),
        ("{PLAIN-MD5}12841e4ba5e37d2fbfc78458c6714ade", "PLAIN-MD5", "md5", True, False, False),
        ("12841e4ba5e37d2fbfc78458c6714ade", "PLAIN-MD5", "md5", True, False, False),
        (
            "{SSHA256}ubpbLx1wZzIICZoY3ADvAdGkTaRgkbXJvZxrShyh3GdUg0vN",
            "SSHA256",
            "salted-sha256",
            False,
            False,
            True,
        ),
        ("{SSHA}H4xgBahWKjj3HPn7QAF1/B2j6qObnf5+", "SSHA", "salted-sha1", False, False, True),
        ("{PLAIN}secret", "PLAIN", "plain", True, False, False),
        ("{CLEAR}secret", "CLEAR", "plain", True, False, False),
        ("{PLAIN.B64}eA==", "PLAIN", "plain", True, False, False),
        ("{SHA.HEX}11f6ad8ec52a2984abaafd7c3b516503785c2072", "SHA", "sha1", True, False, False),
        ("{DES-CRYPT}McnV8vVElg/j.", "DES-CRYPT", "descrypt", True, False, True),
        ("McnV8vVElg/j.", "DES-CRYPT", "descrypt", True, False, True),
        ("{MD5}$1$XsWSHl71$j5inRiU.jLwcuzEcPmxXM0", "MD5", "md5crypt", False, True, True),
        ("{MD5}ndTkYSaMgDT1yFZOFVxnpg==", "MD5", "md5", True, False, False),
        ("{LDAP-MD5}EoQeS6XjfS+/x4RYxnFK3g==", "LDAP-MD5", "md5", True, False, False),
        (
            "$argon2id$v=19$m=65536,t=3,p=1$qLxuLBkoB0c5nGBNVQpznA$9Qa2XJe8WXeMb0bmNCwPfSfypf+/0UVry51lFHbSMzc",
            "ARGON2ID",
            "argon2id",
            False,
            True,
            True,
        ),
        (
            "$y$j9T$U0VGZWdhfcy0QAwnp1DXF/$dkWxmgOE/3up1SksCicL8ZQ4HGsIveDWj9BKHnwF1KD",
            "CRYPT",
            "yescrypt",
            False,
            True,
            True,
        ),
        ("_J9..QP8UFZDKb5.4Z2Y", "CRYPT", "bsdicrypt", True, True, True),
        ("$3$$bba7e76a87f61ff6aa300ea899a0540b", "CRYPT", "nt", True, False, False),
        ("$apr1$qHFaAzFZ$5rhpO/JaEuMCaPawtWMlV.", "APR1-MD5", "apr1", False, True, True),
        (
            "$pbkdf2-sha256$29000$N2bMmfMeg5Ay5hwjhFDKmQ$PFk/gN9i8SJoMTYI7KGdmV8fzSTwGl9CxWCnqm/.WbA",
            "PBKDF2-SHA256",
            "pbkdf2_sha256",
            False,
            True,
            True,
        ),
        (
            "{PBKDF2}$1$b8XlQyBNzNen2XG.$5000$51b35af7c32945d4b67f2ce16e63581622a14800",
            "PBKDF2",
            "pbkdf2-sha1",
            False,
            True,
            True,
        ),
        (
            "{DIGEST-MD5}3d3fc13b4531166e3f3ba4c9aed2e519",
            "DIGEST-MD5",
            "digest-md5",
            True,
            False,
            False,
        ),
        (
            "{CRAM-MD5}4a60bd37924fc5d45b4c92ce695bac86cb234bc3028aab2a71a225cb0dedfbb9",
            "CRAM-MD5",
            "hmac-md5-context",
            True,
            False,
            False,
        ),
    ],
)
def test_identify_table(
    stored: str, scheme: str, algorithm: str, weak: bool, slow: bool, salted: bool
) -> None:
    info = identify(stored)
    assert (info.scheme, info.algorithm, info.weak, info.slow, info.salted) == (
        scheme,
        algorithm,
        weak,
        slow,
        salted,
    )
    assert info.supported


@pytest.mark.parametrize(
    ("stored", "scheme"),
    [
        ("{FOO}bar", "{UNKNOWN:FOO}"),
        ("{rpa}abc", "{UNKNOWN:RPA}"),
        ("{SHA.ROT13}abc", "{UNKNOWN:SHA.ROT13}"),
        ("$zz$abc$def", "{UNKNOWN:$zz$}"),
        ("hello world", "UNKNOWN"),
        ("", "EMPTY"),
        (None, "EMPTY"),
        ("!" + SHA512, "LOCKED"),
        ("*", "LOCKED"),
    ],
)
def test_unknown_and_empty(stored: str | None, scheme: str) -> None:
    info = identify(stored)
    assert info.scheme == scheme
    assert not info.supported
    result = verify("x", stored)
    assert isinstance(result, Unsupported)
    assert result.scheme == scheme


@pytest.mark.parametrize(
    "stored",
    [
        "{SHA}not base64!!",
        "{SHA}QUJD",  # valid base64, wrong length
        "{SSHA}QUJD",  # shorter than a SHA-1
        "{PLAIN-MD5}zz41e4ba5e37d2fbfc78458c6714ade",
        "{BLF-CRYPT}$2y$05$short",
        "{SHA512-CRYPT}garbage",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$$",
        "{SCRAM-SHA-1}4096,###,###,###",
        "{SCRAM-SHA-1}99999999999,AA==,AA==,AA==",
        "{OTP}sha1 1024 seed",
        "{PBKDF2}$1$salt$0$51b35af7c32945d4b67f2ce16e63581622a14800",
        "{PLAIN-TRUNC}nolength",
        "{PLAIN.B64}@@@",
        "{CRAM-MD5}abcd",
        "$2y$99$WbgqOz6zrSMf2Ty5BFSE4uoVsVrpWyvWH7hAklctfXLsVLV.XkCsS",
        "$6$abc$short",
        "$2y$05$short",
        "$argon2id$v=19$m=1$$",
        # Dovecot hands {CRYPT} to crypt(3), which has no Argon2: no password logs in.
        "{CRYPT}$argon2id$v=19$m=65536,t=3,p=1$qLxuLBkoB0c5nGBNVQpznA$9Qa2XJe8WXeMb0bmNCwPfSfypf+/0UVry51lFHbSMzc",
    ],
)
def test_malformed_is_reported_not_raised(stored: str) -> None:
    result = verify("Kanary-7781", stored)
    assert isinstance(result, Malformed), result
    assert "Kanary" not in result.reason
    assert stored[-6:] not in result.reason


def test_census_counts_by_name() -> None:
    counts = census(["{PLAIN}a", "{plain}b", "{FOO}c", "", None, SHA512, "{CRYPT}" + SHA512])
    assert counts == {"PLAIN": 2, "{UNKNOWN:FOO}": 1, "EMPTY": 2, "SHA512-CRYPT": 1, "CRYPT": 1}


def test_digest_md5_needs_user() -> None:
    stored = "{DIGEST-MD5}3d3fc13b4531166e3f3ba4c9aed2e519"
    assert verify("pässwörd", stored) == Unsupported(
        "DIGEST-MD5", "DIGEST-MD5 needs the user name (the login, user@realm)"
    )
    assert verify("pässwörd", stored, user="user@example.com") == Matched("DIGEST-MD5")
    assert verify("pässwörd", stored, user="other@example.com") == NotMatched("DIGEST-MD5")


def test_bcrypt_truncates_at_72_bytes_like_crypt_blowfish() -> None:
    stored = "$2y$05$WbgqOz6zrSMf2Ty5BFSE4uoVsVrpWyvWH7hAklctfXLsVLV.XkCsS"  # doveadm, "あ" * 30
    assert verify("あ" * 30, stored) == Matched("BLF-CRYPT")
    assert verify("あ" * 24, stored) == Matched("BLF-CRYPT")  # the first 72 bytes
    assert verify("あ" * 23, stored) == NotMatched("BLF-CRYPT")


def test_bcrypt_2a_countermeasure() -> None:
    # crypt_blowfish's own test vectors for the password b"\xff\xff\xa3".
    key = b"\xff\xff\xa3"
    assert countermeasure_applies(key)
    assert not countermeasure_applies("パスワード".encode())
    b = "$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e"
    a = "$2a$05$/OK.fbVrR/bpIqNJ5ianF.nqd1wy.pTMdcvrRWxyiGL2eMz.2a85."
    assert verify(key, b) == Matched("BLF-CRYPT")
    # pyca bcrypt would wrongly answer NotMatched here; we refuse to guess.
    assert isinstance(verify(key, a), Unsupported)


def test_bytes_and_surrogate_escaped_passwords_are_the_same() -> None:
    stored = "{PLAIN-MD5}" + "12841e4ba5e37d2fbfc78458c6714ade"
    raw = "pässwörd".encode()
    assert verify(raw, stored) == Matched("PLAIN-MD5")
    assert verify(raw.decode("utf-8", "surrogateescape"), stored) == Matched("PLAIN-MD5")
    assert isinstance(verify("\ud800", stored), Unsupported)


def test_raw_hex_lists_alternatives() -> None:
    info = identify("12841e4ba5e37d2fbfc78458c6714ade")
    assert "NTLM" in info.alternatives


def test_bytes_stored_values_and_missing_passwords() -> None:
    assert identify(b"{PLAIN}x").scheme == "PLAIN"
    assert identify(b"\xff\xfe{junk").scheme == "UNKNOWN"
    assert verify("x", b"{PLAIN}x") == Matched("PLAIN")
    assert verify(None, "{PLAIN}x") == Unsupported("PLAIN", "no candidate password")


@pytest.mark.parametrize(
    ("algorithm", "seed", "password", "count", "expected"),
    [  # RFC 2289, appendix C
        ("md5", "TeSt", b"This is a test.", 0, "9e876134d90499dd"),
        ("md5", "TeSt", b"This is a test.", 1, "7965e05436f5029f"),
        ("sha1", "TeSt", b"This is a test.", 0, "bb9e6ae1979d8ff4"),
        ("sha1", "TeSt", b"This is a test.", 1, "63d936639734385b"),
        ("md4", "TeSt", b"This is a test.", 0, "d1854218ebbb0b51"),
    ],
)
def test_otp_rfc2289_vectors(
    algorithm: str, seed: str, password: bytes, count: int, expected: str
) -> None:
    assert otp_hash(algorithm, seed, password, count).hex() == expected


def test_plain_trunc_semantics() -> None:
    # Dovecot's plain_trunc_verify: LEN-prefix; longer passwords match on the prefix.
    assert verify("abcdef", "{PLAIN-TRUNC}3-abc") == Matched("PLAIN-TRUNC")
    assert verify("abc", "{PLAIN-TRUNC}3-abc") == Matched("PLAIN-TRUNC")
    assert verify("ab", "{PLAIN-TRUNC}3-abc") == NotMatched("PLAIN-TRUNC")
    assert verify("abcd", "{PLAIN-TRUNC}5-abc") == NotMatched("PLAIN-TRUNC")
