"""The workspace: configuration, keys, the exposure index and every run's output.

Layout (``--workspace DIR``, ``CREDWATCH_HOME`` or ``./credwatch-workspace``)::

    credwatch.toml          configuration (commented sample written by ``init``)
    keys/pepper             32 random bytes, 0600: the key of every keyed hash
    keys/vault.pub          X25519 public key, 0600: seals leaked passwords at ingest
    keys/vault.key          X25519 private key, 0600: unseals them in ``audit`` only;
                            may be moved off the ingest host (``vault_private_key``
                            in the config or ``CREDWATCH_VAULT_KEY``)
    index/exposure.duckdb   the exposure index (keyed hashes only)
    index/vault/            sealed password batches
    runs/                   audit runs
    corpus/                 the breached-password range corpus served by ``serve``
    journal.jsonl           the hash-chained journal of applied actions

Every command that opens a workspace checks that no key file is readable by group
or others and refuses to run otherwise.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from credwatch.config import Config, load_config
from credwatch.errors import ConfigError, KeyPermissionError
from credwatch.keys import Keyer

__all__ = ["DEFAULT_WORKSPACE", "ENV_HOME", "ENV_VAULT_KEY", "InitResult", "Workspace"]

DEFAULT_WORKSPACE = Path("credwatch-workspace")
ENV_HOME = "CREDWATCH_HOME"
ENV_VAULT_KEY = "CREDWATCH_VAULT_KEY"
PEPPER_BYTES = 32

SAMPLE_CONFIG = """\
# credwatch workspace configuration.  Every key is optional; see `credwatch --help`.

# Domains whose addresses leaked.  Recovery addresses on these domains get the
# `recovery_exposed` finding.  Default: every domain present in the exposure index.
# affected_domains = ["nifty.com", "biglobe.ne.jp"]

# Where the vault private key lives when it was moved off this host (it is needed by
# `credwatch audit run` only).  CREDWATCH_VAULT_KEY overrides it.
# vault_private_key = "/secure/credwatch/vault.key"

# Opt-in per-domain folding of local parts (never on by default).
# [normalization.domains."gmail.com"]
# fold_dots = true
# strip_plus = true

# An SQL account store (PostgreSQL, MariaDB/MySQL or SQLite through SQLAlchemy).
# [stores.mail]
# kind = "sql"
# url = "postgresql+psycopg://127.0.0.1/test"
# table = "mailbox"
# [stores.mail.columns]
# id = "id"
# email = "username"
# tenant = "isp"
# recovery_email = "recovery"
# password_hash = "password"
# status = "state"
# last_login = "last_login"
# mfa = "totp_enabled"
# [stores.mail.status]
# active = ["active"]
# dormant = ["suspended"]
# cancelled = ["closed"]

