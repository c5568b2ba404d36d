"""Vectors made at test time by the real tools, and the real tools as the oracle.

For every scheme ``doveadm pw -l`` lists, every method ``mkpasswd -m help`` lists, the
``htpasswd`` forms and the ``openssl passwd`` forms: hash a set of passwords (ASCII,
Latin-1 accents, Japanese, longer than 72 bytes), check that the right password
verifies and, for candidates that differ only past a truncation point or not at all,
that our verdict equals the real tool's (``doveadm pw -t``, ``htpasswd -v``, or
``openssl passwd`` re-run with the same salt).  Skips locally when a tool is missing,
fails under CI=true.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from credwatch.hashes import DOVECOT_SCHEMES, identify, verify
from tests.conftest import require_program

pytestmark = pytest.mark.external

USER = "taro@example.jp"
PASSWORDS = [
    "pässwörd",
    "パスワード日本語",
    "x" * 80,  # 80 bytes: past bcrypt's 72
    "あ" * 30,  # 90 bytes of UTF-8
]


# Lowest costs the tools accept, to keep the suite fast (the algorithms are unchanged).
DOVEADM_ROUNDS = {
    "BLF-CRYPT": "4",
    "CRYPT": "4",
    "SHA256-CRYPT": "1000",
    "SHA512-CRYPT": "1000",
    "PBKDF2": "1000",
}
MKPASSWD_ROUNDS = {
    "yescrypt": "1",
    "gost-yescrypt": "1",
    "scrypt": "6",
    "bcrypt": "4",
    "bcrypt-a": "4",
    "sha512crypt": "1000",
    "sha256crypt": "1000",
}


def _candidates(password: str) -> list[str]:
    """Candidates whose verdict depends on truncation: prefixes and extensions."""
    data = password.encode()
    out = {password + "!"}
    for cut in (8, 72):
        if len(data) > cut:
            out.add(data[:cut].decode("utf-8", "ignore"))
            out.add(data[:cut].decode("utf-8", "ignore") + "zz")
    return sorted(out)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


def _doveadm_schemes() -> list[str]:
    doveadm = require_program("doveadm")
    return _run(doveadm, "pw", "-l").stdout.split()


def _doveadm_hash(scheme: str, password: str) -> str:
    doveadm = require_program("doveadm")
    rounds = ["-r", DOVEADM_ROUNDS[scheme]] if scheme in DOVEADM_ROUNDS else []
    out = _run(doveadm, "pw", "-s", scheme, *rounds, "-p", password, "-u", USER)
    assert out.returncode == 0, out.stderr
    stored = out.stdout.strip()
    if scheme == "PLAIN-TRUNC":  # doveadm writes no length; the verifier demands one
        stored = stored.replace("}", f"}}{len(password.encode())}-", 1)
    return stored


def _doveadm_verifies(stored: str, password: str) -> bool:
    out = _run(require_program("doveadm"), "pw", "-t", stored, "-p", password, "-u", USER)
    return out.returncode == 0


def test_doveadm_lists_schemes_we_cover() -> None:
    assert set(_doveadm_schemes()) <= DOVECOT_SCHEMES


@pytest.mark.slow
@pytest.mark.parametrize("password", PASSWORDS)
def test_every_doveadm_scheme_verifies_like_doveadm(password: str) -> None:
    failures = []
    for scheme in _doveadm_schemes():
        stored = _doveadm_hash(scheme, password)
        info = identify(stored)
        assert info.supported, (scheme, info)
        if verify(password, stored, user=USER).outcome != "matched":
            failures.append((scheme, "own password"))
        for candidate in _candidates(password):
            ours = verify(candidate, stored, user=USER).outcome == "matched"
            if ours != _doveadm_verifies(stored, candidate):
                failures.append((scheme, f"candidate of {len(candidate.encode())} bytes"))
    assert failures == []


@pytest.mark.parametrize("scheme", ["SHA", "PLAIN", "PLAIN-MD5", "SSHA256", "CRAM-MD5"])
@pytest.mark.parametrize("suffix", [".HEX", ".B64"])
def test_doveadm_encoding_suffixes(scheme: str, suffix: str) -> None:
    stored = _doveadm_hash(scheme + suffix, "パスワード")
    assert verify("パスワード", stored).outcome == "matched"
    assert verify("パスワート", stored).outcome == "not_matched"
    assert _doveadm_verifies(stored, "パスワード")


def _mkpasswd_methods() -> list[str]:
    out = _run(require_program("mkpasswd"), "-m", "help").stdout.splitlines()
    return [line.split()[0] for line in out[1:] if line.strip()]


@pytest.mark.slow
@pytest.mark.parametrize("password", PASSWORDS)
def test_every_mkpasswd_method(password: str) -> None:
    mkpasswd = require_program("mkpasswd")
    failures = []
    for method in _mkpasswd_methods():
        rounds = ["-R", MKPASSWD_ROUNDS[method]] if method in MKPASSWD_ROUNDS else []
        stored = _run(mkpasswd, "-m", method, *rounds, password).stdout.strip()
        info = identify(stored)
        assert info.supported and not info.scheme.startswith(("{UNKNOWN", "UNKNOWN")), (
            method,
            info,
        )
        if verify(password, stored).outcome != "matched":
            failures.append((method, "own password"))
        for candidate in _candidates(password):
            ours = verify(candidate, stored).outcome == "matched"
            # Dovecot's {CRYPT} is the system's crypt(3): the real server's verdict.
            if ours != _doveadm_verifies("{CRYPT}" + stored, candidate):
                failures.append((method, f"candidate of {len(candidate.encode())} bytes"))
    assert failures == []


@pytest.mark.parametrize("flag", ["-B", "-m", "-s", "-2", "-5", "-d"])
@pytest.mark.parametrize("password", PASSWORDS)
def test_htpasswd_forms(flag: str, password: str, tmp_path: Path) -> None:
    htpasswd = require_program("htpasswd")
    cost = ["-C", "4"] if flag == "-B" else ["-r", "1000"] if flag in {"-2", "-5"} else []
    out = _run(htpasswd, "-nb", flag, *cost, "u", password)
    assert out.returncode == 0, out.stderr
    stored = out.stdout.strip().split(":", 1)[1]
    assert verify(password, stored).outcome == "matched", identify(stored)
    users = tmp_path / "users"
    users.write_text(f"u:{stored}\n", encoding="utf-8")
    for candidate in _candidates(password):
        theirs = _run(htpasswd, "-vb", str(users), "u", candidate).returncode == 0
        assert (verify(candidate, stored).outcome == "matched") == theirs, (flag, candidate)


@pytest.mark.parametrize("flag", ["-1", "-apr1", "-5", "-6"])
@pytest.mark.parametrize("password", PASSWORDS)
def test_openssl_passwd_forms(flag: str, password: str) -> None:
    openssl = require_program("openssl")
    stored = _run(openssl, "passwd", flag, "-salt", "NaCl4you", password).stdout.strip()
    assert verify(password, stored).outcome == "matched", identify(stored)
    for candidate in _candidates(password):
        again = _run(openssl, "passwd", flag, "-salt", "NaCl4you", candidate).stdout.strip()
        assert (verify(candidate, stored).outcome == "matched") == (again == stored)
