"""Sealing isolated credentials with the workspace vault public key.

``isolate`` moves a password hash out of the account table into a separate table, sealed
so that only the holder of the vault private key can read it back (never plaintext):
X25519 with a fresh ephemeral key per batch, HKDF-SHA256, then AES-256-GCM per value
with a random nonce and the account id as associated data (a sealed value cannot be
moved to another account).

Blob layout: ``b"CWISO1" | ephemeral public key (32) | salt (16) | nonce (12) | ciphertext``.

Example:
    >>> from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    >>> key = X25519PrivateKey.generate()
    >>> blob = Sealer(key.public_key()).seal("42", "{PLAIN}x")
    >>> unseal(key, "42", blob)
    '{PLAIN}x'
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from credwatch.errors import InputError

__all__ = ["MAGIC", "Sealer", "unseal"]

MAGIC = b"CWISO1"
_INFO = b"credwatch isolate v1"


def _aead(shared: bytes, salt: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(shared)
    return AESGCM(key)


class Sealer:
    """Seals values for one batch under one ephemeral key."""

    def __init__(self, public_key: X25519PublicKey) -> None:
        ephemeral = X25519PrivateKey.generate()
        self._salt = os.urandom(16)
        self._prefix = (
            MAGIC
            + ephemeral.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            + self._salt
        )
        self._aead = _aead(ephemeral.exchange(public_key), self._salt)

    def seal(self, account_id: str, value: str) -> bytes:
        """Encrypt one value bound to its account id."""
        nonce = os.urandom(12)
        return self._prefix + nonce + self._aead.encrypt(nonce, value.encode(), account_id.encode())


def unseal(private_key: X25519PrivateKey, account_id: str, blob: bytes) -> str:
    """Decrypt a sealed value (for restoring an isolated credential).

    Raises:
        InputError: when the blob is not ours, corrupt, or sealed for another account or key.
    """
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 32 + 16 + 12 + 16:
        raise InputError("not a credwatch sealed credential")
    at = len(MAGIC)
    peer = X25519PublicKey.from_public_bytes(blob[at : at + 32])
    salt = blob[at + 32 : at + 48]
    nonce = blob[at + 48 : at + 60]
    try:
        plain = _aead(private_key.exchange(peer), salt).decrypt(
            nonce, blob[at + 60 :], account_id.encode()
        )
    except InvalidTag:
        raise InputError("sealed credential does not open with this key and account") from None
    return plain.decode()
