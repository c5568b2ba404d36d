"""An ingested dump and an SQLite store with one account per finding."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
from passlib.hash import sha512_crypt

from credwatch.index import ingest_files
from credwatch.workspace import Workspace
from tests.accounts.helpers import add_config, create_mailbox, make_row, sql_store_toml

CANARY_PASSWORDS = (
    "CanaryPw-VALID-1",
    "CanaryPw-STALE-2",
    "CanaryPw-BCRYPT-3",
    "CanaryPw-EMAIL-4",
    "CanaryPw-UNK-5",
    "CanaryPw-WIDE-6",
)
CANARY_ADDRESSES = (
    "validcanary@nifty.com",
    "stalecanary@nifty.com",
    "bcryptcanary@biglobe.ne.jp",
    "emailcanary@cpi.ad.jp",
    "unkcanary@cpi.ad.jp",
    "widecanary@nifty.com",
)

#: id -> the findings the audit must give.
EXPECTED = {
    "1": ["pair_valid", "weak_scheme"],
    "2": ["pair_stale"],
    "3": ["pair_valid"],
    "4": ["email_only"],
    "5": ["pair_unverified"],
    "6": ["pair_valid", "weak_scheme"],
    "7": ["recovery_exposed"],
    "8": [],
}


#: "widecanary" in fullwidth letters (NFKC folds them back).
FULLWIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "widecanary")


@dataclass(frozen=True)
class AuditSetup:
    """A workspace with an ingested dump and a configured store ``mail``."""

    ws: Workspace
    store_url: str
    dump: Path


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def audit_setup(workspace: Workspace, tmp_path: Path) -> AuditSetup:
    dump = tmp_path / "dump.txt"
    lines = [f"{a}:{p}" for a, p in zip(CANARY_ADDRESSES, CANARY_PASSWORDS, strict=True)]
    lines.append("someone@commufa.jp:whatever1")
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_files(workspace, [dump])
    assert not report.failed if hasattr(report, "failed") else True
    url = f"sqlite:///{tmp_path / 'store.db'}"
    rows = [
        make_row(1, CANARY_ADDRESSES[0], "{PLAIN-MD5}" + md5_hex(CANARY_PASSWORDS[0])),
        make_row(
            2,
            "StaleCanary@NIFTY.com",
            "{SHA512-CRYPT}" + sha512_crypt.using(rounds=1000).hash("changed"),
        ),
        make_row(
            3,
            CANARY_ADDRESSES[2],
            "{BLF-CRYPT}" + bcrypt.hashpw(CANARY_PASSWORDS[2].encode(), bcrypt.gensalt(4)).decode(),
            tenant="biglobe",
            state="suspended",
        ),
        make_row(4, CANARY_ADDRESSES[3], None, tenant="cpi", state="closed"),
        make_row(5, CANARY_ADDRESSES[4], "{FOO}opaque", tenant="cpi"),
        # Fullwidth letters: NFKC folds them to the leaked address (Python normaliser path).
        make_row(6, FULLWIDTH + "@nifty.com", "{PLAIN}" + CANARY_PASSWORDS[5], mfa=True),
        make_row(
            7,
            "notleaked@jcom.home.ne.jp",
            "{SHA512-CRYPT}$6$rounds=1000$abc$def",
            tenant="jcom",
            recovery="Backup@Nifty.com",
        ),
        make_row(
            8,
            "quiet@pikara.ne.jp",
            "{SHA512-CRYPT}$6$rounds=1000$abc$def",
            tenant="pikara",
            state="frozen",
            recovery="r@gmail.com",
        ),
    ]
    create_mailbox(url, rows)
    add_config(workspace, sql_store_toml("mail", url))
    return AuditSetup(ws=workspace, store_url=url, dump=dump)