# A Dovecot passwd-file.
# [stores.dovecot]
# kind = "passwd-file"
# path = "/etc/dovecot/users"
# tenant = "domain"
"""


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``init`` did: the paths it created (empty on a second run)."""

    workspace: Path
    created: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class Workspace:
    """A credwatch workspace on disk.

    Example:
        >>> ws = Workspace.resolve(None)          # doctest: +SKIP
        >>> ws.init()                             # doctest: +SKIP
        >>> keyer = ws.keyer()                    # doctest: +SKIP
    """

    root: Path
    env_vault_key: Path | None = field(default=None, compare=False)

    @classmethod
    def resolve(cls, explicit: Path | None) -> Workspace:
        """Pick the workspace: ``explicit``, else ``$CREDWATCH_HOME``, else the default."""
        if explicit is not None:
            root = explicit
        elif os.environ.get(ENV_HOME):
            root = Path(os.environ[ENV_HOME])
        else:
            root = DEFAULT_WORKSPACE
        env_key = os.environ.get(ENV_VAULT_KEY)
        return cls(root=root.expanduser(), env_vault_key=Path(env_key) if env_key else None)

    # -- paths -----------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        """``credwatch.toml``."""
        return self.root / "credwatch.toml"

    @property
    def keys_dir(self) -> Path:
        """The folder of key files."""
        return self.root / "keys"

    @property
    def pepper_path(self) -> Path:
        """The pepper file."""
        return self.keys_dir / "pepper"

    @property
    def vault_public_key_path(self) -> Path:
        """The vault public key (PEM)."""
        return self.keys_dir / "vault.pub"

    @property
    def vault_private_key_path(self) -> Path:
        """The vault private key: env override, then config, then ``keys/vault.key``."""
        if self.env_vault_key is not None:
            return self.env_vault_key
        configured = self.config().vault_private_key
        return configured if configured is not None else self.keys_dir / "vault.key"

    @property
    def index_dir(self) -> Path:
        """The exposure index folder."""
        return self.root / "index"

    @property
    def index_path(self) -> Path:
        """The DuckDB exposure index."""
        return self.index_dir / "exposure.duckdb"

    @property
    def vault_dir(self) -> Path:
        """Sealed password batches."""
        return self.index_dir / "vault"

    @property
    def runs_dir(self) -> Path:
        """Audit runs."""
        return self.root / "runs"

    @property
    def corpus_dir(self) -> Path:
        """The range-API corpus."""
        return self.root / "corpus"

    @property
    def journal_path(self) -> Path:
        """The hash-chained action journal."""
        return self.root / "journal.jsonl"

    # -- lifecycle ---------------------------------------------------------------
    def init(self) -> InitResult:
        """Create whatever is missing; never touch what exists (idempotent).

        Raises:
            ConfigError: when the workspace path is not a usable directory, or a key
                file is exposed.
        """
        created: list[Path] = []
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"{self.root} exists and is not a directory")
        for folder, mode in ((self.root, 0o755), (self.keys_dir, 0o700)):
            if not folder.exists():
                folder.mkdir(parents=True, mode=mode)
                created.append(folder)
        if not self.config_path.exists():
            _write_new(self.config_path, SAMPLE_CONFIG.encode(), 0o644)
            created.append(self.config_path)
        if not self.pepper_path.exists():
            _write_new(self.pepper_path, secrets.token_bytes(PEPPER_BYTES), 0o600)
            created.append(self.pepper_path)
        private_path = self.keys_dir / "vault.key"
        if not self.vault_public_key_path.exists():
            if private_path.exists():
                raise ConfigError(
                    f"{self.vault_public_key_path} is missing but {private_path} exists",
                    hint="restore vault.pub from your backup; regenerating would orphan the vault",
                )
            private = X25519PrivateKey.generate()
            _write_new(private_path, _private_pem(private), 0o600)
            _write_new(self.vault_public_key_path, _public_pem(private.public_key()), 0o600)
            created += [private_path, self.vault_public_key_path]
        self.check_key_permissions()
        return InitResult(workspace=self.root, created=tuple(created))

    def require(self) -> Workspace:
        """Check the workspace exists and its keys are private; return it.

        Raises:
            ConfigError: when the workspace was never initialised.
            KeyPermissionError: when a key file is readable by group or others.
        """
        if not self.pepper_path.exists():
            raise ConfigError(
                f"no credwatch workspace at {self.root}",
                hint=f"run `credwatch --workspace {self.root} init` first",
            )
        self.check_key_permissions()
        return self

    def check_key_permissions(self) -> None:
        """Refuse key files (and the keys folder) readable by group or others.

        Raises:
            KeyPermissionError: naming the file and the command that fixes it.
        """
        candidates = [
            self.keys_dir / "pepper",
            self.keys_dir / "vault.pub",
            self.keys_dir / "vault.key",
        ]
        if self.env_vault_key is not None:
            candidates.append(self.env_vault_key)
        for path in candidates:
            if not path.exists():
                continue
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise KeyPermissionError(
                    f"key file {path} is accessible by group or others (mode {mode:o})",
                    hint=f"chmod 600 {path}",
                )

    def config(self) -> Config:
        """Load ``credwatch.toml`` (empty when absent)."""
        return load_config(self.config_path)

    def pepper(self) -> bytes:
        """Read the pepper.

        Raises:
            ConfigError: when it is missing or not 32 bytes.
        """
        self.require()
        data = self.pepper_path.read_bytes()
        if len(data) != PEPPER_BYTES:
            raise ConfigError(f"{self.pepper_path} is corrupt (expected {PEPPER_BYTES} bytes)")
        return data

    def keyer(self) -> Keyer:
        """The keyed-hash deriver under this workspace's pepper."""
        return Keyer(self.pepper())

    def vault_public_key(self) -> X25519PublicKey:
        """Load the vault public key (used by ingest to seal).

        Raises:
            ConfigError: when missing or not an X25519 public key.
        """
        self.require()
        try:
            key = serialization.load_pem_public_key(self.vault_public_key_path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load {self.vault_public_key_path}: {exc}") from None
        if not isinstance(key, X25519PublicKey):
            raise ConfigError(f"{self.vault_public_key_path} is not an X25519 public key")
        return key

    def vault_private_key(self) -> X25519PrivateKey:
        """Load the vault private key (used by ``audit`` to unseal).

        Raises:
            ConfigError: when it is missing (moved off this host), exposed or invalid.
        """
        self.require()
        path = self.vault_private_key_path
        if not path.exists():
            raise ConfigError(
                f"the vault private key is not at {path}",
                hint=f"point {ENV_VAULT_KEY} or vault_private_key in credwatch.toml at it",
            )
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyPermissionError(
                f"key file {path} is accessible by group or others (mode {mode:o})",
                hint=f"chmod 600 {path}",
            )
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"cannot load the vault private key {path}: {exc}") from None
        if not isinstance(key, X25519PrivateKey):
            raise ConfigError(f"{path} is not an X25519 private key")
        return key


def _private_pem(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_pem(key: X25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start (no window with wider rights)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.chmod(mode)  # the umask may have narrowed it; make it exact
