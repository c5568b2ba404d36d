"""The sealed vault: leaked passwords, encrypted at ingest, opened only by ``audit``.

Hybrid (envelope) encryption, batch-wise so ingest stays fast:

* one *vault file* per ingested source; its header holds a fresh ephemeral X25519
  public key; ECDH with the workspace's vault public key, then HKDF-SHA256, gives
  the file's AES-256-GCM key;
* each *batch* is an Arrow IPC stream of ``(email_key BINARY(16), password STRING)``
  encrypted as one AES-GCM message with a random 96-bit nonce; the file header and
  the batch number are authenticated data, so batches cannot be swapped or reordered.

Whoever holds only the public key (the ingest host) can add to the vault but not read
it.  Plaintext exists in memory only.

File layout::

    b"CWVAULT1" | ephemeral public key (32) | salt (16)
    then per batch: length of ciphertext (8, big-endian) | nonce (12) | ciphertext
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from credwatch.errors import InputError

__all__ = ["VAULT_SCHEMA", "VaultError", "VaultWriter", "read_vault_file"]

MAGIC = b"CWVAULT1"
_HEADER_LEN = len(MAGIC) + 32 + 16
_INFO = b"credwatch vault v1"

#: Columns of every sealed batch.
VAULT_SCHEMA = pa.schema([("email_key", pa.binary(16)), ("password", pa.string())])


class VaultError(InputError):
    """A vault file is corrupt, truncated or sealed for another key."""


def _derive(shared: bytes, salt: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(shared)
    return AESGCM(key)


def _aad(header: bytes, index: int) -> bytes:
    return header + struct.pack(">Q", index)


class VaultWriter:
    """Append sealed batches to one new vault file.

    Write to a temporary name and :meth:`commit` to publish atomically; an
    uncommitted file is removed by :meth:`abort` (or left as ``*.tmp`` after a crash,
    which readers ignore).

    Example:
        >>> w = VaultWriter(path, public_key)           # doctest: +SKIP
        >>> w.seal(table)                               # doctest: +SKIP
        >>> w.commit()                                  # doctest: +SKIP
    """

    def __init__(self, path: Path, public_key: X25519PublicKey) -> None:
        self.path = path
        self._tmp = path.with_name(path.name + ".tmp")
        ephemeral = X25519PrivateKey.generate()
        salt = os.urandom(16)
        self._header = (
            MAGIC
            + ephemeral.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            + salt
        )
        self._aead = _derive(ephemeral.exchange(public_key), salt)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._file.write(self._header)
        self._count = 0
        self.rows = 0

    def seal(self, table: pa.Table) -> None:
        """Encrypt and append one batch of ``(email_key, password)`` rows."""
        if table.num_rows == 0:
            return
        table = table.select(["email_key", "password"]).cast(VAULT_SCHEMA)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, VAULT_SCHEMA) as writer:
            writer.write_table(table)
        nonce = os.urandom(12)
        ciphertext = self._aead.encrypt(
            nonce, sink.getvalue().to_pybytes(), _aad(self._header, self._count)
        )
        self._file.write(struct.pack(">Q", len(ciphertext)) + nonce + ciphertext)
        self._count += 1
        self.rows += table.num_rows

    def commit(self) -> None:
        """Flush, fsync and publish the file under its final name."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        """Discard the unpublished file."""
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)


def read_vault_file(path: Path, private_key: X25519PrivateKey) -> Iterator[pa.Table]:
    """Yield the decrypted batches of one vault file, in order.

    Raises:
        VaultError: when the file is truncated, tampered with or sealed for another key.
    """
    with path.open("rb") as handle:
        header = handle.read(_HEADER_LEN)
        if len(header) != _HEADER_LEN or not header.startswith(MAGIC):
            raise VaultError(f"{path}: not a credwatch vault file")
        ephemeral = X25519PublicKey.from_public_bytes(header[len(MAGIC) : len(MAGIC) + 32])
        aead = _derive(private_key.exchange(ephemeral), header[len(MAGIC) + 32 :])
        index = 0
        while True:
            prefix = handle.read(8)
            if not prefix:
                return
            if len(prefix) != 8:
                raise VaultError(f"{path}: truncated after batch {index}")
            (length,) = struct.unpack(">Q", prefix)
            nonce = handle.read(12)
            ciphertext = handle.read(length)
            if len(nonce) != 12 or len(ciphertext) != length:
                raise VaultError(f"{path}: truncated in batch {index}")
            try:
                plain = aead.decrypt(nonce, ciphertext, _aad(header, index))
            except InvalidTag:
                raise VaultError(
                    f"{path}: batch {index} does not decrypt",
                    hint="the file was modified, or it was sealed for another vault key",
                ) from None
            yield pa.ipc.open_stream(plain).read_all()
            index += 1
