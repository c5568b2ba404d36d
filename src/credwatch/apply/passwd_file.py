"""Carrying out plan actions on a Dovecot passwd-file.

Line format: ``user:password:uid:gid:gecos:home:shell:extra_fields`` where the extra
fields are space-separated ``key=value`` tokens (``nologin=y reason=...``).  Comments,
blank lines and every field credwatch does not change are written back byte for byte.

The whole plan is one atomic rewrite: a temporary file in the same folder gets the
original's mode and owner, is fsynced and renamed over the original, then the folder is
fsynced.  Before the rename an ``intent`` record (file digest before and after, the
changed (account, action) pairs) goes to the journal, so an apply killed between the
rename and the journal's action records is recognised and completed on the next run.

Accounts are matched by the plan's keyed ids (``keyed_id(user)``): the plan never holds
the user names, which are addresses.

Example:
    >>> specs = parse_file_specs(cfg.name, cfg.actions)                 # doctest: +SKIP
    >>> actuator = PasswdFileActuator(cfg, specs, keyer)                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from credwatch.accounts.config import StoreConfig
from credwatch.accounts.passwd_file import PasswdFileStore
from credwatch.apply.interface import BatchCallback, IntentCallback, Outcome, WorkItem
from credwatch.apply.journal import PlanHistory
from credwatch.apply.specs import PURGED_HASH, FileActionSpec, FileSpecs
from credwatch.errors import ConfigError, InputError
from credwatch.keys import Keyer
from credwatch.plan.model import Action, keyed_id

__all__ = ["PasswdFileActuator", "apply_to_line"]


def _locked(password: str) -> str:
    if password.startswith("{") and "}" in password:
        scheme, _, rest = password.partition("}")
        return password if rest.startswith("!") else f"{scheme}}}!{rest}"
    return password if password.startswith("!") else "!" + password


def apply_to_line(line: str, spec: FileActionSpec) -> str:
    """Return ``line`` (without its newline) with one action applied.

    Example:
        >>> from credwatch.apply.specs import DEFAULT_FILE_SPECS
        >>> apply_to_line("u@x.jp:{PLAIN}pw:1:1::/h::", DEFAULT_FILE_SPECS["force_reset"])
        'u@x.jp:{PLAIN}!pw:1:1::/h::nologin=y reason=password-reset-required'
    """
    parts = line.split(":", 7)
    while len(parts) < 8:
        parts.append("")
    if spec.hash == "lock":
        parts[1] = _locked(parts[1])
    elif spec.hash == "purge":
        parts[1] = PURGED_HASH
    if spec.fields:
        tokens = parts[7].split()
        keys = [t.split("=", 1)[0] for t in tokens]
        for key, value in spec.fields.items():
            token = f"{key}={value}"
            if key in keys:
                tokens[keys.index(key)] = token
            else:
                tokens.append(token)
                keys.append(key)
        parts[7] = " ".join(tokens)
    return ":".join(parts)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class PasswdFileActuator:
    """Applies actions to one passwd-file (see the module docstring)."""

    def __init__(self, config: StoreConfig, specs: FileSpecs, keyer: Keyer) -> None:
        assert config.path is not None
        self.config = config
        self.path = Path(config.path)
        self.specs = specs
        self._keyer = keyer

    def validate(self, actions: Sequence[Action]) -> None:
        """Check the actions are configured and the file is readable and writable.

        Raises:
            ConfigError: an action is not configured, or the file or its folder cannot be
                written.
        """
        self.specs.require(tuple(actions))
        if not self.path.is_file():
            raise ConfigError(f"passwd-file {self.path} of store {self.config.name!r} is missing")
        if not os.access(self.path.parent, os.W_OK) or not os.access(self.path, os.R_OK):
            raise ConfigError(
                f"cannot rewrite {self.path}: its folder must be writable for the atomic rename"
            )

    def snapshot_digest(self) -> str:
        """The store's snapshot digest, read through the accounts connector."""
        return PasswdFileStore(self.config).snapshot_digest()

    def _read(self) -> tuple[bytes, list[str]]:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            text = raw.decode(self.config.encoding)
        except UnicodeDecodeError:
            raise InputError(f"{self.path} is not {self.config.encoding}") from None
        return raw, text.splitlines(keepends=True)

    def _index(self, lines: list[str]) -> dict[str, int]:
        where: dict[str, int] = {}
        for number, line in enumerate(lines):
            body = line.rstrip("\r\n")
            if not body.strip() or body.lstrip().startswith("#") or ":" not in body:
                continue
            where.setdefault(keyed_id(self._keyer, body.split(":", 1)[0]), number)
        return where

    def _plan(self, lines: list[str], items: Sequence[WorkItem]) -> list[Outcome]:
        """Apply items to ``lines`` in place; return their outcomes."""
        where = self._index(lines)
        outcomes: list[Outcome] = []
        for account, action in items:
            number = where.get(account)
            if number is None:
                outcomes.append(Outcome(account, action, "not_found"))
                continue
            line = lines[number]
            body = line.rstrip("\r\n")
            ending = line[len(body) :]
            changed = apply_to_line(body, self.specs.actions[action])
            if changed == body:
                outcomes.append(Outcome(account, action, "already"))
            else:
                lines[number] = changed + ending
                outcomes.append(Outcome(account, action, "applied"))
        return outcomes

    def recovered(self, plan_digest: str, history: PlanHistory) -> list[Outcome]:
        """Actions of a rewrite that reached the disk but not the journal."""
        current = _sha(self._read()[0])
        for intent in reversed(history.intents):
            if intent.get("after") == current and intent.get("before") != current:
                return [
                    Outcome(str(a), action, "applied", recovered=True)
                    for a, action in intent.get("applied", [])
                    if (str(a), action) not in history.done
                ]
        return []

    def preview(self, items: Sequence[WorkItem]) -> list[Outcome]:
        """What the items would do; the file is not touched."""
        _, lines = self._read()
        return self._plan(lines, items)

    def execute(
        self,
        items: Sequence[WorkItem],
        plan_digest: str,
        on_batch: BatchCallback,
        on_intent: IntentCallback | None = None,
    ) -> None:
        """Rewrite the file once with every item applied; journal the intent first.

        Raises:
            ConfigError: when the rewritten file could not keep the original's owner.
            InputError: when the file cannot be read or written.
        """
        raw, lines = self._read()
        outcomes = self._plan(lines, items)
        applied = [[o.account, o.action] for o in outcomes if o.result == "applied"]
        if applied:
            data = "".join(lines).encode(self.config.encoding)
            if on_intent is not None:
                on_intent(
                    {
                        "event": "intent",
                        "before": _sha(raw),
                        "after": _sha(data),
                        "applied": applied,
                    }
                )
            self._replace(data)
        on_batch(outcomes)

    def _replace(self, data: bytes) -> None:
        st = self.path.stat()
        fd, tmp_name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        tmp = Path(tmp_name)
        try:
            os.fchmod(fd, st.st_mode & 0o7777)
            tmp_stat = os.fstat(fd)
            if (tmp_stat.st_uid, tmp_stat.st_gid) != (st.st_uid, st.st_gid):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)
                except PermissionError:
                    raise ConfigError(
                        f"cannot keep the owner {st.st_uid}:{st.st_gid} of {self.path}",
                        hint="run apply as the file's owner or as root",
                    ) from None
            with os.fdopen(fd, "wb") as fh:
                fd = -1
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.path)
        except BaseException:
            if fd != -1:
                os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def close(self) -> None:
        """Nothing to release."""
