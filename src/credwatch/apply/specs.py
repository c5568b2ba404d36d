"""How each action is carried out on a store: ``[stores.NAME.actions]`` in credwatch.toml.

SQL stores (every action the plan uses must be configured)::

    [stores.mail.actions]
    force_reset = { set = { must_reset = true } }
    lock = { set = { state = "locked" } }
    require_mfa = { set = { mfa_required = true } }
    revoke_sessions = { sql = "DELETE FROM sessions WHERE user_id = :id" }
    purge_credential = { set = { password = "" } }
    isolate = { table = "credwatch_isolated", set = { password = "" } }
    checkpoint_table = "credwatch_applied"      # optional, this is the default

* ``set``: columns of the store's table and the value each gets.  An account whose
  columns already hold those values is skipped and journaled as ``already``.
* ``sql``: a statement run once per account with the account's id bound to ``:id``
  (it should itself be harmless to repeat, e.g. a ``DELETE``); ``set`` and ``sql`` may
  be combined.
* ``isolate``: seals the current password hash with the workspace vault public key
  into ``table`` (created when missing: ``account_id``, ``sealed``, ``isolated_at``) and
  then applies ``set`` (which should clear the hash column).
* ``checkpoint_table``: a table credwatch creates in the store's database to record, in
  the same transaction as each batch's changes, which actions of which plan are done
  (one row per batch: ``plan_digest``, ``batch``, ``outcomes`` JSON, ``applied_at``).
  This is what makes a crashed apply resumable with every account changed exactly once.

Dovecot passwd-files (defaults shown; any may be overridden)::

    [stores.dovecot.actions]
    lock = { fields = { nologin = "y", reason = "account-locked" } }
    force_reset = { hash = "lock", fields = { nologin = "y", reason = "password-reset-required" } }
    purge_credential = { hash = "purge" }

* ``fields``: extra fields set on the user's line (values without spaces or colons);
* ``hash``: ``"lock"`` puts ``!`` in front of the hash (after its ``{SCHEME}``), which no
  password can match and which is reversible; ``"purge"`` replaces it with
  :data:`PURGED_HASH`.

Example:
    >>> specs = parse_sql_specs("mail", {"lock": {"set": {"state": "locked"}}})
    >>> specs.actions["lock"].set
    {'state': 'locked'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from credwatch.accounts.config import validate_identifier
from credwatch.errors import ConfigError
from credwatch.plan.model import ACTION_ORDER, ACTIONS, Action

__all__ = [
    "DEFAULT_CHECKPOINT_TABLE",
    "DEFAULT_FILE_SPECS",
    "PURGED_HASH",
    "FileActionSpec",
    "FileSpecs",
    "Scalar",
    "SqlActionSpec",
    "SqlSpecs",
    "parse_file_specs",
    "parse_sql_specs",
]

Scalar = str | int | float | bool
DEFAULT_CHECKPOINT_TABLE = "credwatch_applied"
#: What a purged passwd-file credential becomes: ``!`` is not a valid crypt salt, so
#: no password matches it, and it is never empty (an empty field can mean "no password").
PURGED_HASH = "{CRYPT}!purged-by-credwatch"


@dataclass(frozen=True, slots=True)
class SqlActionSpec:
    """How one action changes an SQL store."""

    action: Action
    set: Mapping[str, Scalar] = field(default_factory=dict)
    sql: str | None = None
    table: str | None = None


@dataclass(frozen=True, slots=True)
class SqlSpecs:
    """Every configured action of an SQL store, and its checkpoint table."""

    store: str
    actions: Mapping[str, SqlActionSpec]
    checkpoint_table: str = DEFAULT_CHECKPOINT_TABLE

    def require(self, actions: tuple[Action, ...]) -> None:
        """Check that every action a plan uses is configured.

        Raises:
            ConfigError: naming the missing actions and the table to add them to.
        """
        missing = [a for a in actions if a not in self.actions]
        if missing:
            raise ConfigError(
                f"store {self.store!r} has no configuration for action(s) {', '.join(missing)}",
                hint=f"add them to [stores.{self.store}.actions], e.g. "
                f'{missing[0]} = {{ set = {{ column = "value" }} }} (see docs/remediation.md)',
            )


@dataclass(frozen=True, slots=True)
class FileActionSpec:
    """How one action changes a passwd-file line."""

    action: Action
    fields: Mapping[str, str] = field(default_factory=dict)
    hash: Literal["keep", "lock", "purge"] = "keep"


@dataclass(frozen=True, slots=True)
class FileSpecs:
    """Every configured action of a passwd-file store."""

    store: str
    actions: Mapping[str, FileActionSpec]

    def require(self, actions: tuple[Action, ...]) -> None:
        """Check that every action a plan uses is configured.

        Raises:
            ConfigError: naming the missing actions.
        """
        missing = [a for a in actions if a not in self.actions]
        if missing:
            raise ConfigError(
                f"passwd-file store {self.store!r} cannot {', '.join(missing)} by default",
                hint=f"configure them under [stores.{self.store}.actions] with fields "
                '(e.g. revoke_sessions = { fields = { nologin = "y" } }) or leave them '
                "out of the policy",
            )


DEFAULT_FILE_SPECS: Mapping[str, FileActionSpec] = {
    "lock": FileActionSpec("lock", {"nologin": "y", "reason": "account-locked"}),
    "force_reset": FileActionSpec(
        "force_reset", {"nologin": "y", "reason": "password-reset-required"}, "lock"
    ),
    "purge_credential": FileActionSpec("purge_credential", {}, "purge"),
}


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{where}] must be a table (e.g. {{ set = {{ column = value }} }})")
    return value


def _check_action_name(name: str, where: str) -> Action:
    if name not in ACTIONS:
        raise ConfigError(
            f"[{where}] unknown action {name!r}",
            hint=f"known actions: {', '.join(ACTION_ORDER)}",
        )
    return name


def parse_sql_specs(store: str, table: Mapping[str, Any]) -> SqlSpecs:
    """Parse ``[stores.NAME.actions]`` of an SQL store.

    Raises:
        ConfigError: on an unknown action or key, a non-identifier column, a value that is
            not a scalar, or an action with neither ``set`` nor ``sql``.
    """
    base = f"stores.{store}.actions"
    checkpoint = table.get("checkpoint_table", DEFAULT_CHECKPOINT_TABLE)
    if not isinstance(checkpoint, str):
        raise ConfigError(f"[{base}] checkpoint_table must be a table name")
    validate_identifier(checkpoint, "checkpoint_table", store)
    actions: dict[str, SqlActionSpec] = {}
    for name, raw in table.items():
        if name == "checkpoint_table":
            continue
        where = f"{base}.{name}"
        action = _check_action_name(name, base)
        spec = _table(raw, where)
        unknown = set(spec) - {"set", "sql", "table"}
        if unknown:
            raise ConfigError(
                f"[{where}] unknown keys: {', '.join(sorted(unknown))}",
                hint="allowed: set, sql (and table for isolate)",
            )
        values = _table(spec.get("set", {}), f"{where}.set")
        for column, value in values.items():
            validate_identifier(column, f"column of {name}", store)
            if not isinstance(value, str | int | float | bool):
                raise ConfigError(f"[{where}.set] {column} must be a string, number or boolean")
        sql = spec.get("sql")
        if sql is not None and (not isinstance(sql, str) or ":id" not in sql):
            raise ConfigError(f"[{where}] sql must be a statement using :id for the account id")
        isolate_table = spec.get("table")
        if action == "isolate":
            if not isinstance(isolate_table, str):
                raise ConfigError(f'[{where}] isolate needs table = "..." for sealed hashes')
            validate_identifier(isolate_table, "isolate table", store)
        elif isolate_table is not None:
            raise ConfigError(f"[{where}] table is only for isolate")
        if not values and sql is None and action != "isolate":
            raise ConfigError(f'[{where}] needs set = {{...}} or sql = "..."')
        actions[name] = SqlActionSpec(action, dict(values), sql, isolate_table)
    return SqlSpecs(store=store, actions=actions, checkpoint_table=checkpoint)


def parse_file_specs(store: str, table: Mapping[str, Any]) -> FileSpecs:
    """Parse ``[stores.NAME.actions]`` of a passwd-file store (over the defaults).

    Raises:
        ConfigError: on an unknown action or key, a field value with whitespace or ``:``,
            or a ``hash`` other than keep / lock / purge.
    """
    base = f"stores.{store}.actions"
    actions: dict[str, FileActionSpec] = dict(DEFAULT_FILE_SPECS)
    for name, raw in table.items():
        where = f"{base}.{name}"
        action = _check_action_name(name, base)
        if action == "isolate":
            raise ConfigError(
                f"[{where}] isolate is not available for passwd-files (there is no separate "
                "table to move the credential to)",
                hint="use purge_credential, or isolate from an SQL store",
            )
        spec = _table(raw, where)
        unknown = set(spec) - {"fields", "hash"}
        if unknown:
            raise ConfigError(
                f"[{where}] unknown keys: {', '.join(sorted(unknown))}",
                hint="allowed for passwd-files: fields, hash",
            )
        fields = _table(spec.get("fields", {}), f"{where}.fields")
        clean: dict[str, str] = {}
        for key, value in fields.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if not key.isidentifier() or any(c.isspace() or c == ":" for c in text) or not text:
                raise ConfigError(
                    f"[{where}.fields] {key}: passwd-file extra fields are key=value without "
                    "spaces or colons"
                )
            clean[key] = text
        mode = spec.get("hash", "keep")
        if mode not in ("keep", "lock", "purge"):
            raise ConfigError(f"[{where}] hash must be keep, lock or purge")
        if not clean and mode == "keep":
            raise ConfigError(f"[{where}] changes nothing: give fields or hash")
        actions[name] = FileActionSpec(action, clean, mode)
    return FileSpecs(store=store, actions=actions)
