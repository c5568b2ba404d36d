"""The sealed vault: only the private key opens it, and tampering is detected."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.index.seal import VaultError, VaultWriter, read_vault_file


def _table(passwords: list[str]) -> pa.Table:
    keys = [i.to_bytes(16, "big") for i in range(len(passwords))]
    return pa.table({"email_key": pa.array(keys, pa.binary(16)), "password": passwords})


def _seal(path: Path, public: object, batches: list[list[str]]) -> None:
    writer = VaultWriter(path, public)  # type: ignore[arg-type]
    for batch in batches:
        writer.seal(_table(batch))
    writer.commit()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.text(max_size=80), min_size=1, max_size=20), min_size=1, max_size=4))
def test_any_password_round_trips(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[str]]
) -> None:
    path = tmp_path_factory.mktemp("vault") / "v.sealed"
    private = X25519PrivateKey.generate()
    _seal(path, private.public_key(), batches)
    got = [t.column("password").to_pylist() for t in read_vault_file(path, private)]
    assert got == batches


def test_password_is_not_in_the_file(tmp_path: Path) -> None:
    private = X25519PrivateKey.generate()
    _seal(tmp_path / "v.sealed", private.public_key(), [["canary-パスワード-1234"]])
    data = (tmp_path / "v.sealed").read_bytes()
    assert b"canary" not in data
    assert "パスワード".encode() not in data


def test_other_key_cannot_open(tmp_path: Path) -> None:
    private = X25519PrivateKey.generate()
    _seal(tmp_path / "v.sealed", private.public_key(), [["secret"]])
    with pytest.raises(VaultError, match="does not decrypt"):
        list(read_vault_file(tmp_path / "v.sealed", X25519PrivateKey.generate()))


def test_tampering_and_truncation_are_detected(tmp_path: Path) -> None:
    private = X25519PrivateKey.generate()
    path = tmp_path / "v.sealed"
    _seal(path, private.public_key(), [["a", "b"], ["c"]])
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(VaultError, match="batch 1 does not decrypt"):
        list(read_vault_file(path, private))
    path.write_bytes(bytes(data[:-5]))
    with pytest.raises(VaultError, match="truncated"):
        list(read_vault_file(path, private))


def test_uncommitted_file_is_not_published(tmp_path: Path) -> None:
    private = X25519PrivateKey.generate()
    writer = VaultWriter(tmp_path / "v.sealed", private.public_key())
    writer.seal(_table(["x"]))
    writer.abort()
    assert list(tmp_path.iterdir()) == []
