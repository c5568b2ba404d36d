"""Regenerate ``tests/hashes/data/vectors.json`` from the real tools.

    python3 -m tests.hashes.make_vectors

Each vector is a hash made by ``doveadm pw``, ``mkpasswd``, ``htpasswd`` or
``openssl passwd`` and the verdict the real tool gives for a candidate password
(``doveadm pw -t``; for mkpasswd forms ``doveadm pw -t {CRYPT}...``, i.e. the system's
crypt(3)).  ``test_vectors.py`` checks them without any tool installed.  The passwords
are synthetic test strings.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.hashes.test_tools import (
    MKPASSWD_ROUNDS,
    USER,
    _candidates,
    _doveadm_hash,
    _doveadm_schemes,
    _doveadm_verifies,
    _mkpasswd_methods,
)

OUT = Path(__file__).parent / "data" / "vectors.json"
PASSWORDS = ["pässwörd", "パスワード", "あ" * 30]


def _vectors() -> list[dict[str, object]]:
    vectors: list[dict[str, object]] = []

    def add(tool: str, stored: str, password: str, oracle_prefix: str = "") -> None:
        vectors.extend(
            {
                "tool": tool,
                "stored": stored,
                "password": candidate,
                "user": USER,
                "matched": _doveadm_verifies(oracle_prefix + stored, candidate),
            }
            for candidate in [password, *_candidates(password)]
        )

    for password in PASSWORDS:
        for scheme in _doveadm_schemes():
            add(f"doveadm pw -s {scheme}", _doveadm_hash(scheme, password), password)
        for method in _mkpasswd_methods():
            rounds = ["-R", MKPASSWD_ROUNDS[method]] if method in MKPASSWD_ROUNDS else []
            stored = subprocess.run(
                ["mkpasswd", "-m", method, *rounds, password],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            add(f"mkpasswd -m {method}", stored, password, "{CRYPT}")
    return vectors


if __name__ == "__main__":
    OUT.write_text(json.dumps(_vectors(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
